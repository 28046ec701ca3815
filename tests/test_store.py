"""The workbook store: idempotent, all-or-nothing ingest; metering; usage; invoices."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pricing.cli import main
from pricing.errors import MeteringError
from pricing.events import EVENT_COLUMNS
from pricing.invoice import Invoice, Line, LineType
from pricing.sample_data import generate_book, write_events
from pricing.store import DEFAULT_STORE, Store

HEADER = ",".join(EVENT_COLUMNS)
ROWS = [
    "2026-01-31T23:59:59.999Z,c1,c1-prod,a1,user,POST,factors/login,200",
    "2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,401",
    "2026-01-05T10:00:00Z,c1,c1-test,a1,user,POST,factors/login,200",
    "2026-01-05T10:00:00Z,c1,c1-prod,m1,client,GET,oauth2/authorize,200",
    "2026-01-05T10:00:00Z,c1,c1-dev,a2,user,POST,factors/login,401",
    "2026-01-06T10:00:00Z,c2,c2-prod,u1,user,POST,auth/login,200",
]
BAD_ROWS = [
    "yesterday,c1,c1-prod,a1,user,POST,factors/login,200",
    "2026-01-05T10:00:00Z,c1,c1-prod,a1,robot,POST,factors/login,200",
    "2026-01-05T10:00:00Z,c1,,a1,user,POST,factors/login,200",
    "2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,abc",
    "soon,c1,c1-prod,a1,user,POST,factors/login,200",
]


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "w.duckdb") as s:
        s.con.execute("INSERT INTO customers (customer_id, name, catalog) VALUES ('c1', 'One', 'quasr'),"
                      " ('c2', 'Two', 'license_jp'), ('c3', 'Three', 'quasr')")
        yield s


def counts(store: Store) -> tuple[int, ...]:
    return tuple(
        store.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("events", "rejects", "ingested_files")
    )


def test_default_path():
    assert DEFAULT_STORE == Path("data/workbook.duckdb")


def test_reingesting_a_file_changes_nothing(store, tmp_path):
    path = write_csv(tmp_path / "a.csv", ROWS)
    first = store.ingest([path])
    assert (first.accepted, first.rejected, first.skipped) == (6, 0, 0)
    before = counts(store)
    usage_before = store.customer_usage("2026-01")
    again = store.ingest([path])
    copy = write_csv(tmp_path / "copy-of-a.csv", ROWS)  # same content under another name
    third = store.ingest([copy])
    assert (again.accepted, again.skipped, third.skipped) == (0, 1, 1)
    assert "already ingested" in again.lines()[0]
    assert counts(store) == before
    assert store.customer_usage("2026-01").equals(usage_before)


def test_bad_rows_are_counted_per_reason_and_kept(store, tmp_path):
    path = write_csv(tmp_path / "bad.csv", ROWS[:2] + BAD_ROWS)
    report = store.ingest([path])
    [file] = report.files
    assert (file.accepted, file.rejected, file.rows) == (2, 5, 7)
    assert file.reasons == {
        "unparsable timestamp": 2, "missing tenant_id": 1,
        "status is not an HTTP code": 1, "unknown account_kind": 1,
    }
    assert file.examples[0] == (3, "unparsable timestamp")
    rejects = store.rejects(str(path))
    assert list(rejects["row"]) == [3, 4, 5, 6, 7]
    assert rejects["raw_account_kind"].tolist()[1] == "robot"
    assert any("5 rejected" in line for line in report.lines())


def test_a_failed_ingest_leaves_the_store_as_it_was(store, tmp_path):
    store.ingest([write_csv(tmp_path / "a.csv", ROWS)])
    before = counts(store)
    good = write_csv(tmp_path / "b.csv", BAD_ROWS)
    broken = write_csv(tmp_path / "c.csv", ["x,y"], header="timestamp,customer_id")
    with pytest.raises(MeteringError, match=r"c\.csv: missing columns tenant_id, account_id"):
        store.ingest([good, broken])
    assert counts(store) == before
    # b.csv was rolled back with it, so it is ingested afresh later
    assert store.ingest([good]).files[0].status == "ingested"


def test_parquet_and_directories(store, tmp_path):
    book = generate_book(12, 2, seed=3)
    paths = write_events(book, tmp_path / "events")
    store.write_book(book)
    report = store.ingest([tmp_path / "events"])
    assert len(paths) == 2 and report.accepted > 0
    assert report.rejected == 0
    assert store.months() == list(book.months)
    assert store.event_count() == report.accepted


def test_meter_stores_tenant_and_customer_metrics(store, tmp_path):
    store.ingest([write_csv(tmp_path / "a.csv", ROWS)])
    result = store.meter("2026-01")
    data = result.to_json("2026-01")
    assert {"customer_id": "c1", "catalog": "quasr", "maa": 3, "mac": 3, "mat": 2} in data["customers"]
    tenants = store.tenant_usage("2026-01", catalog="quasr")
    assert tenants.set_index("tenant_id")["mat"].to_dict() == {"c1-dev": 0, "c1-prod": 1, "c1-test": 1}
    usage = store.customer_usage("2026-01")
    assert list(usage.columns) == ["customer_id", "catalog", "mau", "maa", "mac", "mat"] or \
        list(usage.columns) == ["customer_id", "catalog", "maa", "mac", "mat", "mau"]
    rows = usage.set_index("customer_id")
    assert rows.loc["c1", "maa"] == 3 and rows.loc["c2", "mau"] == 1
    assert rows.loc["c3", ["maa", "mac", "mat"]].tolist() == [0, 0, 0]  # no events: zeros
    assert str(rows["maa"].dtype) == "int64"
    # metering again replaces the month's rows
    store.meter("2026-01")
    assert store.con.execute("SELECT count(*) FROM customer_metrics").fetchall()[0][0] == 4


def test_usage_is_metered_again_after_new_events(store, tmp_path):
    store.ingest([write_csv(tmp_path / "a.csv", ROWS)])
    assert store.customer_usage("2026-01", catalog="license_jp")["mau"].tolist() == [1]
    store.ingest([write_csv(tmp_path / "b.csv", ["2026-01-07T10:00:00Z,c2,c2-prod,u2,user,POST,auth/login,200"])])
    assert store.customer_usage("2026-01", catalog="license_jp")["mau"].tolist() == [1 + 1]


def test_events_of_unknown_customers_are_an_error_unless_a_catalog_is_given(store, tmp_path):
    store.ingest([write_csv(tmp_path / "a.csv", ["2026-01-05T10:00:00Z,c9,c9-prod,a,user,POST,factors/login,200"])])
    with pytest.raises(MeteringError, match=r"1 customer\(s\) not in the customer book \(c9\)"):
        store.meter("2026-01")
    result = store.meter("2026-01", default_catalog="quasr")
    assert result.to_json("2026-01")["customers"][0]["maa"] == 1
    assert "c9" in set(store.customers()["customer_id"])


def test_write_book_stores_customers_timelines_and_ledgers(tmp_path):
    book = generate_book(30, 2, seed=11)
    with Store(tmp_path / "w.duckdb") as store:
        store.write_book(book)
        store.write_book(book)  # replacing, not duplicating
        customers = store.customers()
        assert len(customers) == 30
        assert customers["billing_details"].dtype == bool
        assert store.timelines() == dict(sorted(book.timelines.items()))
        assert store.ledgers() == dict(sorted(book.ledgers.items()))


def _invoice(customer: str, amount: int) -> Invoice:
    line = Line("Monthly Active Accounts", LineType.USAGE, Decimal(120), Decimal("0.05"), amount,
                Decimal(amount) / 100, "120 MAA past the free 100", metric="maa",
                service_start=datetime(2026, 1, 1), service_end=datetime(2026, 2, 1))
    return Invoice("quasr", "payg", "EUR", 2, (line,), customer_id=customer,
                   period_start=datetime(2026, 1, 1), period_end=datetime(2026, 2, 1))


def test_invoices_are_replaced_per_month(tmp_path):
    with Store(tmp_path / "w.duckdb") as store:
        store.replace_invoices("2026-01", [_invoice("c1", 600), _invoice("c2", 100)])
        store.replace_invoices("2026-02", [_invoice("c1", 50)])
        store.replace_invoices("2026-01", [_invoice("c1", 700)])
        heads = store.invoices("2026-01")
        assert heads["total_minor"].tolist() == [700]
        lines = store.invoice_lines("2026-01")
        assert lines[["line_no", "amount_minor", "quantity", "unit_price"]].values.tolist() == [[1, 700, "120", "0.05"]]
        assert store.invoices("2026-02")["total_minor"].tolist() == [50]


def test_cli_ingest_and_meter_json(tmp_path, capsys):
    db = tmp_path / "cli.duckdb"
    assert main(["sample-data", "--customers", "8", "--months", "1", "--seed", "5",
                 "--out", str(tmp_path / "s"), "--ingest", "--store", str(db)]) == 0
    bad = write_csv(tmp_path / "bad.csv", BAD_ROWS[:2])
    capsys.readouterr()
    assert main(["ingest", str(bad), "--store", str(db)]) == 0
    assert "2 rejected" in capsys.readouterr().out
    assert main(["meter", "--month", "2026-03", "--store", str(db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["month"] == "2026-03"
    assert data["tenants"] and data["customers"]
    quasr = [row for row in data["customers"] if row["catalog"] == "quasr"]
    assert all(set(row) == {"customer_id", "catalog", "maa", "mac", "mat"} for row in quasr)
    assert main(["meter", "--month", "2026-3", "--store", str(db)]) == 2
    assert capsys.readouterr().err.strip() == "error: month '2026-3': expected YYYY-MM, e.g. 2026-01"
