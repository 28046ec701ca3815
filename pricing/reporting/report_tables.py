"""The report tables, computed from the workbook store: pure reads, no side effects.

The notebooks (``notebooks/monthly_finance.ipynb``, ``notebooks/tenant_usage.ipynb``)
call these functions and only show what they return, so every number in a
report is tested here. Amounts are integers of the minor unit in ``*_minor``
columns, with an exact ``Decimal`` beside them for display; floats appear only
in ratios and charts. Totals are sums of the rows shown.

Month M's invoices are the ones :mod:`pricing.billing.billing_run` stored for M.
MRR, for the bridge, is the recurring part of a customer's invoices of the
month: recurring fees, add-ons, features and commitments (usage, prorations,
credits, minimum true-ups, discounts and tax are left out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, UTC
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

import pandas as pd
from markupsafe import Markup

from pricing.engine.catalog import (
    Catalog,
    Charge,
    FlatCharge,
    GraduatedCharge,
    GraduatedPercentageCharge,
    PackageCharge,
    PercentageCharge,
    PercentageTier,
    PerUnitCharge,
    VolumeCharge,
    load_catalog,
)
from pricing.errors import PricingError, ReportError
from pricing.engine.formatting import grouped_number, price_text, utc_stamp
from pricing.engine.periods import month_bounds, previous_month
from pricing.metering.meters import qualifies
from pricing.engine.money import from_minor
from pricing.engine.rating import included_units
from pricing.reporting import html_pages

if TYPE_CHECKING:
    from pricing.metering.store import Store

# How line types group into the revenue categories finance reads.
CATEGORY = {
    "recurring": "recurring", "usage": "usage", "addon": "add-ons", "feature": "add-ons",
    "commitment": "commitments", "minimum": "commitments", "proration": "prorations",
    "credit": "credits", "rounding": "rounding", "discount": "discounts", "tax": "tax",
}
CATEGORY_ORDER = ["recurring", "usage", "add-ons", "commitments", "prorations", "credits", "rounding", "discounts",
                  "tax"]
MRR_TYPES = frozenset({"recurring", "addon", "feature", "commitment"})


# --- checks ------------------------------------------------------------------------------


def check_month(store: Store, month: str) -> None:
    """One ReportError line unless ``month`` is YYYY-MM and has events in the store."""
    from pricing.billing.billing_run import check_month as _check

    _check(store, month)


def check_billed(store: Store, month: str) -> None:
    if store.invoices(month).empty:
        raise ReportError(f"month {month} has no invoices in {store.path}: bill it first"
                          " (pricing demo runs the whole chain)")


def check_customer(store: Store, customer: str) -> None:
    ids = store.customers()["customer_id"].astype(str).tolist()
    if customer not in ids:
        raise ReportError(f"customer {customer!r} is not in the customer book of {store.path} ({len(ids)} customers)")


def check_tenant(store: Store, month: str, customer: str, tenant: str) -> None:
    check_customer(store, customer)
    tenants = tenants_of(store, month, customer)["tenant_id"].tolist()
    if tenant not in tenants:
        listed = ", ".join(tenants[:5]) + (" ..." if len(tenants) > 5 else "")
        raise ReportError(
            f"tenant {tenant!r} of customer {customer!r} has no events in {month}"
            f" (tenants with events: {listed or 'none'})")


# --- small helpers ------------------------------------------------------------------------


def _money(minor: Any, decimals: Any) -> Decimal:
    return from_minor(int(minor), int(decimals))


def _money_column(frame: pd.DataFrame, minor_column: str, decimals_column: str = "decimals") -> pd.Series[Any]:
    """Exact amounts (``Decimal``) beside a column of minor units, row by row."""
    amounts = [_money(v, d) for v, d in zip(frame[minor_column], frame[decimals_column])]
    return pd.Series(amounts, index=frame.index, dtype=object)


def _fetch(store: Store, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    return store.con.execute(sql, params or []).df()


def _names(store: Store) -> pd.DataFrame:
    return store.customers()[["customer_id", "name"]]


def _month_end_utc(month: str) -> datetime:
    return month_bounds(month, ReportError)[1].replace(tzinfo=UTC) - timedelta(microseconds=1)


# --- what every report states ---------------------------------------------------------------


@dataclass(frozen=True)
class ReportMeta:
    """What a report states about itself: catalogs and versions, the data range, when it was made."""

    month: str
    catalogs: tuple[tuple[str, str, str], ...]  # (id, name, version)
    first_event: datetime | None
    last_event: datetime | None
    events: int
    made_at: datetime

    def lines(self) -> list[str]:
        cats = "; ".join(f"{cid} ({name}) version {version}" for cid, name, version in self.catalogs) or "none"
        span = (f"{utc_stamp(self.first_event)} to {utc_stamp(self.last_event)} ({self.events:,} events)"
                if self.first_event else "no events")
        return [f"Catalogs: {cats}", f"Data: {span}", f"Made: {utc_stamp(self.made_at)}"]


def _event_filter(month: str, customer: str | None, tenant: str | None) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) selecting one month's events, optionally one customer/tenant."""
    start, end = month_bounds(month, ReportError)
    where = ['"timestamp" >= ?', '"timestamp" < ?']
    params: list[Any] = [start, end]
    if customer is not None:
        where.append("customer_id = ?")
        params.append(customer)
    if tenant is not None:
        where.append("tenant_id = ?")
        params.append(tenant)
    return where, params


