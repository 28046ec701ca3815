"""A synthetic customer book and its API-call events, the same for the same seed.

The book has customers on all four bundled catalogs (mostly Quasr), each with
a subscription timeline or, for the prepaid service, a balance ledger, in the
YAML shapes :mod:`pricing.subscriptions` reads. Events have a realistic shape:
heavy-tailed customer sizes (a Pareto tail), dev/test/prod tenants and, for
some customers, many production tenants, machine clients calling the token
endpoint far more often than people log in, fewer calls at weekends and at
night, growth, sign-ups and churn inside the window, and failed calls.

Everything is drawn with numpy from one seed; events are generated
vectorised, month by month and a block of customers at a time, so any volume
can be written to Parquet with bounded memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .catalog import Catalog, MetricKind, load_catalog
from .errors import MeteringError
from .events import ARROW_SCHEMA
from .spreadsheet_text import neutralise_frame
from .metering import month_bounds
from .periods import shift_month

DEFAULT_END_MONTH = "2026-03"  # fixed, so a seed always gives the same book
CATALOG_SHARES: dict[str, float] = {"quasr": 0.55, "logto": 0.2, "license_jp": 0.15, "prepaid_auth": 0.10}
CHUNK_EVENTS = 2_000_000  # events generated at once (memory stays bounded)

# (method, endpoint, weight) per catalog and account kind. Some calls never count
# (a user's GET oauth2/authorize at Quasr, userinfo), so metering has work to do.
CALLS: dict[str, dict[str, list[tuple[str, str, float]]]] = {
    "quasr": {
        "user": [("POST", "factors/login", 0.32), ("GET", "controls/consent", 0.08),
                 ("POST", "graphql", 0.30), ("GET", "oauth2/authorize", 0.20), ("GET", "oauth2/userinfo", 0.10)],
        "client": [("POST", "oauth2/token", 0.62), ("GET", "oauth2/authorize", 0.08),
                   ("POST", "graphql", 0.25), ("GET", "oauth2/userinfo", 0.05)],
    },
    "logto": {
        "user": [("POST", "oidc/token", 0.45), ("GET", "oidc/auth", 0.30), ("POST", "api/interaction", 0.25)],
        "client": [("POST", "oidc/token", 0.90), ("GET", "api/resources", 0.10)],
    },
    "license_jp": {
        "user": [("POST", "auth/login", 0.55), ("GET", "auth/userinfo", 0.30), ("POST", "auth/refresh", 0.15)],
        "client": [("POST", "auth/token", 0.85), ("GET", "auth/userinfo", 0.15)],
    },
    "prepaid_auth": {
        "user": [("POST", "auth/login", 0.6), ("GET", "auth/userinfo", 0.4)],
        "client": [("POST", "auth/token", 1.0)],
    },
}
FAILURE_CODES = np.array([400, 401, 403, 429, 500, 503], dtype=np.int16)
FAILURE_WEIGHTS = np.array([0.15, 0.45, 0.10, 0.12, 0.12, 0.06])
WEEKDAY_WEIGHT = np.array([1.0, 1.05, 1.05, 1.0, 0.9, 0.35, 0.3])  # Monday first

_NAME_A = ["Acme", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper",
           "Kestrel", "Lumen", "Maple", "Nimbus", "Orchid", "Pioneer", "Quartz", "River", "Summit", "Tidal"]
_NAME_B = ["Labs", "Health", "Bank", "Retail", "Games", "Logistics", "Media", "Energy", "Travel", "Software",
           "Insurance", "Foods", "Learning", "Mobility", "Analytics"]
_COUNTRIES = ["NL", "DE", "BE", "FR", "GB", "US", "JP", "SE", "ES", "IT"]


# --- the book -------------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    """Customers, their subscription timelines or ledgers, and how each one behaves."""

    customers: pd.DataFrame
    timelines: dict[str, str]
    ledgers: dict[str, str]
    months: tuple[str, ...]
    seed: int
    profiles: pd.DataFrame  # per customer: size, growth, client share, failure rate, tenants...

    def expected_events(self) -> int:
        """A close estimate of the number of events :func:`write_events` writes."""
        return int(sum(_plan_month(self, i).expected for i in range(len(self.months))))


def _month_list(months: int, end_month: str | None) -> tuple[str, ...]:
    if months < 1:
        raise MeteringError(f"months: must be at least 1, got {months}")
    start, _ = month_bounds(end_month or DEFAULT_END_MONTH)
    return tuple(shift_month(start.date(), -back) for back in reversed(range(months)))


def generate_book(customers: int, months: int, seed: int, end_month: str | None = None) -> Book:
    """A customer book of ``customers`` customers over ``months`` months ending with ``end_month``."""
    if customers < 1:
        raise MeteringError(f"customers: must be at least 1, got {customers}")
    month_names = _month_list(months, end_month)
    window_start, _ = month_bounds(month_names[0])
    _, window_end = month_bounds(month_names[-1])
    window_days = (window_end - window_start).days
    rng = np.random.default_rng([seed, 0xB00C])
    n = customers
    width = max(4, len(str(n)))
    ids = np.array([f"c{i + 1:0{width}d}" for i in range(n)])
    catalog_ids = np.array(list(CATALOG_SHARES))
    catalog = catalog_ids[rng.choice(len(catalog_ids), size=n, p=list(CATALOG_SHARES.values()))]

    # NOTE: sizes are Pareto-tailed: most customers have tens of active accounts, a few tens of thousands.
    size = np.minimum(np.floor(25 * (1 + rng.pareto(1.15, n))), 60_000).astype(np.int64)
    growth = np.exp(rng.normal(0.02, 0.05, n))  # monthly growth factor
    client_share = np.clip(rng.beta(1.5, 12, n), 0.0, 0.5)
    calls_per_user = np.exp(rng.normal(math.log(8), 0.4, n))
    calls_per_client = np.exp(rng.normal(math.log(60), 0.6, n))
    failure_rate = rng.uniform(0.01, 0.06, n)
    # Multi-tenant operators (SaaS platforms, brands) run many production tenants.
    extra_prod = np.where(rng.random(n) < 0.10, np.minimum(1 + rng.pareto(1.0, n) * 3, 40), 0).astype(int)
    has_test = rng.random(n) < 0.8
    developers = 1 + rng.poisson(3, n)

    signup_offset = np.where(
        rng.random(n) < 0.15,
        rng.integers(0, max(window_days - 1, 1), n),  # signed up inside the window
        -rng.integers(1, 3 * 365, n),
    )
    signup = np.array([window_start + timedelta(days=int(d)) for d in signup_offset])
    churn_day = np.where(rng.random(n) < 1 - (1 - 0.02) ** len(month_names),
                         rng.integers(1, max(window_days, 2), n), -1)
    churn_day = np.where(churn_day <= np.maximum(signup_offset, 0) + 7, -1, churn_day)
    churn = np.array([window_start + timedelta(days=int(d)) if d >= 0 else None for d in churn_day], dtype=object)

    segment = np.select([size >= 10_000, size >= 1_000, size >= 100], ["enterprise", "large", "mid"], "small")
    names = [f"{_NAME_A[a]} {_NAME_B[b]}" for a, b in zip(rng.integers(0, len(_NAME_A), n),
                                                           rng.integers(0, len(_NAME_B), n))]
    country = np.array(_COUNTRIES)[rng.integers(0, len(_COUNTRIES), n)]
    tenants = 1 + has_test.astype(int) + 1 + extra_prod

    profiles = pd.DataFrame({
        "customer_id": ids, "catalog": catalog, "size": size, "growth": growth, "client_share": client_share,
        "calls_per_user": calls_per_user, "calls_per_client": calls_per_client, "failure_rate": failure_rate,
        "extra_prod": extra_prod, "has_test": has_test, "developers": developers,
        "signup": signup, "churn": churn,
    })

    timelines: dict[str, str] = {}
    ledgers: dict[str, str] = {}
    plans: list[str] = []
    billing: list[bool] = []
    for i in range(n):
        crng = np.random.default_rng([seed, 0xC0DE, i])
        cust = _CustomerDraw(
            customer_id=str(ids[i]), catalog=str(catalog[i]), size=int(size[i]), tenants=int(tenants[i]),
            segment=str(segment[i]), signup=signup[i], churn=churn[i], window_start=window_start,
            window_end=window_end, rng=crng,
        )
        if cust.catalog == "prepaid_auth":
            text, plan = _ledger(cust)
            ledgers[cust.customer_id] = text
            plans.append(plan)
            billing.append(True)
        else:
            text, plan, details = _timeline(cust)
            timelines[cust.customer_id] = text
            plans.append(plan)
            billing.append(details)

    frame = pd.DataFrame({
        "customer_id": ids,
        "name": names,
        "catalog": catalog,
        "plan": plans,
        "billing_details": billing,
        "signup": [s.date() for s in signup],
        "churn": [c.date() if c is not None else None for c in churn],
        "segment": segment,
        "tenants": tenants.astype("int64"),
        "country": country,
    })
    return Book(frame, timelines, ledgers, month_names, seed, profiles)


@dataclass
class _CustomerDraw:
    customer_id: str
    catalog: str
    size: int
    tenants: int
    segment: str
    signup: datetime
    churn: datetime | None
    window_start: datetime
    window_end: datetime
    rng: np.random.Generator

    def moment(self, after: datetime, before: datetime | None = None) -> datetime | None:
        """A random whole minute in [after, before), or None if the span is under a day."""
        end = min(before or self.window_end, self.window_end)
        if self.churn is not None:
            end = min(end, self.churn)
        span = int((end - after).total_seconds() // 60)
        if span < 24 * 60:
            return None
        return after + timedelta(minutes=int(self.rng.integers(0, span)))


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _flow(mapping: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in mapping.items()) + "}"


def _timeline(c: _CustomerDraw) -> tuple[str, str, bool]:
    rng = c.rng
    quantities: dict[str, object] = {}
    commitments: dict[str, object] = {}
    changes: list[tuple[datetime, str]] = []
    start = c.signup.replace(hour=0, minute=0, second=0) if rng.random() < 0.6 else c.signup
    after = max(start, c.window_start)
    details = True
    if c.catalog == "quasr":
        if c.segment == "enterprise":
            plan = "enterprise"
            commitments = {"committed_maa": max(50_000, int(round(c.size * 0.9, -3))), "committed_mat": max(10, c.tenants)}
        elif c.segment == "large":
            plan = "gravitate_and_save"
            commitments = {"committed_maa": max(1_000, int(round(c.size * 0.8, -2))), "committed_mat": c.tenants}
        elif c.segment == "mid" and rng.random() < 0.5:
            plan = "startup"
        else:
            plan = "payg"
            details = bool(rng.random() < 0.55)
            if not details and (m := c.moment(after)) and rng.random() < 0.3:
                changes.append((m, "{at: \"%s\", type: set_billing_details, value: true}" % _at(m)))
                if c.segment == "mid" and (m2 := c.moment(m + timedelta(days=1))):
                    changes.append((m2, "{at: \"%s\", type: upgrade, plan: startup}" % _at(m2)))
    elif c.catalog == "logto":
        plan = "pro"
        quantities = {
            "api_resources": int(rng.integers(1, 9)), "m2m_apps": int(rng.integers(0, 4)),
            "enterprise_sso": int(rng.integers(0, 3)) if rng.random() < 0.3 else 0,
            "mfa": int(rng.random() < 0.4), "organizations": int(rng.random() < 0.25),
            "tenant_members": int(rng.integers(1, 7)),
        }
        moments = sorted(m for _ in range(int(rng.poisson(1.5))) if (m := c.moment(after)) is not None)
        held = {k: int(v) for k, v in quantities.items()}  # type: ignore[call-overload]
        for m in moments:  # in time order, so a removal never exceeds what is held
            item = str(rng.choice(["api_resources", "m2m_apps", "tenant_members"]))
            if rng.random() < 0.65 or held[item] == 0:
                count = int(rng.integers(1, 4))
                held[item] += count
                changes.append((m, "{at: \"%s\", type: add, item: %s, quantity: %d}" % (_at(m), item, count)))
            else:
                held[item] -= 1
                changes.append((m, "{at: \"%s\", type: remove, item: %s, quantity: 1}" % (_at(m), item)))
    else:  # license_jp
        plan = "business" if c.size >= 3_000 else "starter" if c.size >= 60 else "free"
        quantities = {"registered_users": int(c.size * rng.uniform(1.5, 4)), "registered_rps": int(rng.integers(1, 6))}
        if plan == "free":
            quantities = {"registered_users": int(min(quantities["registered_users"], 100)),  # type: ignore[call-overload]
                          "registered_rps": int(min(quantities["registered_rps"], 3))}  # type: ignore[call-overload]
            if (m := c.moment(after)) and rng.random() < 0.3:
                changes.append((m, "{at: \"%s\", type: upgrade, plan: starter}" % _at(m)))
        elif plan == "business" and (m := c.moment(after)) and rng.random() < 0.3:
            changes.append((m, "{at: \"%s\", type: downgrade, plan: starter}" % _at(m)))
            if (m2 := c.moment(m + timedelta(hours=1))) and rng.random() < 0.5:
                changes.append((m2, "{at: \"%s\", type: withdraw_downgrade}" % _at(m2)))
    if rng.random() < 0.03 and (m := c.moment(after)):
        changes.append((m, "{at: \"%s\", type: suspend}" % _at(m)))
        if m2 := c.moment(m + timedelta(days=2)):
            changes.append((m2, "{at: \"%s\", type: reactivate}" % _at(m2)))
    changes.sort(key=lambda item: item[0])
    if c.churn is not None:
        # NOTE: Quasr's Pay As You Go cannot be cancelled; leaving means deleting the account.
        kind = "delete_account" if (c.catalog == "quasr" and plan == "payg") else "cancel"
        last = max([m for m, _ in changes], default=start)
        end = max(c.churn, last + timedelta(minutes=1))
        changes.append((end, "{at: \"%s\", type: %s}" % (_at(end), kind)))
    anchor_draw = rng.random()
    anchor = "calendar" if anchor_draw < 0.7 else "start" if anchor_draw < 0.9 else str(int(rng.integers(1, 29)))
    trial = 14 if (c.signup >= c.window_start and rng.random() < 0.3) else 0
    start_event = "{at: \"%s\", type: start, plan: %s, quantities: %s, commitments: %s}" % (
        _at(start), plan, _flow(quantities), _flow(commitments))
    lines = [
        f"customer_id: {c.customer_id}",
        f"catalog: {c.catalog}",
        f"billing_details: {str(details).lower()}",
        f"anchor: {anchor}",
        f"trial_days: {trial}",
        "events:",
        f"  - {start_event}",
        *(f"  - {text}" for _, text in changes),
    ]
    return "\n".join(lines) + "\n", plan, details


_PREPAID_PLANS = [("mini", 1_000, 2, 10), ("standard", 10_000, 10, 40), ("business", 100_000, 50, 150)]


def _ledger(c: _CustomerDraw) -> tuple[str, str]:
    rng = c.rng
    users = int(c.size * rng.uniform(1.5, 4))
    apps = int(rng.integers(1, 8))
    fitting = [p for p in _PREPAID_PLANS if users <= p[1] and apps <= p[2]]
    plan, _, _, price = fitting[0] if fitting else ("custom", 0, 0, max(200, users // 100))
    # NOTE: the ledger starts with the window (or the sign-up inside it): earlier top-ups are history.
    start = max(c.signup, c.window_start).date()
    events = []
    day = start
    top_up = max(20, int(math.ceil(price * rng.uniform(1.5, 4) / 10)) * 10)
    events.append((start, "{date: \"%s\", type: top_up, amount: \"%d.00\"}" % (start.isoformat(), top_up)))
    end = (c.churn or c.window_end).date()
    while True:
        day = day + timedelta(days=int(rng.integers(20, 45)))
        if day >= end:
            break
        events.append((day, "{date: \"%s\", type: top_up, amount: \"%d.00\"}" % (day.isoformat(), top_up)))
    if plan in {"standard", "business"} and rng.random() < 0.25 and (m := c.moment(max(c.signup, c.window_start))):
        bigger = {"standard": "business", "business": "custom"}[plan]
        events.append((m.date(), "{date: \"%s\", type: change_plan, plan: %s}" % (m.date().isoformat(), bigger)))
    inactive = False
    if rng.random() < 0.05 and (m := c.moment(max(c.signup, c.window_start))):
        events.append((m.date(), "{date: \"%s\", type: deactivate}" % m.date().isoformat()))
        back = m.date() + timedelta(days=int(rng.integers(2, 10)))
        if back < end:
            events.append((back, "{date: \"%s\", type: activate}" % back.isoformat()))
        else:
            inactive = True  # deactivated until the end: churn has nothing left to deactivate
    if c.churn is not None and not inactive:
        events.append((c.churn.date(), "{date: \"%s\", type: deactivate}" % c.churn.date().isoformat()))
    events.sort(key=lambda item: item[0])
    lines = [
        f"customer_id: {c.customer_id}",
        "catalog: prepaid_auth",
        f'start: "{start.isoformat()}"',
        f"plan: {plan}",
        f"objects: {{users: {users}, applications: {apps}}}",
        "events:",
        *(f"  - {text}" for _, text in events),
    ]
    return "\n".join(lines) + "\n", plan


# --- events ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Groups:
    """Account groups active in one month: one row per (customer, tenant, kind of account)."""

    customer: np.ndarray  # index into the book
    tenant: np.ndarray  # tenant name index into _TENANT_NAMES-like labels (strings)
    tenant_label: np.ndarray  # str, full tenant id
    client: np.ndarray  # bool
    base: np.ndarray  # first account number
    pool: np.ndarray  # accounts in the group's pool
    active: np.ndarray  # accounts active this month
    calls: np.ndarray  # mean calls per active account
    first_day: np.ndarray  # active day range [first_day, last_day) in the month
    last_day: np.ndarray
    failure: np.ndarray

    @property
    def expected(self) -> float:
        return float((self.active * self.calls).sum())


def _plan_month(book: Book, month_index: int) -> _Groups:
    p = book.profiles
    start, end = month_bounds(book.months[month_index])
    days = (end - start).days
    n = len(p)
    signup_day = np.array([(s - start).days for s in p["signup"]], dtype=np.int64)
    churn_day = np.array([10_000 if pd.isna(c) else (c - start).days for c in p["churn"]], dtype=np.int64)
    first = np.clip(signup_day, 0, days)
    last = np.clip(churn_day, 0, days)
    live = last > first
    fraction = np.where(live, (last - first) / days, 0.0)
    scale = p["growth"].to_numpy() ** month_index
    users = np.ceil(p["size"].to_numpy() * (1 - p["client_share"].to_numpy()) * scale * (0.5 + 0.5 * fraction))
    clients = np.ceil(p["size"].to_numpy() * p["client_share"].to_numpy())
    devs = p["developers"].to_numpy()

    rows: dict[str, list[np.ndarray]] = {k: [] for k in _Groups.__dataclass_fields__}
    ids = p["customer_id"].to_numpy()

    def add(mask: np.ndarray, tenant: str | np.ndarray, client: bool, base: np.ndarray, pool: np.ndarray,
            active: np.ndarray, calls: np.ndarray, failure: np.ndarray) -> None:
        idx = np.flatnonzero(mask & live & (active > 0))
        if idx.size == 0:
            return
        label = np.char.add(np.char.add(ids[idx].astype(str), "-"), np.broadcast_to(tenant, (n,))[idx].astype(str))
        rows["customer"].append(idx)
        rows["tenant"].append(np.broadcast_to(tenant, (n,))[idx].astype(str))
        rows["tenant_label"].append(label)
        rows["client"].append(np.full(idx.size, client))
        for key, values in (("base", base), ("pool", pool), ("active", active), ("calls", calls), ("failure", failure)):
            rows[key].append(np.broadcast_to(values, (n,))[idx].astype(float if key in {"calls", "failure"} else np.int64))
        rows["first_day"].append(first[idx])
        rows["last_day"].append(last[idx])

    every = np.ones(n, dtype=bool)
    fail = p["failure_rate"].to_numpy()
    per_user = p["calls_per_user"].to_numpy()
    per_client = p["calls_per_client"].to_numpy()
    # Developers: the same accounts in dev, test and prod (each tenant counts them once).
    add(every, "dev", False, np.zeros(n, np.int64), devs, devs, per_user * 2, np.minimum(fail * 4, 0.5))
    add(p["has_test"].to_numpy(), "test", False, np.zeros(n, np.int64), devs, np.ceil(devs * 0.7), per_user, fail * 2)
    add(every, "prod", False, np.zeros(n, np.int64), devs, np.ceil(devs * 0.5), per_user, fail)
    pool = np.ceil(users * 1.4).astype(np.int64)
    add(every, "prod", False, devs.astype(np.int64), pool, users, per_user, fail)
    add(every, "prod", True, np.zeros(n, np.int64), clients, clients, per_client, fail / 2)
    extra = p["extra_prod"].to_numpy()
    for k in range(1, int(extra.max(initial=0)) + 1):
        share = np.ceil(users / (k + 1)).astype(np.int64)
        add(extra >= k, f"prod-{k:02d}", False, devs + pool * k, np.ceil(share * 1.4).astype(np.int64), share,
            per_user, fail)
        add(extra >= k, f"prod-{k:02d}", True, np.full(n, 10_000 * k, np.int64), np.maximum(clients // 2, 1),
            np.maximum(clients // 2, 1), per_client, fail / 2)
    if not rows["customer"]:
        empty = {k: np.zeros(0, dtype=np.int64) for k in rows}
        return _Groups(**empty)
    return _Groups(**{k: np.concatenate(v) for k, v in rows.items()})


def _endpoint_tables(book: Book) -> tuple[list[str], list[str], dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]]]:
    methods: list[str] = []
    endpoints: list[str] = []
    index: dict[tuple[str, str], int] = {}
    tables: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = {}
    for catalog, kinds in CALLS.items():
        for kind, calls in kinds.items():
            codes = []
            for method, endpoint, _ in calls:
                key = (method, endpoint)
                if key not in index:
                    index[key] = len(methods)
                    methods.append(method)
                    endpoints.append(endpoint)
                codes.append(index[key])
            weights = np.array([w for _, _, w in calls], dtype=float)
            tables[(catalog, kind == "client")] = (np.array(codes), np.cumsum(weights / weights.sum()))
    return methods, endpoints, tables


def _chunks(groups: _Groups, limit: int) -> Iterator[np.ndarray]:
    """Group indices in blocks of about ``limit`` expected events, whole customers together."""
    expected = groups.active * groups.calls
    order = np.argsort(groups.customer, kind="stable")
    running = np.cumsum(expected[order])
    block = (running // max(limit, 1)).astype(np.int64)
    # keep one customer's groups in one block
    cust_sorted = groups.customer[order]
    starts = np.r_[True, cust_sorted[1:] != cust_sorted[:-1]]
    block = np.maximum.accumulate(np.where(starts, block, 0))
    for b in np.unique(block):
        yield order[block == b]


def month_events(book: Book, month_index: int, chunk_events: int = CHUNK_EVENTS) -> Iterator[pa.Table]:
    """The events of one month of the book, in tables of about ``chunk_events`` rows."""
    groups = _plan_month(book, month_index)
    if groups.customer.size == 0:
        return
    start, end = month_bounds(book.months[month_index])
    days = (end - start).days
    weekday = np.array([(start + timedelta(days=d)).weekday() for d in range(days)])
    day_weight = WEEKDAY_WEIGHT[weekday] * np.linspace(1.0, 1.03, days)  # growth within the month
    cum = np.r_[0.0, np.cumsum(day_weight)]
    methods, endpoints, tables = _endpoint_tables(book)
    method_arr, endpoint_arr = pa.array(methods), pa.array(endpoints)
    catalogs = book.profiles["catalog"].to_numpy()
    customer_ids = pa.array(book.profiles["customer_id"].to_numpy().astype(str))
    start_ms = int(start.timestamp() * 1000) if start.tzinfo else int((start - datetime(1970, 1, 1)).total_seconds() * 1000)
    for chunk_no, chunk in enumerate(_chunks(groups, chunk_events)):
        rng = np.random.default_rng([book.seed, 0xE7E, month_index, chunk_no])
        g = {k: getattr(groups, k)[chunk] for k in _Groups.__dataclass_fields__}
        # one row per active account: a window over the group's pool that moves month to month
        active = g["active"].astype(np.int64)
        offset = (rng.integers(0, 1 << 30, active.size) % np.maximum(g["pool"], 1)).astype(np.int64)
        acc_group = np.repeat(np.arange(active.size), active)
        within = np.arange(acc_group.size) - np.repeat(np.cumsum(active) - active, active)
        account_no = g["base"][acc_group] + (offset[acc_group] + within) % np.maximum(g["pool"][acc_group], 1)
        # calls per account: heavy-ish (geometric) around the group's mean
        mean_calls = g["calls"][acc_group]
        calls = rng.geometric(1.0 / np.maximum(mean_calls, 1.0))
        ev_acc = np.repeat(np.arange(acc_group.size), calls)
        ev_group = acc_group[ev_acc]
        count = ev_acc.size
        # day: weekday-weighted within the account's active days; time: daytime for people
        lo, hi = cum[g["first_day"][ev_group]], cum[g["last_day"][ev_group]]
        day = np.searchsorted(cum, lo + rng.random(count) * (hi - lo), side="right") - 1
        day = np.clip(day, g["first_day"][ev_group], g["last_day"][ev_group] - 1)
        is_client = g["client"][ev_group].astype(bool)
        human_ms = (np.mod(rng.normal(14.0, 3.5, count), 24.0) * 3_600_000).astype(np.int64)
        machine_ms = rng.integers(0, 86_400_000, count)
        ms = np.where(is_client, machine_ms, human_ms)
        ts = start_ms + day.astype(np.int64) * 86_400_000 + ms
        # endpoint by catalog and kind of account
        cust = g["customer"][ev_group]
        code = np.zeros(count, dtype=np.int64)
        u = rng.random(count)
        for catalog in CALLS:
            for client in (False, True):
                mask = (catalogs[cust] == catalog) & (is_client == client)
                if mask.any():
                    codes, cumw = tables[(catalog, client)]
                    code[mask] = codes[np.minimum(np.searchsorted(cumw, u[mask], side="right"), len(codes) - 1)]
        # failures: more at login (wrong passwords) than elsewhere
        is_login = np.isin(np.array(endpoints)[code], ["factors/login", "auth/login"])
        fail_p = g["failure"][ev_group] * np.where(is_login, 3.0, 1.0)
        failed = rng.random(count) < fail_p
        status = np.full(count, 200, dtype=np.int16)
        status[failed] = FAILURE_CODES[
            np.minimum(np.searchsorted(np.cumsum(FAILURE_WEIGHTS), rng.random(int(failed.sum()))), 5)
        ]
        order = np.argsort(ts, kind="stable")
        acc_no = account_no[ev_acc][order]
        client_sorted = is_client[order]
        cust_sorted = cust[order]
        prefix = pa.array(np.where(client_sorted, "-m", "-u"))
        account = pc.binary_join_element_wise(
            customer_ids.take(pa.array(cust_sorted)), prefix,
            pc.utf8_lpad(pc.cast(pa.array(acc_no), pa.string()), 6, "0"), "",
        )
        tenant_labels = pa.array(g["tenant_label"])
        yield pa.table(
            {
                "timestamp": pa.array(ts[order], pa.timestamp("ms")).cast(pa.timestamp("ms", tz="UTC")),
                "customer_id": customer_ids.take(pa.array(cust_sorted)),
                "tenant_id": tenant_labels.take(pa.array(ev_group[order])),
                "account_id": account,
                "account_kind": pa.array(np.where(client_sorted, "client", "user")),
                "method": method_arr.take(pa.array(code[order])),
                "endpoint": endpoint_arr.take(pa.array(code[order])),
                "status": pa.array(status[order], pa.int16()),
            },
            schema=ARROW_SCHEMA,
        )


def write_events(
    book: Book, out_dir: str | Path, fmt: Literal["parquet", "csv"] = "parquet",
    chunk_events: int = CHUNK_EVENTS,
) -> list[Path]:
    """Write the book's events, one file per month (``events-YYYY-MM.parquet``); returns the paths."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt not in {"parquet", "csv"}:
        raise MeteringError(f"format {fmt!r}: expected parquet or csv")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, month in enumerate(book.months):
        path = out / f"events-{month}.{fmt}"
        tmp = path.with_name(path.name + ".partial")
        writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
        try:
            for table in month_events(book, index, chunk_events):
                if writer is None:
                    writer = (pq.ParquetWriter(tmp, ARROW_SCHEMA, compression="zstd") if fmt == "parquet"
                              else pacsv.CSVWriter(tmp, ARROW_SCHEMA))
                writer.write_table(table)
            if writer is None:  # no events this month: still write an empty file
                empty = ARROW_SCHEMA.empty_table()
                if fmt == "parquet":
                    pq.write_table(empty, tmp)
                else:
                    pacsv.write_csv(empty, tmp)
            else:
                writer, closing = None, writer
                closing.close()
            tmp.replace(path)
        except OSError as exc:  # a full disk or a read-only folder: no .partial file is left behind
            if writer is not None:
                try:
                    writer.close()
                except OSError:
                    pass  # NOTE: the write error above is the one to report
            tmp.unlink(missing_ok=True)
            reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0]
            raise MeteringError(f"{path}: cannot write: {reason}") from None
        paths.append(path)
    return paths


