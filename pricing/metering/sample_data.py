"""A synthetic customer book and its API-call events, the same for the same seed.

The book has customers on all four bundled catalogs (mostly Quasr), each with
a subscription timeline or, for the prepaid service, a balance ledger, in the
YAML shapes :mod:`pricing.billing.subscriptions` reads. Customers are dealt from
:data:`ROLES`, a deck of 24 kinds of customer, each block of 24 customers
holding every role once: every catalog and paid plan, commitments under-used
and over-used, upgrades, downgrades, add-on changes, sign-ups and
cancellations, a customer blocked at Quasr's free tier, a prepaid balance near
its low-balance notice. The first block has its stories in the window's last
month, the month the demo bills, so even the demo's 24 customers show what the
reports are for. Events have a realistic shape: heavy-tailed customer sizes (a
Pareto tail above each role's typical size), dev/test/prod tenants and, for
some customers, several production tenants, machine clients calling the token
endpoint far more often than people log in, fewer calls at weekends and at
night, growth, and failed calls.

Everything is drawn with numpy from one seed; events are generated
vectorised, month by month and a block of customers at a time, so any volume
can be written to Parquet with bounded memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pricing.engine.catalog import Catalog, MetricKind, load_catalog
from pricing.errors import MeteringError
from pricing.metering.events import ARROW_SCHEMA
from pricing.spreadsheet_text import neutralise_frame
from pricing.engine.periods import add_months, month_bounds, months_ending
from pricing.files import atomic_file

DEFAULT_END_MONTH = "2026-03"  # fixed, so a seed always gives the same book
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


# --- roles: the stories the book tells -------------------------------------------

Story = Literal["steady", "new", "upgrade", "downgrade", "add", "remove", "commit_up", "commit_down", "cancel",
                "billing_details", "near_notice"]


@dataclass(frozen=True)
class Role:
    """A kind of customer: where it buys, how big it is and what it does in its story month."""

    catalog: str
    plan: str  # the plan it starts on
    size: int  # typical active accounts; a Pareto tail above it, up to ``size_cap``
    size_cap: int
    story: Story = "steady"
    target: str = ""  # the plan an upgrade or downgrade moves to
    billing_details: bool = True
    extra_prod: int = -1  # extra production tenants (-1: drawn, most have none)
    commitment: float = 0.0  # committed MAA as a share of the MAA it will use (0: none)
    commitment_after: float = 0.0  # ... after a commit_up / commit_down
    calls: float = 1.0  # calls per account, relative to the book's


# NOTE: every block of len(ROLES) customers holds each role once, in an order drawn from the seed, so
# any book of at least 24 customers shows every story the reports are for (sample of 24 = the demo).
ROLES: tuple[Role, ...] = (
    Role("quasr", "payg", 250, 6_000, calls=3.0, extra_prod=1),  # past the free tier: 4 tenants, calls past 10 per MAA
    Role("quasr", "payg", 25, 45, extra_prod=0),  # inside the free tier: pays nothing
    Role("quasr", "payg", 150, 600, billing_details=False, extra_prod=0),  # blocked at the free tier
    Role("quasr", "payg", 200, 2_000, story="billing_details", billing_details=False, extra_prod=0),
    Role("quasr", "payg", 400, 2_400, story="upgrade", target="startup"),
    Role("quasr", "startup", 300, 2_000, story="new"),
    Role("quasr", "startup", 1_800, 4_000, story="cancel", extra_prod=1),  # past the contingent to the end
    Role("quasr", "gravitate_and_save", 700, 6_000, commitment=1.5, extra_prod=0),  # under-used
    Role("quasr", "gravitate_and_save", 700, 6_000, story="commit_up", commitment=0.6, commitment_after=0.8,
         extra_prod=0),  # over-used, raises its commitment and still overuses it
    Role("quasr", "enterprise", 4_000, 30_000, commitment=0.75, extra_prod=1, calls=0.5),  # over-used
    Role("quasr", "enterprise", 4_000, 30_000, story="commit_down", commitment=1.8, commitment_after=1.3,
         extra_prod=1, calls=0.5),  # under-used, lowers its commitment
    Role("logto", "pro", 60, 3_000),
    Role("logto", "pro", 60, 3_000, story="add"),
    Role("logto", "pro", 60, 3_000, story="remove"),
    Role("logto", "pro", 40, 1_000, story="new"),
    Role("logto", "pro", 60, 3_000, story="cancel"),
    Role("license_jp", "starter", 1_300, 3_000, extra_prod=0),  # MAU past the Starter maximum
    Role("license_jp", "starter", 500, 2_000, story="upgrade", target="business", extra_prod=0),
    Role("license_jp", "business", 1_000, 8_000, story="downgrade", target="starter", extra_prod=0),
    Role("license_jp", "free", 30, 60, story="upgrade", target="starter", extra_prod=0),
    Role("prepaid_auth", "standard", 200, 3_000),
    Role("prepaid_auth", "mini", 150, 400, story="near_notice"),
    Role("prepaid_auth", "standard", 200, 3_000, story="upgrade", target="business"),
    Role("prepaid_auth", "custom", 500, 5_000),  # more applications than a preset allows
)
CATALOG_SHARES: dict[str, float] = {
    c: sum(r.catalog == c for r in ROLES) / len(ROLES) for c in dict.fromkeys(r.catalog for r in ROLES)
}
# Add-ons a Logto story adds or removes, with what the plan includes (seed 004).
_LOGTO_INCLUDED = {"api_resources": 3, "m2m_apps": 1, "tenant_members": 3, "enterprise_sso": 0}


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
    return months_ending(end_month or DEFAULT_END_MONTH, months, MeteringError)


def role_indices(customers: int, rng: np.random.Generator) -> np.ndarray:
    """Each customer's index into :data:`ROLES`: every whole block holds every role once."""
    blocks = -(-customers // len(ROLES))
    deck = rng.permuted(np.tile(np.arange(len(ROLES)), (blocks, 1)), axis=1)
    return deck.reshape(-1)[:customers]


def generate_book(customers: int, months: int, seed: int, end_month: str | None = None) -> Book:
    """A customer book of ``customers`` customers over ``months`` months ending with ``end_month``.

    The first block of customers tells its stories (upgrades, cancellations,
    new sign-ups...) in the last month, the month a demo reports; later blocks
    spread theirs over the window.
    """
    if customers < 1:
        raise MeteringError(f"customers: must be at least 1, got {customers}")
    month_names = _month_list(months, end_month)
    window_start, _ = month_bounds(month_names[0], MeteringError)
    _, window_end = month_bounds(month_names[-1], MeteringError)
    rng = np.random.default_rng([seed, 0xB00C])
    n = customers
    width = max(4, len(str(n)))
    ids = np.array([f"c{i + 1:0{width}d}" for i in range(n)])
    role_of = role_indices(n, rng)
    catalog = np.array([r.catalog for r in ROLES])[role_of]

    # NOTE: sizes are Pareto-tailed above each role's typical size, so a few customers are far bigger.
    typical = np.array([r.size for r in ROLES])[role_of]
    cap = np.array([r.size_cap for r in ROLES])[role_of]
    size = np.minimum(np.floor(typical * (1 + rng.pareto(2.0, n))), cap).astype(np.int64)
    growth = np.exp(rng.normal(0.02, 0.04, n))  # monthly growth factor
    client_share = np.clip(rng.beta(1.5, 15, n), 0.0, 0.5)
    calls_scale = np.array([r.calls for r in ROLES])[role_of]
    calls_per_user = calls_scale * np.exp(rng.normal(math.log(4), 0.4, n))
    calls_per_client = calls_scale * np.exp(rng.normal(math.log(25), 0.6, n))
    failure_rate = rng.uniform(0.01, 0.06, n)
    # Multi-tenant operators (SaaS platforms, brands) run many production tenants.
    drawn_prod = np.where(rng.random(n) < 0.10, np.minimum(1 + rng.pareto(1.0, n) * 3, 8), 0).astype(int)
    fixed_prod = np.array([r.extra_prod for r in ROLES])[role_of]
    extra_prod = np.where(fixed_prod >= 0, fixed_prod, drawn_prod)
    has_test = rng.random(n) < 0.8
    developers = 1 + rng.poisson(3, n)
    # the month each customer's story happens in: the last one for the first block
    story_month = np.where(np.arange(n) < len(ROLES), len(month_names) - 1, rng.integers(0, len(month_names), n))

    segment = np.select([size >= 10_000, size >= 1_000, size >= 100], ["enterprise", "large", "mid"], "small")
    names = [f"{_NAME_A[a]} {_NAME_B[b]}" for a, b in zip(rng.integers(0, len(_NAME_A), n),
                                                           rng.integers(0, len(_NAME_B), n))]
    country = np.array(_COUNTRIES)[rng.integers(0, len(_COUNTRIES), n)]
    tenants = 1 + has_test.astype(int) + 1 + extra_prod
    # MAA it will use in the last month (users, clients and developers in every tenant), for commitments
    scale = growth ** (len(month_names) - 1)
    users = size * (1 - client_share) * scale
    most = int(extra_prod.max(initial=0))
    spread = 1 + np.array([sum(1 / (k + 1) for k in range(1, e + 1)) for e in range(most + 1)])
    # NOTE: about one account in ten makes only calls that do not count (a user's GET oauth2/authorize).
    expected_maa = 0.9 * ((users + size * client_share) * spread[extra_prod] + developers * (1.5 + has_test * 0.7))

    timelines: dict[str, str] = {}
    ledgers: dict[str, str] = {}
    plans: list[str] = []
    billing: list[bool] = []
    signups: list[datetime] = []
    churns: list[datetime | None] = []
    bounds = [month_bounds(m, MeteringError) for m in month_names]
    for i in range(n):
        crng = np.random.default_rng([seed, 0xC0DE, i])
        story_start, story_end = bounds[int(story_month[i])]
        cust = _CustomerDraw(
            customer_id=str(ids[i]), role=ROLES[int(role_of[i])], size=int(size[i]), tenants=int(tenants[i]),
            expected_maa=float(expected_maa[i]), window_start=window_start, window_end=window_end,
            story_start=story_start, story_end=story_end, rng=crng,
        )
        if cust.role.catalog == "prepaid_auth":
            text, plan = _ledger(cust)
            ledgers[cust.customer_id] = text
            billing.append(True)
        else:
            text, plan = _timeline(cust)
            timelines[cust.customer_id] = text
            billing.append(cust.role.billing_details)
        plans.append(plan)
        signups.append(cust.signup)
        churns.append(cust.churn)

    signup = np.array(signups, dtype=object)
    churn = np.array(churns, dtype=object)
    profiles = pd.DataFrame({
        "customer_id": ids, "catalog": catalog, "size": size, "growth": growth, "client_share": client_share,
        "calls_per_user": calls_per_user, "calls_per_client": calls_per_client, "failure_rate": failure_rate,
        "extra_prod": extra_prod, "has_test": has_test, "developers": developers,
        "signup": signup, "churn": churn,
    })
    frame = pd.DataFrame({
        "customer_id": ids,
        "name": names,
        "catalog": catalog,
        "plan": plans,
        "billing_details": billing,
        "signup": [s.date() for s in signups],
        "churn": [c.date() if c is not None else None for c in churns],
        "segment": segment,
        "tenants": tenants.astype("int64"),
        "country": country,
    })
    return Book(frame, timelines, ledgers, month_names, seed, profiles)


class _CustomerDraw:
    """One customer being drawn: its role, sign-up and churn, and random moments in its window."""

    def __init__(self, customer_id: str, role: Role, size: int, tenants: int, expected_maa: float,
                 window_start: datetime, window_end: datetime, story_start: datetime, story_end: datetime,
                 rng: np.random.Generator) -> None:
        self.customer_id, self.role, self.size, self.tenants = customer_id, role, size, tenants
        self.expected_maa = expected_maa
        self.window_start, self.window_end = window_start, window_end
        self.story_start, self.story_end = story_start, story_end
        self.rng = rng
        days = (story_end - story_start).days
        if role.story == "new":  # signs up in the first days of its story month
            self.signup = story_start + timedelta(days=int(rng.integers(0, min(12, days - 15))),
                                                  minutes=int(rng.integers(8 * 60, 18 * 60)))
        else:
            self.signup = window_start - timedelta(days=int(rng.integers(30, 3 * 365)))
        self.churn: datetime | None = None
        if role.story == "cancel":
            # NOTE: Quasr cancels at the end of the cycle (the customer keeps calling until then);
            # Logto's Pro is cancelled at once, the unused add-ons refunded (seed 004).
            self.cancel_at = story_start + timedelta(days=int(rng.integers(5, days - 5)),
                                                     minutes=int(rng.integers(0, 24 * 60)))
            self.churn = story_end if role.catalog == "quasr" else self.cancel_at

    def moment(self, after: datetime, before: datetime | None = None) -> datetime | None:
        """A random whole minute in [after, before), or None if the span is under a day."""
        after = max(after, self.signup + timedelta(days=1))
        end = min(before or self.window_end, self.window_end)
        if self.churn is not None:
            end = min(end, self.churn - timedelta(minutes=1))
        span = int((end - after).total_seconds() // 60)
        if span < 24 * 60:
            return None
        return after + timedelta(minutes=int(self.rng.integers(0, span)))

    def story_moment(self) -> datetime:
        """When the story happens: inside the story month (before a cancellation)."""
        moment = self.moment(max(self.story_start, self.signup + timedelta(days=1)), self.story_end)
        return moment if moment is not None else max(self.story_start, self.signup + timedelta(hours=1))

    def committed(self, share: float) -> int:
        return max(100, int(round(self.expected_maa * share, -2)))


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _flow(mapping: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in mapping.items()) + "}"


def _event(moment: datetime, kind: str, **keys: object) -> tuple[datetime, str]:
    fields = "".join(f", {k}: {_flow(v) if isinstance(v, dict) else v}" for k, v in keys.items())
    return moment, '{at: "%s", type: %s%s}' % (_at(moment), kind, fields)


def _timeline(c: _CustomerDraw) -> tuple[str, str]:
    rng, role = c.rng, c.role
    start = c.signup if role.story == "new" else c.signup.replace(hour=0, minute=0, second=0)
    quantities: dict[str, object] = {}
    commitments: dict[str, object] = {}
    if role.catalog == "quasr":
        changes = _quasr_changes(c, commitments)
    elif role.catalog == "logto":
        changes = _logto_changes(c, quantities)
    else:
        changes = _license_changes(c, quantities)
    if role.story == "steady" and rng.random() < 0.03 and (m := c.moment(c.window_start)):
        changes.append(_event(m, "suspend"))
        if m2 := c.moment(m + timedelta(days=2)):
            changes.append(_event(m2, "reactivate"))
    changes.sort(key=lambda item: item[0])
    if role.story == "cancel":
        last = max([m for m, _ in changes], default=start)
        at = max(c.cancel_at, last + timedelta(minutes=1))
        changes.append(_event(at, "cancel", effective="now") if role.catalog == "logto" else _event(at, "cancel"))
    # Customers whose story the reports follow bill on the 1st, so the change lands in its month's invoice.
    anchor_draw = rng.random()
    anchor = ("calendar" if role.story != "steady" or anchor_draw < 0.7 else
              "start" if anchor_draw < 0.9 else str(int(rng.integers(1, 29))))
    trial = 14 if role.story == "new" and role.catalog == "logto" else 0
    lines = [
        f"customer_id: {c.customer_id}",
        f"catalog: {role.catalog}",
        f"billing_details: {str(role.billing_details).lower()}",
        f"anchor: {anchor}",
        f"trial_days: {trial}",
        "events:",
        "  - " + _event(start, "start", plan=role.plan, quantities=quantities, commitments=commitments)[1],
        *(f"  - {text}" for _, text in changes),
    ]
    return "\n".join(lines) + "\n", role.plan


def _quasr_changes(c: _CustomerDraw, commitments: dict[str, object]) -> list[tuple[datetime, str]]:
    role = c.role
    if role.commitment:
        commitments["committed_maa"] = c.committed(role.commitment)
        commitments["committed_mat"] = c.tenants if role.plan == "gravitate_and_save" else max(10, c.tenants)
    changes: list[tuple[datetime, str]] = []
    if role.story == "billing_details":  # leaves the free tier by adding billing details
        changes.append(_event(c.story_moment(), "set_billing_details", value="true"))
    elif role.story == "upgrade":
        changes.append(_event(c.story_moment(), "upgrade", plan=role.target))
    elif role.story in {"commit_up", "commit_down"}:
        changes.append(_event(c.story_moment(), "commit", commitments={
            "committed_maa": c.committed(role.commitment_after), "committed_mat": commitments["committed_mat"]}))
    return changes


def _logto_changes(c: _CustomerDraw, quantities: dict[str, object]) -> list[tuple[datetime, str]]:
    rng, role = c.rng, c.role
    held = {
        "api_resources": int(rng.integers(1, 9)), "m2m_apps": int(rng.integers(0, 4)),
        "enterprise_sso": int(rng.integers(0, 3)) if rng.random() < 0.3 else 0,
        "mfa": int(role.story == "remove" or rng.random() < 0.4), "organizations": int(rng.random() < 0.25),
        "tenant_members": int(rng.integers(1, 7)),
    }
    quantities.update(held)
    changes: list[tuple[datetime, str]] = []
    # a few add-on changes before the story month, in time order so a removal never exceeds what is held
    moments = sorted(m for _ in range(int(rng.poisson(1.0))) if (m := c.moment(c.window_start, c.story_start)))
    for m in moments:
        item = str(rng.choice(["api_resources", "m2m_apps", "tenant_members"]))
        if rng.random() < 0.65 or held[item] == 0:
            count = int(rng.integers(1, 4))
            held[item] += count
            changes.append(_event(m, "add", item=item, quantity=count))
        else:
            held[item] -= 1
            changes.append(_event(m, "remove", item=item, quantity=1))
    if role.story == "add":  # units past what is included, so the next fee grows
        item = str(rng.choice(list(_LOGTO_INCLUDED)))
        count = max(1, _LOGTO_INCLUDED[item] - held[item] + 1) + int(rng.integers(0, 2))
        changes.append(_event(c.story_moment(), "add", item=item, quantity=count))
    elif role.story == "remove":
        paid = [k for k, v in _LOGTO_INCLUDED.items() if held[k] > v]
        if paid and rng.random() < 0.5:
            item = str(rng.choice(paid))
            changes.append(_event(c.story_moment(), "remove", item=item, quantity=held[item] - _LOGTO_INCLUDED[item]))
        else:
            changes.append(_event(c.story_moment(), "remove", item="mfa", quantity=1))
    return changes


def _license_changes(c: _CustomerDraw, quantities: dict[str, object]) -> list[tuple[datetime, str]]:
    rng, role = c.rng, c.role
    if role.plan == "free":  # registered users and RPs within the free license's caps
        quantities.update({"registered_users": min(int(c.size * rng.uniform(1.5, 3)), 100),
                           "registered_rps": int(rng.integers(1, 4))})
    else:
        quantities.update({"registered_users": int(c.size * rng.uniform(1.5, 4)),
                           "registered_rps": int(rng.integers(1, 6))})
    changes: list[tuple[datetime, str]] = []
    if role.story == "downgrade":
        # sometimes a downgrade reserved earlier and withdrawn (seed 003), before the one that stays
        if rng.random() < 0.3 and (m := c.moment(c.window_start, c.story_start - timedelta(days=3))):
            m = m.replace(day=min(m.day, 25))  # withdrawn the next day, before the period ends
            changes.append(_event(m, "downgrade", plan=role.target))
            changes.append(_event(m + timedelta(days=1), "withdraw_downgrade"))
        changes.append(_event(c.story_moment(), "downgrade", plan=role.target))
    elif role.story == "upgrade":
        changes.append(_event(c.story_moment(), "upgrade", plan=role.target))
    return changes


# Preset plans' object limits and monthly prices (catalog prepaid_auth); custom prices its objects.
_PREPAID_PLANS = {"mini": (1_000, 2, 10), "standard": (10_000, 10, 40), "business": (100_000, 50, 150)}
_NOTICE_RUNWAY_DAYS = 10  # the near-notice customer's balance (plus credit) at the window's end, in days


def _ledger(c: _CustomerDraw) -> tuple[str, str]:
    rng, role = c.rng, c.role
    users = int(c.size * rng.uniform(1.5, 4))
    if role.plan == "custom":
        apps = int(rng.integers(11, 25))
        price: Fraction | int = Fraction(3, 5) * math.ceil(users / 100) + apps * 3
    else:
        most_users, most_apps, price = _PREPAID_PLANS[role.plan]
        users, apps = min(users, most_users), int(rng.integers(1, min(most_apps, 7) + 1))
    plan = role.plan
    dearest = _PREPAID_PLANS[role.target][2] if role.target else price
    # NOTE: the ledger starts with the window (or the sign-up inside it): earlier top-ups are history.
    start = max(c.signup, c.window_start).date()
    end = (c.churn or c.window_end).date()
    events: list[tuple[date, str]] = []
    if role.story == "near_notice":
        events += _near_notice_top_ups(start, end, price)
    else:
        top_up = max(20, int(math.ceil(dearest * rng.uniform(1.5, 4) / 10)) * 10)
        day = start
        while day < end:
            events.append((day, '{date: "%s", type: top_up, amount: "%d.00"}' % (day.isoformat(), top_up)))
            day = day + timedelta(days=int(rng.integers(20, 45)))
    if role.story == "upgrade":
        m = c.story_moment().date()
        events.append((m, '{date: "%s", type: change_plan, plan: %s}' % (m.isoformat(), role.target)))
    if role.story == "steady" and rng.random() < 0.05 and (
            deactivated := c.moment(datetime.combine(start, datetime.min.time()))):
        events.append((deactivated.date(), '{date: "%s", type: deactivate}' % deactivated.date().isoformat()))
        back = deactivated.date() + timedelta(days=int(rng.integers(2, 10)))
        if back < end:
            events.append((back, '{date: "%s", type: activate}' % back.isoformat()))
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


def _near_notice_top_ups(start: date, end: date, price: Fraction | int) -> list[tuple[date, str]]:
    """Monthly top-ups that leave about :data:`_NOTICE_RUNWAY_DAYS` days of service at ``end``.

    The runway counts the system credit too (10% of what was debited, seed 002), so the
    balance left is the runway's days less the credit's.
    """
    debits = Fraction(0)
    first = start.replace(day=1)
    while first < end:  # a month at a time: the days held times the month's daily price
        following = add_months(first, 1)
        held = (min(end, following) - max(start, first)).days
        debits += Fraction(price) * held / (following - first).days
        first = following
    daily = Fraction(price) / 30
    left = max(2 * daily, _NOTICE_RUNWAY_DAYS * daily - debits / 10)
    dates = [start]
    while (following := add_months(dates[-1], 1)) < end - timedelta(days=3):
        dates.append(following)
    total = math.ceil((debits + left) * 100)  # in cents: whole dollars would leave days more
    amounts = [total // len(dates)] * (len(dates) - 1)
    amounts.append(total - sum(amounts))
    return [(d, '{date: "%s", type: top_up, amount: "%d.%02d"}' % (d.isoformat(), a // 100, a % 100))
            for d, a in zip(dates, amounts)]


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
    start, end = month_bounds(book.months[month_index], MeteringError)
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
            kind = float if key in {"calls", "failure"} else np.int64
            rows[key].append(np.broadcast_to(values, (n,))[idx].astype(kind))
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
    start, end = month_bounds(book.months[month_index], MeteringError)
    days = (end - start).days
    weekday = np.array([(start + timedelta(days=d)).weekday() for d in range(days)])
    day_weight = WEEKDAY_WEIGHT[weekday] * np.linspace(1.0, 1.03, days)  # growth within the month
    cum = np.r_[0.0, np.cumsum(day_weight)]
    methods, endpoints, tables = _endpoint_tables(book)
    method_arr, endpoint_arr = pa.array(methods), pa.array(endpoints)
    catalogs = book.profiles["catalog"].to_numpy()
    customer_ids = pa.array(book.profiles["customer_id"].to_numpy().astype(str))
    start_ms = (int(start.timestamp() * 1000) if start.tzinfo
                else int((start - datetime(1970, 1, 1)).total_seconds() * 1000))
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
        with atomic_file(path, MeteringError) as sink:  # a full disk or a read-only folder: one line, no partial file
            writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
            for table in month_events(book, index, chunk_events):
                if writer is None:
                    writer = (pq.ParquetWriter(sink, ARROW_SCHEMA, compression="zstd") if fmt == "parquet"
                              else pacsv.CSVWriter(sink, ARROW_SCHEMA))
                writer.write_table(table)
            if writer is None:  # no events this month: still write an empty file
                empty = ARROW_SCHEMA.empty_table()
                if fmt == "parquet":
                    pq.write_table(empty, sink)
                else:
                    pacsv.write_csv(empty, sink)
            else:
                writer.close()
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
    chosen = load_catalog(catalog) if isinstance(catalog, str) else catalog
    rng = np.random.default_rng([seed, 0x05A6E])
    base = np.minimum(np.floor(12 * (1 + rng.pareto(1.15, rows))), 2_000_000).astype(np.int64)
    columns: dict[str, np.ndarray] = {}
    metrics = chosen.charged_metrics()
    for name in metrics:
        metric = chosen.metrics[name]
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
            committed = next((c.metric for p in chosen.plans.values() for c in p.charges
                              if c.commitment is not None and c.commitment.quantity_metric == name), None)
            target = columns.get(committed, base) if committed else base
            level = target * rng.uniform(0.5, 1.2, rows)
            level = np.round(level, -2) if np.median(target) >= 1_000 else np.ceil(level)
            values = np.where(rng.random(rows) < 0.3, level, 0)
        elif (metric.unit in {"user", "account", "member"} and metric.kind is MetricKind.COUNT
              and name != "tenant_members"):
            values = np.floor(base * rng.uniform(1.5, 4, rows))
        else:
            values = rng.geometric(0.35, rows) - 1
        columns[name] = np.asarray(values, dtype=np.int64)
    return pd.DataFrame(columns, columns=metrics)


__all__ = [
    "Book", "DEFAULT_END_MONTH", "ROLES", "Role", "generate_book", "generate_usage_table", "month_events",
    "write_book_files", "write_events",
]

