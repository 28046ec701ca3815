"""``pricing backtest`` through the CLI, on the small billed store: revenue numbers checked against
each customer's bills rated one by one (``rate_one``), the report's tables and files, bad input."""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from _report_fixtures import HOSTILE_NAME, MONTH, PREVIOUS, ReportStore, report_store  # noqa: F401

from pricing.analysis.candidates import apply_overrides
from pricing.engine.catalog import load_catalog
from pricing.apps.cli import main
from pricing.engine.money import from_minor
from pricing.engine.formatting import format_minor
from pricing.engine.rating import rate_one
from pricing.metering.store import Store

SETS = ["--set", "payg.maa.unit_price=0.07", "--set", "payg.mac.unit_price=0.005"]
OVERRIDES = {"payg.maa.unit_price": "0.07", "payg.mac.unit_price": "0.005"}


def expected_bills(path: Path, months: list[str]) -> dict[str, tuple[int, int]]:
    """Each quasr customer's (today, candidate) bill over ``months``, rated customer-month by customer-month."""
    quasr = load_catalog("quasr")
    candidate = apply_overrides(quasr, OVERRIDES)
    out: dict[str, tuple[int, int]] = {}
    with Store(path, read_only=True) as store:
        plans = dict(zip(store.customers()["customer_id"], store.customers()["plan"]))
        for month in months:
            usage = store.customer_usage(month, "quasr")
            for _, row in usage.iterrows():
                cid = str(row["customer_id"])
                quantities = {m: int(row[m]) for m in quasr.metrics if m in usage.columns}
                now = rate_one(quasr, plans[cid], quantities).total_minor
                new = rate_one(candidate, plans[cid], quantities).total_minor
                before = out.get(cid, (0, 0))
                out[cid] = (before[0] + now, before[1] + new)
    return out


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["backtest", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_totals_are_the_sum_of_each_customers_bills(report_store: ReportStore, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--store", str(report_store.path), "--catalog", "quasr", *SETS,
                         "--out", str(tmp_path), "--json")
    assert status == 0
    summary = json.loads(out)
    bills = expected_bills(report_store.path, [PREVIOUS, MONTH])
    today = sum(a for a, _ in bills.values())
    candidate = sum(b for _, b in bills.values())
    assert today > 0 and candidate > today  # a price rise on metered usage that is billed
    assert summary["revenue_current"] == format_minor(today, 2)
    assert summary["revenue_candidate"] == format_minor(candidate, 2)
    assert summary["revenue_change"] == format_minor(candidate - today, 2)
    assert summary["months"] == [PREVIOUS, MONTH]
    assert summary["customers"] == len(bills)
    assert summary["customer_months"] == 2 * len(bills)
    assert summary["changes"] == {"payg.maa.unit_price": {"current": "0.05", "candidate": "0.07"},
                                  "payg.mac.unit_price": {"current": "0.004", "candidate": "0.005"}}
    more = sum(1 for a, b in bills.values() if b > a)
    assert summary["customers_paying_more"] == more and summary["customers_paying_less"] == 0
    assert summary["files"] == [str(tmp_path / "backtest.html"), str(tmp_path / "backtest_customers.xlsx")]


def test_excel_holds_each_customers_bills_in_currency_units(report_store: ReportStore, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from openpyxl import load_workbook

    assert run(capsys, "--store", str(report_store.path), "--catalog", "quasr", *SETS, "--out", str(tmp_path))[0] == 0
    sheet = load_workbook(tmp_path / "backtest_customers.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:8] == ("Customer", "Name", "Plan", "Months", "Bill today (EUR)", "Bill with candidate (EUR)",
                          "Change (EUR)", "Change %")
    bills = expected_bills(report_store.path, [PREVIOUS, MONTH])
    assert {r[0] for r in rows[1:]} == set(bills)
    with Store(report_store.path, read_only=True) as store:
        plan_of = dict(zip(store.customers()["customer_id"], store.customers()["plan"]))
        name_of = dict(zip(store.customers()["customer_id"], store.customers()["name"]))
    quasr = load_catalog("quasr")
    for row in rows[1:]:
        today, candidate = bills[row[0]]
        assert Decimal(str(row[4])) == from_minor(today, 2)
        assert Decimal(str(row[5])) == from_minor(candidate, 2)
        assert Decimal(str(row[6])) == from_minor(candidate - today, 2)
        assert row[2] == quasr.plans[plan_of[row[0]]].name
        if today == 0:
            assert row[7] is None  # no revenue to change: an empty cell, not NaN
        else:
            assert row[7] == pytest.approx((candidate - today) / today, abs=1e-4)
    names = {r[0]: r[1] for r in rows[1:]}
    assert names == {cid: name_of[cid] for cid in names}  # names written as they are, as text
    money_cell = sheet.cell(row=2, column=5)
    assert '"EUR"' in money_cell.number_format and money_cell.data_type == "n"


def test_html_report_has_its_charts_and_readable_tables(report_store: ReportStore, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--store", str(report_store.path), "--catalog", "quasr", *SETS,
                         "--out", str(tmp_path), "--top", "3")
    assert status == 0 and "wrote " in out
    page = (tmp_path / "backtest.html").read_text(encoding="utf-8")
    assert (tmp_path / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert page.count('src="assets/plotly.min.js"') == 1 and "Plotly.newPlot" in page
    for div in ("backtest-revenue", "backtest-distribution", "backtest-tornado"):
        assert f'id="{div}"' in page
    for heading in ("Revenue by month", "Customers who pay more (top 3)", "Customers who pay less (top 3)",
                    "Customers whose cheapest plan changes", "Sensitivity of today"):
        assert heading in page
    bills = expected_bills(report_store.path, [PREVIOUS, MONTH])
    today = sum(a for a, _ in bills.values())
    assert f"EUR {from_minor(today, 2):,.2f}" in page
    assert "<th>Revenue today</th>" in page and "<th>Change %</th>" in page
    for leak in ("nan", "NaN", "_minor", "Unnamed", "delta_percent", "<th></th>"):
        assert leak not in page
    assert "<script>alert" not in page
    assert "Pay As You Go" in page


def test_months_candidate_file_and_csv(report_store: ReportStore, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # a candidate file equal to the --set changes gives the same numbers, for the last month only
    quasr = load_catalog("quasr")
    path = tmp_path / "candidate.yaml"
    path.write_text(apply_overrides(quasr, OVERRIDES).to_yaml(), encoding="utf-8")
    status, out, _ = run(capsys, "--store", str(report_store.path), "--catalog", "quasr", "--candidate", str(path),
                         "--months", "1", "--out", str(tmp_path / "a"), "--format", "csv", "--no-sensitivity",
                         "--json")
    assert status == 0
    summary = json.loads(out)
    bills = expected_bills(report_store.path, [MONTH])
    assert summary["months"] == [MONTH]
    assert summary["revenue_candidate"] == format_minor(sum(b for _, b in bills.values()), 2)
    with open(tmp_path / "a" / "backtest_customers.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        today, candidate = bills[row["Customer"]]
        assert row["Bill today (EUR)"] == format_minor(today, 2)
        assert row["Change (EUR)"] == format_minor(candidate - today, 2)
        assert row["Change %"] == "" if today == 0 else Decimal(row["Change %"]) >= 0
    page = (tmp_path / "a" / "backtest.html").read_text(encoding="utf-8")
    assert "backtest-tornado" not in page
    # a range naming both months equals the default (every month)
    status, out, _ = run(capsys, "--store", str(report_store.path), "--catalog", "quasr", *SETS,
                         "--months", f"{PREVIOUS}..{MONTH}", "--out", str(tmp_path / "b"), "--json",
                         "--no-sensitivity")
    assert status == 0 and json.loads(out)["months"] == [PREVIOUS, MONTH]


def test_names_stay_text_in_the_csv_and_are_escaped_in_the_page(report_store: ReportStore, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    bills = expected_bills(report_store.path, [PREVIOUS, MONTH])
    first, second = sorted(bills, key=lambda c: (bills[c][0] - bills[c][1], c))[:2]  # the two largest rises
    assert bills[first][1] > bills[first][0] and bills[second][1] > bills[second][0]
    store = tmp_path / "copy.duckdb"
    shutil.copy(report_store.path, store)
    with duckdb.connect(str(store)) as con:
        con.execute("UPDATE customers SET name = ? WHERE customer_id = ?", ['=HYPERLINK("http://x")', first])
        con.execute("UPDATE customers SET name = ? WHERE customer_id = ?", [HOSTILE_NAME, second])
    assert run(capsys, "--store", str(store), "--catalog", "quasr", *SETS, "--out", str(tmp_path / "o"),
               "--format", "csv", "--no-sensitivity")[0] == 0
    with open(tmp_path / "o" / "backtest_customers.csv", newline="", encoding="utf-8") as handle:
        names = {r["Customer"]: r["Name"] for r in csv.DictReader(handle)}
    assert names[first] == "'=HYPERLINK(\"http://x\")" and names[second] == HOSTILE_NAME
    page = (tmp_path / "o" / "backtest.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_list_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--catalog", "quasr", "--list-parameters")
    assert status == 0 and "payg.maa.unit_price" in out and "0.05" in out


@pytest.mark.parametrize(("argv", "needle"), [
    (["--set", "payg.maa.unit_price=abc"], "is not a number"),
    (["--set", "payg.maa.unit_price=-1"], "non-negative"),
    (["--set", "payg.maa.unit_price=1e400"], "too large"),
    (["--set", "payg.maa.unit_price=0.0000000000001"], "decimal places"),
    (["--set", "payg.maa.unit_price"], "expected PLAN.METRIC.FIELD=VALUE"),
    (["--set", "payg.maa.unit_price="], "expected PLAN.METRIC.FIELD=VALUE"),
    (["--set", "payg.maa.price=1"], "no price parameter 'payg.maa.price'"),
    (["--set", "payg.maa.unit_price=1", "--set", "payg.maa.unit_price=2"], "given twice"),
    (["--set", "payg.maa.included=1.5"], "decimal places"),
    ([], "no price change"),
    (["--set", "payg.maa.unit_price=1", "--months", "2027-01"], "no events in 2027-01"),
    (["--set", "payg.maa.unit_price=1", "--months", "2026-13"], "is not a month"),
    (["--set", "payg.maa.unit_price=1", "--months", f"{MONTH}..{PREVIOUS}"], "backwards"),
    (["--set", "payg.maa.unit_price=1", "--months", "0"], "at least 1"),
    (["--set", "payg.maa.unit_price=1", "--sensitivity", "150"], "at most 99"),
    (["--set", "payg.maa.unit_price=1", "--candidate", "/nonexistent/candidate.yaml"], "candidate.yaml"),
])
def test_bad_input_is_one_line_and_status_2(report_store: ReportStore, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    status, out, err = run(capsys, "--store", str(report_store.path), "--catalog", "quasr", *argv,
                           "--out", str(tmp_path / "out"))
    assert status == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and needle in err, err
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_store_problems_are_one_line(report_store: ReportStore, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "--store", str(tmp_path / "missing.duckdb"), *SETS)
    assert status == 2 and "no such store" in err
    # the small store's customers use several catalogs: one must be chosen
    status, _, err = run(capsys, "--store", str(report_store.path), *SETS)
    assert status == 2 and "choose one with --catalog" in err and err.count("\n") == 1
    (tmp_path / "afile").write_text("x")
    status, _, err = run(capsys, "--store", str(report_store.path), "--catalog", "quasr", *SETS,
                         "--no-sensitivity", "--out", str(tmp_path / "afile"))
    assert status == 2 and "not a folder" in err and err.count("\n") == 1


def test_a_book_too_big_for_excel_is_one_line_before_rating(report_store: ReportStore, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import pricing.reporting.backtest_report as backtest_report
    import pricing.analysis.backtest_stream as backtest_stream

    monkeypatch.setattr(backtest_report, "XLSX_MAX_CUSTOMERS", 2)
    monkeypatch.setattr(backtest_stream, "backtest_streamed", lambda *a, **k: pytest.fail("rated before refusing"))
    status, out, err = run(capsys, "--store", str(report_store.path), "--catalog", "quasr", *SETS,
                           "--out", str(tmp_path / "o"))
    assert status == 2 and out == ""
    assert "customers: the Excel table is built in memory" in err and "use --format csv" in err
    assert not (tmp_path / "o").exists()
