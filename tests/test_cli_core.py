"""The CLI contract scripts and spreadsheets rely on: JSON shape, errors, exit status."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pricing.apps.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_quote_json_for_the_issue_example(capsys):
    status, out, _ = run(capsys, "quote", "quasr", "--usage", "maa=50", "--usage", "mat=1", "--usage", "mac=1200", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["catalog"] == "quasr" and data["currency"] == "EUR" and data["cheapest"] == "payg"
    payg = data["quotes"][0]
    assert payg["plan"] == "payg" and payg["eligible"] is True and payg["reason"] is None
    assert payg["total"] == "0.80"
    mac = next(l for l in payg["lines"] if l["item"] == "Monthly API Calls")
    assert (mac["quantity"], mac["unit_price"], mac["amount"]) == ("200", "0.004", "0.80")
    totals = [q["total"] for q in data["quotes"] if q["eligible"]]
    assert [float(t) for t in totals] == sorted(float(t) for t in totals)


def test_quote_one_plan_with_tax(capsys):
    status, out, _ = run(capsys, "quote", "logto", "--plan", "pro", "--usage", "m2m_apps=2",
                         "--usage", "api_resources=5", "--usage", "enterprise_sso=1", "--tax", "21", "--json")
    quote = json.loads(out)["quotes"][0]
    # net 80.00; tax 21% = 16.80; gross 96.80
    assert (quote["net"], quote["tax"], quote["total"]) == ("80.00", "16.80", "96.80")


def test_quote_table_marks_the_cheapest(capsys):
    status, out, _ = run(capsys, "quote", "quasr", "--usage", "maa=50", "--usage", "mac=1200")
    assert status == 0
    assert " * payg" in out and "0.80" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["quote", "nope"], "error: unknown catalog 'nope'"),
        (["quote", "quasr", "--plan", "gold"], "error: catalog 'quasr' has no plan 'gold'"),
        (["quote", "quasr", "--usage", "foo=1"], "error: unknown metric 'foo' for catalog 'quasr'"),
        (["quote", "quasr", "--usage", "maa=-3"], "error: maa=-3 is negative"),
        (["quote", "quasr", "--usage", "maa=lots"], "error: maa='lots' is not a number"),
        (["quote", "quasr", "--usage", "maa"], "error: --usage 'maa': expected METRIC=QUANTITY"),
        (["quote", "quasr", "--tax", "x"], "error: --tax 'x' is not a number"),
        (["quote"], "error: pricing quote: the following arguments are required: catalog"),
    ],
)
def test_bad_input_is_one_line_and_status_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert err.startswith(message)
    assert err.count("\n") == 1 and out == ""


def test_malformed_catalog_file(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nname: B\nversion: '1'\ncurrency: EUR\nmetrics: {}\nplans: {p: {name: P, recurring: {amount: 5, source: 'assumption: x'}}}\n")
    status, _, err = run(capsys, "quote", str(bad))
    assert status == 2
    assert err == f"error: {bad}: plans.p.recurring.amount: must be a quoted decimal string such as \"0.004\", not int 5 (unquoted numbers are read as binary floats)\n"


def test_catalogs_and_schema(capsys, tmp_path):
    status, out, _ = run(capsys, "catalogs", "--json")
    assert [c["id"] for c in json.loads(out)] == ["license_jp", "logto", "prepaid_auth", "quasr"]
    target = tmp_path / "catalog.schema.json"
    assert run(capsys, "schema", "-o", str(target))[0] == 0
    assert json.loads(target.read_text())["title"] == "Pricing workbench catalog"


def test_break_even_cli(capsys):
    status, out, _ = run(capsys, "break-even", "quasr", "--metric", "maa", "--plans", "payg", "startup", "--json")
    assert json.loads(out)["break_even"][0]["quantity"] == 1080


def test_console_script_exits_2_without_traceback():
    result = subprocess.run([sys.executable, "-m", "pricing.apps.cli", "quote", "quasr", "--usage", "maa=-1"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: maa=-1 is negative; quantities must be >= 0"


# --- issue 12: numeric inputs are exact or refused in one line ---------------------------------

FORTY_DIGITS = "1234567890" * 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["quote", "logto", "--plan", "pro", "--usage", f"enterprise_sso={FORTY_DIGITS}"],
         f"enterprise_sso={FORTY_DIGITS} is too large (at most 9,223,372,036,854,775,807)"),
        (["quote", "logto", "--usage", "tokens=9223372036854775808"], "tokens=9223372036854775808 is too large"),
        (["quote", "logto", "--usage", "tokens=1e19"], "tokens=1e19 is too large"),
        (["quote", "logto", "--usage", "tokens=1e99999999"], "tokens=1e99999999 is too large"),
        (["quote", "logto", "--usage", "tokens=1e-99999999"], "tokens=1e-99999999 must be a whole number"),
        (["quote", "logto", "--usage", "tokens=1.000000000000000000000000000000000001"], "must be a whole number"),
        (["quote", "logto", "--usage", "tokens=" + "9" * 5000], "is too large"),
        (["quote", "logto", "--tax", "1e400"], "--tax '1e400' must be at most 100"),
        (["quote", "logto", "--tax", "1e-99999999"], "--tax '1e-99999999' has more than 6 decimal places"),
        (["quote", "logto", "--tax", "NaN"], "--tax 'NaN' must be a non-negative number"),
        (["quote", "logto", "--discount", "150"], "--discount '150' must be at most 100"),
        (["quote", "logto", "--discount-amount", "1e400"], "--discount-amount '1e400' is too large"),
        (["break-even", "quasr", "--metric", "maa", "--plans", "payg", "startup", "--max", "10^19"],
         "argument --max: '10^19' is not a whole number"),
        (["break-even", "quasr", "--metric", "maa", "--plans", "payg", "startup", "--max", "10000000000000000000"],
         "argument --max: '10000000000000000000' must be between 1 and 9,223,372,036,854,775,807"),
        (["break-even", "quasr", "--metric", "nope", "--plans", "payg", "startup"], "--metric 'nope': not a metric"),
    ],
)
def test_numeric_inputs_beyond_exact_are_one_line(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert message in err
    assert "pydantic" not in err and "errors.pydantic.dev" not in err


def test_break_even_up_to_the_largest_exact_quantity(capsys):
    status, out, err = run(capsys, "break-even", "quasr", "--metric", "maa", "--plans", "payg", "startup",
                           "--max", "9223372036854775807")
    assert status == 0 and err == ""
    assert "cost the same at maa = 1,080" in out


def test_break_even_says_where_plans_are_equal_and_from_where_one_is_cheaper(capsys):
    # payg: (maa - 100) x 0.05, startup 49.00 flat: equal at 1,080 only, startup cheaper from 1,081
    status, out, _ = run(capsys, "break-even", "quasr", "--metric", "maa", "--plans", "payg", "startup",
                         "--usage", "mat=1")
    assert status == 0
    assert out.strip() == ("below maa = 1,080 payg is cheaper; payg and startup cost the same at maa = 1,080 "
                           "(EUR 49.00 each); from maa = 1,081 startup is cheaper (payg EUR 49.05, startup EUR 49.00)")
    assert "becomes cheaper" not in out
    status, out, _ = run(capsys, "break-even", "quasr", "--metric", "maa", "--plans", "payg", "startup", "--json")
    point = json.loads(out)["break_even"][0]
    assert (point["equal_at"], point["equal_until"], point["cheaper_from_quantity"]) == (1080, 1080, 1081)
    assert point["totals_from"] == {"payg": "49.05", "startup": "49.00"}


def test_break_even_over_an_equal_stretch_names_both_ends():
    from pricing.engine.catalog import load_catalog
    from pricing.apps.cli.core import break_even_sentence
    from pricing.analysis.comparison import break_even
    from pricing.engine.rating import rate_one

    quasr = load_catalog("quasr")
    [point] = break_even(quasr, "startup", "enterprise", "maa", {}, high=200_000)
    assert point.equal and point.strictly_from is not None and point.strictly_from > point.quantity
    for q in range(point.quantity, point.strictly_from):  # equal over the whole stretch
        assert rate_one(quasr, "startup", {"maa": q}).total_minor == rate_one(quasr, "enterprise", {"maa": q}).total_minor
    after = point.strictly_from
    assert rate_one(quasr, "enterprise", {"maa": after}).total_minor < rate_one(quasr, "startup", {"maa": after}).total_minor
    text = break_even_sentence(point, "startup", "enterprise", "EUR", 2)
    assert f"cost the same for maa = {point.quantity:,} to {after - 1:,}" in text
    assert f"from maa = {after:,} enterprise is cheaper" in text


def test_a_small_tax_and_discount_still_quote(capsys):
    status, out, _ = run(capsys, "quote", "logto", "--plan", "pro", "--usage", "tokens=100000",
                         "--tax", "21", "--discount", "10")
    assert status == 0 and "gross 17.42" in out
