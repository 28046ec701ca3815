"""Stripe Products and Prices <-> catalog, and Stripe invoices read for reconciliation.

Field meanings follow Stripe's API reference
(https://docs.stripe.com/api/prices/object, https://docs.stripe.com/api/products/object,
https://docs.stripe.com/api/invoices/object): amounts (``unit_amount``,
``unit_amount_decimal``, ``flat_amount``, ``flat_amount_decimal``, invoice line ``amount``)
are in the currency's **minor unit** (cents); a tier's ``up_to`` includes its bound
("up to and including", the catalog's ``tier_bounds: up_to_inclusive``);
``transform_quantity`` divides the quantity by ``divide_by`` and rounds ``up`` or ``down``
before the unit amount applies (https://docs.stripe.com/billing/subscriptions/usage-based/transform-quantities),
which is the catalog's ``package`` model.

Plans: Stripe has no plan object grouping prices. Prices are grouped into a plan by
``metadata.plan`` (which export writes), else by their product. In a plan, a licensed
per-unit price without ``metadata.metric`` is the plan's recurring fee; every other price
is a charge on a metric named by ``metadata.metric``, else ``lookup_key``, else its
nickname, else its product's name. Every ``source`` the import writes is the price's API
address, ``https://api.stripe.com/v1/prices/<id>``.
"""

from __future__ import annotations

import re
from datetime import datetime, UTC
from decimal import Decimal
from typing import Any

from pricing.engine.catalog import (
    Catalog,
    Charge,
    GraduatedCharge,
    Interval,
    PackageCharge,
    PackageRounding,
    PerUnitCharge,
    VolumeCharge,
)
from pricing.engine.formatting import plain_number
from pricing.interop.common import (
    InteropError, assemble, catalog_money, check_settings, invoice_currency, catalog_quantity, major_to_minor, mapping,
    minor_to_major, minor_unit, optional_object,
    number, refuse_non_defaults, slug, text, unique, vendor_id, whole,
)
from pricing.interop.vendor_invoice import VendorCustomer, VendorInvoice, VendorLine

VENDOR = "Stripe"
API = "https://api.stripe.com/v1"
PRICE_SOURCE = re.compile(r"^https://api\.stripe\.com/v1/prices/([A-Za-z0-9_.:-]+)$")
MAX_MINOR_DECIMALS = 12  # unit_amount_decimal: "at most 12 decimal places" (of the minor unit)
_INTERVALS = {"week": Interval.WEEK, "month": Interval.MONTH, "year": Interval.YEAR}
# Stripe allows a billing interval of at most three years (3 years, 36 months or 156 weeks)
_MAX_COUNT = {"week": 156, "month": 36, "year": 3}


def price_source(price_id: str) -> str:
    return f"{API}/prices/{price_id}"


# --- reading list files -------------------------------------------------------------------------


def list_objects(data: Any, origin: str) -> list[dict[str, Any]]:
    """The objects of a list endpoint's JSON, of several pages (a JSON array of lists), or a bare array.

    A page that says ``has_more: true`` is refused: the rest of the list is missing.
    """
    pages = data if isinstance(data, list) else [data]
    out: list[dict[str, Any]] = []
    for n, page in enumerate(pages):
        if isinstance(page, dict) and page.get("object") == "list":
            if page.get("has_more") is True:
                raise InteropError(f"{origin}: list {n + 1} has more pages (has_more: true); fetch every page"
                                   " (auto-pagination) and give them as one JSON array")
            items = page.get("data")
            if not isinstance(items, list):
                raise InteropError(f"{origin}: list {n + 1}: 'data' must be an array")
            out.extend(mapping(item, f"{origin}: list {n + 1} item {i + 1}") for i, item in enumerate(items))
        elif isinstance(page, dict) and "object" in page:
            out.append(page)
        else:
            raise InteropError(f"{origin}: item {n + 1} is neither a Stripe list nor a Stripe object")
    return out


# --- import ------------------------------------------------------------------------------------------


