"""``pricing report monthly``, ``report tenants`` and ``report quote``.

    pricing report monthly --month 2026-03 [--store PATH] [--out reports] [--force] [--param NAME=VALUE]
    pricing report tenants --month 2026-03 [--customer ID] [--jobs 2] [--store PATH] [--out reports] [--force]
    pricing report quote --prospect NAME --catalog ID --usage M=Q ... [--plan P] [--term MONTHS] [--discount PCT]
                         [--tax PERCENT] [--seller FILE] [--include-hidden] [--internal] [--no-pdf] [--out DIR]

Pages go to ``<out>/<month>/``: ``monthly_finance.html``, ``invoices.xlsx``,
``tenants/<customer>/<tenant>.html`` and ``index.html`` linking them all; the
pages link the folder's one plotly.js and stylesheet (``assets/``), and the
tenant pages read the month's tables (``data/``, computed once per run).
Everything is checked before a kernel starts (the month must be billed); a page
whose inputs (notebook, package code, parameters, its rows of the data) have
not changed since it was made is skipped; tenant pages run on a small pool of
warm kernels (``--jobs``); a page that fails is retried once, then listed, one
line each, and the command exits with status 2 after the other pages are
written; an interrupted run leaves no half-written file, and the next run
redoes only what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pricing.errors import ReportError, UsageError
from pricing.metering.store import DEFAULT_STORE

DEFAULT_OUT = Path("reports")
MONTHLY_NOTEBOOK = "monthly_finance"
TENANT_NOTEBOOK = "tenant_usage"
MONTHLY_PAGE = "monthly_finance.html"
REGISTER_FILE = "invoices.xlsx"


@dataclass(frozen=True)
class PageResult:
    path: Path
    status: str  # 'rendered', 'skipped' or 'failed'
    label: str = ""
    error: str = ""  # why a page failed (one line)


# --- helpers ------------------------------------------------------------------------------


def _open_store(path: Path) -> Any:
    from pricing.metering.store import Store

    if not Path(path).is_file():
        raise ReportError(f"{path}: no such store; run `pricing demo` or `pricing sample-data --ingest` first")
    return Store(path, read_only=True)


def parse_params(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ReportError(f"--param {item!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def _jobs(value: int | None) -> int:
    if value is not None:
        if value < 1:
            raise ReportError(f"--jobs {value}: must be at least 1")
        return value
    return max(1, min(4, os.cpu_count() or 1))


def month_dir(out: Path, month: str) -> Path:
    return Path(out) / month


# --- the monthly report -----------------------------------------------------------------------


def build_monthly(store_path: Path, month: str, out: Path, *, force: bool = False,
                  extra: dict[str, str] | None = None, timeout: int = 600) -> list[PageResult]:
    """The monthly finance page and the Excel register of ``month`` (skipped when unchanged)."""
    from pricing.reporting import notebook_runner as nr
    from pricing.reporting import report_tables as R
    from pricing.reporting.excel import write_register_xlsx

    target = month_dir(out, month)
    store_path = Path(store_path).resolve()
    fixed = {"store": str(store_path), "month": month}
    overridden = sorted(set(extra or {}) & set(fixed))
    if overridden:
        # NOTE: --param month=2026-02 with --month 2026-03 once wrote February's numbers under March's title
        raise ReportError(f"--param {overridden[0]}: set it with --{overridden[0]}, not --param")
    params = {**fixed, **(extra or {})}
    values = nr.check_parameters(MONTHLY_NOTEBOOK, params)
    with _open_store(store_path) as store:
        R.check_month(store, month)
        R.check_billed(store, month)
        inputs = R.report_inputs(store, month)
        reg = R.register(store, month)
        lines = R.register_lines(store, month)
    nr.clean_partials(target)
    results = []
    page = target / MONTHLY_PAGE
    digest = nr.fingerprint(MONTHLY_NOTEBOOK, values, inputs)
    if force or not nr.is_current(page, digest):
        nr.write_assets(target)
        nr.run_notebook(MONTHLY_NOTEBOOK, values, page, timeout, cwd=store_path.parent,
                        title=f"Monthly finance report {month}", assets=target)
        nr.record(page, digest, kind="monthly", month=month)
        results.append(PageResult(page, "rendered", "Monthly finance report"))
    else:
        results.append(PageResult(page, "skipped", "Monthly finance report"))
    register_path = target / REGISTER_FILE
    register_digest = nr.fingerprint(None, {"month": month, "file": REGISTER_FILE}, inputs)
    if force or not nr.is_current(register_path, register_digest):
        write_register_xlsx(reg, lines, register_path, title=f"Invoice register {month}")
        nr.record(register_path, register_digest, kind="register", month=month)
        results.append(PageResult(register_path, "rendered", "Invoice register (Excel)"))
    else:
        results.append(PageResult(register_path, "skipped", "Invoice register (Excel)"))
    return results


# --- tenant reports ---------------------------------------------------------------------------

# Run once in each warm kernel: the imports and plotly's first figure, which every page then finds ready.
KERNEL_WARMUP = """
import pandas, pyarrow.parquet, plotly.graph_objects, plotly.subplots
import pricing.reporting.report_tables, pricing.reporting.month_tables
from IPython.display import HTML, display
plotly.graph_objects.Figure().to_html(include_plotlyjs=False, full_html=False)
"""


@dataclass(frozen=True)
class TenantJob:
    customer: str
    name: str
    tenant: str
    page: Path
    values: dict[str, Any]
    digest: str


def tenant_page(out: Path, month: str, customer: str, tenant: str) -> Path:
    from pricing.reporting.notebook_runner import safe_name

    return month_dir(out, month) / "tenants" / safe_name(customer) / f"{safe_name(tenant)}.html"


def _plan(store_path: Path, month: str, out: Path, customer: str | None, extra: dict[str, str] | None,
          tables_folder: Path) -> tuple[list[TenantJob], Any]:
    """The checked jobs and the month's tables they read, before any kernel starts."""
    from pricing.reporting import month_tables as MT
    from pricing.reporting import notebook_runner as nr
    from pricing.reporting import report_tables as R

    store_path = Path(store_path).resolve()
    blank = {"store": "", "month": month, "customer_hex": "", "tenant_hex": "", "tables": ""}
    overridden = sorted(set(extra or {}) & {*blank, "customer", "tenant"})
    if overridden:
        raise ReportError(f"--param {overridden[0]}: the command sets it for every page")
    nr.check_parameters(TENANT_NOTEBOOK, {**blank, **(extra or {})})
    with _open_store(store_path) as store:
        R.check_month(store, month)
        R.check_billed(store, month)
        if customer is not None:
            R.check_customer(store, customer)
        tables = MT.build(store, month, customer)
    if customer is not None and not tables.tenants():
        raise ReportError(f"customer {customer!r} has no events in {month}")
    names = dict(zip(tables["customers"]["customer_id"], tables["customers"]["name"]))
    jobs = []
    for cust, tenant in tables.tenants():
        # NOTE: ids go as hex: Papermill pastes strings into code, and a tenant id may hold a newline,
        # a quote or a backslash; hex passes any id safely and the notebook decodes it
        params = {"store": str(store_path), "month": month, "customer_hex": cust.encode().hex(),
                  "tenant_hex": tenant.encode().hex(), **(extra or {})}
        values = nr.check_parameters(TENANT_NOTEBOOK, {**params, "tables": str(tables_folder)})
        # the page shows its rows of the month's tables: those, not where the tables sit, are its inputs
        digest = nr.fingerprint(TENANT_NOTEBOOK, nr.check_parameters(TENANT_NOTEBOOK, params),
                                {"rows": tables.digest(cust, tenant)})
        jobs.append(TenantJob(cust, str(names.get(cust) or cust), tenant, tenant_page(out, month, cust, tenant),
                              values, digest))
    return jobs, tables


