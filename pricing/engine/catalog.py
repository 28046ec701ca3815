"""The declared catalog: currencies, metrics, plans and charges, as YAML.

This module says *what* a price list is; :mod:`pricing.engine.charges` and
:mod:`pricing.engine.rating` say how it is applied. Models are frozen and reject
unknown keys, so a typo in a catalog fails instead of being ignored. Money
fields must be quoted strings: PyYAML reads an unquoted ``0.1`` as a binary
float before any validator sees it, and ``0.1`` is not exactly representable.

Every object that carries a published number has a ``source``: ``seed:<file>``
for a seed document, an ``https://`` page, or ``assumption: <why>`` for a
number the sources do not give.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from pricing.errors import CatalogError, PricingError, validation_line
from pricing.engine.money import Rounding, minor_unit_of
from pricing.engine.formatting import plain_number
from pricing.yaml_files import parse_yaml, read_yaml

# --- field types -----------------------------------------------------------

_DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"

# NOTE: the engine holds a price or quantity as an integer scaled by its decimal
# places; 18 significant digits keep that integer inside int64, and a bound on the
# places keeps a price like "1e-99999999" from asking for 10**99999999.
MAX_SIGNIFICANT_DIGITS = 18
MAX_PRICE_DECIMALS = 12  # sub-cent prices: "0.000004" is 6
MAX_QUANTITY_DECIMALS = 6  # a metric's decimal places are at most 6


def _places(value: Decimal) -> int:
    """Decimal places of a finite value, without context arithmetic (safe for 1e-99999999)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0")) if any(digits) else len(digits)
    return max(0, -(exponent + trailing))


def _bounded(value: Decimal, max_places: int) -> Decimal:
    """Refuse a magnitude or precision the engine cannot keep exact."""
    if value == 0:
        return value
    places = _places(value)
    if places > max_places:
        raise ValueError(f"{value} has more than {max_places} decimal places")
    integer_digits = max(0, value.adjusted() + 1)
    if integer_digits + places > MAX_SIGNIFICANT_DIGITS:
        raise ValueError(
            f"{value} is beyond what the engine keeps exact (at most {MAX_SIGNIFICANT_DIGITS} significant digits)"
        )
    return value


def _quoted_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"must be a quoted decimal string such as \"0.004\", not {type(value).__name__} {value!r}"
            " (unquoted numbers are read as binary floats)"
        )
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _price(value: Any) -> Decimal:
    return _bounded(_quoted_decimal(value), MAX_PRICE_DECIMALS)


def _quantity(value: Any) -> Decimal:
    """Quantities may be plain integers in YAML; fractions must be quoted."""
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 10**MAX_SIGNIFICANT_DIGITS:
            raise ValueError(
                f"{value} is beyond what the engine keeps exact (at most {MAX_SIGNIFICANT_DIGITS} significant digits)"
            )
        return Decimal(value)
    return _bounded(_quoted_decimal(value), MAX_QUANTITY_DECIMALS)


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_price),
    AfterValidator(_non_negative),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "description": "quoted decimal, >= 0"}),
]
"""A price or fee: a quoted decimal string, >= 0, up to 12 places (sub-cent allowed)."""

SignedMoney = Annotated[
    Decimal,
    BeforeValidator(_price),
    WithJsonSchema({"type": "string", "pattern": _DECIMAL_PATTERN, "description": "quoted decimal"}),
]
"""Money that may be negative: only for fields that are a discount or a credit."""

Quantity = Annotated[
    Decimal,
    BeforeValidator(_quantity),
    AfterValidator(_non_negative),
    WithJsonSchema(
        {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}]}
    ),
]
Percent = Annotated[
    Decimal,
    BeforeValidator(_price),
    AfterValidator(_non_negative),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "description": "percent, e.g. \"2.9\""}),
]

Source = Annotated[
    str,
    Field(
        pattern=r"^(seed:\S+|https?://\S+|assumption: .+)$",
        description="where the numbers come from: 'seed:<file>', an https:// page, or 'assumption: <why>'",
    ),
]

