"""Lago plans <-> catalog.

Field meanings follow Lago's API reference (https://getlago.com/docs/api-reference/plans/object,
https://getlago.com/docs/api-reference/plans/charges/object): a plan's ``amount_cents`` and a
charge's ``min_amount_cents`` are in the currency's **minor unit**; a charge's ``properties``
(``amount``, ``per_unit_amount``, ``flat_amount``, ``fixed_amount``, ``rate``) are decimal
strings in currency units. Graduated, volume and graduated-percentage ranges run from
``from_value`` to ``to_value`` inclusive, the next range starting at ``to_value + 1`` (the
catalog's ``tier_bounds: up_to_inclusive``, with ``up_to = to_value``). A package charge
rounds a started package up (https://getlago.com/docs/guide/plans/charges/charge-models/package).

Lago's ``percentage`` model is two catalog models: with only a ``rate`` it is the catalog's
``percentage`` of the period's amount; with a per-transaction fixed fee, free events, a
free amount or per-transaction bounds it is ``percentage_per_transaction``. Every
``source`` the import writes is the plan's API address,
``https://api.getlago.com/api/v1/plans/<code>``, with ``#charge-<lago_id>`` for a charge.
"""

from __future__ import annotations

import re
from datetime import datetime, UTC
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote

from pricing.engine.catalog import (
    Catalog,
    Charge,
    GraduatedCharge,
    GraduatedPercentageCharge,
    Interval,
    MetricKind,
    PackageCharge,
    PackageRounding,
    PercentageCharge,
    PercentagePerTransactionCharge,
    PercentageTier,
    PerUnitCharge,
    Tier,
    VolumeCharge,
)
from pricing.engine.formatting import plain_number
from pricing.interop.common import (
    InteropError, assemble, catalog_money, check_settings, invoice_currency, catalog_percent, catalog_quantity,
    is_catalog_id,
    major_to_minor, mapping, optional_object,
    minor_to_major, minor_unit, number, refuse_non_defaults, slug, text, vendor_id, whole,
)
from pricing.interop.vendor_invoice import VendorCustomer, VendorInvoice, VendorLine

VENDOR = "Lago"
API = "https://api.getlago.com/api/v1"
PLAN_SOURCE = re.compile(r"^https://api\.getlago\.com/api/v1/plans/([^#\s/]+)(#.*)?$")
CHARGE_SOURCE = re.compile(r"^https://api\.getlago\.com/api/v1/plans/[^#\s]+#charge-([A-Za-z0-9_.:-]+)$")
_INTERVALS = {"weekly": (Interval.WEEK, 1), "monthly": (Interval.MONTH, 1), "quarterly": (Interval.QUARTER, 1),
              "semiannual": (Interval.MONTH, 6), "yearly": (Interval.YEAR, 1)}
_RANGES = {"graduated": "graduated_ranges", "volume": "volume_ranges",
           "graduated_percentage": "graduated_percentage_ranges"}
# Informational keys of a plan or charge that price nothing
_PLAN_INFO = {"lago_id", "created_at", "invoice_display_name", "active_subscriptions_count", "draft_invoices_count",
              "parent_id", "name", "code", "description", "interval", "amount_cents", "amount_currency",
              "trial_period", "pay_in_advance", "bill_charges_monthly", "bill_fixed_charges_monthly",
              "minimum_commitment", "charges", "taxes", "usage_thresholds", "fixed_charges", "pending_deletion",
              "entitlements", "metadata"}


def plan_source(code: str) -> str:
    return f"{API}/plans/{quote(code, safe='')}"


def _pages(data: Any, origin: str, one: str, many: str) -> list[dict[str, Any]]:
    """The objects of a Lago list (``{many: [...], "meta": ...}``), of several pages in an array, or one ``{one: ...}``.

    A page whose ``meta.next_page`` is set is refused: the rest of the list is missing.
    """
    pages = data if isinstance(data, list) else [data]
    out: list[dict[str, Any]] = []
    for n, page in enumerate(pages):
        page = mapping(page, f"{origin}: page {n + 1}")
        if one in page:
            out.append(mapping(page[one], f"{origin}: {one}"))
            continue
        items = page.get(many)
        if not isinstance(items, list):
            raise InteropError(f"{origin}: page {n + 1}: expected '{many}' (an array), as GET /api/v1/{many} returns")
        _check_last_page(page, n, origin)
        out.extend(mapping(item, f"{origin}: {many}[{i}]") for i, item in enumerate(items))
    return out


