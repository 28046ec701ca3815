"""The tables behind a month's tenant pages, computed once for every tenant and read by every page.

A tenant page used to query the store itself: daily usage, metered values,
included quantities, busiest accounts, the customer's invoice lines. With
thousands of tenants that is thousands of store openings and queries whose
cost grows with the store. :func:`build` computes the same tables for the whole
month in a few set-based queries; :func:`write` stores them as Parquet files in
the month's report folder (``data/``); each page (a warm kernel) reads them once
(:func:`read` caches them per process) and takes its tenant's rows
(:meth:`MonthTables.view`).

The numbers are those of :mod:`pricing.reporting.report_tables`' per-tenant functions
(``tenant_daily_usage``, ``tenant_metrics``, ``included_use``, ``top_accounts``,
``customer_invoice_lines``); ``tests/test_month_tables.py`` checks every tenant
of a store against them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pricing.engine.catalog import Catalog, load_catalog
from pricing.errors import ReportError
from pricing.engine.periods import month_bounds
from pricing.metering.meters import qualifies
from pricing.engine.money import from_minor
from pricing.engine.rating import included_units
from pricing.reporting.report_tables import INVOICE_LINE_VIEW

if TYPE_CHECKING:
    from pricing.metering.store import Store

DATA_DIR = "data"
TOP_ACCOUNTS = 10
ACCOUNT_KINDS = ("user", "client")
TABLES = ("tenants", "customers", "daily", "metrics", "accounts", "included", "lines")

_COLUMNS = {
    "tenants": ["customer_id", "tenant_id", "events", "first_event", "last_event"],
    "customers": ["customer_id", "name", "catalog", "plan"],
    "daily": ["customer_id", "tenant_id", "metric", "name", "day", "daily", "to_date"],
    "metrics": ["customer_id", "tenant_id", "metric", "value"],
    "accounts": ["customer_id", "tenant_id", "account_kind", "account_id", "calls", "failed", "active_days"],
    "included": ["customer_id", "metric", "charge", "included", "customer_used", "share_of_included_used"],
    "lines": ["customer_id", "invoice_id", "line_no", "item", "line_type", "service_start", "service_end",
              "quantity", "unit_price", "amount_minor",
              "explanation", "currency", "decimals"],
}
_TENANT_TABLES = ("tenants", "daily", "metrics", "accounts")  # keyed by customer and tenant; the others by customer


@lru_cache(maxsize=64)
def _catalog(catalog_id: str) -> Catalog:
    return load_catalog(catalog_id)


# --- one tenant's page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantView:
    """Everything one tenant page shows, as the page shows it."""

    month: str
    customer: str
    tenant: str
    name: str
    catalog_id: str
    plan: str
    events: int
    first_event: Any
    last_event: Any
    daily: pd.DataFrame  # day, metric, name, daily, to_date (as reports.tenant_daily_usage)
    metrics: pd.DataFrame  # metric, name, value (as reports.tenant_metrics_frame)
    included: pd.DataFrame  # as reports.included_use
    accounts: pd.DataFrame  # account_kind, account_id, calls, failed, active_days
    lines: pd.DataFrame  # as reports.customer_invoice_lines

    @property
    def catalog(self) -> Catalog:
        return _catalog(self.catalog_id)

    def meta(self, made_at: datetime | None = None) -> Any:
        """The report's statement about itself (catalog and version, data range, when made)."""
        from pricing.reporting.report_tables import ReportMeta

        catalogs = ((self.catalog.id, self.catalog.name, self.catalog.version),) if self.catalog_id else ()
        return ReportMeta(self.month, catalogs, _py(self.first_event), _py(self.last_event), self.events,
                          made_at or datetime.now(UTC).replace(microsecond=0))

    def top_accounts(self, kind: str) -> pd.DataFrame:
        """The busiest accounts of one kind (as reports.top_accounts)."""
        part = self.accounts[self.accounts["account_kind"] == kind]
        return part[["account_id", "calls", "failed", "active_days"]].reset_index(drop=True)

    def plan_rules(self) -> list[str]:
        from pricing.reporting.report_tables import plan_rules

        return plan_rules(self.catalog, self.plan)


def _py(moment: Any) -> Any:
    if moment is None or (not isinstance(moment, str) and pd.isna(moment)):
        return None
    return pd.Timestamp(moment).to_pydatetime()