def _amount(obj: dict[str, Any], field: str, what: str, *, required: bool) -> Decimal | None:
    """``<field>_decimal`` (a decimal string of minor units) or ``<field>`` (an integer); both must agree."""
    exact = obj.get(f"{field}_decimal")
    integer = obj.get(field)
    if exact is None and integer is None:
        if required:
            raise InteropError(f"{what}: {field} and {field}_decimal are both missing")
        return None
    value = (number(exact, f"{what}.{field}_decimal") if exact is not None
             else Decimal(whole(integer, f"{what}.{field}")))
    if exact is not None and integer is not None and Decimal(whole(integer, f"{what}.{field}")) != value:
        raise InteropError(f"{what}: {field} {integer} and {field}_decimal {exact} disagree")
    if value < 0:
        raise InteropError(f"{what}.{field}: negative amounts cannot be prices")
    return value


def _major(minor: Decimal, decimals: int, what: str) -> str:
    return catalog_money(minor_to_major(minor, decimals), what)


def _metric_name(price: dict[str, Any], product: dict[str, Any] | None, what: str) -> str:
    metadata = price.get("metadata") or {}
    for candidate in (metadata.get("metric"), price.get("lookup_key"), price.get("nickname"),
                      (product or {}).get("name")):
        if isinstance(candidate, str) and (name := slug(candidate)):
            return name
    raise InteropError(f"{what}: no metric name (set metadata.metric, lookup_key or a nickname)")


def _charge(price: dict[str, Any], decimals: int, what: str) -> dict[str, Any]:
    scheme = price.get("billing_scheme") or "per_unit"
    transform = price.get("transform_quantity")
    if scheme == "per_unit":
        unit = _amount(price, "unit_amount", what, required=True)
        assert unit is not None
        if transform is None:
            return {"model": "per_unit", "unit_price": _major(unit, decimals, f"{what}: unit_amount_decimal")}
        transform = mapping(transform, f"{what}: transform_quantity")
        size = whole(transform.get("divide_by"), f"{what}: transform_quantity.divide_by")
        if size < 1:
            raise InteropError(f"{what}: transform_quantity.divide_by must be at least 1")
        rounding = transform.get("round")
        if rounding not in ("up", "down"):
            raise InteropError(f"{what}: transform_quantity.round must be 'up' or 'down', got {rounding!r}")
        return {"model": "package",
                "package_size": catalog_quantity(Decimal(size), f"{what}: transform_quantity.divide_by"),
                "package_price": _major(unit, decimals, f"{what}: unit_amount_decimal"), "rounding": rounding}
    if scheme != "tiered":
        raise InteropError(f"{what}: billing_scheme {scheme!r} is not per_unit or tiered")
    if transform is not None:
        raise InteropError(f"{what}: transform_quantity with tiers (Stripe does not combine them either)")
    mode = price.get("tiers_mode")
    if mode not in ("graduated", "volume"):
        raise InteropError(f"{what}: tiers_mode must be graduated or volume, got {mode!r}")
    tiers = price.get("tiers")
    if not isinstance(tiers, list) or not tiers:
        raise InteropError(f"{what}: tiers missing (list prices with expand[]=data.tiers)")
    out = []
    for i, raw in enumerate(tiers):
        tier = mapping(raw, f"{what}: tiers[{i}]")
        up_to = tier.get("up_to")
        entry: dict[str, Any] = {}
        if up_to not in (None, "inf"):
            entry["up_to"] = catalog_quantity(Decimal(whole(up_to, f"{what}: tiers[{i}].up_to")),
                                              f"{what}: tiers[{i}].up_to")
        unit = _amount(tier, "unit_amount", f"{what}: tiers[{i}]", required=False)
        flat = _amount(tier, "flat_amount", f"{what}: tiers[{i}]", required=False)
        if unit is None and flat is None:
            raise InteropError(f"{what}: tiers[{i}]: neither unit_amount nor flat_amount")
        if unit:
            entry["unit_price"] = _major(unit, decimals, f"{what}: tiers[{i}].unit_amount_decimal")
        if flat:
            entry["flat_fee"] = _major(flat, decimals, f"{what}: tiers[{i}].flat_amount_decimal")
        out.append(entry)
    return {"model": mode, "tiers": out}