def list_plans(data: Any, origin: str) -> list[dict[str, Any]]:
    """Plans of ``GET /api/v1/plans``."""
    return _pages(data, origin, "plan", "plans")


def _check_last_page(page: dict[str, Any], n: int, origin: str) -> None:
    meta = page.get("meta")
    if isinstance(meta, dict) and meta.get("next_page") not in (None, 0):
        raise InteropError(f"{origin}: page {n + 1} has a next page (meta.next_page {meta['next_page']});"
                           " fetch every page and give them as one JSON array")


# --- import --------------------------------------------------------------------------------------------


def _money_field(props: dict[str, Any], field: str, what: str, *, default: str | None = None) -> str:
    value = props.get(field, default)
    if value is None:
        raise InteropError(f"{what}.{field}: missing")
    return catalog_money(number(value, f"{what}.{field}"), f"{what}.{field}")


def _cents(value: Any, decimals: int, what: str) -> str:
    return catalog_money(minor_to_major(Decimal(whole(value, what)), decimals), what)


def _ranges(props: dict[str, Any], model: str, what: str) -> list[dict[str, Any]]:
    key = _RANGES[model]
    ranges = props.get(key)
    if not isinstance(ranges, list) or not ranges:
        raise InteropError(f"{what}.properties.{key}: missing or empty")
    tiers = []
    expected = 0
    for i, raw in enumerate(ranges):
        where_range = f"{what}.properties.{key}[{i}]"
        rng = mapping(raw, where_range)
        start = whole(rng.get("from_value"), f"{where_range}.from_value")
        if start != expected:
            raise InteropError(f"{where_range}.from_value: {start}, expected {expected}"
                               " (0, then the previous to_value + 1)")
        end = rng.get("to_value")
        last = i == len(ranges) - 1
        if (end is None) != last:
            raise InteropError(f"{where_range}.to_value: only the last range is open (to_value null)")
        tier: dict[str, Any] = {}
        if end is not None:
            bound = whole(end, f"{where_range}.to_value")
            if bound <= start and not (start == 0 and bound > 0):
                raise InteropError(f"{where_range}.to_value: {bound} must be above from_value {start}")
            tier["up_to"] = catalog_quantity(Decimal(bound), f"{where_range}.to_value")
            expected = bound + 1
        if model == "graduated_percentage":
            tier["rate"] = catalog_percent(number(rng.get("rate"), f"{where_range}.rate"), f"{where_range}.rate")
        else:
            tier["unit_price"] = _money_field(rng, "per_unit_amount", where_range)
        tier["flat_fee"] = _money_field(rng, "flat_amount", where_range, default="0")
        tiers.append(tier)
    return tiers