# --- the month's tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthTables:
    """The month's tables (see ``_COLUMNS``), one DataFrame each."""

    month: str
    frames: dict[str, pd.DataFrame] = field(repr=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    @cached_property
    def _groups(self) -> dict[str, dict[Any, pd.DataFrame]]:
        """Each table split by tenant (or customer) once, so a page takes its rows by lookup."""
        out: dict[str, dict[Any, pd.DataFrame]] = {}
        for name in TABLES:
            frame = self.frames[name]
            keys = ["customer_id", "tenant_id"] if name in _TENANT_TABLES else ["customer_id"]
            if frame.empty:
                out[name] = {}
                continue
            grouped = frame.groupby(keys if len(keys) > 1 else keys[0], sort=False)
            out[name] = {key: part.reset_index(drop=True) for key, part in grouped}
        return out

    def _part(self, name: str, key: Any) -> pd.DataFrame:
        part = self._groups[name].get(key)
        if part is None:
            return self.frames[name].iloc[0:0].reset_index(drop=True)
        return part

    def tenants(self) -> list[tuple[str, str]]:
        frame = self.frames["tenants"]
        return list(zip(frame["customer_id"].astype(str), frame["tenant_id"].astype(str)))

    def view(self, customer: str, tenant: str) -> TenantView:
        """The tenant's page data; a one-line ReportError when the tenant has no events in the month."""
        row = self._part("tenants", (customer, tenant))
        if row.empty:
            listed = [t for c, t in self.tenants() if c == customer]
            shown = ", ".join(listed[:5]) + (" ..." if len(listed) > 5 else "")
            raise ReportError(f"tenant {tenant!r} of customer {customer!r} has no events in {self.month}"
                              f" (tenants with events: {shown or 'none'})")
        who = self._part("customers", customer)
        if who.empty:
            raise ReportError(f"customer {customer!r} is not in the customer book of the {self.month} tables")
        first = who.iloc[0]
        catalog_id = "" if pd.isna(first["catalog"]) else str(first["catalog"])
        catalog = _catalog(catalog_id) if catalog_id else None

        daily = self._part("daily", (customer, tenant))[["day", "metric", "name", "daily", "to_date"]]
        metrics = self._part("metrics", (customer, tenant))
        values = {str(m): int(v) for m, v in zip(metrics["metric"], metrics["value"])}
        names = catalog.metrics if catalog is not None else {}
        metrics_frame = pd.DataFrame(
            [{"metric": m, "name": names[m].name if m in names else m, "value": v} for m, v in values.items()],
            columns=["metric", "name", "value"])

        included = self._part("included", customer).copy()
        mine = [values.get(str(m), 0) for m in included["metric"]]
        included["tenant_used"] = pd.Series(mine, index=included.index, dtype="int64")
        included["tenant_share_of_customer"] = [float(t / u) if u else 0.0
                                                for t, u in zip(mine, included["customer_used"])]
        included["included"] = [None if pd.isna(v) else int(v) for v in included["included"]]
        included["share_of_included_used"] = [None if pd.isna(v) else float(v)
                                              for v in included["share_of_included_used"]]
        included = included[["metric", "charge", "included", "customer_used", "tenant_used",
                             "share_of_included_used", "tenant_share_of_customer"]]

        lines = self._part("lines", customer).copy()
        amounts = [from_minor(int(v), int(d)) for v, d in zip(lines["amount_minor"], lines["decimals"])]
        lines["amount"] = pd.Series(amounts, index=lines.index, dtype=object)
        lines = lines[INVOICE_LINE_VIEW]

        head = row.iloc[0]
        return TenantView(
            month=self.month, customer=customer, tenant=tenant, name=str(first["name"] or customer),
            catalog_id=catalog_id, plan=str(first["plan"]), events=int(head["events"]),
            first_event=head["first_event"], last_event=head["last_event"], daily=daily.reset_index(drop=True),
            metrics=metrics_frame, included=included.reset_index(drop=True),
            accounts=self._part("accounts", (customer, tenant)), lines=lines.reset_index(drop=True))

    @cached_property
    def _row_hashes(self) -> dict[str, Any]:
        return {name: pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
                if not frame.empty else None for name, frame in self.frames.items()}

    @cached_property
    def _positions(self) -> dict[str, dict[Any, Any]]:
        out: dict[str, dict[Any, Any]] = {}
        for name in TABLES:
            frame = self.frames[name].reset_index(drop=True)
            keys = ["customer_id", "tenant_id"] if name in _TENANT_TABLES else ["customer_id"]
            out[name] = {} if frame.empty else frame.groupby(keys if len(keys) > 1 else keys[0], sort=False).indices
        return out

    def digest(self, customer: str, tenant: str) -> str:
        """A sha256 of every row the tenant's page reads (its inputs, for skip-if-unchanged)."""
        digest = hashlib.sha256(f"{self.month}\x00{customer}\x00{tenant}".encode())
        for name in TABLES:
            key = (customer, tenant) if name in _TENANT_TABLES else customer
            rows = self._positions[name].get(key)
            digest.update(name.encode())
            if rows is not None:
                digest.update(self._row_hashes[name][rows].tobytes())
        return digest.hexdigest()


# --- building them from the store ------------------------------------------------------------------------


def _event_where(month: str, customer: str | None) -> tuple[str, list[Any]]:
    start, end = month_bounds(month, ReportError)
    where = '"timestamp" >= ? AND "timestamp" < ?'
    params: list[Any] = [start, end]
    if customer is not None:
        where += " AND customer_id = ?"
        params.append(customer)
    return where, params


def _tenants(store: Store, month: str, customer: str | None) -> pd.DataFrame:
    where, params = _event_where(month, customer)
    return store.con.execute(
        'SELECT customer_id, tenant_id, count(*) AS events, min("timestamp") AS first_event,'
        f' max("timestamp") AS last_event FROM events WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2', params).df()


def _customers(store: Store, month: str, customer: str | None) -> pd.DataFrame:
    book = store.customers()
    if customer is not None:
        book = book[book["customer_id"] == customer]
    heads = store.invoices(month)
    # NOTE: the plan shown is the one on the customer's last invoice of the month (ids sort in issue order),
    # else the book's: as reports.customer_plan.
    last = heads.groupby("customer_id", sort=False)["plan"].last() if not heads.empty else pd.Series(dtype=object)
    out = book[["customer_id", "name", "catalog", "plan"]].copy()
    out["plan"] = [str(last[c]) if c in last.index else str(p) for c, p in zip(out["customer_id"], out["plan"])]
    out["name"] = out["name"].where(out["name"].notna(), out["customer_id"])
    return out.reset_index(drop=True)


def _daily(store: Store, month: str, tenants: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Per tenant, metered metric and day: the day's value and the month-to-date value (all tenants at once)."""
    import ibis

    start, end = month_bounds(month, ReportError)
    days = pd.DataFrame({"day": pd.date_range(start, end - timedelta(days=1), freq="D").date})
    catalog_of = dict(zip(customers["customer_id"], customers["catalog"]))
    events = store.ibis.table("events")
    events = events.filter((events.timestamp >= ibis.timestamp(start)) & (events.timestamp < ibis.timestamp(end)))
    events = events.mutate(day=events.timestamp.date())
    frames = []
    tenants = tenants[["customer_id", "tenant_id"]].copy()
    tenants["catalog"] = [catalog_of.get(c) for c in tenants["customer_id"]]
    for catalog_id, mine in tenants.groupby("catalog", sort=True):
        catalog = _catalog(str(catalog_id))
        ids = sorted(mine["customer_id"].unique().tolist())
        scoped = events.filter(events.customer_id.isin(ids))
        grid = mine[["customer_id", "tenant_id"]].merge(days, how="cross")
        for order, (name, metric) in enumerate(catalog.metrics.items()):
            spec = metric.meter
            if spec is None or spec.aggregate not in {"distinct_accounts", "count"}:
                continue
            hits = scoped.filter(qualifies(scoped, spec))
            keys = ["customer_id", "tenant_id", "day"]
            if spec.aggregate == "count":
                daily = hits.group_by(keys).aggregate(daily=hits.count()).to_pandas()
                frame = _on_grid(grid, daily, "daily")
                frame["to_date"] = frame.groupby(["customer_id", "tenant_id"], sort=False)["daily"].cumsum()
            else:
                daily = hits.group_by(keys).aggregate(daily=hits.account_id.nunique()).to_pandas()
                first = hits.group_by(["customer_id", "tenant_id", "account_id"]).aggregate(day=hits.day.min())
                new = first.group_by(keys).aggregate(new=first.count()).to_pandas()
                frame = _on_grid(_on_grid(grid, daily, "daily"), new, "new")
                frame["to_date"] = frame.groupby(["customer_id", "tenant_id"], sort=False)["new"].cumsum()
                frame = frame.drop(columns="new")
            frame["to_date"] = frame["to_date"].astype("int64")
            frame["metric"] = name
            frame["name"] = metric.name
            frame["_order"] = order
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=_COLUMNS["daily"])
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["customer_id", "tenant_id", "_order", "day"], kind="stable")
    return out[_COLUMNS["daily"]].reset_index(drop=True)


