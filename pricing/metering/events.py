"""Raw API-call events: the file format, and how a row is checked.

An event is one API call a customer's account made against a tenant::

    timestamp,customer_id,tenant_id,account_id,account_kind,method,endpoint,status
    2026-01-31T23:59:59.999Z,c0001,c0001-prod,c0001-u000042,user,POST,factors/login,200

``timestamp`` is ISO-8601; an offset is converted to UTC and a time without
one is read as UTC. ``account_kind`` is ``user`` or ``client`` (a machine).
``status`` is the HTTP status code of the response. Files are CSV (with a
header) or Parquet, where ``timestamp`` may also be a timestamp column and
``status`` an integer column. An optional ``event_id`` column identifies each
event (de-duplication uses it; without it, the whole row is the identity).
Other extra columns are ignored.

A timestamp must fall in the plausible window: on or after
:data:`EARLIEST_TIMESTAMP` (2000-01-01T00:00:00Z) and at most
:data:`FUTURE_TOLERANCE` (one day) after the moment of ingest; ``epoch``,
``infinity`` and year-9999 placeholders are rejects. A status must be a whole
number (``200.7`` is a reject, not 201).

Checking is written as SQL for DuckDB (see :func:`validation_sql`) so that
hundreds of millions of rows are checked without leaving the database. A row
that fails gets exactly one reason, the first that applies, from
:data:`REJECT_REASONS`; reasons carry no values, so they can be counted, and the
raw values are kept beside them in the store's ``rejects`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, UTC
from pathlib import Path
from typing import Final, Literal

import pyarrow as pa

from pricing.errors import MeteringError

EVENT_COLUMNS: Final[tuple[str, ...]] = (
    "timestamp",
    "customer_id",
    "tenant_id",
    "account_id",
    "account_kind",
    "method",
    "endpoint",
    "status",
)
EVENT_ID: Final[str] = "event_id"  # optional column naming each event
EARLIEST_TIMESTAMP: Final[datetime] = datetime(2000, 1, 1)  # UTC; older times are placeholders or errors
FUTURE_TOLERANCE: Final[timedelta] = timedelta(days=1)  # clock skew allowed past the moment of ingest
ACCOUNT_KINDS: Final[tuple[str, ...]] = ("user", "client")

# The shape of a checked event, in files the workbook writes and in the store.
ARROW_SCHEMA: Final[pa.Schema] = pa.schema(
    [
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("customer_id", pa.string()),
        ("tenant_id", pa.string()),
        ("account_id", pa.string()),
        ("account_kind", pa.string()),
        ("method", pa.string()),
        ("endpoint", pa.string()),
        ("status", pa.int16()),
    ]
)

# Column types of the store's ``events`` table (timestamps are UTC, without zone).
SQL_TYPES: Final[dict[str, str]] = {
    "timestamp": "TIMESTAMP",
    "customer_id": "VARCHAR",
    "tenant_id": "VARCHAR",
    "account_id": "VARCHAR",
    "account_kind": "VARCHAR",
    "method": "VARCHAR",
    "endpoint": "VARCHAR",
    "status": "SMALLINT",
}

REJECT_REASONS: Final[tuple[str, ...]] = (
    *(f"missing {column}" for column in EVENT_COLUMNS),
    "unparsable timestamp",
    "timestamp before 2000-01-01",
    "timestamp more than a day in the future",
    "unknown account_kind",
    "status is not a whole number",
    "status is not an HTTP code",
)

FileFormat = Literal["csv", "parquet"]


PARQUET_SUFFIXES: Final[tuple[str, ...]] = (".parquet", ".pq", ".parq")
CSV_SUFFIXES: Final[tuple[str, ...]] = (".csv", ".csv.gz", ".csv.zst", ".tsv", ".tsv.gz")


def is_event_file(path: Path) -> bool:
    """Whether the name is one :func:`file_format` reads."""
    return path.name.lower().endswith(PARQUET_SUFFIXES + CSV_SUFFIXES)


def file_format(path: Path) -> FileFormat:
    """``csv`` or ``parquet``, from the file name."""
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise MeteringError(
        f"{path}: unknown event file type (expected {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)})"
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_text(sql_type: str) -> bool:
    return sql_type.upper() in {"VARCHAR", "TEXT", "STRING", "BLOB"} or sql_type.upper().startswith("VARCHAR")


def timestamp_sql(sql_type: str) -> str:
    """The event time as a UTC ``TIMESTAMP`` from a timestamp column of this type (NULL if unparsable)."""
    column = _q("timestamp")
    upper = sql_type.upper()
    if _is_text(upper):
        # A text time without an offset is read as UTC: the store's connection runs in UTC.
        return f"(TRY_CAST(trim({column}) AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
    if upper in {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"}:
        return f"({column} AT TIME ZONE 'UTC')"
    if upper.startswith("TIMESTAMP") or upper == "DATE":
        return f"CAST({column} AS TIMESTAMP)"
    raise MeteringError(
        f"column 'timestamp' has type {sql_type}; expected ISO-8601 text or a timestamp"
    )


def _text_expr(column: str, sql_type: str) -> str:
    return f"trim(CAST({_q(column)} AS VARCHAR))" if not _is_text(sql_type) else f"trim({_q(column)})"


def missing_columns(types: Mapping[str, str]) -> list[str]:
    return [c for c in EVENT_COLUMNS if c not in types]


def _status_exprs(sql_type: str) -> tuple[str, str]:
    """``(integer_or_null, is_fractional)`` for the status column of this type.

    NOTE: ``TRY_CAST('200.7' AS INTEGER)`` rounds to 201, so text must be digits
    and a float or decimal column must hold a whole number before it is cast.
    """
    column = _q("status")
    upper = sql_type.upper()
    if _is_text(upper):
        text = f"trim({column})"
        whole = f"CASE WHEN regexp_full_match({text}, '[+]?[0-9]{{1,9}}') THEN TRY_CAST({text} AS INTEGER) END"
        fractional = (
            f"(NOT regexp_full_match({text}, '[+]?[0-9]+') AND TRY_CAST({text} AS DOUBLE) IS NOT NULL"
            f" AND isfinite(TRY_CAST({text} AS DOUBLE)))"
        )
        return whole, fractional
    if any(upper.startswith(t) for t in ("FLOAT", "DOUBLE", "REAL", "DECIMAL", "NUMERIC")):
        whole = f"CASE WHEN isfinite({column}) AND {column} = trunc({column}) THEN TRY_CAST({column} AS INTEGER) END"
        return whole, f"(isfinite({column}) AND {column} <> trunc({column}))"
    return f"TRY_CAST({column} AS INTEGER)", "false"


def _sql_timestamp(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def plausible_window(now: datetime | None = None) -> tuple[str, str]:
    """SQL literals of the first and last plausible event time, for an ingest at ``now``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    return _sql_timestamp(EARLIEST_TIMESTAMP), _sql_timestamp(moment + FUTURE_TOLERANCE)


