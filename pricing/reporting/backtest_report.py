"""A backtest as a reader-ready report: an HTML page with its charts, and the per-customer table.

:mod:`pricing.analysis.backtest` computes (exact integer minor units); this module only
labels and formats: plan names instead of ids, money with its currency and
thousands separators, a change in percent only where there was revenue to
change (a customer who paid nothing today has no percentage, not ``NaN``).
The page links the folder's one ``assets/plotly.min.js``
(:func:`pricing.reporting.notebook_runner.write_assets`), so its charts need no kernel
and no network. The per-customer table goes to Excel (amounts as numbers in
the currency's format) or CSV (amounts as decimal strings); in both, text a
spreadsheet would run as a formula stays text (:mod:`pricing.spreadsheet_text`).
Every file is written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pricing.analysis.backtest import Backtest
from pricing.analysis.candidates import diff_parameters
from pricing.engine.catalog import Catalog
from pricing.engine.money import from_minor
from pricing.engine.formatting import format_minor, format_money, plain_number
from pricing.files import atomic_write_bytes, atomic_write_text
from pricing.reporting.notebook_runner import ASSETS_DIR, PLOTLY_FILE, write_assets
from pricing.reporting.html_pages import render_page
from pricing.reporting.report_tables import figure_html, table_html

if TYPE_CHECKING:
    from pricing.analysis.backtest_stream import StreamedBacktest

PAGE_FILE = "backtest.html"
XLSX_FILE = "backtest_customers.xlsx"
CSV_FILE = "backtest_customers.csv"
NO_PLAN = "none eligible"

@dataclass(frozen=True)
class BacktestReport:
    """What the page and the table are made of: the backtest, its tornado and the customers' names."""

    result: Backtest | StreamedBacktest  # in memory, or streamed from the store (both are CustomerCuts)
    tornado: pd.DataFrame | None  # pricing.analysis.backtest.sensitivity() of the current catalog; None: not computed
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

    def switched(self, limit: int | None = None) -> pd.DataFrame:
        """Customers whose cheapest plan, in their latest month, differs under the candidate.

        ``limit``: only that many, largest change first (the page of a big book); every one is in the
        per-customer table.
        """
        frame = self.result.switched_customers()
        if limit is not None and len(frame) > limit:
            frame = frame.assign(_abs=frame["delta_minor"].abs()).sort_values(
                ["_abs", "customer_id"], ascending=[False, True]).head(limit)
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

    def customer_table(self, start: int = 0, stop: int | None = None) -> pd.DataFrame:
        """Every customer's bills over the history in currency units (exact ``Decimal``): the export.

        ``start``/``stop`` take a slice of the customers (sorted by id), so a million customers can be
        written a slice at a time.
        """
        per = self.result.per_customer().iloc[start:stop]
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
            "months": list(self.months), "customers": self.result.customer_count,
            "customer_months": self.result.customer_months,
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
        from pricing.reporting.charts import revenue_figure

        return revenue_figure(self.result).update_xaxes(type="category", title="month")

    def distribution_chart(self) -> Any:
        from pricing.reporting.charts import delta_histogram_figure

        return delta_histogram_figure(self.result)

    def tornado_chart(self) -> Any:
        """The parameters that move revenue (the table lists every one), largest swing on top."""
        from pricing.reporting.charts import tornado_figure

        assert self.tornado is not None
        return tornado_figure(self.tornado[self.tornado["swing_minor"] > 0], self.current)

    def _switched_note(self) -> str:
        count = len(self.result.switched_customers())
        if count <= SWITCHED_SHOWN:
            return ""
        return (f" {count:,} customers; the {SWITCHED_SHOWN} whose bill changes most are listed, every one is in "
                "the per-customer table.")

    # --- the page -----------------------------------------------------------------------------

    def html(self) -> str:
        """The page (``templates/backtest.html.j2``): tables escaped, charts as plotly's own markup."""
        cur, cand = self.current, self.candidate
        tornado = None
        if self.tornado is not None:
            tornado = {"percent": self.tornado["percent"].iloc[0] if len(self.tornado) else 0,
                       "chart": figure_html(self.tornado_chart(), "backtest-tornado"),
                       "table": table_html(self.sensitivity())}
        return render_page(
            "backtest.html.j2", title=f"Backtest of {cur.name} {cur.version} against candidate {cand.version}",
            plotly_src=f"{ASSETS_DIR}/{PLOTLY_FILE}", max_width="72rem", headline=self.headline(),
            currency=cur.currency, interval=cur.interval.value, changes=table_html(self.changes()),
            revenue_chart=figure_html(self.revenue_chart(), "backtest-revenue"), by_month=table_html(self.by_month()),
            by_plan=table_html(self.by_plan()),
            distribution_chart=figure_html(self.distribution_chart(), "backtest-distribution"),
            movement=table_html(self.movement()), percentiles=table_html(self.percentiles()), top=self.top,
            pay_more=table_html(self.pay_more()), pay_less=table_html(self.pay_less()),
            switched_note=self._switched_note(), switched=table_html(self.switched(SWITCHED_SHOWN)), tornado=tornado)


