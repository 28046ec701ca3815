"""Every charge model is exact at any magnitude: a Hypothesis property per model against plain Decimal.

Each model is priced over arrays of scaled quantities reaching 2**62 (where
int64 products start to overflow), 2**63 (past int64 itself, as Python ints)
and beyond, with prices, fees, tier bounds and block sizes that are themselves
large. The reference is the model's rule written out in ``Decimal`` at a
precision no amount here can exhaust; it is then rounded to 0, 2 and 3 minor
units and compared with what rating's :func:`round_scaled` makes of the
model's exact amount.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from pricing.engine.catalog import Charge, Settings, parse_catalog
from pricing.engine.charges import model_for
from pricing.engine.money import Rounding, round_scaled
from pricing.engine.rating import rate_one

from conftest import make_catalog

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHARGE = TypeAdapter(Charge)
EXACT = decimal.Context(prec=400)  # far beyond any amount drawn here

# scaled quantities: small, around the int64 danger zone, and far past int64
scaled_quantities = st.one_of(
    st.integers(0, 10**6),
    st.integers(2**62 - 10**3, 2**62 + 10**3),
    st.integers(2**63 - 10**3, 2**63 + 10**3),
    st.integers(0, 2**72),
)


def _price(draw: st.DrawFn, big: bool = True) -> str:
    # NOTE: a catalog refuses prices past 18 significant digits (issue 12); quantities go past 2**63
    units = draw(st.one_of(st.integers(0, 10**8), st.integers(0, 10**17) if big else st.integers(0, 10**8)))
    return str(Decimal(units).scaleb(-draw(st.integers(0, 6))))


def _quantity(draw: st.DrawFn, qscale: int, low: int = 1) -> str:
    """A positive quantity with at most ``qscale`` decimals (a bound or a size)."""
    units = draw(st.one_of(st.integers(low, 10**6), st.integers(low, 10**17)))
    return str(Decimal(units).scaleb(-draw(st.integers(0, qscale))))


@st.composite
def tier_list(draw: st.DrawFn, qscale: int, percent: bool = False, blocks: bool = False) -> list[dict]:
    count = draw(st.integers(1, 4))
    bounds = sorted({Decimal(_quantity(draw, qscale)) for _ in range(count - 1)})
    tiers: list[dict] = [{"up_to": str(b)} for b in bounds] + [{}]
    for tier in tiers:
        if percent:
            tier["rate"] = str(Decimal(draw(st.integers(0, 10**6))).scaleb(-draw(st.integers(0, 4))))
        else:
            tier["unit_price"] = _price(draw)
        tier["flat_fee"] = _price(draw)
        if blocks and draw(st.booleans()):
            tier["block_size"] = _quantity(draw, qscale)
    return tiers


@st.composite
def charges(draw: st.DrawFn, model: str, qscale: int) -> dict:
    charge: dict = {"metric": "q", "model": model, "source": "assumption: generated"}
    if model == "per_unit":
        charge["unit_price"] = _price(draw)
    elif model in ("graduated", "volume"):
        charge["tiers"] = draw(tier_list(qscale, blocks=True))
    elif model == "graduated_percentage":
        charge["tiers"] = draw(tier_list(qscale, percent=True))
    elif model == "package":
        charge["package_size"] = _quantity(draw, qscale)
        charge["package_price"] = _price(draw)
        charge["rounding"] = draw(st.sampled_from(["up", "down"]))
    elif model == "percentage":
        charge["rate"] = str(Decimal(draw(st.integers(0, 10**6))).scaleb(-draw(st.integers(0, 4))))
        charge["fixed_fee"] = _price(draw)
    else:
        charge["fee"] = _price(draw)
    return charge


# --- the reference: each rule written out in Decimal ----------------------------------


def _blocks(units: Decimal, size: Decimal, rounding: str) -> Decimal:
    whole = units // size
    return whole + 1 if rounding == "up" and whole * size < units else whole


def reference(charge: dict, q: Decimal, bounds: str, rounding: str) -> Decimal:
    model = charge["model"]
    if model == "per_unit":
        return q * Decimal(charge["unit_price"])
    if model == "package":
        return _blocks(q, Decimal(charge["package_size"]), charge["rounding"]) * Decimal(charge["package_price"])
    if model == "percentage":
        return q * Decimal(charge["rate"]) / 100 + (Decimal(charge["fixed_fee"]) if q > 0 else 0)
    if model == "flat":
        return Decimal(charge["fee"]) if q > 0 else Decimal(0)
    tiers = charge["tiers"]
    if model == "volume":
        for tier in tiers:  # the first tier whose bound holds q
            up_to = tier.get("up_to")
            if up_to is None or q < Decimal(up_to) or (bounds == "up_to_inclusive" and q == Decimal(up_to)):
                break
        size = tier.get("block_size")
        count = q if size is None else _blocks(q, Decimal(size), rounding)
        return count * Decimal(tier["unit_price"]) + Decimal(tier["flat_fee"])
    total, lower = Decimal(0), Decimal(0)
    for tier in tiers:  # graduated and graduated_percentage
        upper = None if tier.get("up_to") is None else Decimal(tier["up_to"])
        units = max(q - lower, Decimal(0)) if upper is None else min(max(q - lower, Decimal(0)), upper - lower)
        if "rate" in tier:
            total += units * Decimal(tier["rate"]) / 100
        elif tier.get("block_size") is not None:
            total += _blocks(units, Decimal(tier["block_size"]), rounding) * Decimal(tier["unit_price"])
        else:
            total += units * Decimal(tier["unit_price"])
        reached = lower == 0 or q > lower or (bounds == "up_to_exclusive" and q == lower)
        if reached:
            total += Decimal(tier["flat_fee"])
        lower = upper if upper is not None else lower
    return total


def check_model(model: str, data: st.DataObject) -> None:
    qscale = data.draw(st.sampled_from([0, 2, 3]), label="qscale")
    bounds = data.draw(st.sampled_from(["up_to_inclusive", "up_to_exclusive"]), label="bounds")
    rounding = data.draw(st.sampled_from(["up", "down"]), label="package_rounding")
    charge = data.draw(charges(model, qscale), label="charge")
    scaled = data.draw(st.lists(scaled_quantities, min_size=1, max_size=4), label="scaled quantities")
    bound = CHARGE.validate_python(charge)
    priced = model_for(bound, qscale, Settings(tier_bounds=bounds, package_rounding=rounding))
    pscale = priced.price_scale()
    # int64 while the quantities fit (the engine's usual input), Python ints past int64
    billable = np.array(scaled, dtype=np.int64 if max(scaled) < 2**63 else object)
    result = priced.price(billable, pscale)
    with decimal.localcontext(EXACT):
        for row, n in enumerate(scaled):
            expected = reference(charge, Decimal(n).scaleb(-qscale), bounds, rounding)
            got = int(result.amount[row])
            assert Decimal(got).scaleb(-(qscale + pscale)) == expected, (row, n, got, expected)
            for minor in (0, 2, 3):  # the line's rounding, to yen, cents and fils
                shift = qscale + pscale - minor
                line = int(round_scaled(result.amount[row:row + 1], shift, Rounding.HALF_UP)[0])
                assert line == int(expected.scaleb(minor).quantize(Decimal(1), rounding=ROUND_HALF_UP)), minor


@SETTINGS
@given(data=st.data())
def test_per_unit_is_exact_at_any_magnitude(data):
    check_model("per_unit", data)


@SETTINGS
@given(data=st.data())
def test_graduated_is_exact_at_any_magnitude(data):
    check_model("graduated", data)


@SETTINGS
@given(data=st.data())
def test_volume_is_exact_at_any_magnitude(data):
    check_model("volume", data)


@SETTINGS
@given(data=st.data())
def test_package_is_exact_at_any_magnitude(data):
    check_model("package", data)


@SETTINGS
@given(data=st.data())
def test_percentage_is_exact_at_any_magnitude(data):
    check_model("percentage", data)


@SETTINGS
@given(data=st.data())
def test_graduated_percentage_is_exact_at_any_magnitude(data):
    check_model("graduated_percentage", data)


@SETTINGS
@given(data=st.data())
def test_flat_is_exact_at_any_magnitude(data):
    check_model("flat", data)


@SETTINGS
@given(data=st.data(), model=st.sampled_from(["per_unit", "graduated", "volume", "package", "percentage",
                                              "graduated_percentage", "flat"]),
       currency=st.sampled_from(["JPY", "EUR", "KWD"]))
def test_rated_lines_are_exact_up_to_int64(data, model, currency):
    """End to end through rating: a usage up to 2**63 - 1 scaled units, lines in yen, cents or fils."""
    qscale = data.draw(st.sampled_from([0, 2, 3]), label="qscale")
    charge = data.draw(charges(model, qscale), label="charge")
    kind = "amount" if "percentage" in model else "metered"
    scaled = data.draw(st.one_of(st.integers(0, 10**6), st.integers(2**62 - 10**3, 2**63 - 1)), label="scaled")
    quantity = Decimal(scaled).scaleb(-qscale)
    catalog = parse_catalog({
        "id": "t", "name": "T", "version": "1", "currency": currency,
        "metrics": {"q": {"name": "Q", "kind": kind, "decimals": qscale}},
        "plans": {"p": {"name": "P", "charges": [charge]}},
    }, "<generated>")
    line = rate_one(catalog, "p", {"q": str(quantity)}).lines[0]
    with decimal.localcontext(EXACT):
        expected = reference(charge, quantity, "up_to_inclusive", "up")
        minor = catalog.decimals
        assert line.amount_minor == int(expected.scaleb(minor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_a_lines_exact_amount_keeps_every_digit():
    catalog = make_catalog('- {metric: q, model: per_unit, unit_price: "4294965489", source: "assumption: t"}\n',
                           currency="JPY")
    quantity = 4_611_686_018_427_386_904  # x 4,294,965,489 = 19,807,032,295,249,444,805,130,556,056 (29 digits)
    line = rate_one(catalog, "p", {"q": quantity}).lines[0]
    assert line.amount_minor == 19_807_032_295_249_444_805_130_556_056  # the rounded line is exact
    assert line.exact_amount == Decimal("19807032295249444805130556056")
