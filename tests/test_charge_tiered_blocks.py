"""Tiered blocks (Kill Bill): a tier of a graduated or volume charge priced per block of units.

Kill Bill's documentation names tiered blocks but prints no invoice amounts for
them; the worked examples below are the ones in Kill Bill's own test suite,
with its arithmetic. Kill Bill counts a tier's extent in blocks (``max``); here
a tier ends at ``up_to`` units, so ``up_to`` = previous bound + size x max.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from pricing.analysis.candidates import apply_overrides, price_parameters
from pricing.errors import CatalogError
from pricing.engine.rating import rate_one
from pricing.reporting.report_tables import plan_rules

from conftest import make_catalog

KILL_BILL = ("https://github.com/killbill/killbill/blob/master/invoice/src/test/java/org/killbill/"
             "billing/invoice/usage/TestContiguousIntervalConsumableInArrear.java")


def blocks_charge(model: str, tiers: str) -> str:
    return f'- metric: q\n  model: {model}\n  source: "{KILL_BILL}"\n  tiers:\n{tiers}'


# Kill Bill tier 1: blocks of 100, max 10 blocks (units 1-1,000), $1 a block;
# tier 2: blocks of 1,000, max 100 blocks (to 1,000 + 100,000 = 101,000), $1 a block
ALL_TIERS = blocks_charge("graduated", """\
    - {up_to: 1000, unit_price: "1", block_size: 100}
    - {unit_price: "1", block_size: 1000}
""")
# testComputeBilledUsageSizeOneWith_ALL_TIERS: blocks of 1 unit, 10 at $1.5, 100 at $1.0, then $0.5
SIZE_ONE = blocks_charge("graduated", """\
    - {up_to: 10, unit_price: "1.5", block_size: 1}
    - {up_to: 110, unit_price: "1.0", block_size: 1}
    - {unit_price: "0.5", block_size: 1}
""")
# TOP_TIER is Kill Bill's volume: the tier reached prices every unit, in its own blocks;
# tier 3: blocks of 1,000 at $0.5 (Kill Bill prices usage past the last max at the last tier)
TOP_TIER = blocks_charge("volume", """\
    - {up_to: 1000, unit_price: "1", block_size: 100}
    - {up_to: 101000, unit_price: "1", block_size: 1000}
    - {unit_price: "0.5", block_size: 1000}
""")


def total(charge: str, quantity: int, settings: str = "") -> Decimal:
    return rate_one(make_catalog(charge, currency="USD", settings=settings), "p", {"q": quantity}).total()


@pytest.mark.parametrize(
    ("charge", "quantity", "expected", "arithmetic"),
    [
        (ALL_TIERS, 5325, "15", "Kill Bill: 1,000 in tier 1 = 10 blocks x $1; 4,325 in tier 2 = 5 started blocks x $1"),
        (ALL_TIERS, 1000, "10", "tier 1 full: 10 blocks; tier 2 not entered"),
        (ALL_TIERS, 1001, "11", "1 unit into tier 2 starts a block of 1,000"),
        (SIZE_ONE, 111, "115.5", "Kill Bill: 10 x 1.5 + 100 x 1.0 + 1 x 0.5"),
        (TOP_TIER, 1000, "10", "Kill Bill: 1,000 units reach tier 1: 1,000 / 100 = 10 blocks x $1"),
        (TOP_TIER, 101000, "101", "Kill Bill: tier 2: 101,000 / 1,000 = 101 blocks x $1"),
        (TOP_TIER, 101001, "51", "Kill Bill: tier 3: 101 blocks + 1 started = 102 x $0.5"),
        (TOP_TIER, 300000, "150", "Kill Bill: tier 3: 300 blocks x $0.5"),
    ],
)
def test_kill_bill_examples(charge, quantity, expected, arithmetic):
    assert total(charge, quantity) == Decimal(expected).quantize(Decimal("0.01")), arithmetic


@pytest.mark.parametrize(
    ("charge", "quantity", "expected", "arithmetic"),
    [
        (ALL_TIERS, 5325, "14", "assumption: down counts completed blocks only: 10 + 4 blocks of 1,000"),
        (ALL_TIERS, 1099, "10", "assumption: 99 units into tier 2 complete no block"),
        (TOP_TIER, 101001, "50.5", "assumption: 101 completed blocks x $0.5"),
    ],
)
def test_package_rounding_down_counts_completed_blocks(charge, quantity, expected, arithmetic):
    assert total(charge, quantity, "package_rounding: down\n") == Decimal(expected).quantize(Decimal("0.01")), arithmetic


def test_block_and_unit_tiers_mix_and_explain_themselves():
    # assumption: a first tier per unit, then blocks of 500 at 2.00
    # 1,200 = 100 x 0.10 (10.00) + 1,100 in blocks of 500 (3 started blocks x 2.00 = 6.00)
    charge = """\
- metric: q
  model: graduated
  source: "assumption: test"
  tiers:
    - {up_to: 100, unit_price: "0.10"}
    - {unit_price: "2.00", block_size: 500}
"""
    line = rate_one(make_catalog(charge), "p", {"q": 1200}).lines[0]
    assert line.amount_minor == 1600
    assert line.tiers[1]["blocks"] == "3" and line.tiers[1]["block_size"] == "500"
    assert "block_size" not in line.tiers[0]
    assert "tier 2: 1100 in 3 block(s) of 500 x 2" in line.explanation


def test_fractional_block_sizes_on_a_decimal_metric():
    # assumption: GB metered to 0.001, priced per started 0.5 GB at 0.30:
    # 1.201 GB = 3 started blocks of 0.5 -> 0.90
    charge = """\
- metric: q
  model: volume
  source: "assumption: test"
  tiers:
    - {unit_price: "0.30", block_size: "0.5"}
"""
    catalog = make_catalog(charge, metrics="  q: {name: Storage, unit: GB, decimals: 3}\n")
    assert rate_one(catalog, "p", {"q": "1.201"}).total() == Decimal("0.90")


def test_block_size_must_be_positive():
    with pytest.raises(CatalogError, match="block_size must be positive"):
        make_catalog(blocks_charge("volume", '    - {unit_price: "1", block_size: 0}\n'))


def test_plan_rules_and_price_parameters_name_the_blocks():
    catalog = make_catalog(ALL_TIERS, currency="USD", metrics="  q: {name: Quantity, unit: call}\n")
    assert plan_rules(catalog, "p")[1] == (
        "q: up to 1,000 at USD 1.00 per block of 100 calls; above 1,000 at USD 1.00 per block of 1,000 calls"
        " (each tier prices its own units).")
    param = {p.key: p for p in price_parameters(catalog)}["p.q.tiers.1.block_size"]
    assert param.kind == "tier_block_size" and param.is_quantity
    # blocks of 2,000 in tier 2: 5,325 = 10 blocks in tier 1 + 4,325 in 3 started blocks of 2,000 -> 13
    bigger = apply_overrides(catalog, {"p.q.tiers.1.block_size": 2000})
    assert rate_one(bigger, "p", {"q": 5325}).total() == Decimal("13.00")