def _charge(raw: dict[str, Any], index: int, code: str, decimals: int, origin: str,
            metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    charge_id = raw.get("lago_id")
    label = vendor_id(charge_id, f"{origin}: plan {code}: charges[{index}].lago_id") if charge_id else str(index)
    what = f"{origin}: plan {code}: charge {label}"
    metric_code = text(raw, "billable_metric_code", what)
    assert metric_code is not None
    for field, why in (("filters", "prices per filter"), ("taxes", "taxes (tax belongs to the customer here)"),
                       ("tax_codes", "taxes (tax belongs to the customer here)")):
        if raw.get(field):
            raise InteropError(f"{what}.{field}: {why} cannot be expressed in the catalog")
    if raw.get("invoiceable") is False:
        raise InteropError(f"{what}.invoiceable: false (fees never invoiced) cannot be expressed in the catalog")
    if raw.get("regroup_paid_fees") is not None:
        raise InteropError(f"{what}.regroup_paid_fees: invoice grouping cannot be expressed in the catalog")
    model = raw.get("charge_model")
    props = mapping(raw.get("properties") or {}, f"{what}.properties")
    for field in ("grouped_by", "pricing_group_keys"):
        if props.get(field):
            raise InteropError(f"{what}.properties.{field}: prices per group cannot be expressed in the catalog")
    source = f"{plan_source(code)}#charge-{label}"
    charge: dict[str, Any] = {"source": source, "kind": "usage"}
    amount_metric = False
    if model == "standard":
        charge.update(model="per_unit", unit_price=_money_field(props, "amount", f"{what}.properties"))
    elif model in ("graduated", "volume", "graduated_percentage"):
        charge.update(model=model, tiers=_ranges(props, model, what))
        amount_metric = model == "graduated_percentage"
    elif model == "package":
        size = whole(props.get("package_size"), f"{what}.properties.package_size")
        if size < 1:
            raise InteropError(f"{what}.properties.package_size: must be at least 1")
        charge.update(model="package", package_size=catalog_quantity(Decimal(size), f"{what}.properties.package_size"),
                      package_price=_money_field(props, "amount", f"{what}.properties"), rounding="up")
        free = whole(props.get("free_units") or 0, f"{what}.properties.free_units")
        if free:
            charge["included"] = {"quantity": free, "source": source}
    elif model == "percentage":
        amount_metric = True
        rate = catalog_percent(number(props.get("rate"), f"{what}.properties.rate"), f"{what}.properties.rate")
        extras = {"fixed_fee": props.get("fixed_amount"), "free_transactions": props.get("free_units_per_events"),
                  "free_amount": props.get("free_units_per_total_aggregation"),
                  "min_fee": props.get("per_transaction_min_amount"),
                  "max_fee": props.get("per_transaction_max_amount")}
        present = {k: v for k, v in extras.items() if v is not None and number(v, f"{what}.properties.{k}") != 0}
        if not present:
            charge.update(model="percentage", rate=rate)
        else:
            charge.update(model="percentage_per_transaction", rate=rate)
            for field, value in present.items():
                if field == "free_transactions":
                    charge[field] = whole(value, f"{what}.properties.free_units_per_events")
                else:
                    charge[field] = catalog_money(number(value, f"{what}.properties.{field}"), f"{what}.properties")
    else:
        raise InteropError(f"{what}.charge_model: {model!r} cannot be expressed in the catalog"
                           " (standard, graduated, volume, package, percentage, graduated_percentage can)")
    metric = slug(metric_code) or "metric"
    kind = "amount" if amount_metric else "metered"
    known = metrics.setdefault(metric, {"name": metric_code, "kind": kind,
                                        **({"decimals": decimals} if amount_metric else {})})
    if known["name"] != metric_code:
        raise InteropError(f"{what}.billable_metric_code: {metric_code!r} and {known['name']!r}"
                           " give the same metric id")
    if known["kind"] != kind:
        raise InteropError(f"{what}: billable metric {metric_code!r} is priced as an amount in one charge and as"
                           " a count in another")
    charge["metric"] = metric
    if raw.get("invoice_display_name"):
        charge["name"] = raw["invoice_display_name"]
    if raw.get("pay_in_advance"):
        charge["pay_in_advance"] = True
    # NOTE: Lago's charge 'prorated' defaults to false; the catalog's to true: always written
    charge["prorated"] = bool(raw.get("prorated", False))
    if raw.get("min_amount_cents"):
        charge["min_amount"] = _cents(raw["min_amount_cents"], decimals, f"{what}.min_amount_cents")
    return charge


def import_catalog(data: Any, catalog_id: str, origin: str) -> tuple[Catalog, list[str]]:
    """A catalog from Lago plans; also notes to print (none today: everything is imported or refused)."""
    raw_plans = list_plans(data, origin)
    if not raw_plans:
        raise InteropError(f"{origin}: no plans to import")
    currency: str | None = None
    metrics: dict[str, dict[str, Any]] = {}
    plans: dict[str, dict[str, Any]] = {}
    intervals: dict[str, tuple[Interval, int]] = {}
    for n, raw in enumerate(raw_plans):
        code = text(raw, "code", f"{origin}: plans[{n}]")
        assert code is not None
        what = f"{origin}: plan {code}"
        vendor_id(code, f"{what}: code")
        code_currency = text(raw, "amount_currency", what)
        assert code_currency is not None
        if currency is None:
            currency = code_currency.upper()
        elif code_currency.upper() != currency:
            raise InteropError(f"{what}.amount_currency: {code_currency}, another currency than {currency}"
                               " (a catalog has one currency)")
        decimals = minor_unit(currency, f"{what}.amount_currency")
        if raw.get("trial_period"):
            raise InteropError(f"{what}.trial_period: {raw['trial_period']} days (a trial belongs to a subscription"
                               " timeline's trial_days, not to the catalog)")
        for field in ("bill_charges_monthly", "bill_fixed_charges_monthly"):
            if raw.get(field):
                raise InteropError(f"{what}.{field}: charges billed on another cadence than the plan")
        for field, why in (("taxes", "taxes (tax belongs to the customer here)"),
                           ("fixed_charges", "fixed charges (add-ons)")):
            if raw.get(field):
                raise InteropError(f"{what}.{field}: {why} cannot be expressed in the catalog")
        interval = _INTERVALS.get(str(raw.get("interval")))
        if interval is None:
            raise InteropError(f"{what}.interval: {raw.get('interval')!r} (weekly, monthly, quarterly, semiannual"
                               " or yearly)")
        plan_id = slug(code) or "plan"
        if plan_id in plans:
            raise InteropError(f"{what}.code: gives plan id {plan_id!r}, as an earlier plan's code does")
        source = plan_source(code)
        plan: dict[str, Any] = {
            "name": text(raw, "name", what) or code,
            "recurring": {"amount": _cents(raw.get("amount_cents"), decimals, f"{what}.amount_cents"),
                          "source": source},
            "billing_timing": "in_advance" if raw.get("pay_in_advance") else "in_arrears",
            "charges": [],
        }
        if raw.get("description"):
            plan["description"] = raw["description"]
        commitment = raw.get("minimum_commitment")
        if commitment:
            commitment = mapping(commitment, f"{what}.minimum_commitment")
            if commitment.get("taxes"):
                raise InteropError(f"{what}.minimum_commitment.taxes: tax belongs to the customer here")
            plan["minimum_spend"] = {"amount": _cents(commitment.get("amount_cents"), decimals,
                                                      f"{what}.minimum_commitment.amount_cents"),
                                     "source": f"{source}#minimum_commitment"}
        thresholds = raw.get("usage_thresholds") or []
        if thresholds:
            values = []
            for i, threshold in enumerate(thresholds):
                threshold = mapping(threshold, f"{what}.usage_thresholds[{i}]")
                if threshold.get("recurring"):
                    raise InteropError(f"{what}.usage_thresholds[{i}].recurring: a recurring threshold cannot be"
                                       " expressed in the catalog (thresholds are crossed once per period)")
                values.append(_cents(threshold.get("amount_cents"), decimals,
                                     f"{what}.usage_thresholds[{i}].amount_cents"))
            plan["progressive_billing"] = {"thresholds": values, "source": f"{source}#usage_thresholds"}
        charges = raw.get("charges") or []
        if not isinstance(charges, list):
            raise InteropError(f"{what}.charges: expected an array")
        for i, charge in enumerate(charges):
            plan["charges"].append(_charge(mapping(charge, f"{what}.charges[{i}]"), i, code, decimals, origin, metrics))
        plans[plan_id] = plan
        intervals[plan_id] = interval
    assert currency is not None
    # Lago prorates by days, includes a range's to_value, rounds a started package up
    settings = {"tier_bounds": "up_to_inclusive", "package_rounding": "up", "day_count": "actual_days"}
    return assemble(catalog_id, VENDOR, "plans", currency, settings, metrics, plans, intervals,
                    "https://getlago.com/docs/api-reference/plans/object", origin), []


# --- export --------------------------------------------------------------------------------------------

_NOT_IN_LAGO = {
    "discounts": "Lago discounts are coupons, not plans", "limits": "Lago plans have no usage caps",
    "commitment": "Lago charges have no committed quantity (minimum_commitment is an amount)",
    "tax_percent": "tax belongs to the customer (Lago taxes), not to the catalog",
    "account_rules": "Lago has no account rules", "prepaid": "Lago plans are not a prepaid ledger",
    "block_size": "Lago ranges price units, not blocks", "minor_unit": "Lago uses the currency's own minor unit",
    "prorated": "Lago prorates the subscription fee by days",
}


def _lago_interval(catalog: Catalog, plan_id: str, what: str) -> str:
    interval, count = catalog.billing_interval(plan_id)
    months = {Interval.MONTH: 1, Interval.QUARTER: 3, Interval.YEAR: 12}.get(interval)
    if interval is Interval.WEEK and count == 1:
        return "weekly"
    names = {1: "monthly", 3: "quarterly", 6: "semiannual", 12: "yearly"}
    if months is not None and months * count in names:
        return names[months * count]
    raise InteropError(f"{what}: billed every {count} {interval.value}(s): Lago bills weekly, monthly, quarterly,"
                       " semiannually or yearly")


def _cents_out(amount: Decimal, decimals: int, what: str) -> int:
    minor = major_to_minor(amount, decimals)
    if minor != minor.to_integral_value():
        raise InteropError(f"{what}: {plain_number(amount)} is not a whole number of minor units (Lago's *_cents"
                           " fields are integers)")
    return int(minor)


def _ranges_out(charge: GraduatedCharge | VolumeCharge | GraduatedPercentageCharge, what: str) -> list[dict[str, Any]]:
    out = []
    start = 0
    tiers: tuple[Tier | PercentageTier, ...] = charge.tiers
    for j, tier in enumerate(tiers):
        where_tier = f"{what}.tiers.{j}"
        refuse_non_defaults(tier, {"up_to", "unit_price", "rate", "flat_fee", "source"}, where_tier, VENDOR,
                            _NOT_IN_LAGO)
        if tier.up_to is not None and tier.up_to != tier.up_to.to_integral_value():
            raise InteropError(f"{where_tier}.up_to: {tier.up_to} (Lago's to_value is a whole number)")
        end = None if tier.up_to is None else int(tier.up_to)
        if end is not None and end <= start and start > 0:
            raise InteropError(f"{where_tier}.up_to: {end} leaves a range from {start} to {end} (Lago's to_value must"
                               " be above its from_value)")
        entry: dict[str, Any] = {"from_value": start, "to_value": end}
        if isinstance(tier, PercentageTier):
            entry["rate"] = plain_number(tier.rate)
        else:
            entry["per_unit_amount"] = plain_number(tier.unit_price)
        entry["flat_amount"] = plain_number(tier.flat_fee)
        out.append(entry)
        start = (end or 0) + 1
    return out


def _charge_out(catalog: Catalog, charge: Charge, what: str) -> dict[str, Any]:
    refuse_non_defaults(charge, {"metric", "name", "kind", "source", "model", "unit_price", "tiers", "package_size",
                                 "package_price", "rounding", "included", "rate", "fixed_fee", "free_transactions",
                                 "free_amount", "min_fee", "max_fee", "prorated", "min_amount", "pay_in_advance"},
                        what, VENDOR, _NOT_IN_LAGO)
    metric = catalog.metrics[charge.metric]
    if charge.kind != "usage" or metric.kind not in (MetricKind.METERED, MetricKind.AMOUNT):
        raise InteropError(f"{what}: a {charge.kind} charge on a {metric.kind.value} metric (Lago charges price"
                           " billable metrics: usage charges on metered or amount metrics)")
    props: dict[str, Any]
    if charge.included is not None and not isinstance(charge, PackageCharge):
        raise InteropError(f"{what}.included: only Lago's package model has free units")
    if isinstance(charge, PerUnitCharge):
        model, props = "standard", {"amount": plain_number(charge.unit_price)}
    elif isinstance(charge, (GraduatedCharge, VolumeCharge, GraduatedPercentageCharge)):
        model = charge.model
        props = {_RANGES[model]: _ranges_out(charge, what)}
    elif isinstance(charge, PackageCharge):
        if (charge.rounding or catalog.settings.package_rounding) is not PackageRounding.UP:
            raise InteropError(f"{what}.rounding: down (Lago counts a started package whole)")
        size = charge.package_size
        if size != size.to_integral_value():
            raise InteropError(f"{what}.package_size: {size} (Lago's package_size is a whole number)")
        free = 0
        if charge.included is not None:
            inc = charge.included
            if (inc.times or inc.per_unit_of or inc.at_least or inc.unlimited
                    or inc.quantity != inc.quantity.to_integral_value()):
                raise InteropError(f"{what}.included: Lago's free_units is a plain whole number of units")
            free = int(inc.quantity)
        model, props = "package", {"amount": plain_number(charge.package_price), "package_size": int(size),
                                   "free_units": free}
    elif isinstance(charge, PercentageCharge):
        if charge.fixed_fee:
            raise InteropError(f"{what}.fixed_fee: a fee per period with a non-zero amount (Lago's fixed_amount is"
                               " per transaction: use percentage_per_transaction)")
        model, props = "percentage", {"rate": plain_number(charge.rate)}
    elif isinstance(charge, PercentagePerTransactionCharge):
        model = "percentage"
        props = {"rate": plain_number(charge.rate)}
        if charge.fixed_fee:
            props["fixed_amount"] = plain_number(charge.fixed_fee)
        if charge.free_transactions:
            props["free_units_per_events"] = charge.free_transactions
        if charge.free_amount:
            props["free_units_per_total_aggregation"] = plain_number(charge.free_amount)
        if charge.min_fee is not None:
            props["per_transaction_min_amount"] = plain_number(charge.min_fee)
        if charge.max_fee is not None:
            props["per_transaction_max_amount"] = plain_number(charge.max_fee)
    else:
        raise InteropError(f"{what}.model: {charge.model} has no Lago charge model")
    found = CHARGE_SOURCE.match(charge.source)
    out: dict[str, Any] = {}
    if found:
        out["lago_id"] = found.group(1)
    # NOTE: a metric imported from Lago keeps the billable metric's code as its name
    code = metric.name if slug(metric.name) == charge.metric else charge.metric
    out.update({"billable_metric_code": code, "charge_model": model, "invoice_display_name": charge.name,
                "pay_in_advance": charge.pay_in_advance, "invoiceable": True, "prorated": charge.prorated,
                "min_amount_cents": None if charge.min_amount is None else
                _cents_out(charge.min_amount, catalog.decimals, f"{what}.min_amount"),
                "properties": props, "filters": [], "taxes": []})
    return out


def export_catalog(catalog: Catalog, origin: str) -> dict[str, Any]:
    """Lago plans (as ``GET /api/v1/plans`` returns them) for ``catalog``, or a refusal naming what Lago
    cannot express."""
    refuse_non_defaults(catalog, {"id", "name", "version", "vendor", "description", "currency", "interval",
                                  "interval_count", "settings", "metrics", "plans", "sources", "sample_usage"},
                        origin, VENDOR, _NOT_IN_LAGO)
    check_settings(catalog, origin, VENDOR, "actual_days")
    decimals = catalog.decimals
    plans = []
    for plan_id, plan in catalog.plans.items():
        what = f"{origin}: plans.{plan_id}"
        refuse_non_defaults(plan, {"name", "description", "recurring", "billing_timing", "charges", "minimum_spend",
                                   "interval", "interval_count", "progressive_billing"}, what, VENDOR, _NOT_IN_LAGO)
        amount = 0
        if plan.recurring is not None:
            refuse_non_defaults(plan.recurring, {"amount", "source"}, f"{what}.recurring", VENDOR, _NOT_IN_LAGO)
            amount = _cents_out(plan.recurring.amount, decimals, f"{what}.recurring.amount")
        commitment: dict[str, Any] | None = None
        if plan.minimum_spend is not None:
            refuse_non_defaults(plan.minimum_spend, {"amount", "source"}, f"{what}.minimum_spend", VENDOR, _NOT_IN_LAGO)
            commitment = {"amount_cents": _cents_out(plan.minimum_spend.amount, decimals,
                                                     f"{what}.minimum_spend.amount"),
                          "invoice_display_name": None, "taxes": []}
        thresholds = [] if plan.progressive_billing is None else [
            {"amount_cents": _cents_out(t, decimals, f"{what}.progressive_billing.thresholds.{i}"),
             "threshold_display_name": None, "recurring": False}
            for i, t in enumerate(plan.progressive_billing.thresholds)]
        # NOTE: a plan imported from Lago keeps its code (its fee's source names it)
        found = PLAN_SOURCE.match(plan.recurring.source) if plan.recurring is not None else None
        code = unquote(found.group(1)) if found else plan_id
        plans.append({
            "code": code, "name": plan.name, "description": plan.description or None,
            "interval": _lago_interval(catalog, plan_id, what), "amount_cents": amount,
            "amount_currency": catalog.currency, "trial_period": 0,
            "pay_in_advance": plan.billing_timing.value == "in_advance", "bill_charges_monthly": None,
            "minimum_commitment": commitment, "usage_thresholds": thresholds, "taxes": [],
            "charges": [_charge_out(catalog, c, f"{what}.charges.{i}") for i, c in enumerate(plan.charges)],
        })
    return {"plans": plans, "meta": {"current_page": 1, "next_page": None, "prev_page": None, "total_pages": 1,
                                     "total_count": len(plans)}}


def metric_for_code(catalog: Catalog, code: str) -> str | None:
    """The catalog metric a Lago billable metric code stands for (its id, or a metric named by the code)."""
    for metric_id, metric in catalog.metrics.items():
        if metric.name == code and slug(code) == metric_id:
            return metric_id
    return code if is_catalog_id(code) and code in catalog.metrics else None


# --- invoices ---------------------------------------------------------------------------------------------

SKIPPED_STATUSES = ("draft", "voided", "failed")  # not (or no longer) charged
_ROLES = {"subscription": "fee", "charge": "usage", "commitment": "commitment", "add_on": "other",
          "credit": "other", "fixed_charge": "other"}


def _moment(value: Any, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InteropError(f"{what}: {value!r} is not an ISO date or time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _fee(raw: dict[str, Any], decimals: int, what: str) -> VendorLine:
    item = optional_object(raw, "item")
    kind = str(item.get("type") or "")
    role = _ROLES.get(kind, "other")
    if kind == "charge" and raw.get("lago_true_up_parent_fee_id"):
        role = "true_up"
    unit = raw.get("precise_unit_amount")
    units = raw.get("units")
    return VendorLine(
        line_id=str(raw.get("lago_id") or what), role=role,
        amount_minor=whole(raw.get("amount_cents"), f"{what}.amount_cents"),
        description=str(item.get("invoice_display_name") or item.get("name") or item.get("code") or kind),
        price_ref=raw.get("lago_charge_id") if isinstance(raw.get("lago_charge_id"), str) else None,
        code=item.get("code") if isinstance(item.get("code"), str) else None,
        quantity=None if units is None else number(units, f"{what}.units"),
        unit_amount=None if unit is None else number(unit, f"{what}.precise_unit_amount"),
        service_start=_moment(raw.get("from_date"), f"{what}.from_date"),
        service_end=_moment(raw.get("to_date"), f"{what}.to_date"),
    )


def read_invoices(data: Any, origin: str) -> tuple[list[VendorInvoice], list[str]]:
    """Lago invoices (``GET /api/v1/invoices``, each with its ``fees``); drafts, voided and failed
    invoices are left out, and said so in the notes."""
    raws = _pages(data, origin, "invoice", "invoices")
    invoices: list[VendorInvoice] = []
    skipped: list[str] = []
    for raw in raws:
        invoice_id = vendor_id(raw.get("number") or raw.get("lago_id"), f"{origin}: invoice number")
        what = f"{origin}: invoice {invoice_id}"
        status = str(raw.get("status") or "")
        if status in SKIPPED_STATUSES:
            skipped.append(f"{invoice_id} ({status})")
            continue
        currency, decimals = invoice_currency(raw, what)
        customer = mapping(raw.get("customer"), f"{what}.customer")
        external = text(customer, "external_id", f"{what}.customer")
        assert external is not None
        metadata = {str(m.get("key")): str(m.get("value")) for m in customer.get("metadata") or []
                    if isinstance(m, dict)}
        person = VendorCustomer(external, customer.get("email"), metadata)
        fees = raw.get("fees")
        if not isinstance(fees, list):
            raise InteropError(f"{what}.fees: missing (list invoices with their fees)")
        lines = [_fee(mapping(f, f"{what}.fees[{i}]"), decimals, f"{what}.fees[{i}]") for i, f in enumerate(fees)]
        coupons = whole(raw.get("coupons_amount_cents") or 0, f"{what}.coupons_amount_cents")
        if coupons:
            lines.append(VendorLine(f"{invoice_id}:coupons", "discount", -coupons, "coupons"))
        taxes = whole(raw.get("taxes_amount_cents") or 0, f"{what}.taxes_amount_cents")
        if taxes:
            lines.append(VendorLine(f"{invoice_id}:taxes", "tax", taxes, "taxes"))
        issued = _moment(raw.get("issuing_date"), f"{what}.issuing_date")
        if issued is None:
            raise InteropError(f"{what}.issuing_date: missing")
        invoices.append(VendorInvoice(invoice_id, person, currency, issued, tuple(lines),
                                      whole(raw.get("total_amount_cents", sum(line.amount_minor for line in lines)),
                                            f"{what}.total_amount_cents"), status))
    return invoices, ([f"left out {len(skipped)} invoice(s) not charged: {', '.join(skipped)}"] if skipped else [])


__all__ = ["API", "CHARGE_SOURCE", "PLAN_SOURCE", "VENDOR", "export_catalog", "import_catalog", "list_plans",
           "metric_for_code", "plan_source", "read_invoices"]
