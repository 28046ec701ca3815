"""Metered metrics from raw events, written once as Ibis expressions.

The catalog says which calls qualify for a metric and how they aggregate
(:class:`pricing.engine.catalog.MeterSpec`); this module turns that into one grouped
aggregation (in two steps: per account, then per tenant) per customer x tenant
x calendar month (UTC). It runs on any Ibis
backend: DuckDB (the workbook store, the default), PySpark, or a warehouse
where the events already live. Only the aggregated rows, one per tenant and
month, ever come back to Python.

The events table needs the columns of :data:`pricing.metering.events.EVENT_COLUMNS`
with ``timestamp`` a timestamp in UTC (a timestamp without zone holding UTC,
or a zoned timestamp: a month's bounds are then compared in UTC, and the
backend session must be in UTC when every month is metered at once) and
``status`` an integer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from pricing.engine.catalog import Catalog, MeterSpec, load_catalog
from pricing.errors import MeteringError
from pricing.engine.periods import month_bounds, month_number

TENANT_COLUMNS = ["month", "customer_id", "tenant_id", "catalog", "metric", "value"]
CUSTOMER_COLUMNS = ["month", "customer_id", "catalog", "metric", "value"]


def metered_metrics(catalog: Catalog) -> list[str]:
    """The catalog's metrics computed from events, in declaration order."""
    return [name for name, metric in catalog.metrics.items() if metric.meter is not None]


def qualifies(events: ir.Table, spec: MeterSpec) -> ir.BooleanValue:
    """True for an event that counts towards a metric with this meter spec."""
    if not spec.calls:
        return ibis.literal(False)
    calls = [
        (events.method == call.method.upper())
        & (events.endpoint == call.endpoint.lstrip("/"))
        & events.account_kind.isin(list(call.account_kinds))
        for call in spec.calls
    ]
    condition = calls[0]
    for call in calls[1:]:
        condition = condition | call
    if spec.success_only:
        # NOTE: a call succeeds when its response is 2xx (a token, a session, a result issued).
        condition = condition & (events.status >= 200) & (events.status < 300)
    return condition


def _column(catalog_id: str, metric: str) -> str:
    return f"{catalog_id}__{metric}"


def _catalog_list(catalogs: Catalog | Iterable[Catalog] | Mapping[str, Catalog] | None,
                  mapping_ids: Iterable[str]) -> list[Catalog]:
    if catalogs is None:
        return [load_catalog(c) for c in sorted(set(mapping_ids))]
    if isinstance(catalogs, Catalog):
        return [catalogs]
    if isinstance(catalogs, Mapping):
        return list(catalogs.values())
    return list(catalogs)


def _mapping_table(customer_catalogs: Mapping[str, str] | ir.Table) -> ir.Table:
    if isinstance(customer_catalogs, ir.Table):
        return customer_catalogs.select("customer_id", "catalog")
    frame = pd.DataFrame(
        {"customer_id": list(customer_catalogs), "catalog": list(customer_catalogs.values())},
        columns=["customer_id", "catalog"],
    ).astype({"customer_id": "string", "catalog": "string"})
    return ibis.memtable(frame, schema={"customer_id": "string", "catalog": "string"})


def _in_month(events: ir.Table, month: str | None) -> ir.Table:
    if month is None:
        return events
    start, end = month_bounds(month, MeteringError)
    if events.timestamp.type().timezone is not None:
        # NOTE: a zoned column (Parquet written with UTC instants) is compared with zoned bounds,
        # whatever the session's zone, and read as it is: converting every event to a plain
        # timestamp first costs about a sixth of the query's CPU.
        start, end = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)
    return events.filter(
        (events.timestamp >= ibis.literal(start)) & (events.timestamp < ibis.literal(end))
    )


def _call_key(catalog_id: str, spec: MeterSpec) -> tuple[object, ...]:
    """What decides which events qualify for a meter spec: equal keys, equal conditions."""
    calls = tuple((c.method.upper(), c.endpoint.lstrip("/"), tuple(c.account_kinds)) for c in spec.calls)
    return catalog_id, calls, spec.success_only


