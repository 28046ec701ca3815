"""Catalog validation: strict keys, quoted prices, errors that name file, field and problem."""

from __future__ import annotations

import json
from decimal import Decimal
import re
from pathlib import Path

import pytest

from pricing.engine.catalog import bundled_catalog_ids, iter_bundled, json_schema, load_catalog, read_catalog_text
from pricing.errors import CatalogError

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

MINIMAL = """\
id: t
name: T
version: "1"
currency: EUR
metrics: {q: {name: Q}}
plans:
  p:
    name: P
    charges:
      - {metric: q, model: per_unit, unit_price: PRICE, source: "assumption: t"}
"""


def test_bundled_catalogs_are_the_four_seed_systems():
    assert bundled_catalog_ids() == ["license_jp", "logto", "prepaid_auth", "quasr"]
    assert list(load_catalog("quasr").plans) == ["payg", "gravitate_and_save", "startup", "enterprise"]
    assert set(load_catalog("quasr").metrics) >= {"maa", "mac", "mat"}
    assert set(load_catalog("logto").metrics) == {
        "tokens", "m2m_apps", "api_resources", "enterprise_sso", "mfa", "organizations", "tenant_members"}
    assert load_catalog("license_jp").currency == "JPY"
    assert load_catalog("license_jp").decimals == 0


def test_unquoted_price_is_rejected_with_file_and_path(tmp_path):
    path = tmp_path / "cat.yaml"
    path.write_text(MINIMAL.replace("PRICE", "0.004"))
    with pytest.raises(CatalogError) as error:
        load_catalog(path)
    message = str(error.value)
    assert message.startswith(f"{path}: plans.p.charges.0.unit_price: must be a quoted decimal string")
    assert "\n" not in message


def test_quoted_price_is_accepted():
    catalog = read_catalog_text(MINIMAL.replace("PRICE", '"0.004"'), "x")
    assert str(catalog.plans["p"].charges[0].unit_price) == "0.004"


def test_unknown_keys_are_rejected():
    text = MINIMAL.replace("PRICE", '"1"').replace("name: P\n", "name: P\n    recuring: {}\n")
    with pytest.raises(CatalogError, match=r"<x>: plans.p.recuring: Extra inputs are not permitted"):
        read_catalog_text(text, "<x>")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("metric: q,", "metric: nope,"), "plans.p.charges.0 names metric 'nope', not declared under 'metrics'"),
        (("currency: EUR", "currency: XYZ"), "currency 'XYZ' has no known minor unit"),
        (('unit_price: PRICE', 'unit_price: "abc"'), "'abc' is not a decimal number"),
        (("model: per_unit, unit_price: PRICE", 'model: graduated, tiers: [{up_to: 5, unit_price: "1"}]'),
         "the last tier must have no 'up_to'"),
        (("model: per_unit, unit_price: PRICE", 'model: volume, tiers: [{up_to: 5}, {up_to: 3}, {}]'),
         "tier bounds must be positive and ascending, got 5, 3"),  # numbers as written, not Decimal('5')
        (('source: "assumption: t"', 'source: "somewhere"'), "source: String should match pattern"),
    ],
)
def test_invalid_catalogs_name_the_problem(edit, message):
    text = MINIMAL.replace(*edit).replace("PRICE", '"1"')
    with pytest.raises(CatalogError, match=re.escape(message)):
        read_catalog_text(text, "<x>")


def test_malformed_yaml_names_the_line():
    with pytest.raises(CatalogError, match=r"<x>: line 2: not valid YAML"):
        read_catalog_text("id: t\nname: a: b\n", "<x>")


def test_unknown_catalog_lists_the_bundled_ones():
    with pytest.raises(CatalogError, match="unknown catalog 'nope' \\(bundled: license_jp, logto, prepaid_auth, quasr"):
        load_catalog("nope")
    with pytest.raises(CatalogError, match="missing.yaml: no such catalog file"):
        load_catalog("missing.yaml")


def test_every_number_in_a_bundled_catalog_has_a_source():
    """Prices, fees, limits and included quantities sit in objects with a valid 'source'."""
    for catalog in iter_bundled():
        for plan_id, plan in catalog.plans.items():
            if plan.recurring:
                assert plan.recurring.source
            for charge in plan.charges:
                assert charge.source, (catalog.id, plan_id, charge.metric)
                if charge.included:
                    assert charge.included.source
                if charge.commitment:
                    assert charge.commitment.source
            for limit in plan.limits:
                assert limit.source