def validation_sql(types: Mapping[str, str], now: datetime | None = None) -> tuple[str, str, str]:
    """SQL pieces that check rows of a source with these column types.

    Returns ``(clean_select, reason_expr, raw_select)``: the select list of a
    checked event (columns of :data:`SQL_TYPES`, normalised, plus ``event_id``,
    NULL when the source has none), an expression that is NULL for a good row
    and its reject reason otherwise, and the raw values as text for the
    rejects table. The source must have every column of
    :data:`EVENT_COLUMNS`; see :func:`missing_columns`. ``now`` (UTC, default
    the current time) sets the end of the plausible timestamp window.
    """
    earliest, latest = plausible_window(now)
    text = {c: _text_expr(c, types[c]) for c in EVENT_COLUMNS if c != "timestamp"}
    ts = timestamp_sql(types["timestamp"])
    status, fractional = _status_exprs(types["status"])
    kind = f"lower({text['account_kind']})"
    event_id = f"NULLIF({_text_expr(EVENT_ID, types[EVENT_ID])}, '')" if EVENT_ID in types else "CAST(NULL AS VARCHAR)"
    # NOTE: methods are upper-cased and a leading '/' is dropped from endpoints, so
    # 'post /factors/login' and 'POST factors/login' are the same call.
    clean = ", ".join(
        [
            f"{ts} AS {_q('timestamp')}",
            f"{text['customer_id']} AS customer_id",
            f"{text['tenant_id']} AS tenant_id",
            f"{text['account_id']} AS account_id",
            f"{kind} AS account_kind",
            f"upper({text['method']}) AS method",
            f"ltrim({text['endpoint']}, '/') AS endpoint",
            f"TRY_CAST({status} AS SMALLINT) AS status",
            f"{event_id} AS {EVENT_ID}",
        ]
    )
    raw_ts = _q("timestamp") if _is_text(types["timestamp"]) else f"CAST({_q('timestamp')} AS VARCHAR)"
    whens = []
    for column in EVENT_COLUMNS:
        if not _is_text(types[column]):  # a typed column is missing only when NULL
            whens.append(f"WHEN {_q(column)} IS NULL THEN 'missing {column}'")
            continue
        value = f"trim({_q(column)})"
        whens.append(f"WHEN {value} IS NULL OR {value} = '' THEN 'missing {column}'")
    whens.append(f"WHEN {ts} IS NULL THEN 'unparsable timestamp'")
    # NOTE: the window also catches 'epoch' (1970), 'infinity' and 0001/9999 placeholders.
    whens.append(f"WHEN {ts} < {earliest} THEN 'timestamp before 2000-01-01'")
    whens.append(f"WHEN {ts} > {latest} THEN 'timestamp more than a day in the future'")
    whens.append(f"WHEN {kind} NOT IN ({', '.join(repr(k) for k in ACCOUNT_KINDS)}) THEN 'unknown account_kind'")
    whens.append(f"WHEN {fractional} THEN 'status is not a whole number'")
    whens.append(f"WHEN {status} IS NULL OR {status} NOT BETWEEN 100 AND 599 THEN 'status is not an HTTP code'")
    reason = "CASE " + " ".join(whens) + " ELSE NULL END"
    raw = ", ".join(
        [f"{raw_ts} AS raw_timestamp"]
        + [
            f"CAST({_q(c)} AS VARCHAR) AS raw_{c}"
            for c in EVENT_COLUMNS
            if c != "timestamp"
        ]
    )
    return clean, reason, raw
