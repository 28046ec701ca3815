"""Interoperability with the billing systems vendors already run: Stripe and Lago.

``stripe`` and ``lago`` turn a vendor's catalog objects into a catalog and back
(refusing, never approximating, what the other side cannot express) and read
the invoices the vendor issued; ``reconcile`` compares those invoices line by
line with the engine's invoices for the same customers and month, and
``reconcile_report`` writes the differences as an HTML page and an Excel sheet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pricing._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from pricing.interop.common import InteropError
    from pricing.interop.vendors import VENDORS, export_catalog, import_catalog

__getattr__, __dir__ = lazy_exports(__name__, {
    "VENDORS": "vendors",
    "export_catalog": "vendors",
    "import_catalog": "vendors",
    "InteropError": "common",
})

__all__ = ["VENDORS", "InteropError", "export_catalog", "import_catalog"]
