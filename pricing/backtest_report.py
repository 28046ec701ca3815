"""A backtest as a reader-ready report: an HTML page with its charts, and the per-customer table.

:mod:`pricing.backtest` computes (exact integer minor units); this module only
labels and formats: plan names instead of ids, money with its currency and
thousands separators, a change in percent only where there was revenue to
change (a customer who paid nothing today has no percentage, not ``NaN``).
The page links the folder's one ``assets/plotly.min.js``
(:func:`pricing.notebook_runner.write_assets`), so its charts need no kernel
and no network. The per-customer table goes to Excel (amounts as numbers in
the currency's format) or CSV (amounts as decimal strings); in both, text a
spreadsheet would run as a formula stays text (:mod:`pricing.spreadsheet_text`).
Every file is written atomically.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from .backtest import Backtest
from .candidates import diff_parameters
from .catalog import Catalog
from .money import format_minor, format_money, from_minor, plain_number
from .notebook_runner import ASSETS_DIR, PLOTLY_FILE, atomic_write_bytes, atomic_write_text, write_assets
from .reports import figure_html, page_style, table_html

PAGE_FILE = "backtest.html"
XLSX_FILE = "backtest_customers.xlsx"
CSV_FILE = "backtest_customers.csv"
NO_PLAN = "none eligible"

_STYLE = page_style("72rem")


@dataclass(frozen=True)
class BacktestReport:
    """What the page and the table are made of: the backtest, its tornado and the customers' names."""

    result: Backtest
    tornado: pd.DataFrame | None  # pricing.backtest.sensitivity() of the current catalog; None: not computed
    names: Mapping[str, str]  # customer id -> name
    months: Sequence[str]
    top: int = 10

    @property
    def current(self) -> Catalog:
        return self.result.current

    @property
    def candidate(self) -> Catalog:
        return self.result.candidate

    def money(self, minor: Any) -> str:
        """'EUR 1,234.50' from an integer of minor units."""
        return format_money(int(minor), self.current.currency, self.current.decimals)

    def amount(self, minor: Any) -> Decimal:
        """The exact amount in currency units (for the spreadsheet)."""
        return from_minor(int(minor), self.current.decimals)

    def plan_name(self, catalog: Catalog, plan_id: Any) -> str:
        if plan_id is None or (isinstance(plan_id, float) and pd.isna(plan_id)) or plan_id is pd.NA:
            return NO_PLAN
        plan = catalog.plans.get(str(plan_id))
        return plan.name if plan is not None else str(plan_id)

    # --- tables shown on the page and exported -----------------------------------------------

    def changes(self) -> pd.DataFrame:
        """The price parameters the candidate changes: key, today's value, the candidate's."""
        rows = [{"Price parameter": key, "Today": plain_number(before), "Candidate": plain_number(after)}
                for key, before, after in diff_parameters(self.current, self.candidate)]
        return pd.DataFrame(rows, columns=["Price parameter", "Today", "Candidate"])

    def _revenue(self, frame: pd.DataFrame, key: str, label: str) -> pd.DataFrame:
        return pd.DataFrame({
            label: frame[key],
            "Customers": frame["customers"].astype(int),
            "Revenue today": [self.money(v) for v in frame["current_minor"]],
            "Revenue with candidate": [self.money(v) for v in frame["candidate_minor"]],
            "Change": [self.money(v) for v in frame["delta_minor"]],
            "Change %": [percent_text(v) for v in frame["delta_percent"]],
        })

    def by_month(self) -> pd.DataFrame:
        return self._revenue(self.result.by_month(), "month", "Month")

    def by_plan(self) -> pd.DataFrame:
        frame = self.result.by_plan()
        frame["plan"] = [self.plan_name(self.current, p) for p in frame["plan"]]
        return self._revenue(frame, "plan", "Plan")

    def movement(self) -> pd.DataFrame:
        frame = self.result.movement()
        return pd.DataFrame({
            "Customers who": frame["direction"],
            "Customers": frame["customers"].astype(int),
            "Total change": [self.money(v) for v in frame["total_delta_minor"]],
            "Largest change": [self.money(v) for v in frame["largest_change_minor"]],
        })

    def percentiles(self) -> pd.DataFrame:
        p = self.result.percentiles((5, 50, 95))
        return pd.DataFrame([{"Percentile": f"p{k[1:]}", "Change over the history": self.money(v)}
                             for k, v in p.items()])

    def _customers(self, per: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            "Customer": per["customer_id"].astype(str),
            "Name": [self.names.get(str(c), "") for c in per["customer_id"]],
            "Plan": [self.plan_name(self.current, p) for p in per["plan"]],
            "Bill today": [self.money(v) for v in per["current_minor"]],
            "Bill with candidate": [self.money(v) for v in per["candidate_minor"]],
            "Change": [self.money(v) for v in per["delta_minor"]],
            "Change %": [percent_text(v) for v in per["delta_percent"]],
        })

    def pay_more(self) -> pd.DataFrame:
        """The customers whose bill rises most (the candidate gains most from them)."""
        per = self.result.per_customer()
        per = per[per["delta_minor"] > 0].sort_values(["delta_minor", "customer_id"], ascending=[False, True])
        return self._customers(per.head(self.top))

    def pay_less(self) -> pd.DataFrame:
        """The customers whose bill falls most (the candidate loses most on them)."""
        per = self.result.per_customer()
        per = per[per["delta_minor"] < 0].sort_values(["delta_minor", "customer_id"], ascending=[True, True])
        return self._customers(per.head(self.top))

    def switched(self) -> pd.DataFrame:
        """Customers whose cheapest plan, in their latest month, differs under the candidate."""
        frame = self.result.switched_customers()
        return pd.DataFrame({
            "Customer": frame["customer_id"].astype(str),
            "Name": [self.names.get(str(c), "") for c in frame["customer_id"]],
            "Plan": [self.plan_name(self.current, p) for p in frame["plan"]],
            "Cheapest today": [self.plan_name(self.current, p) for p in frame["cheapest_current"]],
            "Cheapest with candidate": [self.plan_name(self.candidate, p) for p in frame["cheapest_candidate"]],
            "Change": [self.money(v) for v in frame["delta_minor"]],
        })

    def sensitivity(self) -> pd.DataFrame:
        if self.tornado is None:
            return pd.DataFrame()
        t = self.tornado
        pct = t["percent"].iloc[0] if len(t) else 0

        def change(value: Any) -> str:
            return "" if value is None or pd.isna(value) else self.money(value)

        return pd.DataFrame({
            "Price parameter": t["key"],
            "Plan": [self.plan_name(self.current, p) for p in t["plan"]],
            "Value today": [plain_number(v) for v in t["value"]],
            "Customers on the plan": t["customers_on_plan"].astype(int),
            f"Revenue change at -{pct}%": [change(v) for v in t["low_delta_minor"]],
            f"Revenue change at +{pct}%": [change(v) for v in t["high_delta_minor"]],
            "Note": t["note"],
        })

    def customer_table(self) -> pd.DataFrame:
        """Every customer's bills over the history in currency units (exact ``Decimal``): the export."""
        per = self.result.per_customer()
        cur = self.current.currency
        return pd.DataFrame({
            "Customer": per["customer_id"].astype(str),
            "Name": [self.names.get(str(c), "") for c in per["customer_id"]],
            "Plan": [self.plan_name(self.current, p) for p in per["plan"]],
            "Months": per["months"].astype(int),
            f"Bill today ({cur})": [self.amount(v) for v in per["current_minor"]],
            f"Bill with candidate ({cur})": [self.amount(v) for v in per["candidate_minor"]],
            f"Change ({cur})": [self.amount(v) for v in per["delta_minor"]],
            "Change %": [None if pd.isna(v) else Decimal(str(v)) / 100 for v in per["delta_percent"]],
            "Cheapest plan today": [self.plan_name(self.current, p) for p in per["cheapest_current"]],
            "Cheapest plan with candidate": [self.plan_name(self.candidate, p) for p in per["cheapest_candidate"]],
            "Months the cheapest plan differs": per["switched_months"].astype(int),
        })

    # --- summary ------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Totals and counts, amounts as decimal strings (``--json``)."""
        t = self.result.totals()
        d = self.current.decimals
        p = self.result.percentiles((5, 50, 95))
        movement = self.result.movement().set_index("direction")["customers"]
        current = t["current_minor"]
        return {
            "catalog": self.current.id, "version": self.current.version,
            "candidate_version": self.candidate.version, "currency": self.current.currency,
            "months": list(self.months), "customers": int(self.result.rows["customer_id"].nunique()),
            "customer_months": len(self.result.rows),
            "revenue_current": format_minor(current, d), "revenue_candidate": format_minor(t["candidate_minor"], d),
            "revenue_change": format_minor(t["delta_minor"], d),
            "revenue_change_percent": None if current == 0 else f"{Decimal(t['delta_minor']) * 100 / current:.2f}",
            "changes": {key: {"current": plain_number(a), "candidate": plain_number(b)}
                        for key, a, b in diff_parameters(self.current, self.candidate)},
            "customer_change_percentiles": {k: format_minor(v, d) for k, v in p.items()},
            "customers_paying_more": int(movement.get("pays more", 0)),
            "customers_paying_less": int(movement.get("pays less", 0)),
            "customers_unchanged": int(movement.get("no change", 0)),
            "customers_cheapest_plan_changes": len(self.result.switched_customers()),
        }

    def headline(self) -> str:
        s = self.summary()
        change = self.money(self.result.totals()["delta_minor"])
        pct = "" if s["revenue_change_percent"] is None else f" ({_signed(s['revenue_change_percent'])}%)"
        return (f"{s['customers']:,} customers, {len(self.months)} month(s) ({_month_span(self.months)}): revenue "
                f"today {self.money(self.result.totals()['current_minor'])}, with the candidate "
                f"{self.money(self.result.totals()['candidate_minor'])}, change {change}{pct}; "
                f"{s['customers_paying_more']:,} pay more, {s['customers_paying_less']:,} pay less, "
                f"{s['customers_cheapest_plan_changes']:,} would find another plan cheapest.")

    # --- charts ---------------------------------------------------------------------------------

    def revenue_chart(self) -> Any:
        """Revenue by month, today and with the candidate (months as categories, not dates)."""
        from .widgets import revenue_figure

        return revenue_figure(self.result).update_xaxes(type="category", title="month")

    def distribution_chart(self) -> Any:
        from .widgets import delta_histogram_figure

        return delta_histogram_figure(self.result)

    def tornado_chart(self) -> Any:
        """The parameters that move revenue (the table lists every one), largest swing on top."""
        from .widgets import tornado_figure

        assert self.tornado is not None
        return tornado_figure(self.tornado[self.tornado["swing_minor"] > 0], self.current)

    # --- the page -----------------------------------------------------------------------------

    def html(self) -> str:
        cur, cand = self.current, self.candidate
        title = f"Backtest of {cur.name} {cur.version} against candidate {cand.version}"
        parts = [
            f"<h1>{_e(title)}</h1>",
            f'<p class="summary">{_e(self.headline())}</p>',
            f'<p class="muted">Every bill is rated by the pricing engine from the metered usage of each month; '
            f"customers stay on their plan (a customer without one is billed on the cheapest eligible plan). "
            f"Amounts in {_e(cur.currency)}, per {_e(cur.interval.value)}.</p>",
            "<h2>Price changes</h2>",
            table_html(self.changes()),
            "<h2>Revenue by month</h2>",
            figure_html(self.revenue_chart(), "backtest-revenue"),
            table_html(self.by_month()),
            "<h2>Revenue by plan</h2>",
            table_html(self.by_plan()),
            "<h2>How customers' bills change</h2>",
            '<p class="muted">Each customer\'s change over the whole history. Percentiles are actual '
            "customers' changes.</p>",
            figure_html(self.distribution_chart(), "backtest-distribution"),
            table_html(self.movement()),
            table_html(self.percentiles()),
            f"<h2>Customers who pay more (top {self.top})</h2>",
            table_html(self.pay_more()),
            f"<h2>Customers who pay less (top {self.top})</h2>",
            table_html(self.pay_less()),
            "<h2>Customers whose cheapest plan changes</h2>",
            '<p class="muted">In their latest month: the plan that would be cheapest for them today and with '
            "the candidate.</p>",
            table_html(self.switched()),
        ]
        if self.tornado is not None:
            pct = self.tornado["percent"].iloc[0] if len(self.tornado) else 0
            parts += [
                "<h2>Sensitivity of today's revenue (tornado)</h2>",
                f'<p class="muted">Revenue change when one price parameter of the current catalog moves by '
                f"-{_e(pct)}% and +{_e(pct)}%, customers staying on their plans; largest swing first.</p>",
                figure_html(self.tornado_chart(), "backtest-tornado"),
                table_html(self.sensitivity()),
            ]
        body = "\n".join(parts)
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>\n'
                f'<script src="{ASSETS_DIR}/{PLOTLY_FILE}"></script>\n<style>{_STYLE}</style></head>\n'
                f"<body>\n{body}\n</body></html>\n")