def _refuse_unsupported(price: dict[str, Any], what: str) -> None:
    if price.get("type", "recurring") != "recurring" or not isinstance(price.get("recurring"), dict):
        raise InteropError(f"{what}: type {price.get('type')!r}: a one-time price is not a plan's recurring price")
    if price.get("custom_unit_amount") is not None:
        raise InteropError(f"{what}: custom_unit_amount (the customer chooses the amount) has no catalog price")
    if price.get("tax_behavior") == "inclusive":
        raise InteropError(f"{what}: tax_behavior inclusive (catalog prices are before tax)")
    options = price.get("currency_options")
    if isinstance(options, dict) and set(options) - {str(price.get("currency", "")).lower()}:
        raise InteropError(f"{what}: currency_options (a catalog has one currency)")
    recurring = price["recurring"]
    if recurring.get("aggregate_usage") not in (None, "sum"):
        raise InteropError(f"{what}: recurring.aggregate_usage {recurring['aggregate_usage']!r}"
                           " (the catalog bills the period's summed usage)")
    if recurring.get("trial_period_days"):
        raise InteropError(f"{what}: recurring.trial_period_days (trials belong to subscription timelines)")


def import_catalog(data: Any, catalog_id: str, origin: str) -> tuple[Catalog, list[str]]:
    """A catalog from Stripe Products and Prices; also the notes to print (what was skipped)."""
    objects = list_objects(data, origin)
    products: dict[str, dict[str, Any]] = {}
    prices: list[dict[str, Any]] = []
    for obj in objects:
        kind = obj.get("object")
        if kind == "product":
            products[vendor_id(obj.get("id"), f"{origin}: product id")] = obj
        elif kind == "price":
            prices.append(obj)
            if isinstance(obj.get("product"), dict):
                products[vendor_id(obj["product"].get("id"), f"{origin}: price product id")] = obj["product"]
        elif kind == "plan":
            raise InteropError(f"{origin}: plan {obj.get('id')}: legacy Plan objects; list Prices (GET /v1/prices)")
        else:
            raise InteropError(f"{origin}: object {obj.get('id')!r} of type {kind!r} is not a product or price")
    skipped = [str(p.get("id")) for p in prices if p.get("active") is False]
    prices = [p for p in prices if p.get("active") is not False]
    if not prices:
        raise InteropError(f"{origin}: no active prices to import")

    currency: str | None = None
    metrics: dict[str, dict[str, Any]] = {}
    plans: dict[str, dict[str, Any]] = {}
    plan_keys: dict[str, str] = {}  # grouping key -> plan id
    intervals: dict[str, tuple[Interval, int]] = {}
    for price in prices:
        price_id = vendor_id(price.get("id"), f"{origin}: price id")
        what = f"{origin}: price {price_id}"
        product_ref = price.get("product")
        product_id = product_ref.get("id") if isinstance(product_ref, dict) else product_ref
        product = products.get(product_id) if isinstance(product_id, str) else None
        if product is not None and product.get("active") is False:
            skipped.append(price_id)
            continue
        _refuse_unsupported(price, what)
        code = text(price, "currency", what)
        assert code is not None
        if currency is None:
            currency = code.upper()
        elif code.upper() != currency:
            raise InteropError(f"{what}: currency {code!r}, another currency than {currency.lower()!r}"
                               " (a catalog has one currency: import each currency's prices separately)")
        decimals = minor_unit(currency, f"{what}: currency")
        recurring = price["recurring"]
        name = recurring.get("interval")
        if name not in _INTERVALS:
            raise InteropError(f"{what}: recurring.interval {name!r} (the catalog bills by week, month or year)")
        count = whole(recurring.get("interval_count", 1), f"{what}: recurring.interval_count")
        if not 1 <= count <= 36:
            raise InteropError(f"{what}: recurring.interval_count {count} (the catalog allows 1 to 36)")
        metadata = price.get("metadata") or {}
        key = f"plan:{metadata['plan']}" if isinstance(metadata.get("plan"), str) else f"product:{product_id}"
        if key not in plan_keys:
            label = metadata.get("plan") if isinstance(metadata.get("plan"), str) else \
                (product or {}).get("name") or str(product_id)
            plan_id = unique(slug(str(label)) or "plan", plans)
            plan_keys[key] = plan_id
            plans[plan_id] = {"name": (product or {}).get("name") or str(label), "charges": []}
            if product and product.get("description"):
                plans[plan_id]["description"] = product["description"]
            intervals[plan_id] = (_INTERVALS[name], count)
        plan_id = plan_keys[key]
        plan = plans[plan_id]
        if intervals[plan_id] != (_INTERVALS[name], count):
            first = intervals[plan_id]
            raise InteropError(f"{what}: recurring.interval {count} x {name} in plan {plan_id!r} billed every"
                               f" {first[1]} x {first[0].value} (group prices of one interval with metadata.plan)")
        usage_type = recurring.get("usage_type", "licensed")
        if usage_type not in ("licensed", "metered"):
            raise InteropError(f"{what}: recurring.usage_type {usage_type!r}")
        source = price_source(price_id)
        is_fee = usage_type == "licensed" and (price.get("billing_scheme") or "per_unit") == "per_unit" \
            and price.get("transform_quantity") is None and not metadata.get("metric")
        if is_fee:
            if "recurring" in plan:
                raise InteropError(f"{what}: a second licensed price in plan {plan_id!r} (its fee is already"
                                   f" {plan['recurring']['source']});"
                                   " name the seat or add-on metric in metadata.metric")
            unit = _amount(price, "unit_amount", what, required=True)
            assert unit is not None
            plan["recurring"] = {"amount": _major(unit, decimals, f"{what}: unit_amount_decimal"), "source": source}
            continue
        metric = _metric_name(price, product, what)
        kind = "metered" if usage_type == "metered" else "count"
        known = metrics.setdefault(metric, {"name": metric, "kind": kind})
        if known["kind"] != kind:
            raise InteropError(f"{what}: metric {metric!r} is {usage_type} here and {known['kind']} in another price")
        charge: dict[str, Any] = {"metric": metric, "kind": "usage" if usage_type == "metered" else "addon",
                                  "source": source, **_charge(price, decimals, what)}
        if isinstance(price.get("nickname"), str) and price["nickname"]:
            charge["name"] = price["nickname"]
        if isinstance(metadata.get("description"), str):
            charge["description"] = metadata["description"]
        plan["charges"].append(charge)
    assert currency is not None
    # Stripe prorates to the second and applies downgrades at once (subscription updates)
    settings = {"tier_bounds": "up_to_inclusive", "day_count": "exact_seconds", "downgrade_effective": "now"}
    catalog = assemble(catalog_id, VENDOR, "Products and Prices", currency, settings, metrics, plans, intervals,
                       "https://docs.stripe.com/api/prices/object", origin)
    notes = [f"skipped {len(skipped)} inactive price(s): {', '.join(skipped)}"] if skipped else []
    return catalog, notes


