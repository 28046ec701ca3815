"""The billing systems a catalog goes to and comes from, and the one switch between their modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pricing.engine.catalog import Catalog

VENDORS = ("stripe", "lago")


def import_catalog(vendor: str, data: Any, catalog_id: str, origin: str) -> tuple[Catalog, list[str]]:
    """A catalog from a vendor's list JSON, and notes on what was skipped."""
    from pricing.interop import lago, stripe

    module = stripe if vendor == "stripe" else lago
    return module.import_catalog(data, catalog_id, origin)


def export_catalog(vendor: str, catalog: Catalog, origin: str) -> dict[str, Any]:
    """The vendor's JSON for ``catalog``, or an :class:`InteropError` naming what the vendor cannot express."""
    from pricing.interop import lago, stripe

    module = stripe if vendor == "stripe" else lago
    return module.export_catalog(catalog, origin)
