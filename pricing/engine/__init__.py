"""The pricing engine: money, the declared catalog, charge models and rating.

Every amount the project shows comes out of here: :func:`rate` prices a table of usage rows
against a catalog (one row or millions), :func:`rate_one` one usage; nothing else does pricing
arithmetic. Money is exact (integers of a minor unit, or ``Decimal``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pricing._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from pricing.engine.money import Rounding, from_minor, to_minor
    from pricing.engine.formatting import format_money
    from pricing.engine.catalog import (Catalog, Charge, Plan, Settings, bundled_catalog_ids, json_schema, load_catalog,
                                        parse_catalog)
    from pricing.engine.rating import RateOptions, RatedTable, UsageColumns, rate, rate_one, usage_columns
    from pricing.engine.invoice import Invoice, Line, LineType
    from pricing.engine.periods import Period, Schedule, add_months, month_bounds, parse_month, previous_month

__getattr__, __dir__ = lazy_exports(__name__, {
    "Rounding": "money",
    "format_money": "formatting",
    "from_minor": "money",
    "to_minor": "money",
    "Catalog": "catalog",
    "Charge": "catalog",
    "Plan": "catalog",
    "Settings": "catalog",
    "bundled_catalog_ids": "catalog",
    "json_schema": "catalog",
    "load_catalog": "catalog",
    "parse_catalog": "catalog",
    "RateOptions": "rating",
    "RatedTable": "rating",
    "UsageColumns": "rating",
    "rate": "rating",
    "rate_one": "rating",
    "usage_columns": "rating",
    "Invoice": "invoice",
    "Line": "invoice",
    "LineType": "invoice",
    "Period": "periods",
    "Schedule": "periods",
    "add_months": "periods",
    "month_bounds": "periods",
    "parse_month": "periods",
    "previous_month": "periods",
})
__all__ = ["Catalog", "Charge", "Invoice", "Line", "LineType", "Period", "Plan", "RateOptions", "RatedTable",
           "Rounding", "Schedule", "Settings", "UsageColumns", "add_months", "bundled_catalog_ids", "format_money",
           "from_minor", "json_schema", "load_catalog", "month_bounds", "parse_catalog", "parse_month",
           "previous_month", "rate", "rate_one", "to_minor", "usage_columns"]