SWITCHED_SHOWN = 200  # customers listed on the page; the per-customer table has them all


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


def write_page(report: BacktestReport, folder: Path) -> Path:
    """``<folder>/backtest.html`` and the folder's ``assets/plotly.min.js``."""
    write_assets(folder)
    return atomic_write_text(Path(folder) / PAGE_FILE, report.html())


CSV_SLICE = 50_000  # customers formatted and written at a time
EXCEL_MAX_ROWS = 1_048_576  # rows of an Excel sheet, the header among them
# NOTE: openpyxl holds the whole sheet: about 3.6 KB a customer (787 MiB peak at 100,000 customers against
# 430 MiB for the CSV), so past this a run would outgrow 2 GiB; the CSV is written a slice at a time
XLSX_MAX_CUSTOMERS = 200_000


def customers_csv(report: BacktestReport, start: int = 0, stop: int | None = None, header: bool = True) -> str:
    """The per-customer table as CSV text: amounts as decimal strings, formula-like text neutralised.

    The same columns and values as :meth:`BacktestReport.customer_table`, built column by column and
    written by Arrow's CSV writer (a million customers in seconds): amounts are the exact decimal text
    of their minor units, fields are quoted where needed.
    """
    import csv
    import io

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from pricing.spreadsheet_text import FORMULA_STARTS

    per = report.result.per_customer().iloc[start:stop]
    cur, d = report.current.currency, report.current.decimals

    def safe(values: list[str]) -> list[str]:
        # NOTE: spreadsheet_text.neutralise's rule, inlined: a million calls would cost seconds
        return [("'" + v) if v.startswith(FORMULA_STARTS) else v for v in values]

    def plans(catalog: Catalog, column: pd.Series) -> list[str]:
        values = column.astype(object).tolist()
        names = {p: safe([report.plan_name(catalog, p)])[0] for p in set(values)}
        return [names[p] for p in values]

    ids = [str(c) for c in per["customer_id"].to_numpy(dtype=object).tolist()]
    get = report.names.get
    columns = {
        "Customer": safe(ids),
        "Name": safe([get(c, "") for c in ids]),
        "Plan": plans(report.current, per["plan"]),
        "Months": pa.array(per["months"].to_numpy(dtype=np.int64)),
        f"Bill today ({cur})": decimal_column(per["current_minor"].to_numpy(), d),
        f"Bill with candidate ({cur})": decimal_column(per["candidate_minor"].to_numpy(), d),
        f"Change ({cur})": decimal_column(per["delta_minor"].to_numpy(), d),
        # the percentage itself (12.50 for 12.5 %): already rounded to 2 places, so x 100 is a whole number
        "Change %": _percent_column(per["delta_percent"].to_numpy(dtype=np.float64)),
        "Cheapest plan today": plans(report.current, per["cheapest_current"]),
        "Cheapest plan with candidate": plans(report.candidate, per["cheapest_candidate"]),
        "Months the cheapest plan differs": pa.array(per["switched_months"].to_numpy(dtype=np.int64)),
    }
    table = pa.table({name: values if isinstance(values, pa.Array) else pa.array(values, pa.string())
                      for name, values in columns.items()})
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    rows = buffer.getvalue().decode("utf-8")
    if not header:
        return rows
    # the header as a spreadsheet user expects it (quoted only where needed); Arrow quotes every string
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(list(columns))
    return line.getvalue() + rows


