"""A subscription timeline as declared: the customer's events, in YAML or Python, checked.

:class:`Timeline` lists events at UTC instants (start on a plan, add or remove add-on units, change
plan now or at the end of the period, cancel, suspend, reactivate, add a trial, delete the account),
the usage given per period and per event; :func:`load_timeline` reads one from YAML with errors naming
file and field. What the events cost is the replay's business (:mod:`pricing.billing.replay`).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pricing.engine.catalog import (
    Catalog, Discount, Money, Percent,
    Quantity, bundled_catalog_ids, load_catalog,
)
from pricing.errors import PricingError, SubscriptionError, validation_line
from pricing.engine.periods import as_utc
from pricing.yaml_files import read_yaml

from pricing.engine.formatting import iso_utc

EventType = Literal[
    "start", "add", "remove", "upgrade", "downgrade", "change_plan", "withdraw_downgrade", "cancel",
    "withdraw_cancel", "suspend", "reactivate", "delete_account", "set_billing_details", "commit", "trial",
]

_NEEDS: dict[str, tuple[str, ...]] = {
    "start": ("plan",), "add": ("item", "quantity"), "remove": ("item", "quantity"),
    "upgrade": ("plan",), "downgrade": ("plan",), "change_plan": ("plan",), "set_billing_details": ("value",),
    "commit": ("commitments",), "trial": ("until",),
}


# --- the declared timeline ---------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Event(_Strict):
    """One thing that happened to the subscription, at a UTC instant."""

    at: datetime
    type: EventType
    plan: str | None = None
    quantities: dict[str, Quantity] = Field(default_factory=dict)
    commitments: dict[str, Quantity] = Field(default_factory=dict)
    item: str | None = None
    quantity: Quantity | None = None
    value: bool | None = None
    effective: Literal["end_of_period", "now"] | None = Field(
        None, description="plan changes: now or at the end of the period (default: the catalog's settings);"
                          " cancel: at the end of the period (default) or now")
    prorate: bool = Field(True, description="a change now: prorated (default), or free until the next period")
    invoice: Literal["now", "next"] | None = Field(
        None, description="a change's prorations: on an invoice of its own now, or on the next invoice"
                          " (default: the catalog's change_invoice)")
    refund: Literal["add_ons", "all", "none"] = Field(
        "add_ons", description="cancel now / delete: what is credited for the unused time (Logto: add-ons;"
                               " Lago's termination credit note: all)")
    until: datetime | None = Field(None, description="trial: when the trial ends and billing resumes")
    note: str = ""

    @field_validator("at", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)

    def model_post_init(self, __context: Any) -> None:
        for name in _NEEDS.get(self.type, ()):
            if getattr(self, name) in (None, {}):
                raise ValueError(f"the event needs {name!r}")
        if self.quantity is not None and self.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {self.quantity}")
        if self.until is not None and self.until <= self.at:
            raise ValueError("'until' must be after the event")

    def describe(self) -> str:
        return f"{self.type} at {iso_utc(self.at)}"


class UsageEvent(_Strict):
    """One metered event with its instant: a quantity, or a transaction's amount.

    Events are the usage of their billing period (listed, so per-transaction
    charges price each one); a charge paid in advance is invoiced at each event.
    """

    at: datetime
    metric: str
    value: Quantity

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)


class Timeline(_Strict):
    """A customer's subscription history on one catalog."""

    customer_id: str
    catalog: str
    billing_details: bool = True
    anchor: Literal["calendar", "start"] | Annotated[int, Field(ge=1, le=31)] | datetime = "calendar"
    trial_days: int = Field(0, ge=0)
    events: tuple[Event, ...] = Field(min_length=1)
    usage: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="metered usage per period: 'YYYY-MM' or 'YYYY-MM-DD' -> metric -> quantity"
    )
    minimum_spend: Money | None = Field(
        None, description="contract minimum over the whole subscription, checked at termination")
    usage_to_date: dict[datetime, dict[str, Any]] = Field(
        default_factory=dict, description="metered usage of the current period up to an instant (cumulative),"
                                          " for progressive billing")
    usage_events: tuple[UsageEvent, ...] = Field(
        (), description="metered events with their instants (a transaction's amount, or a quantity):"
                        " the usage of their period; charges paid in advance are invoiced at each one")
    discounts: tuple[Discount, ...] = Field((), description="coupons: percent or amount off, optionally for N periods")
    tax_percent: Percent | None = Field(None, description="the customer's tax rate (default: the catalog's)")
    origin: str = Field("<timeline>", exclude=True, description="file name used in error messages")

    @field_validator("anchor", mode="before")
    @classmethod
    def _anchor(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return as_utc(value)
        if isinstance(value, str) and "T" in value:
            try:
                return as_utc(value)
            except SubscriptionError:
                pass
        ok = value in ("calendar", "start") or (
            isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 31)
        if not ok:
            raise ValueError(f"must be 'calendar', 'start', a day number 1-31 or an instant, got {value!r}")
        return value

    @field_validator("usage_to_date")
    @classmethod
    def _checkpoints(cls, value: dict[datetime, dict[str, Any]]) -> dict[datetime, dict[str, Any]]:
        return {as_utc(moment): usage for moment, usage in sorted(value.items())}

    @field_validator("tax_percent")
    @classmethod
    def _tax(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not Decimal(0) <= value <= Decimal(100):
            raise ValueError(f"must be between 0 and 100, got {value}")
        return value

    @field_validator("usage_events")
    @classmethod
    def _in_order(cls, value: tuple[UsageEvent, ...]) -> tuple[UsageEvent, ...]:
        for i in range(1, len(value)):
            if value[i].at < value[i - 1].at:
                raise ValueError(f"usage_events[{i}] is earlier than usage_events[{i - 1}];"
                                 " events must be in time order")
        return value

    @field_validator("usage")
    @classmethod
    def _usage_keys(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for key in value:
            if not _PERIOD_KEY.match(str(key)):
                raise ValueError(f"usage key {key!r} must be 'YYYY-MM' or 'YYYY-MM-DD'")
        return value


# --- loading -------------------------------------------------------------------

_PERIOD_KEY = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def parse_timeline(data: Any, origin: str = "<timeline>") -> Timeline:
    """Validate parsed YAML; errors name the file, the event (index, type, instant) and the problem."""
    if not isinstance(data, dict):
        raise SubscriptionError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        timeline = Timeline.model_validate({**data, "origin": origin})
    except ValidationError as exc:
        raise SubscriptionError(validation_line(origin, exc, data)) from None
    return timeline


def load_timeline(path: str | Path) -> Timeline:
    return parse_timeline(read_yaml(Path(path), SubscriptionError), str(path))


@lru_cache(maxsize=256)
def _id_in_file(reference: str, modified_ns: int) -> str | None:
    """The id declared by the catalog file ``reference`` (as last modified; None if it is not a catalog)."""
    try:
        return load_catalog(reference).id
    except PricingError:
        return None


def names_catalog(reference: str, catalog: Catalog) -> bool:
    """Whether a timeline's ``catalog:`` (a bundled id, or a catalog file's path) is ``catalog``."""
    if reference == catalog.id:
        return True
    path = Path(reference)
    if reference in bundled_catalog_ids() or not path.is_file():
        return False
    return _id_in_file(reference, path.stat().st_mtime_ns) == catalog.id
