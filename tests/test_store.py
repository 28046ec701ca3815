"""The workbook store: idempotent, all-or-nothing ingest; metering; usage; invoices."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from pricing.apps.cli import main
from pricing.errors import MeteringError, ReportError
from pricing.metering.events import EVENT_COLUMNS
from pricing.engine.invoice import Invoice, Line, LineType
from pricing.metering.sample_data import generate_book, write_events
from pricing.metering.store import DEFAULT_STORE, Store

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


def _invoice(customer: str, amount: int, issued: datetime = datetime(2026, 2, 1, tzinfo=timezone.utc)) -> Invoice:
    line = Line("Monthly Active Accounts", LineType.USAGE, Decimal(120), Decimal("0.05"), amount,
                Decimal(amount) / 100, "120 MAA past the free 100", metric="maa",
                service_start=datetime(2026, 1, 1), service_end=datetime(2026, 2, 1))
    return Invoice("quasr", "payg", "EUR", 2, (line,), customer_id=customer,
                   period_start=datetime(2026, 1, 1), period_end=datetime(2026, 2, 1), issued_at=issued)


def test_issued_invoices_are_final_and_numbered_without_gaps(tmp_path):
    with Store(tmp_path / "w.duckdb") as store:
        first = store.issue_invoices("2026-01", [_invoice("c1", 600), _invoice("c2", 100)])
        assert first.issued == ("INV-000001", "INV-000002")
        other = store.issue_invoices("2026-02", [_invoice("c1", 50, datetime(2026, 3, 1, tzinfo=timezone.utc))])
        assert other.issued == ("INV-000003",)
        # the month again: c1 computed differently now, c3 new; c1 keeps its issued invoice
        again = store.issue_invoices("2026-01", [_invoice("c1", 700), _invoice("c2", 100), _invoice("c3", 5)])
        assert (again.issued, again.unchanged, again.differing) == (("INV-000004",), ("INV-000002",), ("INV-000001",))
        heads = store.invoices("2026-01")
        assert heads[["number", "customer_id", "total_minor"]].values.tolist() == [
            ["INV-000001", "c1", 600], ["INV-000002", "c2", 100], ["INV-000004", "c3", 5]]
        lines = store.invoice_lines("2026-01")
        assert lines[["line_no", "amount_minor", "quantity", "unit_price"]].values.tolist()[0] == [1, 600, "120", "0.05"]


def test_a_credit_note_reverses_an_invoice_and_the_register_nets_them(tmp_path):
    with Store(tmp_path / "w.duckdb") as store:
        store.issue_invoices("2026-01", [_invoice("c1", 600), _invoice("c2", 100)])
        note = store.credit_invoice("INV-000001", "wrong MAA count", datetime(2026, 2, 10, tzinfo=timezone.utc))
        assert note == "INV-000003"
        heads = store.invoices("2026-01")
        assert heads[["number", "kind", "credit_for", "total_minor"]].fillna("-").values.tolist() == [
            ["INV-000001", "invoice", "-", 600], ["INV-000002", "invoice", "-", 100],
            ["INV-000003", "credit_note", "INV-000001", -600]]
        assert int(heads["total_minor"].sum()) == 100
        assert store.invoice("INV-000003").lines[0].amount_minor == -600
        with pytest.raises(ReportError, match="already credited by INV-000003"):
            store.credit_invoice("INV-000001", "again", datetime(2026, 2, 11, tzinfo=timezone.utc))
        with pytest.raises(ReportError, match="no issued invoice 'INV-999999'"):
            store.credit_invoice("INV-999999", "x", datetime(2026, 2, 11, tzinfo=timezone.utc))


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


def test_sample_data_is_not_mixed_into_a_store_of_another_book(tmp_path, capsys):
    # generated books number customers c0001...: a second book (other size or seed) loaded into the same
    # store would sum its events with the first one's under the same ids; it is refused in one line
    db = tmp_path / "mixed.duckdb"
    first = ["sample-data", "--customers", "4", "--months", "1", "--seed", "5", "--out", str(tmp_path / "a"),
             "--ingest", "--store", str(db)]
    assert main(first) == 0
    with Store(db) as store:
        events = store.event_count()
    assert events > 0
    assert main(first) == 0  # the same book again: ingest skips what it already has
    capsys.readouterr()
    assert main(["sample-data", "--customers", "6", "--months", "1", "--seed", "5", "--out", str(tmp_path / "b"),
                 "--ingest", "--store", str(db)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {db}: already holds {events:,} events of another customer book (4 customers)")
    assert len(err.splitlines()) == 1
    with Store(db) as store:
        assert store.event_count() == events and len(store.customers()) == 4  # nothing was written
    # the same 4 customers over another month span: same ids, names and catalogs, other timelines and events
    assert main(["sample-data", "--customers", "4", "--months", "2", "--seed", "5", "--out", str(tmp_path / "c"),
                 "--ingest", "--store", str(db)]) == 2
    assert "already holds" in capsys.readouterr().err


# --- issue 12: idempotent by event, literal names, real stores ------------------------------


def test_a_crlf_reexport_counts_no_event_twice(store, tmp_path):
    store.ingest([write_csv(tmp_path / "a.csv", ROWS)])
    before = counts(store)[0]
    crlf = tmp_path / "a-crlf.csv"
    crlf.write_bytes(("\r\n".join([HEADER, *ROWS]) + "\r\n").encode())
    report = store.ingest([crlf])
    assert (report.accepted, report.duplicates, report.skipped) == (0, len(ROWS), 0)
    assert counts(store)[0] == before
    assert f"0 events ingested, {len(ROWS)} duplicates skipped" in report.lines()[0]
    assert report.to_json()["duplicates"] == len(ROWS)


def test_a_reordered_renamed_or_overlapping_file_adds_only_new_events(store, tmp_path):
    store.ingest([write_csv(tmp_path / "a.csv", ROWS[:4])])
    reordered = write_csv(tmp_path / "renamed.csv", list(reversed(ROWS[:4])))
    overlapping = write_csv(tmp_path / "b.csv", ROWS[2:])  # half old, half new
    report = store.ingest([reordered, overlapping])
    assert [(f.accepted, f.duplicates) for f in report.files] == [(0, 4), (2, 2)]
    assert store.event_count() == len(ROWS)
    assert "6 duplicates skipped" in report.lines()[-1]


def test_reformatted_values_are_the_same_event(store, tmp_path):
    """Normalised values are compared: an offset time, case, a leading slash, spaces."""
    store.ingest([write_csv(tmp_path / "a.csv", ROWS[:1])])
    same = "2026-02-01T00:59:59.999+01:00, c1 ,c1-prod,a1,USER,post,/factors/login,200"
    assert store.ingest([write_csv(tmp_path / "b.csv", [same])]).duplicates == 1


def test_duplicates_inside_one_file_are_stored_once(store, tmp_path):
    report = store.ingest([write_csv(tmp_path / "a.csv", ROWS + ROWS[:3])])
    assert (report.accepted, report.duplicates, report.files[0].rows) == (6, 3, 9)
    assert store.event_count() == 6


def test_event_ids_tell_identical_rows_apart_and_catch_changed_ones(store, tmp_path):
    header = HEADER + ",event_id"
    same_row = ROWS[1]  # two real events with identical content, told apart by their ids
    first = write_csv(tmp_path / "a.csv", [same_row + ",e1", same_row + ",e2"], header=header)
    assert store.ingest([first]).accepted == 2
    # the same ids re-exported with a corrected status: duplicates by id
    fixed = write_csv(tmp_path / "b.csv", [same_row.replace(",401", ",200") + ",e1", ROWS[2] + ",e3"],
                      header=header)
    report = store.ingest([fixed])
    assert (report.accepted, report.duplicates) == (1, 1)
    # an id repeated in a file counts once; rows without an id are compared by content
    mixed = write_csv(tmp_path / "c.csv", [ROWS[3] + ",e4", ROWS[4] + ",e4", ROWS[5] + ",", ROWS[5] + ","],
                      header=header)
    report = store.ingest([mixed])
    assert (report.accepted, report.duplicates) == (2, 2)
    assert store.event_count() == 5
    # the same id with another time (a corrected export) is still the same event
    moved = write_csv(tmp_path / "d.csv", [ROWS[0].replace("2026-01-31T23", "2026-01-30T23") + ",e3"], header=header)
    assert store.ingest([moved]).duplicates == 1


def test_an_overlapping_file_stores_each_new_event_once_and_no_stored_one_again(store, tmp_path):
    """Duplicates of stored events are set aside before inserting (a re-export is never written).

    The second file overlaps the first in time: ROWS[0] three times and ROWS[1] once are stored
    already (4 duplicates); ROWS[3] twice is new, stored once (1 duplicate); ROWS[4] is new.
    """
    store.ingest([write_csv(tmp_path / "a.csv", ROWS[:3])])
    again = [ROWS[0], ROWS[3], ROWS[0], ROWS[4], ROWS[3], ROWS[0], ROWS[1]]
    report = store.ingest([write_csv(tmp_path / "b.csv", again)])
    assert (report.accepted, report.duplicates, report.files[0].rows) == (2, 5, 7)
    stored = store.con.execute(
        "SELECT count(*), count(DISTINCT (\"timestamp\", customer_id, tenant_id, account_id, account_kind,"
        " method, endpoint, status)) FROM events"
    ).fetchall()[0]
    assert stored == (5, 5)  # ROWS[0] to ROWS[4], each once


def test_a_repeated_id_that_is_stored_already_is_not_stored_again(store, tmp_path):
    header = HEADER + ",event_id"
    store.ingest([write_csv(tmp_path / "a.csv", [ROWS[0] + ",e1"], header=header)])
    # e1 twice (stored: 2 duplicates), e5 twice (new: stored once, 1 duplicate)
    again = [ROWS[0] + ",e1", ROWS[2] + ",e5", ROWS[0] + ",e1", ROWS[2] + ",e5"]
    report = store.ingest([write_csv(tmp_path / "b.csv", again, header=header)])
    assert (report.accepted, report.duplicates) == (1, 3)
    assert store.con.execute("SELECT event_id FROM events ORDER BY 1").fetchall() == [("e1",), ("e5",)]


def test_file_names_are_not_glob_patterns(store, tmp_path):
    write_csv(tmp_path / "export1.csv", ROWS)  # what DuckDB would read for export[1].csv
    literal = write_csv(tmp_path / "export[1].csv", ROWS[:1])
    star = tmp_path / "d" / "*.csv"
    star.parent.mkdir()
    write_csv(star.parent / "other.csv", ROWS)
    write_csv(star, ROWS[5:6])
    report = store.ingest([literal, star])
    assert [f.accepted for f in report.files] == [1, 1]
    assert store.event_count() == 2


def test_a_glob_named_parquet_file_reads_only_itself(store, tmp_path):
    book = generate_book(6, 1, seed=3)
    [path] = write_events(book, tmp_path / "ev")
    star = tmp_path / "ev" / "*.parquet"
    path.rename(star)
    (tmp_path / "ev" / "decoy.parquet").write_bytes(b"")  # a glob would try, and fail, to read it
    report = store.ingest([star])
    assert report.accepted == pq.read_metadata(star).num_rows


@pytest.mark.parametrize("name", ["events.csv", "events.parquet", "events.json", "book.txt"])
def test_a_store_path_that_is_a_data_file_is_refused(tmp_path, name, capsys):
    data = write_csv(tmp_path / "a.csv", ROWS)
    target = tmp_path / name
    if name != "events.csv":
        target.write_text("{}\n")
    else:
        target = data
    before = target.read_bytes()
    assert main(["ingest", str(data), "--store", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a store" in err
    assert target.read_bytes() == before


def test_an_existing_file_that_is_not_duckdb_is_refused(tmp_path):
    for content in (b"", b"hello, world\n", b"PAR1" + bytes(100)):
        target = tmp_path / "w.duckdb"
        target.write_bytes(content)
        with pytest.raises(MeteringError, match="not a store|not a DuckDB"):
            Store(target)
        assert target.read_bytes() == content


def test_a_store_under_a_regular_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["ingest", str(write_csv(tmp_path / "a.csv", ROWS)), "--store",
                 str(tmp_path / "file" / "w.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a directory" in err


def test_meter_refuses_a_missing_store_instead_of_creating_one(tmp_path, capsys):
    missing = tmp_path / "nowhere" / "w.duckdb"
    assert main(["meter", "--month", "2026-01", "--store", str(missing)]) == 2
    assert "no such store" in capsys.readouterr().err
    assert not missing.exists() and not missing.parent.exists()


@pytest.mark.parametrize("odd", ["events.xlsx", "events.json", "notes.txt", "sub/events.csv.bz2"])
def test_a_directory_names_the_files_it_cannot_read(store, tmp_path, odd):
    folder = tmp_path / "events"
    (folder / "sub").mkdir(parents=True)
    write_csv(folder / "a.csv", ROWS)
    (folder / odd).write_text("x")
    (folder / ".DS_Store").write_text("x")  # hidden files and _markers are not event files
    (folder / "_SUCCESS").write_text("")
    with pytest.raises(MeteringError, match=rf"cannot read 1 file\(s\): {odd.replace('.', '[.]')}"):
        store.ingest([folder])
    assert counts(store) == (0, 0, 0)


def test_a_directory_reads_tsv_parq_and_zstd_csv(store, tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "a.tsv").write_text("\n".join([HEADER.replace(",", "\t")] + [ROWS[0].replace(",", "\t")]) + "\n")
    table = pacsv.read_csv(write_csv(tmp_path / "b.csv", ROWS[1:2]))
    pq.write_table(table, folder / "b.parq")
    with pa.CompressedOutputStream(str(folder / "c.csv.zst"), "zstd") as out:
        out.write(write_csv(tmp_path / "c.csv", ROWS[2:3]).read_bytes())
    report = store.ingest([folder])
    assert [Path(f.path).name for f in report.files] == ["a.tsv", "b.parq", "c.csv.zst"]
    assert report.accepted == 3


def test_an_ineligible_invoice_keeps_its_reason_when_stored(tmp_path):
    from dataclasses import replace

    ineligible = replace(_invoice("c1", 600), eligible=False, reason="maa 120 exceeds the plan's limit 100")
    with Store(tmp_path / "w.duckdb") as store:
        [number] = store.issue_invoices("2026-01", [ineligible, _invoice("c2", 100)]).issued[:1]
        assert store.invoice(number).reason == "maa 120 exceeds the plan's limit 100"
        assert store.invoice("INV-000002").reason is None