MetricName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- settings --------------------------------------------------------------


class Interval(str, Enum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class TierBounds(str, Enum):
    """Which tier a quantity exactly on a bound belongs to.

    ``up_to_inclusive`` (default, Stripe's ``up_to``): a tier ``up_to: 100``
    holds the 100th unit, and usage of exactly 100 has not entered the next
    tier. ``up_to_exclusive``: the bound starts the next tier, so usage of
    exactly 100 reaches it (its flat fee is due, a volume price applies).
    """

    UP_TO_INCLUSIVE = "up_to_inclusive"
    UP_TO_EXCLUSIVE = "up_to_exclusive"


class PackageRounding(str, Enum):
    """A partial package: billed as a whole block (``up``) or not at all (``down``)."""

    UP = "up"
    DOWN = "down"


class DayCount(str, Enum):
    """How a part of a billing period is measured for proration."""

    EXACT_SECONDS = "exact_seconds"  # seconds used / seconds in the actual period (Stripe)
    ACTUAL_DAYS = "actual_days"  # whole days used / days in the actual period
    THIRTY_DAY_MONTH = "thirty_day_month"  # whole days used / 30 (Logto's worked examples)


class CreditBasis(str, Enum):
    """What is credited when something is removed mid-period."""

    CURRENT_PRICE = "current_price"  # the unused share at today's price
    AMOUNT_PAID = "amount_paid"  # the unused share of what was actually charged


class BillingTiming(str, Enum):
    IN_ADVANCE = "in_advance"
    IN_ARREARS = "in_arrears"


class Effective(str, Enum):
    """When a plan change takes effect."""

    NOW = "now"
    END_OF_PERIOD = "end_of_period"


class ChangeInvoice(str, Enum):
    """Where the prorations of a change are invoiced."""

    NEXT_INVOICE = "next_invoice"  # carried to the next periodic invoice (Stripe's default)
    IMMEDIATELY = "immediately"  # an invoice of its own at the change (Kill Bill; Lago on upgrades)


class RoundingScope(str, Enum):
    """Where amounts are rounded to the minor unit."""

    LINE = "line"  # every line on its own (Stripe, Lago; Zuora's default)
    INVOICE = "invoice"  # the charges' exact total once, with a rounding line (Zuora's invoice-level rounding)


class Settings(_Strict):
    """Semantics on which billing engines differ, named with their defaults.

    Plan changes: ``upgrade_effective`` and ``downgrade_effective`` are the
    defaults a timeline event may override (Lago: upgrades now, downgrades at
    the period end; Stripe: both now). An upgrade is a move to a plan whose
    recurring fee is at least the current one's.
    """

    rounding: Rounding = Rounding.HALF_UP
    tier_bounds: TierBounds = TierBounds.UP_TO_INCLUSIVE
    package_rounding: PackageRounding = PackageRounding.UP
    day_count: DayCount = DayCount.EXACT_SECONDS
    credit_basis: CreditBasis = CreditBasis.CURRENT_PRICE
    upgrade_effective: Effective = Effective.NOW
    downgrade_effective: Effective = Effective.END_OF_PERIOD
    change_invoice: ChangeInvoice = ChangeInvoice.NEXT_INVOICE
    bill_termination_day: bool = Field(
        False, description="day-based conventions: the day a subscription ends now is billed, not credited")
    rounding_scope: RoundingScope = Field(
        RoundingScope.LINE, description="line: each line rounded on its own; invoice: the charges' exact total"
        " rounded once, the difference to the sum of the rounded lines shown as a 'Rounding' line"
        " (https://docs.zuora.com/en/zuora-billing/bill-your-customer/invoice-management/invoice-level-rounding)")


# --- metrics and metering ----------------------------------------------------


class MetricKind(str, Enum):
    METERED = "metered"  # counted from API-call events, charged in arrears
    COUNT = "count"  # a number of objects the customer holds (add-ons, users, seats)
    FLAG = "flag"  # a feature switched on (1) or off (0)
    COMMITMENT = "commitment"  # a contracted quantity (Gravitate & Save)
    AMOUNT = "amount"  # money, the base of a percentage charge


class CallFilter(_Strict):
    """One kind of API call that qualifies for a metric."""

    method: str
    endpoint: str
    account_kinds: tuple[Literal["user", "client"], ...] = ("user", "client")


class MeterSpec(_Strict):
    """How a metered metric is computed from raw events, per customer x tenant x month.

    ``distinct_accounts``: accounts with at least one qualifying call;
    ``count``: qualifying calls; ``active_tenants``: tenants where any metric
    in ``active_if`` is non-zero (a customer-level metric).
    """

    aggregate: Literal["distinct_accounts", "count", "active_tenants"]
    calls: tuple[CallFilter, ...] = ()
    success_only: bool = True
    active_if: tuple[MetricName, ...] = ()
    source: Source | None = None


class Metric(_Strict):
    name: str
    unit: str = "unit"
    kind: MetricKind = MetricKind.METERED
    # NOTE: not ``decimals``, which on a Catalog is the currency's minor unit; catalogs written with the
    # older key ``decimals`` still load
    decimal_places: int = Field(0, ge=0, le=6,  # type: ignore[pydantic-alias]  # optional: the alias is never required
                                validation_alias=AliasChoices("decimal_places", "decimals"),
                                description="decimal places a quantity may have")
    meter: MeterSpec | None = None
    customer_rollup: Literal["sum", "max", "tenant_count"] = Field(
        "sum", description="how per-tenant values combine into the customer's value"
    )
    description: str = ""


# --- charges ---------------------------------------------------------------


class Included(_Strict):
    """Units free of charge: ``max(at_least, quantity + times x per_unit_of)``."""

    quantity: Quantity = Decimal(0)
    times: Quantity = Decimal(0)
    per_unit_of: MetricName | None = None
    at_least: Quantity = Decimal(0)
    unlimited: bool = False
    source: Source

    @model_validator(mode="after")
    def _check(self) -> Included:
        if (self.times != 0) != (self.per_unit_of is not None):
            raise ValueError("'times' and 'per_unit_of' go together")
        for name in ("quantity", "times", "at_least"):
            _non_negative(getattr(self, name))
        return self


class Commitment(_Strict):
    """A quantity bought upfront at ``unit_price`` whatever the usage.

    The committed quantity is the customer's, read from the ``quantity_metric``
    column of the usage (a metric of kind ``commitment``), defaulting to
    ``default_quantity``. Usage past it is billed by the charge's own model.
    """

    quantity_metric: MetricName
    unit_price: Money
    default_quantity: Quantity = Decimal(0)
    source: Source


class Tier(_Strict):
    up_to: Quantity | None = Field(None, description="upper bound; omitted on the last tier")
    unit_price: Money = Decimal(0)
    flat_fee: Money = Decimal(0)
    block_size: Quantity | None = Field(
        None, description="price per block of this many units instead of per unit (Kill Bill's tiered blocks)"
    )
    source: Source | None = None

    @model_validator(mode="after")
    def _check_block(self) -> Tier:
        if self.block_size is not None and self.block_size <= 0:
            raise ValueError("block_size must be positive")
        return self


class PercentageTier(_Strict):
    """A tier of a graduated percentage charge: ``rate`` percent of the amount in it."""

    up_to: Quantity | None = Field(None, description="upper bound; omitted on the last tier")
    rate: Percent = Decimal(0)
    flat_fee: Money = Decimal(0)
    source: Source | None = None


def _check_bounds(bounds: list[Decimal | None]) -> None:
    if bounds[-1] is not None:
        raise ValueError("the last tier must have no 'up_to' (it is unbounded)")
    if any(b is None for b in bounds[:-1]):
        raise ValueError("only the last tier may omit 'up_to'")
    finite = [b for b in bounds[:-1] if b is not None]
    if any(b2 <= b1 for b1, b2 in zip(finite, finite[1:])) or (finite and finite[0] <= 0):
        got = ", ".join(plain_number(b) for b in finite)
        raise ValueError(f"tier bounds must be positive and ascending, got {got}")


class _ChargeBase(_Strict):
    metric: MetricName
    name: str | None = None
    kind: Literal["usage", "addon", "feature"] = "usage"
    included: Included | None = None
    commitment: Commitment | None = None
    source: Source
    description: str = ""
    prorated: bool = Field(
        True, description="a recurring charge billed for part of a period: prorated (default) or in full")
    min_amount: Money | None = Field(
        None, description="spending minimum of this charge per period (Lago): the shortfall is billed,"
                          " prorated in a partial period")
    pay_in_advance: bool = Field(
        False, description="a usage charge invoiced at each event, as the period's charge after the event"
                           " less the charge before it, rounded per event (Lago's pay-in-advance charges);"
                           " needs event-level usage (a timeline's usage_events)")

    @property
    def label(self) -> str:
        return self.name or self.metric


class PerUnitCharge(_ChargeBase):
    model: Literal["per_unit"]
    unit_price: Money


class _TieredCharge(_ChargeBase):
    tiers: tuple[Tier, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_tiers(self) -> _TieredCharge:
        _check_bounds([t.up_to for t in self.tiers])
        return self


class GraduatedCharge(_TieredCharge):
    """Each tier prices the units that fall in it; a tier's flat fee is due once usage enters it."""

    model: Literal["graduated"]


class VolumeCharge(_TieredCharge):
    """All units at the price of the tier the total reaches, plus that tier's flat fee."""

    model: Literal["volume"]


class PackageCharge(_ChargeBase):
    """``package_price`` per block of ``package_size`` units (after included units)."""

    model: Literal["package"]
    package_size: Quantity
    package_price: Money
    rounding: PackageRounding | None = Field(None, description="overrides settings.package_rounding")

    @model_validator(mode="after")
    def _check_size(self) -> PackageCharge:
        if self.package_size <= 0:
            raise ValueError("package_size must be positive")
        return self


class PercentageCharge(_ChargeBase):
    """``rate`` percent of an amount metric, plus ``fixed_fee`` in any period the amount is non-zero."""

    model: Literal["percentage"]
    rate: Percent
    fixed_fee: Money = Decimal(0)


class GraduatedPercentageCharge(_ChargeBase):
    """Each tier takes ``rate`` percent of the amount in it; its flat fee is due once the amount enters it."""

    model: Literal["graduated_percentage"]
    tiers: tuple[PercentageTier, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_tiers(self) -> GraduatedPercentageCharge:
        _check_bounds([t.up_to for t in self.tiers])
        return self


class PercentagePerTransactionCharge(_ChargeBase):
    """Lago's percentage model over each transaction of the period, not over its total.

    Each transaction owes ``rate`` percent of its amount plus ``fixed_fee``; the
    first ``free_transactions`` owe no fixed fee and the first ``free_amount`` of
    the period's cumulative amount owes no rate; ``min_fee`` and ``max_fee``
    bound each charged transaction's fee. The usage must list the period's
    transaction amounts (a timeline's usage entry as a list, ``pricing quote
    --transactions``); a total alone cannot be priced.
    """

    model: Literal["percentage_per_transaction"]
    rate: Percent
    fixed_fee: Money = Decimal(0)
    free_transactions: int = Field(0, ge=0, le=10**9)
    free_amount: Money = Decimal(0)
    min_fee: Money | None = None
    max_fee: Money | None = None

    @model_validator(mode="after")
    def _check_fees(self) -> PercentagePerTransactionCharge:
        if self.min_fee is not None and self.max_fee is not None and self.min_fee > self.max_fee:
            raise ValueError(f"min_fee {self.min_fee} is above max_fee {self.max_fee}")
        if self.included is not None or self.commitment is not None:
            raise ValueError("a per-transaction charge takes no 'included' or 'commitment'"
                             " (use free_transactions and free_amount)")
        if self.kind != "usage":
            raise ValueError("a per-transaction charge is a usage charge (kind: usage)")
        return self


class FlatCharge(_ChargeBase):
    """A feature fee: ``fee`` per period while the metric is non-zero (switched on)."""

    model: Literal["flat"]
    fee: Money


Charge = Annotated[
    PerUnitCharge | GraduatedCharge | VolumeCharge | PackageCharge | PercentageCharge | GraduatedPercentageCharge
    | PercentagePerTransactionCharge | FlatCharge,
    Field(discriminator="model"),
]


# --- plans -----------------------------------------------------------------


class Fee(_Strict):
    amount: Money
    source: Source
    prorated: bool = Field(True, description="billed for part of a period: prorated (default) or in full")


class Limit(_Strict):
    """A hard cap: usage past ``maximum`` makes the plan ineligible."""

    metric: MetricName
    maximum: Quantity
    source: Source


class Discount(_Strict):
    """Percent or amount off the subtotal, optionally for the first N periods."""

    percent: Percent | None = None
    amount: SignedMoney | None = None  # checked >= 0 below: a discount is money off
    periods: int | None = Field(None, ge=1)
    name: str = "Discount"
    source: Source | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Discount:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("give exactly one of 'percent' or 'amount'")
        if self.percent is not None and not Decimal(0) <= self.percent <= Decimal(100):
            raise ValueError("percent must be between 0 and 100")
        if self.amount is not None:
            _non_negative(self.amount)
        return self


class ProgressiveBilling(_Strict):
    """Invoice usage early when the period's usage amount crosses a threshold (Lago's progressive billing).

    Each threshold is crossed once per billing period; the invoice at the
    crossing bills the usage so far, less what earlier crossings billed, and
    the period-end invoice deducts everything billed progressively.
    """

    thresholds: tuple[Money, ...] = Field(min_length=1)
    source: Source

    @model_validator(mode="after")
    def _ascending(self) -> ProgressiveBilling:
        if any(t <= 0 for t in self.thresholds) or list(self.thresholds) != sorted(set(self.thresholds)):
            raise ValueError("thresholds must be positive and ascending")
        return self


class Plan(_Strict):
    name: str
    description: str = ""
    recurring: Fee | None = None
    billing_timing: BillingTiming = BillingTiming.IN_ADVANCE
    charges: tuple[Charge, ...] = ()
    limits: tuple[Limit, ...] = ()
    minimum_spend: Fee | None = None
    discounts: tuple[Discount, ...] = ()
    requires_billing_details: bool = False
    cancellable: bool = True
    hidden: bool = False
    interval: Interval | None = Field(None, description="overrides the catalog's interval (a yearly plan)")
    interval_count: int | None = Field(None, ge=1, le=36)
    progressive_billing: ProgressiveBilling | None = None


class AccountRules(_Strict):
    """What an account without billing details may do (Quasr)."""

    plans_without_billing_details: tuple[str, ...] = ()
    cap_usage_at_included: bool = False
    max_tenants_without_billing_details: int | None = None
    source: Source


class PrepaidTerms(_Strict):
    """A prepaid balance debited daily (seed 002)."""

    daily_price: Literal["interval_price_over_days_in_period", "interval_price_over_30"] = (
        "interval_price_over_days_in_period"
    )
    credit_percent_of_last_12_months: Percent = Decimal(0)
    credit_cap: Money | None = None
    low_balance_days: int = Field(7, ge=0, description="notice when the balance covers fewer days")
    source: Source


class Catalog(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
    name: str
    version: str
    vendor: str = ""
    description: str = ""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    minor_unit: int | None = Field(None, ge=0, le=4)
    interval: Interval = Interval.MONTH
    interval_count: int = Field(1, ge=1, le=36, description="intervals per billing period (2: every 2 months)")
    settings: Settings = Settings()
    tax_percent: Percent = Decimal(0)
    metrics: dict[MetricName, Metric]
    plans: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], Plan] = Field(min_length=1)
    account_rules: AccountRules | None = None
    prepaid: PrepaidTerms | None = None
    sources: dict[str, str] = Field(default_factory=dict, description="notes on the sources cited")
    sample_usage: dict[MetricName, Quantity] = Field(
        default_factory=dict, description="a typical customer's usage, for demos and widget defaults"
    )

    @property
    def decimals(self) -> int:
        """Decimal places of the currency's minor unit."""
        return self.minor_unit if self.minor_unit is not None else minor_unit_of(self.currency)

    @model_validator(mode="after")
    def _references(self) -> Catalog:
        if self.minor_unit is None:
            try:
                minor_unit_of(self.currency)
            except PricingError as exc:
                raise ValueError(str(exc)) from None
        known = set(self.metrics)

        def need(metric: str, where: str) -> None:
            if metric not in known:
                raise ValueError(f"{where} names metric {metric!r}, not declared under 'metrics'")

        for metric_id, metric in self.metrics.items():
            if metric.meter is not None:
                for dep in metric.meter.active_if:
                    need(dep, f"metrics.{metric_id}.meter.active_if")
        for plan_id, plan in self.plans.items():
            for i, charge in enumerate(plan.charges):
                where = f"plans.{plan_id}.charges.{i}"
                need(charge.metric, where)
                if charge.included and charge.included.per_unit_of:
                    need(charge.included.per_unit_of, where + ".included.per_unit_of")
                if charge.commitment:
                    need(charge.commitment.quantity_metric, where + ".commitment.quantity_metric")
                    if self.metrics[charge.commitment.quantity_metric].kind is not MetricKind.COMMITMENT:
                        raise ValueError(f"{where}.commitment.quantity_metric must be a metric of kind 'commitment'")
                if charge.pay_in_advance and (charge.kind != "usage" or self.metrics[charge.metric].kind
                                              not in (MetricKind.METERED, MetricKind.AMOUNT)):
                    raise ValueError(f"{where}: pay_in_advance needs a usage charge on a metered or amount metric")
                if isinstance(charge, (PercentageCharge, GraduatedPercentageCharge, PercentagePerTransactionCharge)) \
                        and self.metrics[charge.metric].kind is not MetricKind.AMOUNT:
                    raise ValueError(f"{where}: a {charge.model} charge needs a metric of kind 'amount'")
            for i, limit in enumerate(plan.limits):
                need(limit.metric, f"plans.{plan_id}.limits.{i}")
        for metric_id in self.sample_usage:
            need(metric_id, "sample_usage")
        self._check_quantity_decimals()
        if self.account_rules:
            for plan_id in self.account_rules.plans_without_billing_details:
                if plan_id not in self.plans:
                    raise ValueError(f"account_rules names plan {plan_id!r}, not declared under 'plans'")
        return self

    def _check_quantity_decimals(self) -> None:
        """Bounds, sizes and included units are quantities of a metric: no more places than it has.

        NOTE: ``up_to: "1000.5"`` on a whole-unit metric used to pass here and fail
        at rating time; it is a catalog error, found when the catalog is loaded.
        """

        def check(value: Decimal, metric: str, where: str) -> None:
            allowed = self.metrics[metric].decimal_places
            if _places(value) > allowed:
                unit = "whole units" if allowed == 0 else f"at most {allowed} decimal places"
                raise ValueError(f"{where}: {value} has more decimal places than metric {metric!r} ({unit})")

        for plan_id, plan in self.plans.items():
            for i, charge in enumerate(plan.charges):
                where = f"plans.{plan_id}.charges.{i}"
                for j, tier in enumerate(getattr(charge, "tiers", None) or ()):
                    if tier.up_to is not None:
                        check(tier.up_to, charge.metric, f"{where}.tiers.{j}.up_to")
                size = getattr(charge, "package_size", None)
                if isinstance(size, Decimal):
                    check(size, charge.metric, f"{where}.package_size")
                if charge.included is not None:
                    check(charge.included.quantity, charge.metric, f"{where}.included.quantity")
                    check(charge.included.at_least, charge.metric, f"{where}.included.at_least")
                if charge.commitment is not None:
                    check(charge.commitment.default_quantity, charge.commitment.quantity_metric,
                          f"{where}.commitment.default_quantity")
            for i, limit in enumerate(plan.limits):
                check(limit.maximum, limit.metric, f"plans.{plan_id}.limits.{i}.maximum")
        for metric_id, quantity in self.sample_usage.items():
            check(quantity, metric_id, f"sample_usage.{metric_id}")

    # --- helpers the engine and the CLI share -------------------------------

    def plan(self, plan_id: str) -> Plan:
        try:
            return self.plans[plan_id]
        except KeyError:
            raise CatalogError(
                f"catalog {self.id!r} has no plan {plan_id!r} (plans: {', '.join(self.plans)})"
            ) from None

    def billing_interval(self, plan_id: str) -> tuple[Interval, int]:
        """The plan's billing interval and count (the catalog's unless the plan overrides them)."""
        plan = self.plan(plan_id)
        interval = plan.interval or self.interval
        count = plan.interval_count or (self.interval_count if plan.interval is None else 1)
        return interval, count

    def charged_metrics(self) -> list[str]:
        """Metrics any plan charges on, limits or derives from, in declaration order."""
        used: set[str] = set()
        for plan in self.plans.values():
            for charge in plan.charges:
                used.add(charge.metric)
                if charge.included and charge.included.per_unit_of:
                    used.add(charge.included.per_unit_of)
                if charge.commitment:
                    used.add(charge.commitment.quantity_metric)
            used.update(limit.metric for limit in plan.limits)
        return [m for m in self.metrics if m in used]

    def to_yaml(self) -> str:
        return yaml.safe_dump(catalog_to_data(self), sort_keys=False, allow_unicode=True)


def catalog_to_data(catalog: Catalog) -> dict[str, Any]:
    """Plain data with every Decimal as a string, so a YAML round trip is exact."""
    return json.loads(catalog.model_dump_json(exclude_defaults=True))


# --- loading -----------------------------------------------------------------

BUNDLED_PACKAGE = "pricing.catalogs"


def bundled_catalog_ids() -> list[str]:
    files = resources.files(BUNDLED_PACKAGE)
    return sorted(p.name[: -len(".yaml")] for p in files.iterdir() if p.name.endswith(".yaml"))


# pydantic puts the tag of a charge's union into error locations: not a field the user wrote
_CHARGE_TAGS = frozenset({
    "per_unit", "graduated", "volume", "package", "percentage", "graduated_percentage",
    "percentage_per_transaction", "flat",
})


def parse_catalog(data: Any, origin: str = "<catalog>") -> Catalog:
    """Validate already-parsed data; errors name ``origin``, the field path and the problem."""
    if not isinstance(data, dict):
        raise CatalogError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(validation_line(origin, exc, hidden=_CHARGE_TAGS)) from None


def read_catalog_text(text: str, origin: str) -> Catalog:
    return parse_catalog(parse_yaml(text, origin, CatalogError), origin)


def load_catalog(name_or_path: str | Path) -> Catalog:
    """A bundled catalog by id (``quasr``), or any catalog YAML file by path."""
    if isinstance(name_or_path, str) and name_or_path in bundled_catalog_ids():
        return _load_bundled(name_or_path)
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return parse_catalog(read_yaml(path, CatalogError, missing="no such catalog file"), str(path))
    raise CatalogError(
        f"unknown catalog {str(name_or_path)!r} (bundled: {', '.join(bundled_catalog_ids())};"
        " or give the path of a YAML file)"
    )


@cache
def _load_bundled(catalog_id: str) -> Catalog:
    text = resources.files(BUNDLED_PACKAGE).joinpath(f"{catalog_id}.yaml").read_text(encoding="utf-8")
    return read_catalog_text(text, f"bundled catalog {catalog_id}.yaml")


def iter_bundled() -> Iterator[Catalog]:
    for catalog_id in bundled_catalog_ids():
        yield _load_bundled(catalog_id)


def json_schema() -> dict[str, Any]:
    schema = Catalog.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Pricing workbench catalog"
    return schema
