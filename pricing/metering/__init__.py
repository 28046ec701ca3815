"""Metering: raw API-call events to the usage the engine prices, and the store that keeps them.

Events are checked row by row (:mod:`~pricing.metering.events`), metered by the catalogs' meter
rules as Ibis expressions (DuckDB, Spark, warehouses; :func:`meter_events`), and kept with
invoices and rejects in the DuckDB workbook :class:`Store`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pricing._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from pricing.metering.events import EVENT_COLUMNS
    from pricing.metering.meters import MeterResult, meter_events
    from pricing.metering.store import DEFAULT_STORE, Store, open_store
    from pricing.metering.sample_data import generate_book, write_events

__getattr__, __dir__ = lazy_exports(__name__, {
    "EVENT_COLUMNS": "events",
    "MeterResult": "meters",
    "meter_events": "meters",
    "DEFAULT_STORE": "store",
    "Store": "store",
    "open_store": "store",
    "generate_book": "sample_data",
    "write_events": "sample_data",
})
__all__ = ["DEFAULT_STORE", "EVENT_COLUMNS", "MeterResult", "Store", "generate_book", "meter_events", "open_store",
           "write_events"]
