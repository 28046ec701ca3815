"""Reporting: the tables, charts and documents people read, and the notebook runs that make them.

Report tables (:mod:`~pricing.reporting.report_tables`, :mod:`~pricing.reporting.month_tables`),
documents a customer receives (:func:`build_quote`, :func:`render_html` for invoices), the Excel
register, :func:`run_notebook` (Papermill with checked parameters, warm kernels), and the runs that
make a month's reports (:func:`build_monthly`, :func:`build_tenants`) or the whole demo (:func:`run_demo`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pricing._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from pricing.reporting.quote_document import Quote, build_quote, write_quote_report
    from pricing.reporting.invoice_document import Seller, load_seller, render_html, write_documents
    from pricing.reporting.report_index import write_index
    from pricing.reporting.excel import write_register_xlsx
    from pricing.reporting.notebook_runner import notebooks_dir, run_notebook
    from pricing.reporting.month_tables import MonthTables
    from pricing.reporting.report_runs import build_monthly, build_tenants
    from pricing.reporting.demo_run import run_demo

__getattr__, __dir__ = lazy_exports(__name__, {
    "Quote": "quote_document",
    "build_quote": "quote_document",
    "write_quote_report": "quote_document",
    "Seller": "invoice_document",
    "load_seller": "invoice_document",
    "render_html": "invoice_document",
    "write_documents": "invoice_document",
    "write_index": "report_index",
    "write_register_xlsx": "excel",
    "notebooks_dir": "notebook_runner",
    "run_notebook": "notebook_runner",
    "MonthTables": "month_tables",
    "build_monthly": "report_runs",
    "build_tenants": "report_runs",
    "run_demo": "demo_run",
})
__all__ = ["MonthTables", "Quote", "Seller", "build_monthly", "build_quote", "build_tenants", "load_seller",
           "notebooks_dir", "render_html", "run_demo", "run_notebook", "write_documents", "write_index",
           "write_quote_report", "write_register_xlsx"]
