"""Catalog validation: strict keys, quoted prices, errors that name file, field and problem."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pricing.catalog import bundled_catalog_ids, iter_bundled, json_schema, load_catalog, read_catalog_text
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
         "tier bounds must be positive and ascending"),
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