def report_meta(store: Store, month: str, customer: str | None = None, tenant: str | None = None,
                made_at: datetime | None = None) -> ReportMeta:
    where, params = _event_filter(month, customer, tenant)
    row = store.con.execute(
        f'SELECT min("timestamp"), max("timestamp"), count(*) FROM events WHERE {" AND ".join(where)}', params
    ).fetchone()
    assert row is not None
    customers = store.customers()
    if customer is not None:
        customers = customers[customers["customer_id"] == customer]
    catalogs = tuple(
        (c.id, c.name, c.version) for c in (load_catalog(i) for i in sorted(customers["catalog"].dropna().unique()))
    )
    return ReportMeta(month, catalogs, row[0], row[1], int(row[2]),
                      made_at or datetime.now(UTC).replace(microsecond=0))


# --- the invoice register ----------------------------------------------------------------------


def register(store: Store, month: str) -> pd.DataFrame:
    """One row per invoice of the month: ids, customer, plan, net, discount, tax, gross."""
    check_billed(store, month)
    heads = store.invoices(month).merge(_names(store), on="customer_id", how="left")
    heads["name"] = heads["name"].fillna(heads["customer_id"])
    for column in ("kind", "issued_at", "credit_for"):
        if column not in heads.columns:
            heads[column] = None
    heads["kind"] = heads["kind"].fillna("invoice").str.replace("_", " ")
    out = heads[["invoice_id", "kind", "issued_at", "credit_for", "customer_id", "name", "catalog", "plan",
                 "currency", "decimals", "period_start", "period_end", "subtotal_minor", "discount_minor",
                 "net_minor", "tax_minor", "total_minor"]].copy()
    out = out.rename(columns={"total_minor": "gross_minor"})
    for column in ("subtotal", "discount", "net", "tax", "gross"):
        out[column] = _money_column(out, f"{column}_minor")
    return out.reset_index(drop=True)


def register_totals(reg: pd.DataFrame) -> pd.DataFrame:
    """Per currency: invoice count and the sums of net, discount, tax and gross (sums of the rows)."""
    rows = []
    for currency, group in reg.groupby("currency", sort=True):
        decimals = int(group["decimals"].iloc[0])
        row: dict[str, Any] = {"currency": currency, "invoices": len(group), "decimals": decimals}
        for column in ("subtotal", "discount", "net", "tax", "gross"):
            minor = int(group[f"{column}_minor"].sum())
            row[f"{column}_minor"] = minor
            row[column] = _money(minor, decimals)
        rows.append(row)
    return pd.DataFrame(rows)


def register_lines(store: Store, month: str) -> pd.DataFrame:
    """Every invoice line of the month with its invoice's customer, catalog, plan and currency."""
    check_billed(store, month)
    heads = store.invoices(month)[["invoice_id", "customer_id", "catalog", "plan", "currency", "decimals"]]
    lines = store.invoice_lines(month).merge(heads, on="invoice_id", how="left")
    lines["category"] = lines["line_type"].map(CATEGORY).fillna(lines["line_type"])
    lines["amount"] = _money_column(lines, "amount_minor")
    return lines.reset_index(drop=True)


# --- revenue ---------------------------------------------------------------------------------------


def revenue_by(lines: pd.DataFrame, keys: Iterable[str] = ("currency", "catalog", "plan", "category")) -> pd.DataFrame:
    """Sum of line amounts grouped by ``keys`` (always within a currency), in minor units and Decimal."""
    keys = list(keys)
    if "currency" not in keys:
        keys = ["currency", *keys]
    grouped = lines.groupby(keys, sort=True).agg(amount_minor=("amount_minor", "sum"),
                                                 decimals=("decimals", "first")).reset_index()
    grouped["amount_minor"] = grouped["amount_minor"].astype("int64")
    if "category" in keys:
        grouped["_order"] = grouped["category"].map({c: i for i, c in enumerate(CATEGORY_ORDER)})
        grouped = grouped.sort_values([k if k != "category" else "_order" for k in keys]).drop(columns="_order")
    grouped["amount"] = _money_column(grouped, "amount_minor")
    return grouped.reset_index(drop=True)


def revenue_matrix(lines: pd.DataFrame) -> pd.DataFrame:
    """Catalog x plan rows, one column per category present, plus the total (minor units)."""
    table = lines.pivot_table(index=["currency", "catalog", "plan"], columns="category", values="amount_minor",
                              aggfunc="sum", fill_value=0)
    table = table[[c for c in CATEGORY_ORDER if c in table.columns]].astype("int64")
    table["total"] = table.sum(axis=1)
    table = table.reset_index()
    decimals = lines.groupby("currency")["decimals"].first()
    table.insert(1, "decimals", table["currency"].map(decimals).astype("int64"))
    return table


