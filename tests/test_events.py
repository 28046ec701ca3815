"""The event format's checks: every bad row gets one countable reason, good rows are normalised."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pricing.errors import MeteringError
from pricing.metering.events import ARROW_SCHEMA, EVENT_COLUMNS, REJECT_REASONS, file_format, validation_sql

HEADER = ",".join(EVENT_COLUMNS)
GOOD = "2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,200"


def check(lines: list[str], tmp_path: Path) -> list[tuple]:
    """(reason, normalised row) of each CSV line, via the same SQL the store runs."""
    path = tmp_path / "events.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    source = f"read_csv('{path}', header = true, all_varchar = true, null_padding = true)"
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    clean, reason, _ = validation_sql(types)
    return con.execute(f"SELECT {reason} AS reason, {clean} FROM {source}").fetchall()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (GOOD, None),
        ("yesterday,c1,c1-prod,a1,user,POST,factors/login,200", "unparsable timestamp"),
        ("2026-02-30T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,200", "unparsable timestamp"),
        ("2026-01-05T10:00:00Z,c1,c1-prod,a1,robot,POST,factors/login,200", "unknown account_kind"),
        ("2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,OK", "status is not an HTTP code"),
        ("2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,99", "status is not an HTTP code"),
        ("2026-01-05T10:00:00Z,,c1-prod,a1,user,POST,factors/login,200", "missing customer_id"),
        ("2026-01-05T10:00:00Z,c1, ,a1,user,POST,factors/login,200", "missing tenant_id"),
        (",c1,c1-prod,a1,user,POST,factors/login,200", "missing timestamp"),
        ("2026-01-05T10:00:00Z,c1,c1-prod,a1", "missing account_kind"),
        # issue 12: placeholders and impossible times are rejects, not months of their own
        ("infinity,c1,c1-prod,a1,user,POST,factors/login,200", "timestamp more than a day in the future"),
        ("-infinity,c1,c1-prod,a1,user,POST,factors/login,200", "timestamp before 2000-01-01"),
        ("epoch,c1,c1-prod,a1,user,POST,factors/login,200", "timestamp before 2000-01-01"),
        ("9999-12-31,c1,c1-prod,a1,user,POST,factors/login,200", "timestamp more than a day in the future"),
        ("0001-01-01,c1,c1-prod,a1,user,POST,factors/login,200", "timestamp before 2000-01-01"),
        ("1999-12-31T23:59:59Z,c1,c1-prod,a1,user,POST,factors/login,200", "timestamp before 2000-01-01"),
        ("2000-01-01T00:00:00Z,c1,c1-prod,a1,user,POST,factors/login,200", None),
        # issue 12: status 200.7 was stored as 201
        ("2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,200.7", "status is not a whole number"),
        ("2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,200.0", "status is not a whole number"),
        ("2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,2e2", "status is not a whole number"),
        ("2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,99999999999", "status is not an HTTP code"),
        ("2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,nan", "status is not an HTTP code"),
    ],
)
def test_each_bad_row_gets_one_reason(line, reason, tmp_path):
    [(got, *_)] = check([line], tmp_path)
    assert got == reason
    assert got is None or got in REJECT_REASONS


def test_times_are_converted_to_utc_and_calls_normalised(tmp_path):
    rows = check(
        [
            "2026-02-01T00:30:00+01:00,c1,c1-prod,a1,USER,post,/factors/login,200",
            "2026-01-31 23:59:59.999,c1,c1-prod,a1,user,POST,factors/login,200",
        ],
        tmp_path,
    )
    (r1, ts1, *rest1), (r2, ts2, *_) = rows
    assert r1 is None and r2 is None
    assert ts1.isoformat() == "2026-01-31T23:30:00"
    assert ts2.isoformat() == "2026-01-31T23:59:59.999000"
    assert rest1 == ["c1", "c1-prod", "a1", "user", "POST", "factors/login", 200, None]  # no event_id


def test_typed_parquet_columns_are_checked_without_text_round_trips(tmp_path):
    path = tmp_path / "e.parquet"
    table = pa.table(
        {
            "timestamp": pa.array([1767225600000, None], pa.timestamp("ms", tz="UTC")),
            "customer_id": ["c1", "c1"], "tenant_id": ["t", "t"], "account_id": ["a", "a"],
            "account_kind": ["client", "client"], "method": ["POST", "POST"],
            "endpoint": ["oauth2/token", "oauth2/token"], "status": pa.array([200, 200], pa.int16()),
        },
        schema=ARROW_SCHEMA,
    )
    pq.write_table(table, path)
    con = duckdb.connect()
    source = f"read_parquet('{path}')"
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    clean, reason, _ = validation_sql(types)
    rows = con.execute(f"SELECT {reason}, {clean} FROM {source}").fetchall()
    assert rows[0][0] is None and rows[0][1].isoformat() == "2026-01-01T00:00:00"
    assert rows[1][0] == "missing timestamp"


def test_the_future_limit_is_a_day_after_the_ingest(tmp_path):
    from datetime import datetime, timezone

    path = tmp_path / "events.csv"
    path.write_text("\n".join([HEADER, "2026-03-02T11:00:00Z,c,t,a,user,GET,x,200",
                               "2026-03-02T13:00:00Z,c,t,a,user,GET,x,200"]) + "\n")
    con = duckdb.connect()
    source = f"read_csv('{path}', header = true, all_varchar = true)"
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    _, reason, _ = validation_sql(types, now=datetime(2026, 3, 1, 12, tzinfo=timezone.utc))
    assert [r[0] for r in con.execute(f"SELECT {reason} FROM {source}").fetchall()] == [
        None, "timestamp more than a day in the future"]


def test_typed_fractional_statuses_and_far_timestamps_are_rejects(tmp_path):
    path = tmp_path / "e.parquet"
    table = pa.table({
        "timestamp": pa.array([1767225600000, 1767225600000, -30610224000000],
                              pa.timestamp("ms", tz="UTC")),  # the last is 1000-01-01
        "customer_id": ["c1"] * 3, "tenant_id": ["t"] * 3, "account_id": ["a"] * 3,
        "account_kind": ["client"] * 3, "method": ["POST"] * 3, "endpoint": ["oauth2/token"] * 3,
        "status": pa.array([200.0, 200.7, 200.0], pa.float64()),
    })
    pq.write_table(table, path)
    con = duckdb.connect()
    source = f"read_parquet('{path}')"
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    clean, reason, _ = validation_sql(types)
    rows = con.execute(f"SELECT {reason}, {clean} FROM {source}").fetchall()
    assert [r[0] for r in rows] == [None, "status is not a whole number", "timestamp before 2000-01-01"]
    assert rows[0][8] == 200


@pytest.mark.parametrize("name", ["a.tsv", "a.parq", "a.csv.zst", "a.pq"])
def test_other_readable_names_have_a_format(name):
    assert file_format(Path(name)) in {"csv", "parquet"}


def test_a_timestamp_of_another_type_is_refused():
    types = dict.fromkeys(EVENT_COLUMNS, "VARCHAR") | {"timestamp": "BIGINT"}
    with pytest.raises(MeteringError, match="column 'timestamp' has type BIGINT"):
        validation_sql(types)


@pytest.mark.parametrize(("name", "fmt"), [("a.parquet", "parquet"), ("a.CSV", "csv"), ("a.csv.gz", "csv")])
def test_file_format_from_name(name, fmt):
    assert file_format(Path(name)) == fmt


def test_an_unknown_file_type_is_one_line_error():
    with pytest.raises(MeteringError, match=r"^x\.json: unknown event file type"):
        file_format(Path("x.json"))