# --- export --------------------------------------------------------------------------------------------

_NOT_IN_STRIPE = {
    "minimum_spend": "Stripe prices have no minimum spend", "discounts": "Stripe discounts are coupons, not prices",
    "limits": "Stripe prices have no usage caps", "progressive_billing": "billing thresholds belong to subscriptions",
    "included": "Stripe has no included units: write them as a first graduated tier priced 0",
    "commitment": "Stripe prices have no commitments", "min_amount": "Stripe prices have no spending minimum",
    "pay_in_advance": "Stripe bills usage in arrears", "prorated": "Stripe prorates every licensed price",
    "billing_timing": "a Stripe licensed price is billed in advance",
    "tax_percent": "tax belongs to the customer (Stripe Tax), not to prices",
    "account_rules": "Stripe has no account rules", "prepaid": "Stripe prices are not a prepaid ledger",
    "block_size": "Stripe tiers price units, not blocks",
    "minor_unit": "Stripe uses the currency's own minor unit",
}


def _minor_text(major: Decimal, decimals: int, what: str) -> str:
    minor = major_to_minor(major, decimals)
    places = max(0, -minor.normalize().as_tuple().exponent)  # type: ignore[operator]  # a finite Decimal's exponent is an int (typeshed allows 'n', 'N', 'F')
    if places > MAX_MINOR_DECIMALS:
        raise InteropError(f"{what}: {plain_number(major)} has more than {MAX_MINOR_DECIMALS} decimal places of a"
                           " minor unit (Stripe's limit)")
    return plain_number(minor)


