"""Interoperability with the billing systems vendors already run: Stripe and Lago.

``stripe`` and ``lago`` turn a vendor's catalog objects into a catalog and back
(refusing, never approximating, what the other side cannot express) and read
the invoices the vendor issued; ``reconcile`` compares those invoices line by
line with the engine's invoices for the same customers and month, and
``reconcile_report`` writes the differences as an HTML page and an Excel sheet.
"""

from __future__ import annotations

from typing import Any

from pricing.engine.catalog import Catalog
from pricing.interop import lago, stripe
from pricing.interop.common import InteropError

VENDORS = ("stripe", "lago")


def import_catalog(vendor: str, data: Any, catalog_id: str, origin: str) -> tuple[Catalog, list[str]]:
    """A catalog from a vendor's list JSON, and notes on what was skipped."""
    module = stripe if vendor == "stripe" else lago
    return module.import_catalog(data, catalog_id, origin)


def export_catalog(vendor: str, catalog: Catalog, origin: str) -> dict[str, Any]:
    """The vendor's JSON for ``catalog``, or an :class:`InteropError` naming what the vendor cannot express."""
    module = stripe if vendor == "stripe" else lago
    return module.export_catalog(catalog, origin)


__all__ = ["VENDORS", "InteropError", "export_catalog", "import_catalog"]
