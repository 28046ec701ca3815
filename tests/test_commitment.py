"""Commitment advice: exact costs per level, the newsvendor optimum, unused-commitment risk."""

from __future__ import annotations

import pytest

from pricing.catalog import load_catalog
from pricing.commitment import analyse_commitment, commitment_options, usage_samples
from pricing.errors import UsageError
from pricing.rating import rate_one


@pytest.fixture(scope="module")
def quasr():
    return load_catalog("quasr")


USAGE = {"maa": 20000, "mac": 0, "mat": 3}


def test_options_list_each_commitment(quasr):
    keys = [o.key for o in commitment_options(quasr)]
    assert keys == ["gravitate_and_save.committed_maa", "gravitate_and_save.committed_mat",
                    "enterprise.committed_maa", "enterprise.committed_mat"]


def test_costs_are_exact_ratings(quasr):
    result = analyse_commitment(quasr, "gravitate_and_save", USAGE, 10000, 20000, 40000, method="scenarios",
                                levels=[0, 5000, 19900])
    for i, level in enumerate([0, 5000, 19900]):
        for j, maa in enumerate([10000, 20000, 40000]):
            usage = dict(USAGE, maa=maa, committed_maa=level)
            assert result.costs[i, j] == rate_one(quasr, "gravitate_and_save", usage).total_minor


def test_scenarios_optimum_is_the_expected_billable_usage(quasr):
    # overage 0.05 vs commitment 0.035: committing is worth it while P(usage > level) > 0.3;
    # with weights 1/4, 1/2, 1/4 that holds up to the expected scenario's 19,900 billable accounts
    result = analyse_commitment(quasr, "gravitate_and_save", USAGE, 10000, 20000, 40000, method="scenarios")
    assert result.best_level == 19900
    best = result.best
    assert best["prob_unused"] == pytest.approx(0.25)
    # the low scenario bills 9,900 accounts: 10,000 committed ones go unused, 10,000 x 0.035 = EUR 350
    assert best["p95_unused_minor"] == 35000
    assert best["expected_unused_minor"] == pytest.approx(35000 / 4)


def test_monte_carlo_risk_tracks_the_critical_ratio(quasr):
    result = analyse_commitment(quasr, "gravitate_and_save", USAGE, 10000, 20000, 40000, samples=4000, seed=3)
    assert 0.25 <= result.best["prob_unused"] <= 0.35
    zero = result.at(0)
    assert zero["prob_unused"] == 0 and zero["expected_unused_minor"] == 0
    assert result.best["expected_minor"] < zero["expected_minor"]
    # more commitment, more risk of paying for unused units
    assert result.levels["prob_unused"].is_monotonic_increasing


def test_same_seed_same_answer(quasr):
    a = analyse_commitment(quasr, "enterprise", {"maa": 200000, "mat": 20}, 100000, 200000, 300000, seed=9)
    b = analyse_commitment(quasr, "enterprise", {"maa": 200000, "mat": 20}, 100000, 200000, 300000, seed=9)
    assert a.best_level == b.best_level


@pytest.mark.parametrize("args", [(30000, 20000, 40000), (-1, 0, 5)])
def test_bad_ranges(quasr, args):
    with pytest.raises(UsageError):
        analyse_commitment(quasr, "gravitate_and_save", USAGE, *args)


def test_plan_without_commitment(quasr):
    with pytest.raises(UsageError, match="sells no commitment"):
        analyse_commitment(quasr, "payg", USAGE, 1, 2, 3)


def test_samples_weights_sum_to_one():
    values, weights = usage_samples(10, 20, 40, "triangular", 500, 1)
    assert weights.sum() == pytest.approx(1) and values.min() >= 10 and values.max() <= 40