# --- metered totals ----------------------------------------------------------------------------------


def metric_totals(store: Store, month: str) -> pd.DataFrame:
    """Per catalog and metered metric: the month's total over customers, and how many customers had any."""
    month_bounds(month, ReportError)
    frame = _fetch(store, """
        SELECT c.catalog, m.metric, sum(m.value)::BIGINT AS total, count(*) FILTER (WHERE m.value > 0) AS customers
        FROM customer_metrics m JOIN customers c USING (customer_id) WHERE m.month = ?
        GROUP BY 1, 2 ORDER BY 1, 2""", [month])
    names = []
    for catalog_id, metric in zip(frame["catalog"], frame["metric"]):
        catalog = load_catalog(catalog_id)
        names.append(catalog.metrics[metric].name if metric in catalog.metrics else metric)
    frame["name"] = names
    return frame[["catalog", "metric", "name", "total", "customers"]]


# --- MRR -----------------------------------------------------------------------------------------------


def mrr_by_customer(store: Store, month: str) -> pd.DataFrame:
    """customer_id, currency, decimals, mrr_minor: the recurring part of the month's invoices."""
    heads = store.invoices(month)[["invoice_id", "customer_id", "currency", "decimals"]]
    lines = store.invoice_lines(month)
    lines = lines[lines["line_type"].isin(MRR_TYPES)].merge(heads, on="invoice_id")
    base = heads.drop_duplicates("customer_id")[["customer_id", "currency", "decimals"]]
    sums = lines.groupby("customer_id")["amount_minor"].sum().rename("mrr_minor").reset_index()
    out = base.merge(sums, on="customer_id", how="left")
    out["mrr_minor"] = out["mrr_minor"].fillna(0).astype("int64")
    return out.sort_values("customer_id").reset_index(drop=True)


def mrr_movements(store: Store, month: str, previous: str) -> pd.DataFrame:
    """Per customer: MRR before and now and the kind of movement (new, expansion, contraction, churn, flat)."""
    now = mrr_by_customer(store, month).rename(columns={"mrr_minor": "mrr_now"})
    before = mrr_by_customer(store, previous).rename(columns={"mrr_minor": "mrr_before"})
    both = now.merge(before, on=["customer_id", "currency", "decimals"], how="outer")
    both[["mrr_now", "mrr_before"]] = both[["mrr_now", "mrr_before"]].fillna(0).astype("int64")
    both["change_minor"] = both["mrr_now"] - both["mrr_before"]

    def kind(row: pd.Series) -> str:
        if row.mrr_before == 0 and row.mrr_now > 0:
            return "new"
        if row.mrr_before > 0 and row.mrr_now == 0:
            return "churn"
        if row.change_minor > 0:
            return "expansion"
        if row.change_minor < 0:
            return "contraction"
        return "flat"

    both["movement"] = both.apply(kind, axis=1) if len(both) else pd.Series(dtype=str)
    return both.sort_values(["currency", "customer_id"]).reset_index(drop=True)


class MrrBridgeRow(TypedDict):
    """One currency's line of the MRR bridge, in integers of the minor unit."""

    currency: str
    decimals: int
    opening: int
    new: int
    expansion: int
    contraction: int
    churn: int
    closing: int


def mrr_bridge(store: Store, month: str, previous: str | None = None) -> pd.DataFrame:
    """Per currency: opening MRR, new, expansion, contraction, churn and closing MRR.

    opening + new + expansion - contraction - churn == closing, exactly.
    """
    previous = previous or previous_month(month)
    moves = mrr_movements(store, month, previous)
    rows: list[MrrBridgeRow] = []
    for currency, group in moves.groupby("currency", sort=True):
        change = group.groupby("movement")["change_minor"].sum()
        row = MrrBridgeRow(
            currency=str(currency), decimals=int(group["decimals"].iloc[0]),
            opening=int(group["mrr_before"].sum()),
            new=int(change.get("new", 0)), expansion=int(change.get("expansion", 0)),
            contraction=int(-change.get("contraction", 0)), churn=int(-change.get("churn", 0)),
            closing=int(group["mrr_now"].sum()),
        )
        assert row["opening"] + row["new"] + row["expansion"] - row["contraction"] - row["churn"] == row["closing"]
        rows.append(row)
    return pd.DataFrame(rows, columns=["currency", "decimals", "opening", "new", "expansion", "contraction",
                                       "churn", "closing"])


# --- customers ------------------------------------------------------------------------------------------


