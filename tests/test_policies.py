"""Billing conventions side by side (issue 16): ``pricing policies`` on the finance fixture's March.

The book (tests/fixtures/finance, see tests/test_finance_flow.py): acme (license_jp, Starter), beta
(license_jp, Starter, upgraded to Business at 00:00 on 16 March), gamma (prepaid_auth ledger). Both
catalogs bill with ``day_count: actual_days`` and ``rounding: half_up``.

By hand, beta's invoice of 1 April under each day count:
- actual_days (the catalog's own): 16 of 31 days left: Starter credited 30,000 x 16/31 = 15,483.87
  -> -15,484; Business charged 120,000 x 16/31 = 61,935.48 -> 61,935;
- thirty_day_month (30/360): 16 March to 1 April is 15 days of 30: -15,000 and 60,000, so the credit
  moves by +484, the proration by -1,935 and the invoice by -1,451 (166,451 -> 165,000);
- exact_seconds: the change is at midnight, so 16 days of 31 in seconds as well: nothing moves.
Rounding: no amount of March lies on a half (15,483.87, 61,935.48, tax 3,009.0), so half_even moves
nothing. The ledger's daily price follows the prepaid terms' own ``daily_price`` rule, not the
proration day count: gamma moves under none of these.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from pricing.errors import ReportError
from pricing.analysis.policies import combinations, parse_vary, with_settings
from pricing.engine.rating import rate_one

from conftest import make_catalog
from test_finance_flow import metered_store, run


@pytest.fixture()
def metered(tmp_path, capsys) -> Path:
    return metered_store(tmp_path, capsys)


def test_day_counts_and_rounding_on_march(metered, tmp_path, capsys):
    out_dir = tmp_path / "out"
    status, out, err = run(capsys, "policies", "--month", "2026-03", "--store", str(metered), "--out", str(out_dir),
                           "--vary", "day_count=actual_days,thirty_day_month,exact_seconds",
                           "--vary", "rounding=half_up,half_even", "--json")
    assert status == 0, err
    data = json.loads(out)
    assert data["baseline"]["totals"] == {"JPY": "199550", "USD": "9.92"}  # 33,099 + 166,451; 9.92
    jpy = {tuple(sorted(c["settings"].items())): next(r for r in c["by_currency"] if r["currency"] == "JPY")
           for c in data["combinations"]}
    usd = [next(r for r in c["by_currency"] if r["currency"] == "USD") for c in data["combinations"]]
    thirty = jpy[(("day_count", "thirty_day_month"), ("rounding", "half_up"))]
    assert (thirty["difference_minor"], thirty["invoices_changed"], thirty["customers_changed"]) == (-1451, 1, 1)
    assert (thirty["largest"], thirty["p50"], thirty["p95"]) == ("1451", "1451", "1451")
    for key in [(("day_count", "actual_days"), ("rounding", "half_even")),
                (("day_count", "exact_seconds"), ("rounding", "half_up"))]:
        assert (jpy[key]["difference_minor"], jpy[key]["invoices_changed"]) == (0, 0), key
    assert all(r["difference_minor"] == 0 for r in usd)

    book = openpyxl.load_workbook(out_dir / "policies.xlsx")
    rows = list(book["Lines JPY"].iter_rows(values_only=True))
    assert rows[0][-1] == "Moved by"
    moved = {(r[0], r[3], r[5], r[6], r[7], r[8]) for r in rows[1:]}
    assert moved == {
        ("day_count=thirty_day_month, rounding=half_up", "Starter fee", -15484, -15000, 484, "day_count=thirty_day_month"),
        ("day_count=thirty_day_month, rounding=half_up", "Business fee", 61935, 60000, -1935, "day_count=thirty_day_month"),
        # half_even alone moves nothing on these lines, so the day count alone is named
        ("day_count=thirty_day_month, rounding=half_even", "Starter fee", -15484, -15000, 484,
         "day_count=thirty_day_month"),
        ("day_count=thirty_day_month, rounding=half_even", "Business fee", 61935, 60000, -1935,
         "day_count=thirty_day_month"),
    }
    page = (out_dir / "policies.html").read_text(encoding="utf-8")
    assert "Billing conventions side by side: 2026-03" in page and "JPY -1,451" in page
    assert (out_dir / "assets" / "plotly.min.js").is_file()


def test_the_catalogs_own_settings_change_nothing(metered, capsys, tmp_path):
    status, out, _ = run(capsys, "policies", "--month", "2026-03", "--store", str(metered), "--out",
                         str(tmp_path / "o"), "--vary", "day_count=actual_days", "--vary", "rounding=half_up", "--json")
    data = json.loads(out)
    assert status == 0
    assert all(r["difference_minor"] == 0 and r["invoices_changed"] == 0
               for c in data["combinations"] for r in c["by_currency"])


@pytest.mark.parametrize(("argv", "message"), [
    (["--vary", "rounding=half_down"], "'half_down' is not a value of rounding (half_up, half_even)"),
    (["--vary", "speed=fast"], "no setting 'speed'"),
    (["--vary", "rounding"], "expected SETTING=VALUE"),
    (["--vary", "rounding=half_up", "--vary", "rounding=half_even"], "--vary rounding given twice"),
    ([], "nothing to vary"),
])
def test_bad_options_are_one_line(metered, capsys, argv, message):
    status, _, err = run(capsys, "policies", "--month", "2026-03", "--store", str(metered), *argv)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_month_without_events_is_refused(metered, capsys):
    status, _, err = run(capsys, "policies", "--month", "2026-05", "--store", str(metered),
                         "--vary", "rounding=half_even")
    assert status == 2 and "month '2026-05' has no events" in err


def test_combinations_are_every_mix_and_capped():
    assert combinations({"a": ["1", "2"], "b": ["x", "y", "z"]})[:2] == [{"a": "1", "b": "x"}, {"a": "1", "b": "y"}]
    assert len(combinations({"a": ["1", "2"], "b": ["x", "y", "z"]})) == 6
    with pytest.raises(ReportError, match="at most 64"):
        combinations({k: ["1", "2"] for k in "abcdefg"})


def test_list_names_every_setting(capsys):
    status, out, _ = run(capsys, "policies", "--list", "--json")
    values = json.loads(out)
    assert status == 0 and values["rounding_scope"] == ["line", "invoice"]
    assert values["bill_termination_day"] == ["false", "true"] and "day_count" in values
    assert parse_vary(["bill_termination_day=true"]) == {"bill_termination_day": ("true",)}


# --- rounding_scope: invoice (Zuora's invoice-level rounding) ---------------------------------------


TWO_SUB_CENT_LINES = """
- {metric: a, model: per_unit, unit_price: "0.004", source: "assumption: test"}
- {metric: b, model: per_unit, unit_price: "0.004", source: "assumption: test"}
"""


def test_invoice_level_rounding_adds_one_rounding_line():
    catalog = make_catalog(TWO_SUB_CENT_LINES, metrics="  a: {name: A}\n  b: {name: B}\n")
    line_level = rate_one(catalog, "p", {"a": 1, "b": 1})
    invoice_level = rate_one(with_settings(catalog, {"rounding_scope": "invoice"}), "p", {"a": 1, "b": 1})
    # each line 0.004 -> 0.00 on its own: 0.00; the exact total 0.008 rounded once: 0.01
    assert line_level.total_minor == 0 and len(line_level.lines) == 2
    assert [(l.item, l.amount_minor) for l in invoice_level.lines] == [("a", 0), ("b", 0), ("Rounding", 1)]
    assert invoice_level.total_minor == sum(l.amount_minor for l in invoice_level.lines) == 1
    assert "exact total 0.008 rounded once to 0.01" in invoice_level.lines[-1].explanation


def test_invoice_level_rounding_on_a_subscription_invoice():
    from pricing.billing.subscriptions import invoices_between
    from pricing.billing.timeline import parse_timeline

    catalog = make_catalog(TWO_SUB_CENT_LINES, metrics="  a: {name: A}\n  b: {name: B}\n",
                           settings="rounding_scope: invoice\n")
    timeline = parse_timeline({"customer_id": "c", "catalog": "t",
                               "events": [{"at": "2026-03-01T00:00:00Z", "type": "start", "plan": "p"}],
                               "usage": {"2026-03": {"a": 1, "b": 1}}})
    renewal = invoices_between(catalog, timeline, end="2026-04-01T00:00:00Z")[-1].invoice
    # the same two lines of 0.004 on March's usage: the rounding line brings the invoice to 0.01
    assert [(l.item, l.amount_minor) for l in renewal.lines] == [("a", 0), ("b", 0), ("Rounding", 1)]