def _whole_minor(major: Decimal, decimals: int, what: str) -> int:
    minor = major_to_minor(major, decimals)
    if minor != minor.to_integral_value():
        raise InteropError(f"{what}: {plain_number(major)} is not a whole number of minor units"
                           " (Stripe's flat_amount is an integer of minor units)")
    return int(minor)


def _stripe_interval(catalog: Catalog, plan_id: str, what: str) -> tuple[str, int]:
    interval, count = catalog.billing_interval(plan_id)
    name, count = ("month", count * 3) if interval is Interval.QUARTER else (interval.value, count)
    if count > _MAX_COUNT[name]:
        raise InteropError(f"{what}: billed every {count} {name}s, more than Stripe's three years")
    return name, count


def export_catalog(catalog: Catalog, origin: str) -> dict[str, Any]:
    """Stripe Products and Prices (one list) for everything in ``catalog``, or a refusal naming what Stripe
    cannot express."""
    what = f"{origin}"
    refuse_non_defaults(catalog, {"id", "name", "version", "vendor", "description", "currency", "interval",
                                  "interval_count", "settings", "metrics", "plans", "sources", "sample_usage"},
                        what, VENDOR, _NOT_IN_STRIPE)
    check_settings(catalog, what, VENDOR, "exact_seconds")
    decimals = catalog.decimals
    products: list[dict[str, Any]] = []
    prices: list[dict[str, Any]] = []
    for plan_id, plan in catalog.plans.items():
        where_plan = f"{origin}: plans.{plan_id}"
        refuse_non_defaults(plan, {"name", "description", "recurring", "charges", "interval", "interval_count"},
                            where_plan, VENDOR,
                            _NOT_IN_STRIPE)
        if plan.recurring is None and not plan.charges:
            raise InteropError(f"{where_plan}: no fee and no charges (a Stripe plan is its prices)")
        interval, count = _stripe_interval(catalog, plan_id, where_plan)
        product_id = f"prod_{catalog.id}_{plan_id}"
        products.append({"id": product_id, "object": "product", "active": True, "name": plan.name,
                         "description": plan.description or None, "metadata": {"plan": plan_id}})
        used: set[str] = set()

        def price_id(source: str | None, n: int) -> str:
            found = PRICE_SOURCE.match(source or "")
            chosen = found.group(1) if found and found.group(1) not in used else f"price_{catalog.id}_{plan_id}_{n}"
            used.add(chosen)
            return chosen

        def base(source: str | None, n: int, usage_type: str, metadata: dict[str, str]) -> dict[str, Any]:
            return {"id": price_id(source, n), "object": "price", "active": True, "currency": catalog.currency.lower(),
                    "product": product_id, "type": "recurring", "livemode": False, "lookup_key": None,
                    "tax_behavior": "unspecified",
                    "recurring": {"interval": interval, "interval_count": count, "usage_type": usage_type,
                                  "aggregate_usage": "sum" if usage_type == "metered" else None},
                    "metadata": {"plan": plan_id, **metadata}}

        if plan.recurring is not None:
            refuse_non_defaults(plan.recurring, {"amount", "source"}, f"{where_plan}.recurring", VENDOR, _NOT_IN_STRIPE)
            price = base(plan.recurring.source, 0, "licensed", {})
            price.update(_per_unit(plan.recurring.amount, decimals, f"{where_plan}.recurring.amount"))
            price["nickname"] = None
            prices.append(price)
        for i, charge in enumerate(plan.charges):
            where_charge = f"{where_plan}.charges.{i}"
            refuse_non_defaults(charge, {"metric", "name", "kind", "source", "description", "model", "unit_price",
                                         "tiers", "package_size", "package_price", "rounding"},
                                where_charge, VENDOR, _NOT_IN_STRIPE)
            metric = catalog.metrics[charge.metric]
            expected = {"usage": "metered", "addon": "count"}.get(charge.kind)
            if expected is None or metric.kind.value != expected:
                raise InteropError(f"{where_charge}: a {charge.kind} charge on a {metric.kind.value} metric"
                                   " (Stripe: metered usage, or a licensed quantity of a count metric)")
            if metric.decimal_places:
                raise InteropError(f"{where_charge}: metric {charge.metric!r} has decimals (Stripe quantities are"
                                   " whole numbers)")
            metadata = {"metric": charge.metric}
            if charge.description:
                metadata["description"] = charge.description
            price = base(charge.source, i + 1, "metered" if charge.kind == "usage" else "licensed", metadata)
            price["nickname"] = charge.name
            price.update(_charge_fields(catalog, charge, decimals, where_charge))
            prices.append(price)
    return {"object": "list", "url": "/v1/prices", "has_more": False, "data": products + prices}