def _on_grid(grid: pd.DataFrame, values: pd.DataFrame, column: str) -> pd.DataFrame:
    values = values.copy()
    values["day"] = pd.to_datetime(values["day"]).dt.date
    out = grid.merge(values, on=["customer_id", "tenant_id", "day"], how="left")
    out[column] = out[column].fillna(0).astype("int64")
    return out


def _metrics(store: Store, month: str, customer: str | None) -> pd.DataFrame:
    sql = "SELECT customer_id, tenant_id, metric, value FROM tenant_metrics WHERE month = ?"
    params: list[Any] = [month]
    if customer is not None:
        sql += " AND customer_id = ?"
        params.append(customer)
    return store.con.execute(sql + " ORDER BY 1, 2, 3", params).df()


def _accounts(store: Store, month: str, customer: str | None) -> pd.DataFrame:
    where, params = _event_where(month, customer)
    kinds = ", ".join("?" for _ in ACCOUNT_KINDS)
    return store.con.execute(f"""
        SELECT customer_id, tenant_id, account_kind, account_id, calls, failed, active_days FROM (
            SELECT customer_id, tenant_id, account_kind, account_id, count(*) AS calls,
                   count(*) FILTER (WHERE status >= 400) AS failed,
                   count(DISTINCT CAST("timestamp" AS DATE)) AS active_days,
                   row_number() OVER (PARTITION BY customer_id, tenant_id, account_kind
                                      ORDER BY count(*) DESC, account_id) AS rank
            FROM events WHERE {where} AND account_kind IN ({kinds})
            GROUP BY customer_id, tenant_id, account_kind, account_id)
        WHERE rank <= ? ORDER BY customer_id, tenant_id, account_kind, rank""",
        [*params, *ACCOUNT_KINDS, TOP_ACCOUNTS]).df()


