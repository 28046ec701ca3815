"""Segments: what a customer held, for how long, and on which invoice it is billed.

The subscription replay (:mod:`pricing.billing.subscriptions`) is a state machine
that never computes money. For every invoice it issues it writes a
:class:`Draft`: a list of pieces, each naming a :class:`Holding` (plan,
quantities held, commitments) and the exact share of its billing period it
covers. :func:`pricing.engine.rating.price_drafts` prices the pieces with the same
charge models and rating code that price a quote, rounds each line once and
adds the minimum, discount and tax lines.

Pieces:

- :class:`Recurring`: a holding's recurring lines (plan fee, add-ons,
  features, held seats, commitments) for ``share`` of a period, billed in
  advance for the coming period or in arrears for a segment that ended;
- :class:`Change`: the difference between two holdings for the rest of a
  period (a charge for what is new, a credit for what is gone);
- :class:`UsageCharge`: the metered usage of a closed window, rated on the
  holding in force when it closed;
- :class:`EventCharge`: one usage event of a charge paid in advance, on an
  invoice of its own when it happens;
- :class:`Minimum`: a plan's minimum spend for ``share`` of a period,
  against what the period was invoiced;
- :class:`ContractMinimum`: a timeline's minimum over the whole
  subscription, checked at termination.

Every piece names the billing period its amount counts towards
(``spend_period``), so a minimum knows what was spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from pricing.engine.catalog import Discount
from pricing.engine.periods import Period

InvoiceKind = Literal["opening", "renewal", "change", "final", "threshold", "event"]


@dataclass(frozen=True)
class Holding:
    """What a customer holds under one plan: count, flag and commitment metrics."""

    plan: str
    quantities: tuple[tuple[str, Decimal], ...] = ()
    billing_details: bool = True

    @classmethod
    def of(cls, plan: str, quantities: Mapping[str, Decimal], billing_details: bool = True) -> Holding:
        return cls(plan, tuple(sorted((k, Decimal(v)) for k, v in quantities.items())), billing_details)

    def row(self) -> dict[str, Any]:
        return dict(self.quantities)


@dataclass(frozen=True)
class Recurring:
    holding: Holding
    share: Fraction
    start: datetime
    end: datetime
    period: Period
    arrears: bool = False
    full: bool = False  # True: bill every line in full, prorated or not (a period billed whole)


@dataclass(frozen=True)
class Change:
    """``before`` -> ``after`` at ``start``, for the rest of ``period`` (``share``)."""

    before: Holding | None
    after: Holding | None
    share: Fraction
    start: datetime
    end: datetime
    period: Period
    why: str
    prorate: bool = True  # False: the change costs nothing until the next period (no proration)


@dataclass(frozen=True)
class UsageCharge:
    holding: Holding
    usage: Mapping[str, Any]
    start: datetime
    end: datetime
    share: Fraction = Fraction(1)  # of its billing period the window covers: prorates charge minimums


@dataclass(frozen=True)
class EventCharge:
    """One usage event of a charge paid in advance, invoiced when it happens (Lago's
    pay-in-advance charges): the charge of the period's events up to and including it,
    less the charge of those before it (``earlier``: their total, or the list of them where
    a per-transaction charge prices each one; ``first``: none came before)."""

    holding: Holding
    metric: str
    earlier: Decimal | tuple[Decimal, ...]
    value: Decimal
    at: datetime
    first: bool = False


@dataclass(frozen=True)
class Minimum:
    plan: str
    share: Fraction
    start: datetime
    end: datetime
    period: Period


@dataclass(frozen=True)
class ContractMinimum:
    amount: Decimal
    start: datetime
    end: datetime | None


Piece = Recurring | Change | UsageCharge | EventCharge | Minimum | ContractMinimum


@dataclass(frozen=True)
class Placed:
    """A piece on its invoice, with the billing period its amount counts towards."""

    piece: Piece
    spend_period: datetime | None


@dataclass
class Draft:
    """One invoice before pricing: when and why it is issued, and its pieces in order."""

    customer_id: str
    issued_at: datetime
    kind: InvoiceKind
    period: Period
    closes: tuple[datetime, datetime] | None
    plan: str
    pieces: list[Placed] = field(default_factory=list)
    period_index: int = 0  # billing periods since the first, for discounts limited to N periods
    discounts: tuple[Discount, ...] = ()
    tax_percent: Decimal | None = None
    notes: list[str] = field(default_factory=list)
    conditional: bool = False  # a progressive-billing check: issued only if a usage threshold is crossed


def drafts_needed(drafts: list[Draft], wanted: list[int]) -> list[int]:
    """Which drafts must be priced to price ``wanted`` exactly, in order.

    A minimum and an ``amount_paid`` credit read what was invoiced for the
    same billing period, possibly on an earlier invoice; a contract minimum
    reads the whole history.
    """
    if not wanted:
        return []
    if any(isinstance(p.piece, ContractMinimum) for i in wanted for p in drafts[i].pieces):
        return list(range(max(wanted) + 1))
    periods = {p.spend_period for i in wanted for p in drafts[i].pieces if p.spend_period is not None}
    chosen = set(wanted)
    chosen.update(i for i, d in enumerate(drafts[: max(wanted)])
                  if any(p.spend_period in periods for p in d.pieces))
    return sorted(chosen)