def percent_text(value: Any) -> str:
    """'+12.50%'; an empty cell where there was no revenue to change (never 'nan%')."""
    if value is None or pd.isna(value):
        return ""
    return f"{_signed(f'{float(value):.2f}')}%"


def _signed(text: str) -> str:
    return text if text.startswith("-") or float(text) == 0 else f"+{text}"


def _month_span(months: Sequence[str]) -> str:
    if not months:
        return ""
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


def _e(value: Any) -> str:
    return html.escape(str(value))


def write_page(report: BacktestReport, folder: Path) -> Path:
    """``<folder>/backtest.html`` and the folder's ``assets/plotly.min.js``."""
    write_assets(folder)
    return atomic_write_text(Path(folder) / PAGE_FILE, report.html())


def customers_csv(report: BacktestReport) -> str:
    """The per-customer table as CSV text: amounts as decimal strings, formula-like text neutralised."""
    from .spreadsheet_text import neutralise_frame

    out = report.customer_table()
    # a Decimal, not text: a negative change must not look like a formula and get a quote mark
    out["Change %"] = [None if v is None else (v * 100).quantize(Decimal("0.01")) for v in out["Change %"]]
    return str(neutralise_frame(out).to_csv(index=False, lineterminator="\n"))


def write_customers(report: BacktestReport, folder: Path, fmt: str = "xlsx") -> Path:
    """The per-customer table as ``backtest_customers.xlsx`` (default) or ``.csv``."""
    from .excel import table_workbook_bytes

    table = report.customer_table()
    cur = report.current.currency
    if fmt == "csv":
        return atomic_write_text(Path(folder) / CSV_FILE, customers_csv(report))
    money = [f"Bill today ({cur})", f"Bill with candidate ({cur})", f"Change ({cur})"]
    data = table_workbook_bytes(table, "Customers", cur, report.current.decimals, money=money,
                                percent=["Change %"], title=f"Backtest of {report.current.name}")
    return atomic_write_bytes(Path(folder) / XLSX_FILE, data)


__all__ = ["CSV_FILE", "PAGE_FILE", "XLSX_FILE", "BacktestReport", "customers_csv", "percent_text", "write_customers",
           "write_page"]