def _included(store: Store, month: str, customers: pd.DataFrame) -> pd.DataFrame:
    """Per customer and charge with an included quantity: included, used, share used (as reports.included_use).

    The free units come from the rating engine's one rule (``rating.included_units``), for all
    customers of a plan at once.
    """
    usage_frame = store.customer_usage(month)
    metric_cols = [c for c in usage_frame.columns if c not in {"customer_id", "catalog"}]
    usage = usage_frame.set_index(usage_frame["customer_id"].astype(str))[metric_cols]
    rows = []
    plans = customers.dropna(subset=["catalog"]).groupby(["catalog", "plan"], sort=False)["customer_id"]
    for (catalog_id, plan_id), ids in plans:
        catalog = _catalog(str(catalog_id))
        plan = catalog.plans.get(str(plan_id))
        if plan is None:
            continue
        customer_ids = [str(c) for c in ids]
        frame = usage.reindex(customer_ids).fillna(0).astype("int64")
        frame = frame[[m for m in metric_cols if m in catalog.metrics]]
        for charge in plan.charges:
            if charge.included is None:
                continue
            free = None if charge.included.unlimited else included_units(catalog, charge, frame.reset_index(drop=True))
            scale = 10 ** catalog.metrics[charge.metric].decimal_places
            used = frame[charge.metric].tolist() if charge.metric in frame.columns else [0] * len(customer_ids)
            for position, customer_id in enumerate(customer_ids):
                included = None if free is None else int(free[position]) // scale
                rows.append({
                    "customer_id": customer_id, "metric": charge.metric, "charge": charge.label,
                    "included": included, "customer_used": int(used[position]),
                    "share_of_included_used": None if not included else float(Decimal(int(used[position])) / included),
                })
    frame = pd.DataFrame(rows, columns=_COLUMNS["included"])
    frame["included"] = frame["included"].astype("Int64")
    frame["share_of_included_used"] = frame["share_of_included_used"].astype("float64")
    return frame