def write_book_files(book: Book, out_dir: str | Path) -> list[Path]:
    """customers.csv, timelines/<id>.yaml and ledgers/<id>.yaml under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "customers.csv"]
    # NOTE: names and ids are text: neutralised so a spreadsheet never runs them as formulas.
    neutralise_frame(book.customers).to_csv(written[0], index=False)
    for folder, texts in (("timelines", book.timelines), ("ledgers", book.ledgers)):
        (out / folder).mkdir(exist_ok=True)
        for customer_id, text in texts.items():
            path = out / folder / f"{customer_id}.yaml"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


# --- usage without events (for the rating benchmark) -------------------------------


def generate_usage_table(catalog: Catalog | str, rows: int, seed: int) -> pd.DataFrame:
    """Monthly usage of ``rows`` customers: an int column per metric the catalog charges.

    Heavy-tailed like the event data, related where metrics are (calls grow
    with accounts, commitments sit near usage), and fast: no events are made.
    """
    cat = load_catalog(catalog) if isinstance(catalog, str) else catalog
    rng = np.random.default_rng([seed, 0x05A6E])
    base = np.minimum(np.floor(12 * (1 + rng.pareto(1.15, rows))), 2_000_000).astype(np.int64)
    columns: dict[str, np.ndarray] = {}
    metrics = cat.charged_metrics()
    for name in metrics:
        metric = cat.metrics[name]
        spec = metric.meter
        if metric.kind is MetricKind.METERED and spec is not None:
            if spec.aggregate == "distinct_accounts":
                values = base
            elif spec.aggregate == "count":
                values = np.floor(base * np.exp(rng.normal(math.log(8), 0.8, rows))).astype(np.int64)
            else:
                values = 1 + np.minimum(rng.geometric(0.45, rows) - 1 + (base > 5_000) * rng.poisson(3, rows), 200)
        elif metric.kind is MetricKind.FLAG:
            values = (rng.random(rows) < 0.3).astype(np.int64)
        elif metric.kind is MetricKind.COMMITMENT:
            # a commitment sits near the usage of the metric it commits (accounts or tenants)
            committed = next((c.metric for p in cat.plans.values() for c in p.charges
                              if c.commitment is not None and c.commitment.quantity_metric == name), None)
            target = columns.get(committed, base) if committed else base
            level = target * rng.uniform(0.5, 1.2, rows)
            level = np.round(level, -2) if np.median(target) >= 1_000 else np.ceil(level)
            values = np.where(rng.random(rows) < 0.3, level, 0)
        elif metric.unit in {"user", "account", "member"} and metric.kind is MetricKind.COUNT and name != "tenant_members":
            values = np.floor(base * rng.uniform(1.5, 4, rows))
        else:
            values = rng.geometric(0.35, rows) - 1
        columns[name] = np.asarray(values, dtype=np.int64)
    return pd.DataFrame(columns, columns=metrics)


__all__ = [
    "Book", "DEFAULT_END_MONTH", "generate_book", "generate_usage_table", "month_events", "write_book_files",
    "write_events",
]