def tenant_metrics_expr(
    events: ir.Table,
    catalogs: list[Catalog],
    customer_catalogs: Mapping[str, str] | ir.Table,
    month: str | None = None,
) -> ir.Table:
    """One row per month x customer x tenant with a column per catalog metric.

    Columns: ``month_key`` (year * 100 + month), ``customer_id``,
    ``tenant_id``, ``catalog`` and ``<catalog>__<metric>`` for every metered
    metric of every catalog (zero for other catalogs' customers). Every tenant
    with any event in the month gets a row, even if nothing in it counts.
    Events of customers missing from ``customer_catalogs`` are not in the
    result: check with :func:`unmapped_customers_expr` first.

    NOTE: the events are aggregated in two steps: qualifying calls per account
    (one column per distinct call condition, shared by the metrics that use it),
    then per tenant, where a ``count`` metric sums its column and a
    ``distinct_accounts`` metric counts the accounts whose column is non-zero.
    That is one hash aggregation over the events instead of a hash table per
    ``COUNT(DISTINCT ...)``, about half the CPU on DuckDB (BENCHMARKS.md,
    "Metering: the SQL floor"). With a ``month``, ``month_key`` is a constant
    added after grouping rather than a key computed for every event.
    """
    by_id = {c.id: c for c in catalogs}
    mapping = _mapping_table(customer_catalogs)
    scoped = _in_month(events, month)
    joined = scoped.join(mapping, "customer_id")
    keys = ["customer_id", "tenant_id", "catalog"]
    if month is None:
        joined = joined.mutate(
            month_key=(joined.timestamp.year() * 100 + joined.timestamp.month()).cast("int32")
        )
        keys = ["month_key", *keys]

    calls: dict[tuple[object, ...], str] = {}  # call condition -> its per-account column
    per_account: dict[str, ir.Value] = {}
    counted: dict[str, tuple[str, str]] = {}  # metric column -> (aggregate, per-account column)
    derived: dict[str, tuple[str, tuple[str, ...]]] = {}
    for catalog in by_id.values():
        for name in metered_metrics(catalog):
            spec = catalog.metrics[name].meter
            assert spec is not None
            column = _column(catalog.id, name)
            if spec.aggregate in ("distinct_accounts", "count"):
                key = _call_key(catalog.id, spec)
                if key not in calls:
                    calls[key] = f"_calls_{len(calls)}"
                    condition = (joined.catalog == catalog.id) & qualifies(joined, spec)
                    # NOTE: count(account_id) skips a missing account, as COUNT(DISTINCT) does.
                    per_account[calls[key]] = joined.account_id.count(where=condition)
                counted[column] = (spec.aggregate, calls[key])
            else:  # active_tenants: derived below from the tenant's other metrics
                for dep in spec.active_if:
                    dep_metric = catalog.metrics[dep]
                    if dep_metric.meter is None or dep_metric.meter.aggregate == "active_tenants":
                        raise MeteringError(
                            f"catalog {catalog.id!r}: metrics.{name}.meter.active_if names {dep!r},"
                            " which is not metered by distinct_accounts or count"
                        )
                derived[column] = (catalog.id, spec.active_if)

    accounts = joined.group_by([*keys, "account_id"]).aggregate(**per_account)
    aggregates: dict[str, ir.Value] = {}
    for column, (aggregate, source) in counted.items():
        hits = accounts[source]
        if aggregate == "distinct_accounts":
            aggregates[column] = (hits > 0).sum().cast("int64")
        else:
            aggregates[column] = hits.sum().cast("int64")
    if not aggregates:  # no metered metric at all: still one row per tenant with events
        aggregates["_accounts"] = accounts.count()
    grouped = accounts.group_by(keys).aggregate(**aggregates)
    if month is not None:
        grouped = grouped.mutate(month_key=ibis.literal(month_number(month, MeteringError), type="int32"))
    if derived:
        extra = {}
        for column, (catalog_id, deps) in derived.items():
            active = ibis.literal(False)
            for dep in deps:
                active = active | (grouped[_column(catalog_id, dep)] > 0)
            # NOTE: MAT per tenant is 1 when any of its active_if metrics is non-zero.
            extra[column] = ibis.ifelse(active, 1, 0).cast("int64")
        grouped = grouped.mutate(**extra)
    return grouped.select("month_key", "customer_id", "tenant_id", "catalog", *counted, *derived)


def unmapped_customers_expr(
    events: ir.Table, customer_catalogs: Mapping[str, str] | ir.Table, month: str | None = None
) -> ir.Table:
    """Customers with events (in the month) but no catalog, with their event counts."""
    mapping = _mapping_table(customer_catalogs)
    scoped = _in_month(events, month)
    missing = scoped.anti_join(mapping, "customer_id")
    return missing.group_by("customer_id").aggregate(events=missing.count()).order_by("customer_id")