def _lines(store: Store, month: str, customer: str | None) -> pd.DataFrame:
    from pricing.reporting.report_tables import register_lines

    if store.invoices(month).empty:
        return pd.DataFrame(columns=_COLUMNS["lines"])
    lines = register_lines(store, month)
    if customer is not None:
        lines = lines[lines["customer_id"] == customer]
    lines = lines.sort_values(["customer_id", "invoice_id", "line_no"], kind="stable")
    return lines[_COLUMNS["lines"]].reset_index(drop=True)


def build(store: Store, month: str, customer: str | None = None) -> MonthTables:
    """The month's tables for every tenant with events (or one customer's), from the store."""
    month_bounds(month, ReportError)
    tenants = _tenants(store, month, customer)
    customers = _customers(store, month, customer)
    frames = {
        "tenants": tenants,
        "customers": customers,
        "daily": _daily(store, month, tenants, customers),
        "metrics": _metrics(store, month, customer),
        "accounts": _accounts(store, month, customer),
        "included": _included(store, month, customers),
        "lines": _lines(store, month, customer),
    }
    return MonthTables(month, {name: frame[_COLUMNS[name]].reset_index(drop=True) for name, frame in frames.items()})


# --- Parquet files in the month's folder ------------------------------------------------------------------


def tables_dir(month_folder: Path) -> Path:
    return Path(month_folder) / DATA_DIR


def write(tables: MonthTables, folder: Path) -> Path:
    """``<folder>/tenant_<table>.parquet`` for every table, each written atomically; returns ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pricing.files import atomic_write_bytes

    folder = Path(folder)
    for name in TABLES:
        sink = pa.BufferOutputStream()
        table = pa.Table.from_pandas(tables[name], preserve_index=False)
        metadata = {**(table.schema.metadata or {}), b"pricing.month": tables.month.encode()}
        table = table.replace_schema_metadata(metadata)
        pq.write_table(table, sink, compression="zstd")
        atomic_write_bytes(folder / f"tenant_{name}.parquet", sink.getvalue().to_pybytes())
    return folder


def _read(folder: Path) -> MonthTables:
    import pyarrow.parquet as pq

    frames, month = {}, ""
    for name in TABLES:
        path = folder / f"tenant_{name}.parquet"
        if not path.is_file():
            raise ReportError(f"{folder}: the month's tables are incomplete ({path.name} is missing);"
                              " run pricing report tenants again")
        table = pq.read_table(path)
        month = (table.schema.metadata or {}).get(b"pricing.month", b"").decode() or month
        frames[name] = table.to_pandas()
    return MonthTables(month, frames)


_cache: dict[str, tuple[tuple[int, ...], MonthTables]] = {}


def read(folder: str | Path) -> MonthTables:
    """The tables in ``folder``, read once per process while the files are unchanged."""
    folder = Path(folder).resolve()
    stamp = tuple((folder / f"tenant_{name}.parquet").stat().st_mtime_ns
                  if (folder / f"tenant_{name}.parquet").exists() else 0 for name in TABLES)
    hit = _cache.get(str(folder))
    if hit is not None and hit[0] == stamp:
        return hit[1]
    tables = _read(folder)
    _cache.clear()  # one month at a time: a kernel renders one folder
    _cache[str(folder)] = (stamp, tables)
    return tables


def tenant_page(store: str, month: str, customer: str, tenant: str, tables: str = "") -> TenantView:
    """What the tenant notebook shows: from the month's tables when given, else straight from the store."""
    if tables:
        month_tables = read(tables)
        if month_tables.month and month_tables.month != month:
            raise ReportError(f"{tables}: these tables are for {month_tables.month}, not {month}")
        return month_tables.view(customer, tenant)
    from pricing.reporting.report_tables import check_month, check_tenant
    from pricing.metering.store import Store

    with Store(store, read_only=True) as db:
        check_month(db, month)
        check_tenant(db, month, customer, tenant)
        return build(db, month, customer).view(customer, tenant)


__all__ = ["DATA_DIR", "MonthTables", "TABLES", "TenantView", "build", "read", "tables_dir", "tenant_page", "write"]
