"""A policy comparison as a reader-ready report: ``policies.html`` with its charts, and ``policies.xlsx``.

:mod:`pricing.analysis.policies` computes in exact minor units; this module labels and
formats: money with its currency and thousands separators, one chart per
currency of the per-invoice differences under each combination, and the
customers most affected. The workbook lists every changed line (one sheet
per currency, amounts as numbers in the currency's format) and the summary.
The page links the folder's ``assets/plotly.min.js``; files are written
atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from pricing.reporting.excel import TableSheet, tables_workbook_bytes
from pricing.engine.money import from_minor
from pricing.engine.formatting import format_money
from pricing.files import atomic_write_bytes, atomic_write_text
from pricing.reporting.html_pages import render_page
from pricing.reporting.notebook_runner import ASSETS_DIR, PLOTLY_FILE, write_assets
from pricing.analysis.policies import PolicyComparison
from pricing.reporting.report_tables import figure_html, table_html

PAGE_FILE = "policies.html"
XLSX_FILE = "policies.xlsx"

class PoliciesReport:
    def __init__(self, comparison: PolicyComparison, names: dict[str, str] | None = None, top: int = 10) -> None:
        self.c = comparison
        self.names = names or {}
        self.top = top

    def money(self, minor: Any, currency: str) -> str:
        return format_money(int(minor), currency, self.c.decimals.get(currency, 2))

    def summary_table(self) -> pd.DataFrame:
        s = self.c.summary()
        return pd.DataFrame({
            "Settings": s["combination"], "Currency": s["currency"],
            "Total with the catalogs' own settings": [self.money(v, c)
                                                      for v, c in zip(s["baseline_minor"], s["currency"])],
            "Total": [self.money(v, c) for v, c in zip(s["total_minor"], s["currency"])],
            "Difference": [self.money(v, c) for v, c in zip(s["delta_minor"], s["currency"])],
            "Invoices changed": s["invoices_changed"], "Customers changed": s["customers_changed"],
            "Largest": [self.money(v, c) for v, c in zip(s["largest_minor"], s["currency"])],
            "p50": [self.money(v, c) for v, c in zip(s["p50_minor"], s["currency"])],
            "p95": [self.money(v, c) for v, c in zip(s["p95_minor"], s["currency"])],
        })

    def most_affected(self) -> pd.DataFrame:
        """Customers whose month moves most under any combination (largest absolute difference)."""
        changes = self.c.invoice_changes()
        if changes.empty:
            return pd.DataFrame(columns=["Customer", "Name", "Settings", "Currency", "Difference"])
        per = changes.groupby(["customer_id", "combination", "currency"])["delta_minor"].sum().reset_index()
        per["size"] = [abs(int(v)) for v in per["delta_minor"]]
        per = per.sort_values(["size", "customer_id"], ascending=[False, True]).head(self.top)
        return pd.DataFrame({
            "Customer": per["customer_id"].astype(str),
            "Name": [self.names.get(str(c), "") for c in per["customer_id"]],
            "Settings": per["combination"], "Currency": per["currency"],
            "Difference": [self.money(v, c) for v, c in zip(per["delta_minor"], per["currency"])],
        })

    def figures(self) -> list[Markup]:
        import plotly.graph_objects as go

        changes = self.c.invoice_changes()
        out = []
        for n, currency in enumerate(sorted(set(changes["currency"]))):
            mine = changes[changes["currency"] == currency]
            d = self.c.decimals.get(currency, 2)
            fig = go.Figure()
            for combo in dict.fromkeys(mine["combination"]):
                values = [float(from_minor(int(v), d)) for v in mine[mine["combination"] == combo]["delta_minor"]]
                fig.add_trace(go.Box(y=values, name=combo, boxpoints="all", jitter=0.4, pointpos=0))
            fig.update_layout(title=f"Per-invoice difference to the catalogs' own settings ({currency}),"
                                    " changed invoices",
                              yaxis_title=currency, showlegend=False, height=460, margin={"b": 160})
            out.append(figure_html(fig, f"policies-{n}"))
        return out

    def html(self) -> str:
        """The page (``templates/policies.html.j2``): tables escaped, charts as plotly's own markup."""
        c = self.c
        own = "; ".join(f"{catalog}: " + ", ".join(f"{k}={v}" for k, v in values.items())
                        for catalog, values in c.own.items())
        return render_page(
            "policies.html.j2", title=f"Billing conventions, {c.month}", plotly_src=f"{ASSETS_DIR}/{PLOTLY_FILE}",
            max_width="76rem", month=c.month, invoices=len(c.baseline.invoices), combinations=len(c.runs),
            varied=", ".join(sorted({k for run in c.runs for k in run.changes})), own=own,
            summary=table_html(self.summary_table()), figures=self.figures(),
            most_affected=table_html(self.most_affected()), workbook=XLSX_FILE)

    def workbook(self) -> bytes:
        lines = self.c.changed_lines()
        sheets = [TableSheet("Summary", self.summary_table(), "", 0)]
        for currency in sorted(set(lines["currency"])):
            mine = lines[lines["currency"] == currency]
            d = self.c.decimals.get(currency, 2)
            frame = pd.DataFrame({
                "Settings": mine["combination"], "Customer": mine["customer_id"].astype(str),
                "Issued": [pd.Timestamp(v).tz_convert(None) if v is not None else None for v in mine["issued_at"]],
                "Item": mine["item"], "Type": mine["line_type"],
                "With own settings": [from_minor(int(v), d) for v in mine["baseline_minor"]],
                "With these settings": [from_minor(int(v), d) for v in mine["variant_minor"]],
                "Difference": [from_minor(int(v), d) for v in mine["delta_minor"]],
                "Moved by": mine["why"],
            })
            sheets.append(TableSheet(f"Lines {currency}", frame, currency, d,
                                     money=["With own settings", "With these settings", "Difference"]))
        return tables_workbook_bytes(sheets, title=f"Billing conventions, {self.c.month}")

    def headline(self) -> list[str]:
        out = [f"{self.c.month}: {len(self.c.baseline.invoices):,} invoices with the catalogs' own settings"]
        for r in self.c.summary().to_dict("records"):
            out.append(f"  {r['combination']} [{r['currency']}]: {self.money(r['delta_minor'], r['currency'])}"
                       f" ({r['invoices_changed']} invoices, {r['customers_changed']} customers changed;"
                       f" largest {self.money(r['largest_minor'], r['currency'])})")
        return out


def write_report(report: PoliciesReport, folder: Path) -> tuple[Path, Path]:
    """``<folder>/policies.html`` (and ``assets/plotly.min.js``) and ``<folder>/policies.xlsx``."""
    write_assets(folder)
    page = atomic_write_text(Path(folder) / PAGE_FILE, report.html())
    book = atomic_write_bytes(Path(folder) / XLSX_FILE, report.workbook())
    return page, book


__all__ = ["PAGE_FILE", "XLSX_FILE", "PoliciesReport", "write_report"]
