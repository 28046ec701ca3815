"""``pricing bill`` and ``pricing balance``: output, JSON, and one-line errors with status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pricing.apps.cli import main

ROOT = Path(__file__).resolve().parent.parent
LOGTO_TL = str(ROOT / "examples" / "subscriptions" / "logto_api_resources.yaml")
LEDGER = str(ROOT / "examples" / "ledgers" / "prepaid_standard.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_bill_prints_lines_with_service_dates(capsys):
    status, out, err = run(capsys, "bill", "logto", "--subscription", LOGTO_TL, "--period", "2026-05")
    assert status == 0 and not err
    assert "renewal invoice issued 2026-05-01" in out and "total USD 73.60" in out
    assert "2026-04-05 .. 2026-05-01" in out and "13.87" in out and "-4.27" in out


def test_bill_json_with_usage_override(capsys):
    status, out, _ = run(capsys, "bill", "logto", "--subscription", LOGTO_TL, "--period", "2026-05-01",
                         "--usage", "tokens=100000", "--json")
    data = json.loads(out)
    assert status == 0 and data["total"] == "33.60" and data["kind"] == "renewal"
    assert data["usage_window"] == ["2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"]
    assert all("service_start" in line and "service_end" in line for line in data["lines"])


def test_balance_prints_ledger_and_runway(capsys):
    status, out, _ = run(capsys, "balance", "prepaid_auth", "--ledger", LEDGER, "--until", "2026-03-10")
    assert status == 0
    assert "2026-03-01  mini       inactive" in out and "runway:" in out
    status, out, _ = run(capsys, "balance", "prepaid_auth", "--ledger", LEDGER, "--until", "2026-03-10", "--json")
    data = json.loads(out)
    assert data["top_ups"] == "100.00" and len(data["rows"]) == 69 and data["runway"]["suspended_on"]


@pytest.mark.parametrize(("argv", "expected"), [
    (["bill", "quasr", "--subscription", LOGTO_TL, "--period", "2026-05"], "is for catalog 'logto', not 'quasr'"),
    (["bill", "logto", "--subscription", "missing.yaml", "--period", "2026-05"], "missing.yaml: no such file"),
    (["bill", "logto", "--subscription", LOGTO_TL, "--period", "May"], "expected YYYY-MM or YYYY-MM-DD"),
    (["bill", "logto", "--subscription", LOGTO_TL, "--period", "2025-06"], "no invoice is issued"),
    (["bill", "logto", "--subscription", LOGTO_TL, "--period", "2026-05", "--usage", "rockets=1"], "rockets"),
    (["balance", "prepaid_auth", "--ledger", LEDGER, "--until", "tomorrow"], "--until 'tomorrow'"),
    (["balance", "logto", "--ledger", LEDGER, "--until", "2026-02-01"], "has no prepaid terms"),
])
def test_bad_input_is_one_line_and_status_2(capsys, argv, expected):
    status, out, err = run(capsys, *argv)
    assert status == 2 and not out
    assert err.startswith("error: ") and expected in err and err.count("\n") == 1


def test_a_bad_event_in_the_file_names_it(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "customer_id: c1\ncatalog: logto\nevents:\n"
        "  - {at: '2026-01-01T00:00:00Z', type: start, plan: pro}\n"
        "  - {at: '2026-01-10T00:00:00Z', type: remove, item: api_resources, quantity: 2}\n", encoding="utf-8")
    status, _, err = run(capsys, "bill", "logto", "--subscription", str(bad), "--period", "2026-02")
    assert status == 2
    assert err.strip() == (f"error: {bad}: events[1] (remove at 2026-01-10T00:00:00Z):"
                           " cannot remove 2 api_resources: only 0 held")


def test_bill_json_of_a_change_invoiced_at_once_with_coupon_and_tax(capsys):
    timeline = str(ROOT / "examples" / "subscriptions" / "license_upgrade_invoiced_now.yaml")
    status, out, err = run(capsys, "bill", "license_jp", "--subscription", timeline, "--period", "2026-04-16",
                           "--json")
    assert status == 0, err
    data = json.loads(out)
    # 16 April, 15 of 30 days left (actual days): Starter 30,000 credited -15,000; Business 120,000 charged
    # 60,000; the coupon's second period: 20% off 45,000 = -9,000; 10% tax on 36,000 = 3,600
    assert data["kind"] == "change" and data["issued_at"] == "2026-04-16T00:00:00Z"
    assert [(l["item"], l["amount"]) for l in data["lines"]] == [
        ("Starter fee", "-15000"), ("Business fee", "60000"), ("Launch coupon", "-9000"), ("Tax 10%", "3600")]
    assert data["total"] == "39600"


def test_two_subscriptions_of_a_customer_on_one_invoice(capsys):
    second = str(ROOT / "examples" / "subscriptions" / "logto_second_project.yaml")
    status, out, err = run(capsys, "bill", "logto", "--subscription", LOGTO_TL, "--subscription", second,
                           "--period", "2026-05", "--json")
    assert status == 0, err
    data = json.loads(out)
    # the first subscription's 73.60 (as above) and the second's Pro 16.00 + one SSO connector 48.00
    assert data["total"] == "137.60"
    assert [l["item"] for l in data["lines"]][-2:] == ["Pro fee", "Enterprise SSO"]
    assert "2 subscriptions on one invoice" in data["notes"]
    status, _, err = run(capsys, "bill", "logto", "--subscription", LOGTO_TL, "--subscription", second,
                         "--period", "2026-05", "--usage", "tokens=1")
    assert status == 2 and "--usage goes with one --subscription" in err


def test_balance_refuses_a_horizon_of_millennia_in_one_line(capsys):
    status, out, err = run(capsys, "balance", "prepaid_auth", "--ledger", LEDGER, "--until", "9999-12-31")
    assert status == 2 and not out
    assert "more than 100 years after the start" in err and err.count("\n") == 1