def top_customers(reg: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` largest customers by gross per currency, with their share of the currency's gross."""
    per = reg.groupby(["currency", "customer_id", "name"], sort=False).agg(
        gross_minor=("gross_minor", "sum"), decimals=("decimals", "first"), invoices=("invoice_id", "count"),
    ).reset_index()
    per["gross_minor"] = per["gross_minor"].astype("int64")
    totals = per.groupby("currency")["gross_minor"].transform("sum")
    per["share"] = (per["gross_minor"] / totals.where(totals != 0)).fillna(0.0)
    per = per.sort_values(["currency", "gross_minor", "customer_id"], ascending=[True, False, True])
    top = per.groupby("currency", sort=True).head(n).reset_index(drop=True)
    top["gross"] = _money_column(top, "gross_minor")
    return top


def _states(store: Store, month: str) -> list[tuple[str, Catalog, Any]]:
    """(customer_id, catalog, subscription state at the month's end) for live timelines."""
    from pricing.billing.billing_run import load_timelines
    from pricing.billing.subscriptions import state_at

    at = _month_end_utc(month)
    out = []
    catalogs: dict[str, Catalog] = {}
    for customer_id, timeline in load_timelines(store).items():
        if timeline.events[0].at > at:
            continue
        catalog = catalogs.setdefault(timeline.catalog, load_catalog(timeline.catalog))
        try:
            state = state_at(catalog, timeline, at)
        except PricingError:
            continue
        if state.ended_at is not None and state.ended_at <= at:
            continue
        out.append((customer_id, catalog, state))
    return out


def _usage_rows(store: Store, month: str) -> dict[str, dict[str, int]]:
    frame = store.customer_usage(month)
    metrics = [c for c in frame.columns if c not in {"customer_id", "catalog"}]
    return {str(r["customer_id"]): {m: int(r[m]) for m in metrics} for _, r in frame.iterrows()}


def commitment_utilisation(store: Store, month: str) -> pd.DataFrame:
    """Customers with commitments at the month's end: committed vs used per metric, and the share used."""
    usage = _usage_rows(store, month)
    rows = []
    for customer_id, catalog, state in _states(store, month):
        plan = catalog.plans.get(state.plan)
        if plan is None:
            continue
        for charge in plan.charges:
            if charge.commitment is None:
                continue
            committed = Decimal(state.commitments.get(charge.commitment.quantity_metric,
                                                      charge.commitment.default_quantity))
            used = usage.get(customer_id, {}).get(charge.metric, 0)
            rows.append({
                "customer_id": customer_id, "catalog": catalog.id, "plan": state.plan, "metric": charge.metric,
                "committed": int(committed), "used": used,
                "utilisation": float(used / committed) if committed else None,
                "overuse": max(0, used - int(committed)), "unused": max(0, int(committed) - used),
            })
    frame = pd.DataFrame(rows, columns=["customer_id", "catalog", "plan", "metric", "committed", "used",
                                        "utilisation", "overuse", "unused"])
    return frame.merge(_names(store), on="customer_id", how="left")


def blocked_at_free_tier(store: Store, month: str) -> pd.DataFrame:
    """Customers without billing details whose usage went past the free tier (blocked, not charged).

    ``foregone_minor`` is what the blocked usage would have cost with billing
    details: the rating engine on the same usage, minus what was charged.
    """
    from pricing.engine.rating import RateOptions, rate_one

    usage = _usage_rows(store, month)
    rows: list[dict[str, Any]] = []
    usage_only = RateOptions(charge_kinds=frozenset({"usage"}), include_recurring=False, include_minimum=False)
    for customer_id, catalog, state in _states(store, month):
        rules = catalog.account_rules
        if state.billing_details or rules is None or not rules.cap_usage_at_included:
            continue
        row: dict[str, Any] = {m: Decimal(v) for m, v in {**state.quantities, **state.commitments}.items()}
        row.update({m: v for m, v in usage.get(customer_id, {}).items() if m in catalog.metrics})
        blocked = rate_one(catalog, state.plan, row, replace(usage_only, billing_details=False))
        unblocked = rate_one(catalog, state.plan, row, replace(usage_only, billing_details=True))
        foregone = unblocked.total_minor - blocked.total_minor
        if foregone <= 0:
            continue
        over = [line.explanation for line in blocked.lines if "blocked" in line.explanation]
        rows.append({
            "customer_id": customer_id, "catalog": catalog.id, "plan": state.plan,
            **{m: usage.get(customer_id, {}).get(m, 0) for m in ("maa", "mac", "mat") if m in catalog.metrics},
            "currency": catalog.currency, "decimals": catalog.decimals, "foregone_minor": foregone,
            "foregone": _money(foregone, catalog.decimals), "blocked": "; ".join(over),
        })
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["customer_id", "name", "catalog", "plan", "currency", "foregone_minor",
                                     "foregone", "blocked"])
    return frame.merge(_names(store), on="customer_id", how="left")


def prepaid_balances(store: Store, month: str, factor: int = 2) -> pd.DataFrame:
    """Prepaid customers at the month's end: balance, daily debit, days left and the notice threshold.

    ``near`` is true when the runway is under ``factor`` times the catalog's
    notice threshold (``low_balance_days``) or the customer is already suspended.
    """
    from pricing.billing.billing_run import ledger_results

    rows = []
    for customer_id, result in ledger_results(store, month).items():
        catalog = load_catalog(result.catalog)
        threshold = catalog.prepaid.low_balance_days if catalog.prepaid else 0
        last = result.last_row
        days = result.runway.days
        rows.append({
            "customer_id": customer_id, "plan": last.plan, "status": last.status, "currency": result.currency,
            "decimals": result.decimals, "balance_minor": result.balance,
            "balance": _money(result.balance, result.decimals),
            "daily_debit_minor": result.runway.daily_debit,
            "daily_debit": _money(result.runway.daily_debit, result.decimals),
            "days_left": days, "notice_threshold_days": threshold,
            "notice_on": result.runway.notice_on, "suspended_on": result.runway.suspended_on,
            "near": last.status == "suspended" or (days is not None and days < factor * threshold),
        })
    frame = pd.DataFrame(rows, columns=["customer_id", "plan", "status", "currency", "decimals", "balance_minor",
                                        "balance", "daily_debit_minor", "daily_debit", "days_left",
                                        "notice_threshold_days", "notice_on", "suspended_on", "near"])
    frame = frame.merge(_names(store), on="customer_id", how="left")
    return frame.sort_values(["near", "days_left"], ascending=[False, True], na_position="last").reset_index(drop=True)


# --- tenants --------------------------------------------------------------------------------------------


def tenants_of(store: Store, month: str, customer: str | None = None) -> pd.DataFrame:
    """customer_id, tenant_id of every tenant with events in the month (one customer's, or all)."""
    start, end = month_bounds(month, ReportError)
    sql = ('SELECT customer_id, tenant_id, count(*) AS events FROM events WHERE "timestamp" >= ? AND "timestamp" < ?'
           + (" AND customer_id = ?" if customer is not None else "")
           + " GROUP BY 1, 2 ORDER BY 1, 2")
    return _fetch(store, sql, [start, end] + ([customer] if customer is not None else []))


def customer_row(store: Store, customer: str) -> dict[str, Any]:
    check_customer(store, customer)
    frame = store.customers()
    return {str(key): value for key, value in frame[frame["customer_id"] == customer].iloc[0].to_dict().items()}


def customer_plan(store: Store, month: str, customer: str) -> tuple[Catalog, str]:
    """The customer's catalog and the plan on its last invoice of the month (else the book's plan)."""
    row = customer_row(store, customer)
    catalog = load_catalog(str(row["catalog"]))
    heads = store.invoices(month)
    mine = heads[heads["customer_id"] == customer]
    plan = str(mine["plan"].iloc[-1]) if not mine.empty else str(row["plan"])
    return catalog, plan


def _tenant_events(store: Store, month: str, customer: str, tenant: str) -> Any:
    start, end = month_bounds(month, ReportError)
    import ibis

    events = store.ibis.table("events")
    return events.filter(
        (events.customer_id == customer) & (events.tenant_id == tenant)
        & (events.timestamp >= ibis.timestamp(start)) & (events.timestamp < ibis.timestamp(end))
    )


def _by_day(frame: pd.DataFrame) -> pd.DataFrame:
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def tenant_daily_usage(store: Store, month: str, customer: str, tenant: str) -> pd.DataFrame:
    """Per day of the month and metered metric: the day's value and the month-to-date value.

    Distinct-account metrics (MAA, MAU) count accounts per day, and to date the
    accounts seen since the 1st, so the last day's ``to_date`` is the tenant's
    monthly value; call counts (MAC) add up.
    """
    catalog = load_catalog(str(customer_row(store, customer)["catalog"]))
    start, end = month_bounds(month, ReportError)
    days = pd.DataFrame({"day": pd.date_range(start, end - timedelta(days=1), freq="D").date})
    table = _tenant_events(store, month, customer, tenant)
    table = table.mutate(day=table.timestamp.date())
    frames = []
    for name, metric in catalog.metrics.items():
        spec = metric.meter
        if spec is None or spec.aggregate not in {"distinct_accounts", "count"}:
            continue
        cond = qualifies(table, spec)
        hits = table.filter(cond)
        if spec.aggregate == "count":
            daily = _by_day(hits.group_by("day").aggregate(daily=hits.count()).to_pandas())
            frame = days.merge(daily, on="day", how="left").fillna({"daily": 0})
            frame["daily"] = frame["daily"].astype("int64")
            frame["to_date"] = frame["daily"].cumsum()
        else:
            daily = _by_day(hits.group_by("day").aggregate(daily=hits.account_id.nunique()).to_pandas())
            first = hits.group_by("account_id").aggregate(day=hits.day.min())
            new = _by_day(first.group_by("day").aggregate(new=first.count()).to_pandas())
            frame = (days.merge(daily, on="day", how="left").merge(new, on="day", how="left")
                     .fillna({"daily": 0, "new": 0}))
            frame["daily"] = frame["daily"].astype("int64")
            frame["to_date"] = frame["new"].astype("int64").cumsum()
            frame = frame.drop(columns="new")
        frame["metric"] = name
        frame["name"] = metric.name
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["day", "metric", "name", "daily", "to_date"])
    return pd.concat(frames, ignore_index=True)[["day", "metric", "name", "daily", "to_date"]]


def tenant_metrics(store: Store, month: str, customer: str, tenant: str) -> dict[str, int]:
    frame = _fetch(store,
                   "SELECT metric, value FROM tenant_metrics WHERE month = ? AND customer_id = ? AND tenant_id = ?",
                   [month, customer, tenant])
    return {str(m): int(v) for m, v in zip(frame["metric"], frame["value"])}


def included_use(store: Store, month: str, customer: str, tenant: str) -> pd.DataFrame:
    """Per charge with an included quantity: what is included, what the customer used, the tenant's part."""
    catalog, plan_id = customer_plan(store, month, customer)
    plan = catalog.plans.get(plan_id)
    usage = _usage_rows(store, month).get(customer, {})
    mine = tenant_metrics(store, month, customer, tenant)
    rows = []
    for charge in plan.charges if plan else ():
        inc = charge.included
        if inc is None:
            continue
        included: Decimal | None = None
        if not inc.unlimited:
            held = {m: v for m, v in usage.items() if m in catalog.metrics}
            free = included_units(catalog, charge, held)
            assert free is not None
            included = Decimal(int(free[0])).scaleb(-catalog.metrics[charge.metric].decimal_places)
        used = usage.get(charge.metric, 0)
        rows.append({
            "metric": charge.metric, "charge": charge.label, "included": None if included is None else int(included),
            "customer_used": used, "tenant_used": mine.get(charge.metric, 0),
            "share_of_included_used": None if not included else float(Decimal(used) / included),
            "tenant_share_of_customer": float(mine.get(charge.metric, 0) / used) if used else 0.0,
        })
    return pd.DataFrame(rows, columns=["metric", "charge", "included", "customer_used", "tenant_used",
                                       "share_of_included_used", "tenant_share_of_customer"])


def top_accounts(store: Store, month: str, customer: str, tenant: str, kind: str = "user", n: int = 10) -> pd.DataFrame:
    """The tenant's ``n`` busiest accounts of one kind (``user`` or ``client``) by calls, with failures."""
    start, end = month_bounds(month, ReportError)
    return _fetch(store, """
        SELECT account_id, count(*) AS calls, count(*) FILTER (WHERE status >= 400) AS failed,
               count(DISTINCT CAST("timestamp" AS DATE)) AS active_days
        FROM events WHERE customer_id = ? AND tenant_id = ? AND account_kind = ?
          AND "timestamp" >= ? AND "timestamp" < ?
        GROUP BY account_id ORDER BY calls DESC, account_id LIMIT ?""",
        [customer, tenant, kind, start, end, n])


# what a tenant page shows of each of the customer's invoice lines (and in which order)
INVOICE_LINE_VIEW = ["invoice_id", "line_no", "item", "line_type", "service_start", "service_end", "quantity",
                     "unit_price", "amount", "amount_minor", "explanation", "currency", "decimals"]


def customer_invoice_lines(store: Store, month: str, customer: str) -> pd.DataFrame:
    """The customer's invoice lines of the month, with the Decimal amount."""
    lines = register_lines(store, month) if not store.invoices(month).empty else pd.DataFrame(
        columns=["invoice_id", "customer_id", "line_no", "item", "line_type", "service_start", "service_end",
                 "quantity", "unit_price", "amount_minor", "amount", "explanation", "currency", "decimals"])
    mine = lines[lines["customer_id"] == customer]
    return mine[INVOICE_LINE_VIEW].reset_index(drop=True)


# --- plan rules in words -------------------------------------------------------------------------------------


def _included_words(charge: Charge, catalog: Catalog) -> str:
    inc = charge.included
    if inc is None:
        return ""
    if inc.unlimited:
        return "unlimited units included"
    parts = []
    if inc.times:
        per = catalog.metrics[inc.per_unit_of].name if inc.per_unit_of in catalog.metrics else inc.per_unit_of
        base = f"{grouped_number(inc.quantity)} + " if inc.quantity else ""
        parts.append(f"{base}{grouped_number(inc.times)} per {per}")
        if inc.at_least:
            parts.append(f"at least {grouped_number(inc.at_least)}")
        return f"{', '.join(parts)} included"
    return f"{grouped_number(inc.quantity)} included"


def plan_rules(catalog: Catalog, plan_id: str) -> list[str]:
    """The plan's pricing rules, one plain sentence each (fee, every charge, limits, minimum, discounts)."""
    plan = catalog.plan(plan_id)
    cur = catalog.currency
    out = [f"{plan.name} ({catalog.name}, version {catalog.version}), billed per {catalog.interval.value}"
           f" in {cur}{', fee in arrears' if plan.billing_timing.value == 'in_arrears' else ''}."]
    if plan.recurring:
        out.append(f"A recurring fee of {price_text(plan.recurring.amount, cur)} per {catalog.interval.value}.")
    for charge in plan.charges:
        metric = catalog.metrics[charge.metric]
        unit = metric.unit
        inc = _included_words(charge, catalog)
        head = f"{charge.label}: " + (f"{inc}, then " if inc else "")
        if isinstance(charge, PerUnitCharge):
            text = f"{price_text(charge.unit_price, cur)} per {unit}"
        elif isinstance(charge, (GraduatedCharge, VolumeCharge, GraduatedPercentageCharge)):
            tiers = []
            low = Decimal(0)
            # tiers priced per block or by percent name their own unit; plain unit prices share one
            own_unit = any(isinstance(t, PercentageTier) or t.block_size is not None for t in charge.tiers)
            for tier in charge.tiers:
                span = (f"up to {grouped_number(tier.up_to)}" if tier.up_to is not None
                        else f"above {grouped_number(low)}")
                fee = f" + {price_text(tier.flat_fee, cur)} flat" if tier.flat_fee else ""
                if isinstance(tier, PercentageTier):
                    price = f"{grouped_number(tier.rate)}% of the amount"
                elif tier.block_size is not None:
                    price = f"{price_text(tier.unit_price, cur)} per block of {grouped_number(tier.block_size)} {unit}s"
                else:
                    price = price_text(tier.unit_price, cur) + (f" per {unit}" if own_unit else "")
                tiers.append(f"{span} at {price}{fee}")
                low = tier.up_to or low
            how = ("all units at the tier reached" if isinstance(charge, VolumeCharge)
                   else "each tier prices its own units")
            text = "; ".join(tiers) + ("" if own_unit else f" per {unit}") + f" ({how})"
        elif isinstance(charge, PackageCharge):
            text = (f"{price_text(charge.package_price, cur)} per block of {grouped_number(charge.package_size)}"
                    f" {unit}s (a started block counts)")
        elif isinstance(charge, PercentageCharge):
            text = f"{charge.rate}% of the amount" + (f" plus {price_text(charge.fixed_fee, cur)}"
                                                       if charge.fixed_fee else "")
        elif isinstance(charge, FlatCharge):
            text = f"{price_text(charge.fee, cur)} per {catalog.interval.value} while switched on"
        else:  # pragma: no cover - every model is listed above
            text = charge.model
        sentence = head + text
        if charge.commitment:
            c = charge.commitment
            sentence += (f"; a committed quantity ({catalog.metrics[c.quantity_metric].name}, default"
                         f" {grouped_number(c.default_quantity)}) is billed upfront at"
                         f" {price_text(c.unit_price, cur)} per {unit},"
                         " usage past it at the price above")
        out.append(sentence + ".")
    for limit in plan.limits:
        out.append(f"At most {grouped_number(limit.maximum)} {catalog.metrics[limit.metric].name}:"
                   " more makes the plan unavailable.")
    if plan.minimum_spend:
        out.append(f"A minimum spend of {price_text(plan.minimum_spend.amount, cur)} per {catalog.interval.value}:"
                   " a shortfall is billed as a true-up.")
    for d in plan.discounts:
        what = f"{d.percent}% off" if d.percent is not None else f"{price_text(d.amount or Decimal(0), cur)} off"
        out.append(f"{d.name}: {what} the subtotal" + (f" for the first {d.periods} periods." if d.periods else "."))
    if plan.requires_billing_details:
        out.append("Needs billing details on the account.")
    rules = catalog.account_rules
    if rules and rules.cap_usage_at_included and (not rules.plans_without_billing_details
                                                  or plan_id in rules.plans_without_billing_details):
        most = rules.max_tenants_without_billing_details
        out.append("Without billing details, usage past the free tier is blocked and not charged"
                   + (f"; at most {most} tenants." if most else "."))
    return out


# --- inputs, for skip-if-unchanged --------------------------------------------------------------------------


def _events_digest(store: Store, month: str, customer: str | None = None, tenant: str | None = None) -> list[Any]:
    where, params = _event_filter(month, customer, tenant)
    row = store.con.execute(
        "SELECT count(*), min(\"timestamp\"), max(\"timestamp\"),"
        " sum(hash(\"timestamp\", customer_id, tenant_id, account_id, account_kind, method, endpoint, status)::HUGEINT)"
        f" FROM events WHERE {' AND '.join(where)}", params).fetchone()
    return [str(v) for v in (row or ())]


def report_inputs(store: Store, month: str, customer: str | None = None, tenant: str | None = None) -> dict[str, Any]:
    """The store data a report reads, in a form :func:`pricing.reporting.notebook_runner.fingerprint` hashes."""
    months = [month] if customer is not None else [month, previous_month(month)]
    invoices = {m: store.invoices(m) for m in months}
    lines = {m: store.invoice_lines(m) for m in months}
    if customer is not None:
        invoices = {m: f[f["customer_id"] == customer] for m, f in invoices.items()}
        lines = {m: f[f["invoice_id"].isin(invoices[m]["invoice_id"])] for m, f in lines.items()}
    metrics = _fetch(store, "SELECT * FROM customer_metrics WHERE month = ?"
                     + (" AND customer_id = ?" if customer else "") + " ORDER BY ALL",
                     [month] + ([customer] if customer else []))
    book = store.customers()
    texts = {**store.timelines(), **store.ledgers()}
    if customer is not None:
        book = book[book["customer_id"] == customer]
        texts = {k: v for k, v in texts.items() if k == customer}
    return {
        "month": month, "events": _events_digest(store, month, customer, tenant),
        "invoices": {m: f.drop(columns=[], errors="ignore") for m, f in invoices.items()},
        "lines": lines, "metrics": metrics, "customers": book, "book": texts,
        "catalogs": sorted({(c.id, c.version) for c in (load_catalog(i) for i in book["catalog"].dropna().unique())}),
    }


__all__ = [
    "CATEGORY", "CATEGORY_ORDER", "MRR_TYPES", "ReportMeta", "blocked_at_free_tier", "check_billed", "check_customer",
    "check_month", "check_tenant", "commitment_utilisation", "customer_invoice_lines", "customer_plan", "customer_row",
    "included_use", "metric_totals", "mrr_bridge", "mrr_by_customer", "mrr_movements", "plan_rules",
    "prepaid_balances", "register", "register_lines", "register_totals", "report_inputs", "report_meta",
    "revenue_by", "revenue_matrix", "tenant_daily_usage", "tenant_metrics", "tenants_of", "top_accounts",
    "top_customers", "table_html", "figure_bundle", "figure_html", "heading_html", "paragraph_html",
]


# --- rendering helpers the notebooks share ---------------------------------------------------------------------


def table_html(frame: pd.DataFrame, columns: dict[str, str] | None = None, percent: Iterable[str] = (),
               max_rows: int | None = None) -> Markup:
    """A DataFrame as an escaped HTML table: Decimal with thousands separators, ratios as percents."""
    shown = frame if columns is None else frame[list(columns)].rename(columns=columns)
    percent_cols = {(columns or {}).get(c, c) for c in percent}
    if max_rows is not None:
        shown = shown.head(max_rows)
    cells = [[("" if v is None or pd.isna(v) else f"{float(v):.1%}") for v in shown[column]]
             if column in percent_cols else [_display(v) for v in shown[column]] for column in shown.columns]
    return html_pages.table([str(c) for c in shown.columns], list(zip(*cells)))


def _display(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _display(value.item())
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return value


def figure_html(fig: Any, div_id: str) -> Markup:
    """A plotly figure as a div calling the page's one copy of plotly.js (inlined by the runner).

    The div id is fixed so the same inputs render the same page.
    """
    # NOTE: trusted markup: plotly writes the figure as JSON inside its own script (titles and labels
    # are JSON-encoded, not pasted as HTML), so it goes into a page as it is
    return html_pages.trusted(fig.to_html(include_plotlyjs=False, full_html=False, div_id=div_id,
                                          config={"displaylogo": False, "responsive": True}))


def figure_bundle(fig: Any, div_id: str) -> dict[str, Any]:
    """A figure for ``IPython.display.display(bundle, raw=True)``: plotly's own JSON for JupyterLab and Voila,
    and the same figure as HTML (:func:`figure_html`) for the HTML export, which drops the plotly JSON."""
    import json

    from plotly.io.json import to_json_plotly

    data = json.loads(to_json_plotly(fig.to_dict()))
    data["config"] = {"displaylogo": False, "responsive": True}
    return {"application/vnd.plotly.v1+json": data, "text/html": figure_html(fig, div_id),
            "text/plain": f"<figure {div_id}>"}


def heading_html(text: str, level: int = 2) -> Markup:
    return html_pages.heading(text, int(level))


def paragraph_html(*lines: str) -> Markup:
    return html_pages.paragraphs(lines)


def tenant_metrics_frame(store: Store, month: str, customer: str, tenant: str) -> pd.DataFrame:
    """The tenant's metered values of the month (as stored by metering), one row per metric."""
    values = tenant_metrics(store, month, customer, tenant)
    catalog = load_catalog(str(customer_row(store, customer)["catalog"]))
    return pd.DataFrame([{"metric": m, "name": catalog.metrics[m].name if m in catalog.metrics else m, "value": v}
                         for m, v in values.items()], columns=["metric", "name", "value"])


def with_money(frame: pd.DataFrame, columns: Iterable[str], decimals_column: str = "decimals") -> pd.DataFrame:
    """A copy with integer minor-unit ``columns`` turned into exact Decimal amounts (for display)."""
    out = frame.copy()
    for column in columns:
        out[column] = _money_column(out, column, decimals_column)
    return out
