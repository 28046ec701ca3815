"""Invoices and their lines: what rating produces and every report reads.

Amounts are integers of the currency's minor unit. Each line keeps its exact
(unrounded) amount beside the rounded one, and a sentence explaining itself:
which tiers it hit, what was included free, what a commitment covered.
Totals are sums of rounded lines, so they always equal the sum of their lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pricing.engine.formatting import iso_utc
from pricing.engine.money import from_minor
from pricing.engine.formatting import format_minor, format_money, plain_number


class LineType(str, Enum):
    """What a line is for; revenue reports group by it."""

    RECURRING = "recurring"
    USAGE = "usage"
    ADDON = "addon"
    FEATURE = "feature"
    COMMITMENT = "commitment"
    MINIMUM = "minimum"
    PRORATION = "proration"
    CREDIT = "credit"
    ROUNDING = "rounding"  # invoice-level rounding: the exact total rounded once, less the rounded lines
    DISCOUNT = "discount"
    TAX = "tax"


@dataclass(frozen=True)
class Line:
    item: str
    line_type: LineType
    quantity: Decimal
    unit_price: Decimal | None
    amount_minor: int
    exact_amount: Decimal
    explanation: str = ""
    metric: str | None = None
    service_start: datetime | None = None
    service_end: datetime | None = None
    tiers: tuple[dict[str, Any], ...] = ()

    def to_json(self, decimals: int) -> dict[str, Any]:
        data: dict[str, Any] = {
            "item": self.item,
            "type": self.line_type.value,
            "quantity": plain_number(self.quantity),
            "unit_price": None if self.unit_price is None else str(self.unit_price),
            "amount": format_minor(self.amount_minor, decimals),
            "exact_amount": plain_number(self.exact_amount),
            "explanation": self.explanation,
        }
        if self.metric is not None:
            data["metric"] = self.metric
        if self.service_start is not None:
            data["service_start"] = iso_utc(self.service_start)
        if self.service_end is not None:
            data["service_end"] = iso_utc(self.service_end)
        if self.tiers:
            data["tiers"] = [dict(t) for t in self.tiers]
        return data


@dataclass(frozen=True)
class Invoice:
    """One plan's bill for one period's usage."""

    catalog: str
    plan: str
    currency: str
    decimals: int
    lines: tuple[Line, ...]
    eligible: bool = True
    reason: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    customer_id: str | None = None
    notes: tuple[str, ...] = field(default=())
    issued_at: datetime | None = None  # when a subscription issued it (None on a quote)

    # Totals are derived from the lines, never stored beside them.
    @property
    def net_minor(self) -> int:
        """Charges after discounts, before tax."""
        return sum(line.amount_minor for line in self.lines if line.line_type is not LineType.TAX)

    @property
    def discount_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines if line.line_type is LineType.DISCOUNT)

    @property
    def subtotal_minor(self) -> int:
        """Charges before discounts and tax."""
        return self.net_minor - self.discount_minor

    @property
    def tax_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines if line.line_type is LineType.TAX)

    @property
    def total_minor(self) -> int:
        """The amount due: the sum of every line."""
        return sum(line.amount_minor for line in self.lines)

    def total(self) -> Decimal:
        return from_minor(self.total_minor, self.decimals)

    def format(self, minor: int) -> str:
        return format_minor(minor, self.decimals)

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency, self.decimals)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "plan": self.plan,
            "eligible": self.eligible,
            "reason": self.reason,
            "subtotal": self.format(self.subtotal_minor),
            "discount": self.format(self.discount_minor),
            "net": self.format(self.net_minor),
            "tax": self.format(self.tax_minor),
            "total": self.format(self.total_minor),
            "lines": [line.to_json(self.decimals) for line in self.lines],
        }
        if self.customer_id is not None:
            data["customer_id"] = self.customer_id
        if self.period_start is not None:
            data["period_start"] = iso_utc(self.period_start)
        if self.period_end is not None:
            data["period_end"] = iso_utc(self.period_end)
        if self.issued_at is not None:
            data["issued_at"] = iso_utc(self.issued_at)
        if self.notes:
            data["notes"] = list(self.notes)
        return data