def plan_tenants(store_path: Path, month: str, out: Path, customer: str | None = None,
                 extra: dict[str, str] | None = None) -> list[TenantJob]:
    """Every tenant page to make (checked, with its inputs fingerprint), before any kernel starts."""
    from pricing.reporting.month_tables import tables_dir

    return _plan(store_path, month, out, customer, extra, tables_dir(month_dir(out, month)).resolve())[0]


def _render_tenant(job: TenantJob, timeout: int) -> Path:
    """One tenant page on the calling thread's warm kernel (a KernelPool worker)."""
    from pricing.reporting import notebook_runner as nr
    from pricing.reporting.papermill_engine import ENGINE_NAME

    nr.run_notebook(TENANT_NOTEBOOK, job.values, job.page, timeout, title=f"Tenant {job.tenant} ({job.customer})",
                    engine=ENGINE_NAME, assets=job.page.parent.parent.parent)
    nr.record(job.page, job.digest, kind="tenant", customer=job.customer, name=job.name, tenant=job.tenant)
    return job.page


def build_tenants(store_path: Path, month: str, out: Path, *, customer: str | None = None, jobs: int | None = None,
                  force: bool = False, extra: dict[str, str] | None = None, timeout: int = 600,
                  progress: bool = True) -> list[PageResult]:
    """Tenant pages of ``month`` (one customer's or all) on a pool of warm kernels, skipping unchanged ones.

    The month's tables are computed once and written beside the pages (``data/``; a
    one-customer run keeps its tables in a temporary folder). A page that fails is
    retried once, then reported as ``failed`` with its error; the other pages go on.
    """
    from tqdm import tqdm

    from pricing.reporting import month_tables as MT
    from pricing.reporting import notebook_runner as nr
    from pricing.reporting.kernel_pool import KernelPool

    target = month_dir(out, month)
    nr.clean_partials(target)
    scratch = None
    if customer is None:
        folder = MT.tables_dir(target).resolve()
    else:  # one customer's tables must not replace the month's: they live for this run only
        scratch = folder = (target / f".tables-{nr.safe_name(customer)}{nr.PARTIAL_SUFFIX}").resolve()
    try:
        planned, tables = _plan(store_path, month, out, customer, extra, folder)
        stale = [force or not nr.is_current(j.page, j.digest) for j in planned]
        todo = [j for j, again in zip(planned, stale) if again]
        results = [PageResult(j.page, "skipped", j.tenant) for j, again in zip(planned, stale) if not again]
        if not todo:
            return results
        nr.ensure_kernel(nr.DEFAULT_KERNEL)
        MT.write(tables, folder)
        nr.write_assets(target)
        pool = KernelPool(min(_jobs(jobs), len(todo)), kernel_name=nr.DEFAULT_KERNEL,
                          cwd=Path(store_path).resolve().parent, warmup=KERNEL_WARMUP)
        bar = tqdm(total=len(planned), initial=len(planned) - len(todo), unit="tenant", desc=f"tenants {month}",
                   disable=not progress, file=sys.stderr)
        try:
            outcomes = pool.map(lambda job: _render_tenant(job, timeout), todo, on_done=lambda _: bar.update())
        finally:
            bar.close()
        for outcome in outcomes:
            job = outcome.item
            results.append(PageResult(job.page, "rendered" if outcome.ok else "failed", job.tenant, outcome.error))
        return results
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def failed_lines(results: list[PageResult], out: Path, month: str) -> list[str]:
    """One line per failed page: where it would be and why it failed."""
    target = month_dir(out, month)
    lines = []
    for result in results:
        if result.status == "failed":
            try:
                where = result.path.relative_to(target).as_posix()
            except ValueError:
                where = str(result.path)
            lines.append(f"failed: {where} (tenant {result.label}): {result.error}")
    return lines