def _per_unit(amount: Decimal, decimals: int, what: str) -> dict[str, Any]:
    minor = _minor_text(amount, decimals, what)
    value = Decimal(minor)
    return {"billing_scheme": "per_unit", "unit_amount": int(value) if value == value.to_integral_value() else None,
            "unit_amount_decimal": minor, "tiers_mode": None, "transform_quantity": None}


def _charge_fields(catalog: Catalog, charge: Charge, decimals: int, what: str) -> dict[str, Any]:
    if isinstance(charge, PerUnitCharge):
        return _per_unit(charge.unit_price, decimals, f"{what}.unit_price")
    if isinstance(charge, PackageCharge):
        size = charge.package_size
        if size != size.to_integral_value():
            raise InteropError(f"{what}.package_size: {size} (Stripe's divide_by is a whole number)")
        rounding = charge.rounding or catalog.settings.package_rounding
        fields = _per_unit(charge.package_price, decimals, f"{what}.package_price")
        fields["transform_quantity"] = {"divide_by": int(size), "round": PackageRounding(rounding).value}
        return fields
    if isinstance(charge, (GraduatedCharge, VolumeCharge)):
        tiers = []
        for j, tier in enumerate(charge.tiers):
            where_tier = f"{what}.tiers.{j}"
            refuse_non_defaults(tier, {"up_to", "unit_price", "flat_fee", "source"}, where_tier, VENDOR, _NOT_IN_STRIPE)
            if tier.up_to is not None and tier.up_to != tier.up_to.to_integral_value():
                raise InteropError(f"{where_tier}.up_to: {tier.up_to} (Stripe's up_to is a whole number)")
            unit = _minor_text(tier.unit_price, decimals, f"{where_tier}.unit_price")
            flat = _whole_minor(tier.flat_fee, decimals, f"{where_tier}.flat_fee")
            unit_value = Decimal(unit)
            tiers.append({"up_to": None if tier.up_to is None else int(tier.up_to),
                          "unit_amount": int(unit_value) if unit_value == unit_value.to_integral_value() else None,
                          "unit_amount_decimal": unit, "flat_amount": flat, "flat_amount_decimal": str(flat)})
        return {"billing_scheme": "tiered", "tiers_mode": charge.model, "tiers": tiers, "unit_amount": None,
                "unit_amount_decimal": None, "transform_quantity": None}
    raise InteropError(f"{what}.model: {charge.model} has no Stripe price (per_unit, graduated, volume and"
                       " package do)")




# --- invoices ---------------------------------------------------------------------------------------------

SKIPPED_STATUSES = ("draft", "void")  # not (or no longer) charged


def _instant(value: Any, what: str) -> datetime:
    seconds = whole(value, what)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InteropError(f"{what}: {seconds} is not a time Stripe could have written") from None


def _line(raw: dict[str, Any], decimals: int, what: str) -> VendorLine:
    line_id = str(raw.get("id") or what)
    price = raw.get("price")
    pricing = optional_object(raw, "pricing")
    details = optional_object(pricing, "price_details")
    price_id = price.get("id") if isinstance(price, dict) else price if isinstance(price, str) else details.get("price")
    parent = optional_object(raw, "parent")
    item = optional_object(parent, "subscription_item_details")
    proration = bool(raw.get("proration") or item.get("proration"))
    unit: Decimal | None = None
    code = None
    if isinstance(price, dict):
        code = (price.get("metadata") or {}).get("metric")
        if (price.get("billing_scheme") or "per_unit") == "per_unit" and price.get("transform_quantity") is None:
            minor = _amount(price, "unit_amount", f"{what}.price", required=False)
            unit = None if minor is None else minor_to_major(minor, decimals)
    usage_type = ((price or {}).get("recurring") or {}).get("usage_type") if isinstance(price, dict) else None
    role = "proration" if proration else ("usage" if usage_type == "metered" else "fee" if price_id else "other")
    period = optional_object(raw, "period")
    quantity = raw.get("quantity")
    return VendorLine(
        line_id=line_id, role=role, amount_minor=whole(raw.get("amount"), f"{what}.amount"),
        description=str(raw.get("description") or ""), price_ref=price_id if isinstance(price_id, str) else None,
        code=code if isinstance(code, str) else None,
        quantity=None if quantity is None else number(quantity, f"{what}.quantity"), unit_amount=unit,
        service_start=_instant(period["start"], f"{what}.period.start") if period.get("start") is not None else None,
        service_end=_instant(period["end"], f"{what}.period.end") if period.get("end") is not None else None,
    )


