"""Commitment advice: exact costs per level, the newsvendor optimum, unused-commitment risk."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.engine.catalog import load_catalog
from pricing.analysis.commitment import analyse_commitment, commitment_options, usage_samples
from pricing.errors import UsageError
from pricing.engine.rating import rate_one


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


# --- advice against every plan -------------------------------------------------------------------

ISSUE_USAGE = {"maa": 2400, "mac": 30000, "mat": 3}


def test_a_cheaper_plan_beats_every_commitment(quasr):
    # Issue 13: the app advised committing on Gravitate & Save while Startup was cheaper.
    # Scenarios 1,200 / 2,400 / 4,800 MAA weighted 1:2:1; MAC scales with MAA (12.5 calls per account),
    # so MAC past the free 10 x MAA is 2.5 x MAA: 3,000 / 6,000 / 12,000 calls x 0.004 = 12.00 / 24.00 / 48.00.
    # Startup: 49 + max(MAA - 2,500, 0) x 0.04 + MAC: 61.00 / 73.00 / 189.00 (49 + 2,300 x 0.04 + 48),
    #   expected (61 + 2 x 73 + 189) / 4 = 99.00.
    # Gravitate & Save: committing pays while P(billable MAA > level) > 0.035 / 0.05 = 0.7, i.e. up to the
    #   expected scenario's 2,300 billable accounts: 2,300 x 0.035 = 80.50 whatever the usage, plus overage
    #   (4,700 - 2,300) x 0.05 = 120 in the high scenario, plus MAC: 92.50 / 104.50 / 248.50,
    #   expected (92.50 + 2 x 104.50 + 248.50) / 4 = 137.50; Startup is 38.50 cheaper.
    result = analyse_commitment(quasr, "gravitate_and_save", ISSUE_USAGE, 1200, 2400, 4800, method="scenarios")
    assert result.best_level == 2300
    expected = {c.plan: c.expected_minor(quasr) for c in result.choices()}
    assert expected["startup"] == 9900 and expected["gravitate_and_save"] == 13750
    # Pay As You Go: (1,100 x 0.05 + 12 = 67, 2,300 x 0.05 + 24 = 139, 4,700 x 0.05 + 48 = 283) -> 157.00
    assert expected["payg"] == 15700
    assert result.recommended is not None and result.recommended.plan == "startup"
    assert not result.commitment_is_cheapest
    text = result.advice()
    assert text == ("Choose Startup: expected EUR 99.00 a month, EUR 38.50 less than the best commitment on "
                    "Gravitate & Save (2,300 Committed MAA, expected EUR 137.50). No commitment on Gravitate & Save "
                    "beats it for this usage range.")
    assert "committed_maa" not in text


def test_each_choice_is_the_mean_of_exact_ratings(quasr):
    result = analyse_commitment(quasr, "gravitate_and_save", ISSUE_USAGE, 1200, 2400, 4800, method="scenarios")
    for choice in result.choices():
        usage = dict(ISSUE_USAGE)
        if choice.plan == "gravitate_and_save":
            usage["committed_maa"] = choice.commitment
        totals = [rate_one(quasr, choice.plan, dict(usage, maa=maa, mac=maa * 125 // 10)).total_minor
                  for maa in (1200, 2400, 4800)]
        assert choice.weighted_total == totals[0] + 2 * totals[1] + totals[2] and choice.weight == 4


def test_the_commitment_is_advised_when_it_beats_every_plan(quasr):
    # 40,000 MAA for sure: commit to the 39,900 billable accounts, 39,900 x 0.035 = 1,396.50;
    # Startup 49 + (40,000 - 2,500) x 0.04 = 1,549.00 (152.50 more); Pay As You Go 39,900 x 0.05 = 1,995.00,
    # which is also Gravitate & Save without a commitment. MAC 0 and MAT 3 cost nothing on any plan.
    result = analyse_commitment(quasr, "gravitate_and_save", {"maa": 40000, "mac": 0, "mat": 3},
                                40000, 40000, 40000, method="scenarios")
    assert result.commitment_is_cheapest and result.best_level == 39900
    assert result.advice().startswith(
        "Commit to 39,900 Committed MAA on Gravitate & Save: expected EUR 1,396.50 a month. That is the cheapest "
        "plan for this usage: EUR 152.50 a month less than Startup, the cheapest other plan. Without a commitment "
        "Gravitate & Save would cost EUR 1,995.00 expected.")


def test_plans_limit_the_competition(quasr):
    # Without Startup among the choices, the commitment (137.50) beats Pay As You Go (157.00) and Enterprise
    result = analyse_commitment(quasr, "gravitate_and_save", ISSUE_USAGE, 1200, 2400, 4800, method="scenarios",
                                plans=["payg", "gravitate_and_save", "enterprise"])
    assert result.commitment_is_cheapest
    assert "EUR 19.50 a month less than Pay As You Go" in result.advice()  # 157.00 - 137.50


def test_other_commitment_plans_are_priced_at_their_default(quasr):
    # Enterprise, analysed on Gravitate & Save's metric, is quoted at its catalog default of 50,000 MAA
    result = analyse_commitment(quasr, "gravitate_and_save", ISSUE_USAGE, 1200, 2400, 4800, method="scenarios")
    enterprise = next(c for c in result.choices() if c.plan == "enterprise")
    assert enterprise.commitment == 50000
    # no committed_maa in the usage: rate_one prices Enterprise at the same default
    low, mid, high = (rate_one(quasr, "enterprise", dict(ISSUE_USAGE, maa=maa, mac=maa * 125 // 10)).total_minor
                      for maa in (1200, 2400, 4800))
    assert enterprise.weighted_total == low + 2 * mid + high


@settings(max_examples=25, deadline=None)
@given(low=st.integers(0, 60_000), spread=st.integers(0, 60_000), tail=st.integers(0, 60_000),
       mat=st.integers(0, 12))
def test_the_recommendation_is_never_beaten(quasr, low, spread, tail, mat):
    result = analyse_commitment(quasr, "gravitate_and_save", {"maa": low + spread, "mac": 0, "mat": mat},
                                low, low + spread, low + spread + tail, method="scenarios")
    best = result.recommended
    assert best is not None
    for choice in result.choices():
        if choice.eligible:
            assert best.weighted_total <= choice.weighted_total
    # the advice names the recommended plan first and never a metric id
    text = result.advice()
    assert best.name in text.split(":")[0] and "committed_" not in text


# --- pricing commitment ----------------------------------------------------------------------------


def test_cli_prints_the_advice_and_every_plan(capsys):
    from pricing.apps.cli import main

    status = main(["commitment", "quasr", "--plan", "gravitate_and_save", "--range", "1200,2400,4800",
                   "--usage", "mac=30000", "--usage", "mat=3", "--method", "scenarios"])
    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith("Choose Startup: expected EUR 99.00 a month, EUR 38.50 less than the best commitment")
    lines = {line.split("  ")[0]: line for line in out.splitlines()[3:]}
    assert "EUR 157.00" in lines["Pay As You Go"] and "EUR 137.50" in lines["Gravitate & Save"]
    assert "2,300" in lines["Gravitate & Save"] and "<- recommended" in lines["Startup"]
    assert "committed_maa" not in out and "Committed MAA" in out


def test_cli_json_and_no_billing_details(capsys):
    import json

    from pricing.apps.cli import main

    assert main(["commitment", "quasr", "--plan", "gravitate_and_save", "--range", "1200,2400,4800",
                 "--usage", "mac=30000", "--usage", "mat=3", "--no-billing-details", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # without billing details only Pay As You Go is open, and usage past its free tier is blocked, not billed
    assert data["recommended_plan"] == "payg" and not data["commitment_is_cheapest"]
    choices = {c["plan"]: c for c in data["choices"]}
    assert choices["payg"]["expected"] == "0.00"
    assert not choices["gravitate_and_save"]["eligible"]
    assert choices["gravitate_and_save"]["reason"] == "Gravitate & Save needs billing details (address and payment method)"
    assert data["advice"] == ("Choose Pay As You Go: expected EUR 0.00 a month. Gravitate & Save is not available for "
                              "this usage: Gravitate & Save needs billing details (address and payment method).")


@pytest.mark.parametrize("argv, message", [
    (["--plan", "payg", "--range", "1,2,3"], "sells no commitment"),
    (["--plan", "gravitate_and_save", "--range", "1,2"], "expected LOW,EXPECTED,HIGH"),
    (["--plan", "gravitate_and_save", "--range", "5,2,3"], "0 <= low <= expected <= high"),
    (["--plan", "nope", "--range", "1,2,3"], "has no plan 'nope'"),
])
def test_cli_bad_input_is_one_line(capsys, argv, message):
    from pricing.apps.cli import main

    assert main(["commitment", "quasr", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