# --- index ----------------------------------------------------------------------------------------


def write_month_index(out: Path, month: str, store_path: Path | None = None) -> Path:
    """``<out>/<month>/index.html`` linking every finished page found there (names from the sidecars)."""
    from pricing.reporting import notebook_runner as nr
    from pricing.reporting.report_index import Entry, write_index

    target = month_dir(out, month)
    entries: list[Entry] = []
    for name, label in ((MONTHLY_PAGE, "Monthly finance report"), (REGISTER_FILE, "Invoice register (Excel)")):
        if (target / name).is_file() and nr.sidecar_path(target / name).is_file():
            entries.append(Entry(name, label, "Finance"))
    tenants = []
    for side in sorted((target / "tenants").rglob(f"*.html{nr.SIDECAR_SUFFIX}")):
        page = side.with_name(side.name.removesuffix(nr.SIDECAR_SUFFIX))
        if not page.is_file():
            continue
        try:
            data = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        tenants.append((str(data.get("customer", "")), str(data.get("tenant", "")), str(data.get("name", "")), page))
    for customer, tenant, name, page in sorted(tenants):
        entries.append(Entry(page.relative_to(target).as_posix(), tenant, f"Tenant usage: {name} ({customer})"))
    meta = []
    if store_path is not None and Path(store_path).is_file():
        from pricing.reporting import report_tables as R

        with _open_store(Path(store_path)) as store:
            meta = R.report_meta(store, month).lines()
    return write_index(target / "index.html", f"Reports for {month}", entries, meta)


