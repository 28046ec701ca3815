"""Widget logic without a browser: set a widget's value, read the state the engine predicts."""

from __future__ import annotations

import pytest

from pricing.backtest import backtest, synthetic_history
from pricing.candidates import apply_overrides
from pricing.catalog import load_catalog
from pricing.comparison import compare
from pricing.forecast import forecast
from pricing.rating import RateOptions
from pricing.widgets import PlanComparisonApp, PriceTuningApp, cheapest_switches


@pytest.fixture(scope="module")
def app():
    return PlanComparisonApp("quasr")


def engine_cheapest(catalog_id, usage, billing_details=True):
    best = compare(load_catalog(catalog_id), usage, options=RateOptions(billing_details=billing_details)).cheapest
    return best.plan if best else None


def test_starts_from_the_catalog_sample_usage(app):
    quasr = load_catalog("quasr")
    assert app.usage()["maa"] == int(quasr.sample_usage["maa"])
    assert app.cheapest == engine_cheapest("quasr", app.usage())
    assert 'data-plan="%s"' % app.cheapest in app.cheapest_label.value


@pytest.mark.parametrize("maa", [50, 2400, 20000, 300000])
def test_number_box_drives_table_label_and_figure(app, maa):
    app.billing_details.value = True
    app.boxes["maa"].value = maa
    usage = app.usage()
    assert usage["maa"] == maa and app.sliders["maa"].value == maa
    expected = compare(load_catalog("quasr"), usage)
    assert app.cheapest == (expected.cheapest.plan if expected.cheapest else None)
    assert [r["plan"] for r in app.state.rows] == [inv.plan for inv in expected.invoices]
    assert [r["monthly_minor"] for r in app.state.rows] == [inv.total_minor for inv in expected.invoices]
    assert all(r["annual_minor"] == 12 * r["monthly_minor"] for r in app.state.rows)
    prospect = next(t for t in app.figure.data if t.meta == "prospect")
    assert prospect.x[0] == maa
    assert prospect.y[0] == pytest.approx(expected.cheapest.total_minor / 100)


def test_slider_moves_the_box(app):
    app.sliders["maa"].value = 900
    assert app.boxes["maa"].value == 900
    assert app.cheapest == engine_cheapest("quasr", app.usage())


def test_box_past_slider_range_widens_it(app):
    app.boxes["maa"].value = app.sliders["maa"].max + 5
    assert app.sliders["maa"].value == app.boxes["maa"].value


def test_billing_details_off_marks_plans_ineligible_with_reasons(app):
    app.boxes["maa"].value = 2400
    app.billing_details.value = False
    rows = {r["plan"]: r for r in app.state.rows}
    assert rows["payg"]["eligible"] and app.cheapest == "payg"
    assert "billing details" in rows["startup"]["reason"]
    assert not rows["enterprise"]["eligible"]
    app.billing_details.value = True


def test_figure_has_a_trace_per_plan_and_exact_break_evens(app):
    app.boxes["maa"].value = 2400
    plans = [t.meta for t in app.figure.data if t.meta in load_catalog("quasr").plans]
    assert plans == list(load_catalog("quasr").plans)
    assert app.state.switches
    for switch in app.state.switches:
        # one unit below the switch the old plan is the cheapest eligible one; at it, the new one is
        below = dict(app.usage(), maa=switch.quantity - 1)
        at = dict(app.usage(), maa=switch.quantity)
        assert engine_cheapest("quasr", below) == switch.before
        assert engine_cheapest("quasr", at) == switch.after
    marks = next(t for t in app.figure.data if t.meta == "break-even")
    assert list(marks.x) == [s.quantity for s in app.state.switches]


def test_term_and_growth_give_the_forecast_totals(app):
    app.growth.value = 5.0
    app.term.value = 36
    expected = forecast(load_catalog("quasr"), app.usage(), "5", 36)
    assert {r["plan"]: r["term_minor"] for r in app.state.rows} == expected.totals()
    app.growth.value = 3.0
    app.term.value = 24


def test_catalog_switch_rebuilds_inputs():
    app = PlanComparisonApp("quasr")
    app.catalog_select.value = "logto"
    assert set(app.boxes) == set(load_catalog("logto").charged_metrics())
    assert app.cheapest == engine_cheapest("logto", app.usage())
    app.boxes["mfa"].value = False
    assert app.usage()["mfa"] == 0
    app.catalog_select.value = "prepaid_auth"
    app.boxes["users"].value = 200_000  # past every preset's limit
    rows = {r["plan"]: r for r in app.state.rows}
    assert app.cheapest == "custom" and "exceeds" in rows["business"]["reason"]


def test_bad_input_shows_one_line_and_keeps_last_state(app):
    before = app.state
    app.growth.value = -50.0  # allowed; the engine accepts it
    assert app.state is not before and app.status.value == ""
    app.growth.value = 3.0


def test_commitment_button_runs_the_optimiser():
    app = PlanComparisonApp("quasr", usage={"maa": 20000, "mac": 0, "mat": 3})
    panel = app.commitment
    panel.choice.value = "gravitate_and_save.committed_maa"
    panel.low.value, panel.expected.value, panel.high.value = 10000, 20000, 40000
    panel.method.value = "scenarios"
    panel.button.click()
    assert panel.analysis is not None and panel.analysis.best_level == 19900
    assert 'data-level="19900"' in panel.result.value
    assert len(panel.figure.data) == 2


def test_cheapest_switches_on_license_catalog():
    catalog = load_catalog("license_jp")
    usage = {"mau": 1800, "registered_users": 5200, "registered_rps": 4}
    curve, switches = cheapest_switches(catalog, "mau", usage, 20000)
    assert [(s.before, s.after) for s in switches] == [("starter", "business")]
    # starter 30,000 + 30 x (q - 1,000) passes business's 120,000 at q = 4,000
    assert switches[0].quantity == 4001


def test_price_tuning_app_backtests_edits():
    quasr = load_catalog("quasr")
    history = synthetic_history(quasr, 200, 2, seed=2)
    tuning = PriceTuningApp(quasr, history)
    tuning.fields["payg.maa.unit_price"].value = "0.06"
    tuning.run_button.click()
    assert tuning.overrides() == {"payg.maa.unit_price": "0.06"}
    expected = backtest(quasr, apply_overrides(quasr, {"payg.maa.unit_price": "0.06"}), history)
    assert tuning.result.totals() == expected.totals()
    assert f'data-delta="{expected.totals()["delta_minor"]}"' in tuning.summary.value
    tuning.fields["payg.maa.unit_price"].value = "oops"
    tuning.run_button.click()
    assert "not a decimal" in tuning.status.value
    tuning.tornado_button.click()
    assert tuning.sensitivity is not None and len(tuning.sensitivity) > 10
