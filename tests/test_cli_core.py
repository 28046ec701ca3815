"""The CLI contract scripts and spreadsheets rely on: JSON shape, errors, exit status."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pricing.cli import main


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
    result = subprocess.run([sys.executable, "-m", "pricing.cli", "quote", "quasr", "--usage", "maa=-1"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: maa=-1 is negative; quantities must be >= 0"