def test_seed_citations_name_real_seed_files():
    cited = set()
    for path in Path("pricing/catalogs").glob("*.yaml"):
        cited |= set(re.findall(r"seed:([0-9]{3}_[0-9a-f]+\.txt)", path.read_text()))
    assert cited, "bundled catalogs cite the seeds"
    if SEEDS.is_dir():  # shared/ sits beside the clone in CI and in development
        assert cited <= {p.name for p in SEEDS.iterdir()}
    else:
        pytest.skip("shared/seeds not beside this checkout")


def test_json_schema_describes_the_format():
    schema = json_schema()
    assert schema["title"] == "Pricing workbench catalog"
    assert {"id", "currency", "metrics", "plans"} <= set(schema["required"])
    assert "graduated" in json.dumps(schema)


# --- issue 12: catalogs validated completely --------------------------------------------------

FULL = """\
id: t
name: T
version: "1"
currency: EUR
metrics:
  q: {name: Q}
  seats: {name: Seats, kind: count}
  gb: {name: GB, decimal_places: 2}
plans:
  p:
    name: P
    recurring: {amount: "10", source: "assumption: t"}
    minimum_spend: {amount: "5", source: "assumption: t"}
    limits: [{metric: seats, maximum: 10, source: "assumption: t"}]
    discounts: [{amount: "1"}]
    charges:
      - {metric: q, model: per_unit, unit_price: "0.004", source: "assumption: t",
         included: {quantity: 100, source: "assumption: t"}}
      - {metric: q, model: graduated, source: "assumption: t",
         tiers: [{up_to: 1000, unit_price: "0.1", flat_fee: "1"}, {unit_price: "0.05"}]}
      - {metric: gb, model: package, package_size: "0.5", package_price: "2", source: "assumption: t"}
      - {metric: seats, model: flat, fee: "3", source: "assumption: t"}
"""


def test_the_full_example_is_valid():
    catalog = read_catalog_text(FULL, "<x>")
    assert catalog.plans["p"].charges[2].package_size == Decimal("0.5")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('unit_price: "0.004"', 'unit_price: "-0.004"', "plans.p.charges.0.unit_price"),
        ('recurring: {amount: "10"', 'recurring: {amount: "-10"', "plans.p.recurring.amount"),
        ('minimum_spend: {amount: "5"', 'minimum_spend: {amount: "-5"', "plans.p.minimum_spend.amount"),
        ('flat_fee: "1"', 'flat_fee: "-1"', "plans.p.charges.1.tiers.0.flat_fee"),
        ('{unit_price: "0.05"}', '{unit_price: "-0.05"}', "plans.p.charges.1.tiers.1.unit_price"),
        ('package_price: "2"', 'package_price: "-2"', "plans.p.charges.2.package_price"),
        ('fee: "3"', 'fee: "-3"', "plans.p.charges.3.fee"),
        ("maximum: 10", "maximum: -10", "plans.p.limits.0.maximum"),
        ("included: {quantity: 100", "included: {quantity: -100", "plans.p.charges.0.included.quantity"),
        ('model: flat, fee: "3"',
         'model: flat, fee: "3", commitment: {quantity_metric: seats, unit_price: "-1"}',
         "plans.p.charges.3.commitment.unit_price"),
        ("currency: EUR", 'currency: EUR\ntax_percent: "-21"', "tax_percent"),
    ],
)
def test_negative_money_and_quantities_are_refused(old, new, field):
    assert old in FULL
    with pytest.raises(CatalogError, match=rf"^<x>: {re.escape(field)}: .*must not be negative"):
        read_catalog_text(FULL.replace(old, new), "<x>")


def test_a_discount_amount_stays_money_off():
    with pytest.raises(CatalogError, match="must not be negative"):
        read_catalog_text(FULL.replace('discounts: [{amount: "1"}]', 'discounts: [{amount: "-1"}]'), "<x>")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"1e400"', "beyond what the engine keeps exact"),
        ('"1e-99999999"', "more than 12 decimal places"),
        ('"1234567890123456789"', "beyond what the engine keeps exact"),  # 19 significant digits
        ('"123456789.0123456789"', "beyond what the engine keeps exact"),
        ('"0.0000000000001"', "more than 12 decimal places"),
        ('"Infinity"', "not a finite number"),
        ('"NaN"', "not a finite number"),
    ],
)
def test_magnitudes_beyond_exact_are_refused(value, message):
    with pytest.raises(CatalogError, match=rf"plans\.p\.charges\.0\.unit_price: .*{message}"):
        read_catalog_text(FULL.replace('unit_price: "0.004"', f"unit_price: {value}"), "<x>")