def _sum_amounts(items: Any, what: str) -> int:
    if not isinstance(items, list):
        return 0
    return sum(whole(mapping(i, what).get("amount"), f"{what}.amount") for i in items)


def read_invoices(data: Any, origin: str) -> tuple[list[VendorInvoice], list[str]]:
    """Stripe invoices (``GET /v1/invoices``) with their line items; drafts and voided invoices are left
    out, and said so in the notes."""
    invoices: list[VendorInvoice] = []
    skipped: list[str] = []
    for raw in list_objects(data, origin):
        if raw.get("object") != "invoice":
            raise InteropError(f"{origin}: object {raw.get('id')!r} of type {raw.get('object')!r} is not an invoice")
        invoice_id = vendor_id(raw.get("id"), f"{origin}: invoice id")
        what = f"{origin}: invoice {invoice_id}"
        status = str(raw.get("status") or "")
        if status in SKIPPED_STATUSES:
            skipped.append(f"{invoice_id} ({status})")
            continue
        currency, decimals = invoice_currency(raw, what)
        customer = raw.get("customer")
        if isinstance(customer, dict):
            person = VendorCustomer(str(customer.get("id")), customer.get("email"),
                                    {str(k): str(v) for k, v in (customer.get("metadata") or {}).items()})
        elif isinstance(customer, str):
            person = VendorCustomer(customer, raw.get("customer_email"))
        else:
            raise InteropError(f"{what}.customer: missing")
        metadata = {str(k): str(v) for k, v in (raw.get("metadata") or {}).items()}
        person = VendorCustomer(person.id, person.email, {**person.metadata, **metadata})
        lines_list = mapping(raw.get("lines"), f"{what}.lines")
        if lines_list.get("has_more") is True:
            raise InteropError(f"{what}.lines: has_more is true; fetch every line item (GET /v1/invoices/{invoice_id}"
                               "/lines) into the invoice")
        lines = [_line(mapping(item, f"{what}.lines.data[{i}]"), decimals, f"{what}.lines.data[{i}]")
                 for i, item in enumerate(lines_list.get("data") or [])]
        tax = raw.get("tax")
        tax_minor = whole(tax, f"{what}.tax") if tax is not None else \
            _sum_amounts(raw.get("total_taxes"), f"{what}.total_taxes") or \
            _sum_amounts(raw.get("total_tax_amounts"), f"{what}.total_tax_amounts")
        discount_minor = _sum_amounts(raw.get("total_discount_amounts"), f"{what}.total_discount_amounts")
        if discount_minor:
            lines.append(VendorLine(f"{invoice_id}:discount", "discount", -discount_minor, "discounts"))
        if tax_minor:
            lines.append(VendorLine(f"{invoice_id}:tax", "tax", tax_minor, "tax"))
        # NOTE: period_end, not created: a renewal invoice is created minutes after the boundary it bills
        moment = raw.get("period_end") if raw.get("period_end") is not None else raw.get("created")
        invoices.append(VendorInvoice(invoice_id, person, currency, _instant(moment, f"{what}.period_end"),
                                      tuple(lines), whole(raw.get("total", sum(line.amount_minor for line in lines)),
                                                          f"{what}.total"), status))
    return invoices, ([f"left out {len(skipped)} invoice(s) not charged: {', '.join(skipped)}"] if skipped else [])


__all__ = ["API", "PRICE_SOURCE", "VENDOR", "export_catalog", "import_catalog", "list_objects", "price_source",
           "read_invoices"]
