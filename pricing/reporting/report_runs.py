"""Monthly and tenant report runs: which pages to make, on which kernels, and the month's index.

Pages go to ``<out>/<month>/``: ``monthly_finance.html``, ``invoices.xlsx``,
``tenants/<customer>/<tenant>.html`` and ``index.html`` linking them all; the
pages link the folder's one plotly.js and stylesheet (``assets/``), and the
tenant pages read the month's tables (``data/``, computed once per run).
Everything is checked before a kernel starts (the month must be billed); a page
whose inputs (notebook, package code, parameters, its rows of the data) have
not changed since it was made is skipped; tenant pages run on a small pool of
warm kernels; a page that fails is retried once, then reported as failed with
its one-line error while the other pages are written; an interrupted run leaves
no half-written file, and the next run redoes only what is missing.

The ``pricing report`` and ``pricing demo`` commands call these functions; heavy
modules (pandas, Papermill, the kernel pool) are imported inside them, so naming
this module costs nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pricing.errors import ReportError

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
    from pricing.reporting import notebook_runner
    from pricing.reporting import report_tables
    from pricing.reporting.excel import write_register_xlsx

    target = month_dir(out, month)
    store_path = Path(store_path).resolve()
    fixed = {"store": str(store_path), "month": month}
    overridden = sorted(set(extra or {}) & set(fixed))
    if overridden:
        # NOTE: --param month=2026-02 with --month 2026-03 once wrote February's numbers under March's title
        raise ReportError(f"--param {overridden[0]}: set it with --{overridden[0]}, not --param")
    params = {**fixed, **(extra or {})}
    values = notebook_runner.check_parameters(MONTHLY_NOTEBOOK, params)
    with _open_store(store_path) as store:
        report_tables.check_month(store, month)
        report_tables.check_billed(store, month)
        inputs = report_tables.report_inputs(store, month)
        invoice_register = report_tables.register(store, month)
        lines = report_tables.register_lines(store, month)
    notebook_runner.clean_partials(target)
    results = []
    page = target / MONTHLY_PAGE
    digest = notebook_runner.fingerprint(MONTHLY_NOTEBOOK, values, inputs)
    if force or not notebook_runner.is_current(page, digest):
        notebook_runner.write_assets(target)
        notebook_runner.run_notebook(MONTHLY_NOTEBOOK, values, page, timeout, cwd=store_path.parent,
                        title=f"Monthly finance report {month}", assets=target)
        notebook_runner.record(page, digest, kind="monthly", month=month)
        results.append(PageResult(page, "rendered", "Monthly finance report"))
    else:
        results.append(PageResult(page, "skipped", "Monthly finance report"))
    register_path = target / REGISTER_FILE
    register_digest = notebook_runner.fingerprint(None, {"month": month, "file": REGISTER_FILE}, inputs)
    if force or not notebook_runner.is_current(register_path, register_digest):
        write_register_xlsx(invoice_register, lines, register_path, title=f"Invoice register {month}")
        notebook_runner.record(register_path, register_digest, kind="register", month=month)
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
    from pricing.reporting import month_tables
    from pricing.reporting import notebook_runner
    from pricing.reporting import report_tables

    store_path = Path(store_path).resolve()
    blank = {"store": "", "month": month, "customer_hex": "", "tenant_hex": "", "tables": ""}
    overridden = sorted(set(extra or {}) & {*blank, "customer", "tenant"})
    if overridden:
        raise ReportError(f"--param {overridden[0]}: the command sets it for every page")
    notebook_runner.check_parameters(TENANT_NOTEBOOK, {**blank, **(extra or {})})
    with _open_store(store_path) as store:
        report_tables.check_month(store, month)
        report_tables.check_billed(store, month)
        if customer is not None:
            report_tables.check_customer(store, customer)
        tables = month_tables.build(store, month, customer)
    if customer is not None and not tables.tenants():
        raise ReportError(f"customer {customer!r} has no events in {month}")
    names = dict(zip(tables["customers"]["customer_id"], tables["customers"]["name"]))
    jobs = []
    for cust, tenant in tables.tenants():
        # NOTE: ids go as hex: Papermill pastes strings into code, and a tenant id may hold a newline,
        # a quote or a backslash; hex passes any id safely and the notebook decodes it
        params = {"store": str(store_path), "month": month, "customer_hex": cust.encode().hex(),
                  "tenant_hex": tenant.encode().hex(), **(extra or {})}
        values = notebook_runner.check_parameters(TENANT_NOTEBOOK, {**params, "tables": str(tables_folder)})
        # the page shows its rows of the month's tables: those, not where the tables sit, are its inputs
        digest = notebook_runner.fingerprint(TENANT_NOTEBOOK, notebook_runner.check_parameters(TENANT_NOTEBOOK, params),
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
    from pricing.reporting import notebook_runner
    from pricing.reporting.papermill_engine import ENGINE_NAME

    notebook_runner.run_notebook(TENANT_NOTEBOOK, job.values, job.page, timeout,
                                 title=f"Tenant {job.tenant} ({job.customer})", engine=ENGINE_NAME,
                                 assets=job.page.parent.parent.parent)
    notebook_runner.record(job.page, job.digest, kind="tenant", customer=job.customer, name=job.name, tenant=job.tenant)
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

    from pricing.reporting import month_tables
    from pricing.reporting import notebook_runner
    from pricing.reporting.kernel_pool import KernelPool

    target = month_dir(out, month)
    notebook_runner.clean_partials(target)
    scratch = None
    if customer is None:
        folder = month_tables.tables_dir(target).resolve()
    else:  # one customer's tables must not replace the month's: they live for this run only
        scratch_name = f".tables-{notebook_runner.safe_name(customer)}{notebook_runner.PARTIAL_SUFFIX}"
        scratch = folder = (target / scratch_name).resolve()
    try:
        planned, tables = _plan(store_path, month, out, customer, extra, folder)
        stale = [force or not notebook_runner.is_current(j.page, j.digest) for j in planned]
        todo = [j for j, again in zip(planned, stale) if again]
        results = [PageResult(j.page, "skipped", j.tenant) for j, again in zip(planned, stale) if not again]
        if not todo:
            return results
        notebook_runner.ensure_kernel(notebook_runner.DEFAULT_KERNEL)
        month_tables.write(tables, folder)
        notebook_runner.write_assets(target)
        pool = KernelPool(min(_jobs(jobs), len(todo)), kernel_name=notebook_runner.DEFAULT_KERNEL,
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


def counts_line(results: list[PageResult]) -> str:
    """``N written, M unchanged (skipped)[, K failed]``: what a run did, in one line."""
    rendered = sum(r.status == "rendered" for r in results)
    failed = sum(r.status == "failed" for r in results)
    skipped = len(results) - rendered - failed
    return f"{rendered} written, {skipped} unchanged (skipped)" + (f", {failed} failed" if failed else "")


# --- index ----------------------------------------------------------------------------------------


def write_month_index(out: Path, month: str, store_path: Path | None = None) -> Path:
    """``<out>/<month>/index.html`` linking every finished page found there (names from the sidecars)."""
    from pricing.reporting import notebook_runner
    from pricing.reporting.report_index import Entry, write_index

    target = month_dir(out, month)
    entries: list[Entry] = []
    for name, label in ((MONTHLY_PAGE, "Monthly finance report"), (REGISTER_FILE, "Invoice register (Excel)")):
        if (target / name).is_file() and notebook_runner.sidecar_path(target / name).is_file():
            entries.append(Entry(name, label, "Finance"))
    tenants = []
    for side in sorted((target / "tenants").rglob(f"*.html{notebook_runner.SIDECAR_SUFFIX}")):
        page = side.with_name(side.name.removesuffix(notebook_runner.SIDECAR_SUFFIX))
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
        from pricing.reporting import report_tables

        with _open_store(Path(store_path)) as store:
            meta = report_tables.report_meta(store, month).lines()
    return write_index(target / "index.html", f"Reports for {month}", entries, meta)