def test_refusing_a_huge_exponent_is_fast():
    import time

    started = time.perf_counter()
    for value in ('"1e-99999999"', '"1e99999999"', "1" + "0" * 5000):
        with pytest.raises(CatalogError):
            read_catalog_text(FULL.replace("maximum: 10", f"maximum: {value}"), "<x>")
    assert time.perf_counter() - started < 1


def test_eighteen_digits_are_kept_exact():
    catalog = read_catalog_text(FULL.replace('unit_price: "0.004"', 'unit_price: "123456.789012345678"'), "<x>")
    assert catalog.plans["p"].charges[0].unit_price == Decimal("123456.789012345678")


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("up_to: 1000,", 'up_to: "1000.5",', "plans.p.charges.1.tiers.0.up_to: 1000.5 has more decimal places"
                                               " than metric 'q' (whole units)"),
        ('package_size: "0.5"', 'package_size: "0.125"', "plans.p.charges.2.package_size: 0.125 has more decimal"
                                                        " places than metric 'gb' (at most 2 decimal places)"),
        ("included: {quantity: 100", 'included: {quantity: "100.5"', "plans.p.charges.0.included.quantity"),
        ("maximum: 10", 'maximum: "10.5"', "plans.p.limits.0.maximum"),
        ("currency: EUR", 'currency: EUR\nsample_usage: {q: "1.5"}', "sample_usage.q"),
    ],
)
def test_quantities_with_more_decimals_than_their_metric_are_refused(old, new, where):
    assert old in FULL
    with pytest.raises(CatalogError, match=re.escape(where)):
        read_catalog_text(FULL.replace(old, new), "<x>")


def test_a_metric_written_with_the_older_decimals_key_still_loads():
    new = read_catalog_text(FULL, "<new>")
    old = read_catalog_text(FULL.replace("decimal_places: 2", "decimals: 2"), "<old>")
    assert old.metrics["gb"].decimal_places == new.metrics["gb"].decimal_places == 2
    assert old.decimals == 2  # the catalog's own decimals: EUR's minor unit, not a quantity's places
    with pytest.raises(CatalogError, match=r"metrics\.gb\.decimal_places: Input should be less than or equal to 6"):
        read_catalog_text(FULL.replace("decimal_places: 2", "decimal_places: 7"), "<x>")


def test_duplicate_keys_are_refused_with_the_line():
    seat_price_twice = FULL.replace('fee: "3", source', 'fee: "3", fee: "300", source')
    with pytest.raises(CatalogError, match=r"^<x>: line 22: not valid YAML: duplicate key 'fee' \(first given on line 22\)$"):
        read_catalog_text(seat_price_twice, "<x>")


def test_duplicate_plan_ids_are_refused_with_the_line():
    twice = FULL + '  p:\n    name: Again\n    recurring: {amount: "500", source: "assumption: t"}\n'
    with pytest.raises(CatalogError, match=r"^<x>: line 23: not valid YAML: duplicate key 'p' \(first given on line 10\)$"):
        read_catalog_text(twice, "<x>")


def test_yaml_merge_keys_may_still_be_overridden():
    text = FULL.replace("plans:\n", "x-base: &base {name: Base}\nplans:\n").replace(
        "  p:\n    name: P\n", "  p:\n    <<: *base\n    name: P\n")
    with pytest.raises(CatalogError, match="x-base: Extra inputs"):  # merge accepted; the anchor key is not
        read_catalog_text(text, "<x>")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (FULL.replace("name: T", "name: Tarifs été").encode("latin-1"), r"not UTF-8 text \(byte 0xe9 at offset \d+\)"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not UTF-8 text"),
        (b"id: t\x00\x01\x02", r"not YAML text \(binary content"),
        (("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200))).encode(), "nested deeper than 64 levels"),
        (("a: " + "[" * 5000 + "]" * 5000).encode(), "nested deeper than 64 levels"),
        (("a: " + "{b: " * 3000 + "1" + "}" * 3000).encode(), "nested deeper than 64 levels"),
        (b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
         b"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
         b"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", "alias bomb"),
    ],
)
def test_unreadable_yaml_is_one_line(tmp_path, content, message):
    path = tmp_path / "cat.yaml"
    path.write_bytes(content)
    with pytest.raises(CatalogError, match=message) as error:
        load_catalog(path)
    assert "\n" not in str(error.value) and str(error.value).startswith(str(path))
