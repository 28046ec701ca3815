"""The invoices a live billing system issued, in one shape whatever the vendor.

:mod:`pricing.interop.stripe` and :mod:`pricing.interop.lago` read their
vendor's invoice JSON into these value objects; :mod:`pricing.interop.reconcile`
compares them with the engine's invoices. Amounts are integers of the
currency's minor unit, as both vendors give them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class VendorLine:
    """One line of a vendor invoice (a Stripe line item, a Lago fee, or the invoice's tax or discount)."""

    line_id: str
    role: str  # fee | usage | proration | true_up | commitment | discount | tax | other
    amount_minor: int
    description: str = ""
    price_ref: str | None = None  # Stripe price id, or Lago charge lago_id: what the catalog's sources name
    code: str | None = None  # Lago billable metric code, or Stripe price metadata.metric
    quantity: Decimal | None = None
    unit_amount: Decimal | None = None  # in currency units, where the vendor states it
    service_start: datetime | None = None
    service_end: datetime | None = None


@dataclass(frozen=True)
class VendorCustomer:
    """How the vendor names the customer; reconciliation maps one of these to the store's customer id."""

    id: str
    email: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VendorInvoice:
    invoice_id: str
    customer: VendorCustomer
    currency: str  # upper case
    issued_at: datetime  # the instant that places the invoice in a month (see docs/interop.md)
    lines: tuple[VendorLine, ...]
    total_minor: int
    status: str = ""


__all__ = ["VendorCustomer", "VendorInvoice", "VendorLine"]