def decimal_column(minor: np.ndarray, decimals: int) -> Any:
    """Integers of minor units as an Arrow decimal column (exact; written as '-1234.50', unquoted).

    NOTE: a decimal128 is its unscaled integer in 16 bytes (two's complement), so int64 minor units
    become one without any arithmetic: the low word is the value, the high word its sign.
    """
    import pyarrow as pa

    if minor.dtype != object:
        words = np.empty((len(minor), 2), dtype=np.int64)
        words[:, 0] = minor
        words[:, 1] = minor >> 63
        return pa.Array.from_buffers(pa.decimal128(38, decimals), len(minor), [None, pa.py_buffer(words.tobytes())])
    if all(abs(int(v)) < 10**38 for v in minor):
        return pa.array([from_minor(int(v), decimals) for v in minor], pa.decimal128(38, decimals))
    return pa.array(decimal_text(minor, decimals), pa.string())


def _percent_column(percent: np.ndarray) -> Any:
    import pyarrow as pa

    missing = np.isnan(percent)
    if np.all(missing | (np.abs(percent) < 1e15)):
        hundredths = np.where(missing, 0, np.round(percent * 100)).astype(np.int64)
        column = decimal_column(hundredths, 2)
        return pa.Array.from_buffers(column.type, len(column), [pa.array(~missing).buffers()[1],
                                                                column.buffers()[1]])
    return pa.array([None if m else f"{v:.2f}" for v, m in zip(percent.tolist(), missing.tolist())], pa.string())


def decimal_text(minor: Any, decimals: int) -> list[str]:
    """Integers of minor units as exact decimal text ('-1234.50'), as ``format_minor`` writes them."""
    values = minor.tolist() if isinstance(minor, np.ndarray) else [int(v) for v in minor]
    if decimals == 0:
        return [str(v) for v in values]
    unit = 10**decimals
    return [f"{'-' if v < 0 else ''}{abs(v) // unit}.{abs(v) % unit:0{decimals}d}" for v in values]


def _write_csv_slices(report: BacktestReport, path: Path) -> Path:
    """The CSV a slice of customers at a time, through a temporary file renamed at the end (atomic)."""
    from pricing.files import atomic_file

    count = len(report.result.per_customer())
    with atomic_file(path) as handle:
        for start in range(0, max(count, 1), CSV_SLICE):
            handle.write(customers_csv(report, start, start + CSV_SLICE, header=start == 0).encode("utf-8"))
    return path


def check_xlsx_size(customers: int) -> None:
    """One line when the per-customer table is too big for an Excel sheet, or for memory."""
    from pricing.errors import UsageError

    if customers >= EXCEL_MAX_ROWS:
        raise UsageError(f"{customers:,} customers do not fit an Excel sheet ({EXCEL_MAX_ROWS - 1:,} rows under "
                         "the header): use --format csv")
    if customers > XLSX_MAX_CUSTOMERS:
        raise UsageError(f"{customers:,} customers: the Excel table is built in memory (about 3.6 KB a customer), "
                         f"so it is written for at most {XLSX_MAX_CUSTOMERS:,}; use --format csv")


def write_customers(report: BacktestReport, folder: Path, fmt: str = "xlsx") -> Path:
    """The per-customer table as ``backtest_customers.xlsx`` (default) or ``.csv``.

    The Excel table is built in memory, so a book of more than :data:`XLSX_MAX_CUSTOMERS` customers
    (or more than a sheet's 1,048,575 rows) is refused with one line; the CSV has no limit and is
    written a slice at a time.
    """
    from pricing.reporting.excel import table_workbook_bytes

    cur = report.current.currency
    if fmt == "csv":
        return _write_csv_slices(report, Path(folder) / CSV_FILE)
    check_xlsx_size(len(report.result.per_customer()))
    table = report.customer_table()
    money = [f"Bill today ({cur})", f"Bill with candidate ({cur})", f"Change ({cur})"]
    data = table_workbook_bytes(table, "Customers", cur, report.current.decimals, money=money,
                                percent=["Change %"], title=f"Backtest of {report.current.name}")
    return atomic_write_bytes(Path(folder) / XLSX_FILE, data)


__all__ = ["CSV_FILE", "PAGE_FILE", "XLSX_FILE", "BacktestReport", "check_xlsx_size", "customers_csv", "percent_text",
           "write_customers", "write_page"]