@dataclass(frozen=True)
class MeterResult:
    """Metered values, long format: one row per (tenant or customer) x metric x month."""

    tenants: pd.DataFrame  # TENANT_COLUMNS
    customers: pd.DataFrame  # CUSTOMER_COLUMNS

    @property
    def months(self) -> list[str]:
        return sorted(set(self.tenants["month"]) | set(self.customers["month"]))

    def to_json(self, month: str) -> dict[str, Any]:
        """``{"month", "tenants": [...], "customers": [...]}`` with one key per metric."""
        return {
            "month": month,
            "tenants": _wide_rows(self.tenants[self.tenants["month"] == month], ["customer_id", "tenant_id"]),
            "customers": _wide_rows(self.customers[self.customers["month"] == month], ["customer_id"]),
        }


def _wide_rows(frame: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for record in frame.to_dict("records"):
        key = tuple(record[k] for k in keys)
        row = rows.setdefault(key, {**dict(zip(keys, key)), "catalog": record["catalog"]})
        row[record["metric"]] = int(record["value"])
    return [rows[k] for k in sorted(rows)]


def meter_events(
    events: ir.Table,
    customer_catalogs: Mapping[str, str] | ir.Table,
    catalogs: Catalog | Iterable[Catalog] | Mapping[str, Catalog] | None = None,
    month: str | None = None,
) -> MeterResult:
    """Meter events on whatever backend ``events`` lives on.

    ``customer_catalogs`` maps each customer to its catalog id (a dict, or an
    Ibis table with ``customer_id`` and ``catalog`` on the same backend).
    ``catalogs`` defaults to the bundled catalogs the mapping names. With
    ``month`` ('YYYY-MM') only that month is read; otherwise every month.
    """
    if isinstance(customer_catalogs, ir.Table):
        ids: list[str] = []
        if catalogs is None:
            ids = [str(v) for v in customer_catalogs.select("catalog").distinct().to_pandas()["catalog"]]
    else:
        ids = list(customer_catalogs.values())
    catalog_list = _catalog_list(catalogs, ids)
    wide = tenant_metrics_expr(events, catalog_list, customer_catalogs, month).to_pandas()
    return rollup(wide, catalog_list)


def rollup(wide: pd.DataFrame, catalogs: list[Catalog]) -> MeterResult:
    """Long tenant rows and customer rows from the executed :func:`tenant_metrics_expr`."""
    tenant_parts = []
    customer_parts = []
    months = wide["month_key"].astype("int64")
    wide = wide.assign(month=[f"{k // 100:04d}-{k % 100:02d}" for k in months])
    for catalog in catalogs:
        names = metered_metrics(catalog)
        rows = wide[wide["catalog"] == catalog.id]
        if not names or rows.empty:
            continue
        for name in names:
            column = _column(catalog.id, name)
            part = rows[["month", "customer_id", "tenant_id", "catalog"]].assign(
                metric=name, value=rows[column].astype("int64")
            )
            tenant_parts.append(part)
            how = catalog.metrics[name].customer_rollup
            grouped = part.groupby(["month", "customer_id", "catalog"], sort=False)["value"]
            # NOTE: a tenant_count metric is 1 per active tenant, so its customer value is the sum.
            values = grouped.max() if how == "max" else grouped.sum()
            customer_parts.append(values.reset_index().assign(metric=name)[CUSTOMER_COLUMNS])
    tenants = _concat(tenant_parts, TENANT_COLUMNS, ["month", "customer_id", "tenant_id"])
    customers = _concat(customer_parts, CUSTOMER_COLUMNS, ["month", "customer_id"])
    return MeterResult(tenants=tenants, customers=customers)


def _concat(parts: list[pd.DataFrame], columns: list[str], keys: list[str]) -> pd.DataFrame:
    if not parts:
        frame = pd.DataFrame({c: pd.Series(dtype="int64" if c == "value" else "object") for c in columns})
        return frame
    frame = pd.concat(parts, ignore_index=True)[columns]
    for column in columns:
        if column != "value":
            frame[column] = frame[column].astype(str)
    frame["value"] = frame["value"].astype("int64")
    # A stable sort keeps each catalog's metric order within a row key.
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)