# --- commands ---------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser("report", help="monthly finance, per-tenant usage and quote reports")
    sub = report.add_subparsers(dest="report_command", metavar="REPORT", parser_class=type(report))
    sub.required = True

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--month", required=True, help="YYYY-MM")
        p.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"store file (default {DEFAULT_STORE})")
        p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"reports directory (default {DEFAULT_OUT})")
        p.add_argument("--force", action="store_true", help="render even when the inputs have not changed")
        p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="an extra notebook parameter (checked against the notebook's declared ones)")
        p.add_argument("--timeout", type=int, default=600, help="seconds a notebook cell may run (default 600)")

    p = sub.add_parser("monthly", help="the monthly finance report and the Excel invoice register")
    common(p)
    p.set_defaults(handler=cmd_monthly)

    p = sub.add_parser("tenants", help="a usage report per tenant (all customers, or one)")
    common(p)
    p.add_argument("--customer", help="only this customer's tenants")
    p.add_argument("--jobs", type=int, default=None,
                   help="warm kernels rendering tenant pages (default: CPU count, at most 4)")
    p.set_defaults(handler=cmd_tenants)

    p = sub.add_parser("quote", help="a quote document for a prospect")
    p.add_argument("--prospect", required=True, help="the prospect's name")
    p.add_argument("--catalog", required=True, help="bundled catalog id or path")
    p.add_argument("--usage", action="append", default=[], metavar="METRIC=QTY", help="expected usage (repeatable)")
    p.add_argument("--plan", default=None, help="the plan to quote (default: the cheapest eligible)")
    p.add_argument("--term", type=int, default=12, metavar="MONTHS", help="contract term in months (default 12)")
    p.add_argument("--discount", default=None, metavar="PCT", help="percent off")
    p.add_argument("--tax", default=None, metavar="PERCENT", help="tax rate in percent, shown as its own line")
    p.add_argument("--seller", type=Path, default=None, metavar="FILE",
                   help="seller file the invoices use (seller block, contact, quote_prefix, locale); "
                        "default: the catalog's vendor, amounts in en_US")
    p.add_argument("--include-hidden", action="store_true", help="also quote and compare hidden plans")
    p.add_argument("--internal", action="store_true",
                   help="add the internal appendix (catalog sources, assumption notes); writes *-internal.html")
    p.add_argument("--no-pdf", action="store_true", help="HTML only")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT / "quotes", help="directory (default reports/quotes)")
    p.set_defaults(handler=cmd_quote)


def _print_results(results: list[PageResult]) -> None:
    rendered = sum(r.status == "rendered" for r in results)
    failed = sum(r.status == "failed" for r in results)
    skipped = len(results) - rendered - failed
    print(f"{rendered} written, {skipped} unchanged (skipped)" + (f", {failed} failed" if failed else ""))


def cmd_monthly(args: argparse.Namespace) -> int:
    results = build_monthly(args.store, args.month, args.out, force=args.force, extra=parse_params(args.param),
                            timeout=args.timeout)
    for result in results:
        print(f"{result.status}: {result.path}")
    index = write_month_index(args.out, args.month, args.store)
    print(f"index: {index}")
    return 0


def cmd_tenants(args: argparse.Namespace) -> int:
    results = build_tenants(args.store, args.month, args.out, customer=args.customer, jobs=args.jobs,
                            force=args.force, extra=parse_params(args.param), timeout=args.timeout)
    _print_results(results)
    index = write_month_index(args.out, args.month, args.store)
    print(f"index: {index}")
    failures = failed_lines(results, args.out, args.month)
    for line in failures:
        print(line, file=sys.stderr)
    return 2 if failures else 0


def cmd_quote(args: argparse.Namespace) -> int:
    from pricing.apps.cli.core import parse_usage

    try:
        from pricing.reporting.quote_document import write_quote_report
    except ImportError:
        raise ReportError("quote documents are not available in this version"
                          " (pricing.reporting.quote_document is missing)") from None
    discount: Decimal | None = None
    if args.discount is not None:
        try:
            discount = Decimal(args.discount)
        except InvalidOperation:
            raise UsageError(f"--discount {args.discount!r} is not a number") from None
        if not discount.is_finite() or not Decimal(0) <= discount <= Decimal(100):
            raise UsageError(f"--discount {args.discount!r} must be between 0 and 100")
    if args.term < 1:
        raise UsageError(f"--term {args.term}: must be at least 1 month")
    from pricing.reporting.invoice_document import load_seller
    from pricing.apps.cli.core import _decimal_option

    tax = _decimal_option("--tax", args.tax, maximum=Decimal(100))
    seller = load_seller(args.seller) if args.seller is not None else None
    paths = write_quote_report(args.prospect, args.catalog, parse_usage(args.usage), args.plan, args.term,
                               discount, args.out, pdf=not args.no_pdf, tax_percent=tax,
                               include_hidden=args.include_hidden, internal=args.internal, seller=seller)
    for path in paths:
        print(f"wrote {path}")
    return 0


__all__: list[str] = [
    "PageResult", "TenantJob", "build_monthly", "build_tenants", "failed_lines", "parse_params", "plan_tenants",
    "register",
    "tenant_page", "write_month_index",
]
