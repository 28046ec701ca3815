"""Hypothesis properties of the rating engine, over random catalogs and usage."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.engine.catalog import iter_bundled, load_catalog, parse_catalog, read_catalog_text
from pricing.engine.rating import rate, rate_one

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("50"), places=4).map(str)
quantities = st.integers(min_value=0, max_value=10**9)


@st.composite
def tiers(draw, min_size=1):
    count = draw(st.integers(min_value=min_size, max_value=5))
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=10**6), min_size=count - 1, max_size=count - 1)))
    out = [{"up_to": b, "unit_price": draw(prices), "flat_fee": draw(prices)} for b in bounds]
    out.append({"unit_price": draw(prices), "flat_fee": draw(prices)})
    return out


@st.composite
def charges(draw, models=("per_unit", "graduated", "volume", "package", "flat")):
    model = draw(st.sampled_from(models))
    charge: dict = {"metric": "q", "model": model, "source": "assumption: generated"}
    if model == "per_unit":
        charge["unit_price"] = draw(prices)
    elif model in ("graduated", "volume"):
        charge["tiers"] = draw(tiers())
    elif model == "package":
        charge["package_size"] = draw(st.integers(min_value=1, max_value=1000))
        charge["package_price"] = draw(prices)
    else:
        charge["fee"] = draw(prices)
    if draw(st.booleans()):
        charge["included"] = {"quantity": draw(st.integers(0, 10**5)), "source": "assumption: generated"}
    return charge


def catalog_with(*plan_charges, currency="EUR", rounding="half_up", bounds="up_to_inclusive"):
    data = {
        "id": "generated", "name": "Generated", "version": "1", "currency": currency,
        "settings": {"rounding": rounding, "tier_bounds": bounds},
        "metrics": {"q": {"name": "Q"}, "r": {"name": "R"}},
        "plans": {f"p{i}": {"name": f"P{i}", "charges": c,
                            "recurring": {"amount": "9.99", "source": "assumption: generated"}}
                  for i, c in enumerate(plan_charges)},
    }
    return parse_catalog(data, "<generated>")


@SETTINGS
@given(charge=charges(), other=charges(), quantity=quantities,
       currency=st.sampled_from(["EUR", "JPY", "KWD"]), rounding=st.sampled_from(["half_up", "half_even"]))
def test_total_is_the_sum_of_the_lines(charge, other, quantity, currency, rounding):
    other = {**other, "metric": "r"}
    catalog = catalog_with([charge, other], currency=currency, rounding=rounding)
    invoice = rate_one(catalog, "p0", {"q": quantity, "r": quantity // 3})
    assert invoice.total_minor == sum(line.amount_minor for line in invoice.lines)
    for line in invoice.lines:  # each line is its exact amount rounded once
        assert abs(Decimal(line.amount_minor).scaleb(-invoice.decimals) - line.exact_amount) <= Decimal(1).scaleb(-invoice.decimals) / 2


@SETTINGS
@given(charge=charges(models=("per_unit", "graduated", "package", "flat")),
       a=quantities, b=quantities, bounds=st.sampled_from(["up_to_inclusive", "up_to_exclusive"]))
def test_more_usage_never_costs_less_except_volume(charge, a, b, bounds):
    catalog = catalog_with([charge], bounds=bounds)
    low, high = sorted((a, b))
    totals = rate(catalog, pd.DataFrame({"q": [low, high]})).totals()["p0"]
    assert totals[0] <= totals[1]


@SETTINGS
@given(price=prices, flat=prices, quantity=quantities)
def test_single_tier_graduated_equals_volume(price, flat, quantity):
    tier = [{"unit_price": price, "flat_fee": flat}]
    graduated = {"metric": "q", "model": "graduated", "tiers": tier, "source": "assumption: generated"}
    volume = {**graduated, "model": "volume"}
    catalog = catalog_with([graduated], [volume])
    totals = rate(catalog, {"q": quantity}).totals()
    assert totals["p0"][0] == totals["p1"][0]


@SETTINGS
@given(charge=charges(models=("per_unit", "package")), included=st.integers(0, 10**6), data=st.data())
def test_usage_within_the_included_quantity_costs_nothing(charge, included, data):
    charge = {**charge, "included": {"quantity": included, "source": "assumption: generated"}}
    catalog = catalog_with([charge])
    quantity = data.draw(st.integers(0, included))
    invoice = rate_one(catalog, "p0", {"q": quantity})
    assert invoice.total_minor == 999  # only the 9.99 recurring fee


@SETTINGS
@given(rows=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**7), st.integers(0, 20),
                               st.integers(0, 10**5)), min_size=1, max_size=25))
def test_rating_a_table_equals_rating_its_rows_one_by_one(rows):
    catalog = load_catalog("quasr")
    table = pd.DataFrame(rows, columns=["maa", "mac", "mat", "committed_maa"])
    rated = rate(catalog, table)
    totals = rated.totals()
    for i, (maa, mac, mat, committed) in enumerate(rows):
        usage = {"maa": maa, "mac": mac, "mat": mat, "committed_maa": committed}
        for plan in catalog.plans:
            single = rate_one(catalog, plan, usage)
            assert totals[plan][i] == single.total_minor
            assert rated.invoice(i, plan) == single


@SETTINGS
@given(charge=charges(), usage=quantities)
def test_a_catalog_written_to_yaml_and_read_back_rates_the_same(charge, usage):
    catalog = catalog_with([charge])
    again = read_catalog_text(catalog.to_yaml(), "<round trip>")
    assert again == catalog
    assert rate_one(again, "p0", {"q": usage}) == rate_one(catalog, "p0", {"q": usage})


def test_bundled_catalogs_round_trip_through_yaml():
    for catalog in iter_bundled():
        again = read_catalog_text(catalog.to_yaml(), catalog.id)
        assert again == catalog
        assert rate(again, catalog.sample_usage).totals().equals(rate(catalog, catalog.sample_usage).totals())


@SETTINGS
@given(plan_charges=st.lists(st.lists(charges(), min_size=1, max_size=3), min_size=1, max_size=3),
       rows=st.lists(st.tuples(quantities, quantities), min_size=1, max_size=12),
       chunk=st.integers(1, 5), data=st.data())
def test_random_catalogs_rate_a_table_row_for_row(plan_charges, rows, chunk, data):
    """Over random catalogs, and chunk sizes that split the table, the table path equals single rows."""
    import pricing.engine.rating as rating

    plan_charges = [[{**c, "metric": data.draw(st.sampled_from(["q", "r"]))} for c in cs] for cs in plan_charges]
    catalog = catalog_with(*plan_charges)
    table = pd.DataFrame(rows, columns=["q", "r"])
    saved, rating.CHUNK_ROWS = rating.CHUNK_ROWS, chunk
    try:
        rated = rate(catalog, table)
        long = rated.long()
        for i, (q, r) in enumerate(rows):
            for plan in catalog.plans:
                single = rate_one(catalog, plan, {"q": q, "r": r})
                assert rated.invoice(i, plan) == single
                assert rated.totals()[plan][i] == single.total_minor
                mine = long[(long["row"] == i) & (long["plan"] == plan)]["amount_minor"].tolist()
                assert mine == [line.amount_minor for line in single.lines]
    finally:
        rating.CHUNK_ROWS = saved
