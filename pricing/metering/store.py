"""The workbook store: one embedded DuckDB file holding everything a month's billing needs.

Tables: raw ``events`` and the ``ingested_files`` they came from, ``rejects``
(rows that failed the checks, with file, row, reason and raw values), the
customer book (``customers``, ``subscriptions``, ``ledgers``), the metered
``tenant_metrics`` and ``customer_metrics``, and ``invoices`` with their
``invoice_lines``.

Ingesting is idempotent by event and all-or-nothing. An event already in the
store is skipped and counted as a duplicate, whatever file it comes from (a
re-export with other line ends, another order, a renamed or overlapping file):
its identity is its ``event_id`` when it has one, otherwise the whole checked
row (time to the millisecond, ids, kind, call, status). A file
whose content (sha256) is already in ``ingested_files`` is skipped without
reading it. One call runs in one transaction, so a failure leaves the store
exactly as it was. DuckDB lets one process at a time open a file for writing.

File names are read literally (DuckDB would expand ``*``, ``?``, ``[`` and
``{`` in them as glob patterns), and a store path must be a DuckDB database:
DuckDB opens an in-memory database for a ``.csv``, ``.parquet`` or ``.json``
path and saves nothing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, UTC
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import ibis
import pandas as pd

from pricing.engine.catalog import Catalog, load_catalog
from pricing.errors import MeteringError, PricingError, ReportError
from pricing.engine.invoice import LineType
from pricing.metering.events import (
    EVENT_COLUMNS,
    EVENT_ID,
    SQL_TYPES,
    file_format,
    is_event_file,
    missing_columns,
    plausible_window,
    timestamp_sql,
    validation_sql,
)
from pricing.metering.store_location import DEFAULT_STORE
from pricing.engine.periods import month_bounds
from pricing.metering.meters import (
    CUSTOMER_COLUMNS,
    TENANT_COLUMNS,
    MeterResult,
    meter_events,
    metered_metrics,
    unmapped_customers_expr,
)

if TYPE_CHECKING:
    from pricing.engine.invoice import Invoice
    from pricing.metering.sample_data import Book


CUSTOMER_FIELDS = {
    "customer_id": "VARCHAR NOT NULL",
    "name": "VARCHAR",
    "catalog": "VARCHAR NOT NULL",
    "plan": "VARCHAR",
    "billing_details": "BOOLEAN",
    "signup": "DATE",
    "churn": "DATE",
    "segment": "VARCHAR",
    "tenants": "INTEGER",
    "country": "VARCHAR",
    # what an invoice needs of the buyer (pricing customers import)
    "billing_email": "VARCHAR",
    "address": "VARCHAR",
    "tax_id": "VARCHAR",
    "tax_percent": "VARCHAR",
    "anchor": "VARCHAR",
}

_SCHEMA = f"""
CREATE SEQUENCE IF NOT EXISTS file_ids START 1;
CREATE TABLE IF NOT EXISTS ingested_files (
    file_id INTEGER NOT NULL, path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, format VARCHAR NOT NULL,
    ingested_at TIMESTAMP NOT NULL, "rows" BIGINT NOT NULL, accepted BIGINT NOT NULL, rejected BIGINT NOT NULL
);
ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS duplicates BIGINT DEFAULT 0;
CREATE TABLE IF NOT EXISTS events (
    {", ".join(f'"{c}" {SQL_TYPES[c]} NOT NULL' for c in EVENT_COLUMNS)}, file_id INTEGER NOT NULL
);
ALTER TABLE events ADD COLUMN IF NOT EXISTS {EVENT_ID} VARCHAR;
CREATE TABLE IF NOT EXISTS rejects (
    file_id INTEGER NOT NULL, file VARCHAR NOT NULL, "row" BIGINT NOT NULL, reason VARCHAR NOT NULL,
    {", ".join(f"raw_{c} VARCHAR" for c in EVENT_COLUMNS)}
);
CREATE TABLE IF NOT EXISTS customers ({", ".join(f"{k} {v}" for k, v in CUSTOMER_FIELDS.items())});
CREATE TABLE IF NOT EXISTS subscriptions (customer_id VARCHAR NOT NULL, timeline_yaml TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledgers (customer_id VARCHAR NOT NULL, ledger_yaml TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metered_months (month VARCHAR NOT NULL, metered_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS tenant_metrics (
    month VARCHAR NOT NULL, customer_id VARCHAR NOT NULL, tenant_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL, value BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS customer_metrics (
    month VARCHAR NOT NULL, customer_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, value BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    invoice_id VARCHAR NOT NULL, month VARCHAR NOT NULL, customer_id VARCHAR,
    period_start TIMESTAMP, period_end TIMESTAMP, catalog VARCHAR NOT NULL, plan VARCHAR NOT NULL,
    currency VARCHAR NOT NULL, decimals INTEGER NOT NULL, eligible BOOLEAN NOT NULL, reason VARCHAR,
    subtotal_minor BIGINT NOT NULL, discount_minor BIGINT NOT NULL, net_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL, total_minor BIGINT NOT NULL, notes VARCHAR
);
CREATE TABLE IF NOT EXISTS invoice_lines (
    invoice_id VARCHAR NOT NULL, line_no INTEGER NOT NULL, item VARCHAR NOT NULL,
    line_type VARCHAR NOT NULL, metric VARCHAR, quantity TEXT NOT NULL, unit_price TEXT,
    amount_minor BIGINT NOT NULL, exact_amount TEXT NOT NULL, explanation VARCHAR,
    service_start TIMESTAMP, service_end TIMESTAMP
);
CREATE TABLE IF NOT EXISTS invoice_numbers (prefix VARCHAR NOT NULL, last BIGINT NOT NULL);
""" + "".join(
    # stores made before a column existed gain it (an empty value for old rows)
    f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind};\n"
    for table, column, kind in (
        ("invoices", '"number"', "VARCHAR"), ("invoices", "kind", "VARCHAR"),
        ("invoices", "issued_at", "TIMESTAMP"), ("invoices", "credit_for", "VARCHAR"),
        ("invoices", "reason", "VARCHAR"),
        *(("customers", name, kind.replace(" NOT NULL", "")) for name, kind in CUSTOMER_FIELDS.items()),
    )
)

# The settled state of each subscription (pricing.billing.subscriptions.settle), cached so a month's run reads
# no YAML for customers whose timeline and catalog did not change. A row is current while its
# timeline_sha is the sha256 of the stored timeline text and its catalog_fingerprint the catalog's;
# ended_at: the subscription ended then; settled_from and ended_at NULL: it is not settled (billed by the
# full replay).
_SETTLED_SCHEMA = """
CREATE TABLE IF NOT EXISTS settled_subscriptions (
    customer_id VARCHAR NOT NULL, timeline_sha VARCHAR NOT NULL, catalog VARCHAR NOT NULL,
    catalog_fingerprint VARCHAR NOT NULL, settled_from TIMESTAMP, plan VARCHAR, billing_details BOOLEAN,
    quantities VARCHAR, "interval" VARCHAR, anchor_day INTEGER, anchor_month INTEGER, interval_count INTEGER,
    anchor_time VARCHAR, week_of DATE, discounts VARCHAR, tax_percent VARCHAR, ended_at TIMESTAMP
);
"""
_SETTLED_COLUMNS = (
    "customer_id", "timeline_sha", "catalog", "catalog_fingerprint", "settled_from", "plan", "billing_details",
    "quantities", "interval", "anchor_day", "anchor_month", "interval_count", "anchor_time", "week_of", "discounts",
    "tax_percent", "ended_at",
)


# --- reports -------------------------------------------------------------------


@dataclass(frozen=True)
class ImportCounts:
    """What importing a customer book did, by customer id."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


@dataclass(frozen=True)
class IssueResult:
    """What issuing a month did: numbers issued now, issued before and unchanged, issued before and differing."""

    month: str
    issued: tuple[str, ...]
    unchanged: tuple[str, ...]
    differing: tuple[str, ...]


@dataclass(frozen=True)
class FileReport:
    """What ingesting one file did."""

    path: str
    sha256: str
    status: str  # 'ingested' or 'skipped'
    rows: int = 0
    accepted: int = 0  # events stored
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    examples: tuple[tuple[int, str], ...] = ()  # (row, reason) of the first rejects
    duplicate_of: str | None = None
    duplicates: int = 0  # good events already in the store (or earlier in the file), not stored again

    def lines(self) -> list[str]:
        if self.status == "skipped":
            return [f"{self.path}: skipped, already ingested (same content as {self.duplicate_of})"]
        out = [
            f"{self.path}: {self.accepted:,} events ingested, {self.duplicates:,} duplicates skipped,"
            f" {self.rejected:,} rejected"
        ]
        out += [f"{self.path}: {count:,} rejected: {reason}" for reason, count in self.reasons.items()]
        out += [f"{self.path}: row {row}: {reason}" for row, reason in self.examples]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "sha256": self.sha256, "status": self.status, "rows": self.rows,
            "accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected,
            "reasons": dict(self.reasons), "duplicate_of": self.duplicate_of,
        }


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileReport, ...]

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.status == "skipped" for f in self.files)

    def lines(self) -> list[str]:
        out = [line for f in self.files for line in f.lines()]
        out.append(
            f"total: {self.accepted:,} events ingested, {self.duplicates:,} duplicates skipped,"
            f" {self.rejected:,} rejected, {self.skipped} file(s) skipped as already ingested"
        )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected,
            "skipped": self.skipped,
            "files": [f.to_json() for f in self.files],
        }


# --- helpers -------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, and the event files inside any directory, sorted.

    A directory must hold only event files (see :func:`pricing.metering.events.file_format`):
    any other file is named in the error rather than skipped, so nothing is
    silently left out. Hidden files and markers starting with ``.`` or ``_``
    (``.DS_Store``, Spark's ``_SUCCESS``) are ignored.
    """
    out: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found: list[str] = []
            unreadable: list[str] = []
            for p in sorted(path.rglob("*")):
                relative = p.relative_to(path)
                if any(part.startswith((".", "_")) for part in relative.parts) or not p.is_file():
                    continue
                (found if is_event_file(p) else unreadable).append(str(relative))
            if unreadable:
                shown = ", ".join(unreadable[:5]) + (f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else "")
                raise MeteringError(
                    f"{path}: cannot read {len(unreadable)} file(s): {shown}"
                    " (event files are .csv, .csv.gz, .csv.zst, .tsv, .parquet, .pq or .parq)"
                )
            if not found:
                raise MeteringError(f"{path}: directory holds no .csv or .parquet event files")
            out.extend(path / f for f in found)
        elif path.is_file():
            file_format(path)
            out.append(path)
        else:
            raise MeteringError(f"{path}: no such file")
    return out


_GLOB_CHARACTERS = frozenset("*?[]{}")


@contextmanager
def literal_path(path: Path) -> Iterator[Path]:
    """A name DuckDB reads as this very file.

    NOTE: DuckDB's readers expand ``*``, ``?``, ``[...]`` and ``{...}`` in file names,
    so ``export[1].csv`` would read ``export1.csv``. Such a path is read through a
    symlink with a plain name (keeping the suffix, which selects compression).
    """
    resolved = path.resolve()
    if not _GLOB_CHARACTERS.intersection(str(resolved)):
        yield resolved
        return
    lower = path.name.lower()
    suffix = next((s for s in (".csv.gz", ".csv.zst", ".tsv.gz") if lower.endswith(s)), path.suffix)
    with tempfile.TemporaryDirectory(prefix="pricing-ingest-") as folder:
        link = Path(folder) / f"events{suffix.lower()}"
        os.symlink(resolved, link)
        yield link


# Data files DuckDB would open as an in-memory database with the file as a view.
_NOT_A_STORE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".parq", ".json", ".jsonl", ".ndjson",
                         ".gz", ".zst", ".xlsx", ".xls", ".txt", ".yaml", ".yml")
_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def check_store_path(path: Path, *, create: bool) -> None:
    """Refuse a store path that is not (or could not become) a DuckDB database file."""
    if path.name.lower().endswith(_NOT_A_STORE_SUFFIXES):
        raise MeteringError(
            f"{path}: not a store: a {path.suffix} file is data, not a DuckDB database (use a .duckdb path)"
        )
    if path.is_dir():
        raise MeteringError(f"{path}: not a store: it is a directory")
    if not path.exists():
        if not create:
            raise MeteringError(
                f"{path}: no such store; create it with `pricing customers import` or `pricing ingest`"
            )
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise MeteringError(f"{path}: cannot create the store: {parent} is not a directory")
                break
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError as exc:
        raise MeteringError(f"{path}: cannot read the store: {exc.strerror}") from None
    if head[8:12] != _DUCKDB_MAGIC:
        raise MeteringError(f"{path}: not a store: the file exists but is not a DuckDB database")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# --- the store -------------------------------------------------------------------


class Store:
    """A workbook store in one DuckDB file. Use as a context manager.

    A missing file is created unless ``create`` is false (commands that only read
    a store refuse a path that does not exist rather than create an empty store).
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_STORE,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        read_only: bool = False,
        create: bool = True,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if str(path) != ":memory:":
            check_store_path(self.path, create=create and not read_only)
            if not read_only:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise MeteringError(f"{path}: cannot create the store: {exc.strerror}") from None
        try:
            self.con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            raise MeteringError(f"{path}: cannot open the store: {_first_line(exc)}") from None
        # Every timestamp in the store is UTC, and text times without an offset are read as UTC.
        self.con.execute("SET TimeZone = 'UTC'")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {_sql_string(memory_limit)}")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if not read_only:
            self.con.execute(_SCHEMA)
            self.con.execute(_SETTLED_SCHEMA)
        self.ibis = ibis.duckdb.from_connection(self.con)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # --- transactions ---

    def _transaction(self) -> _Transaction:
        return _Transaction(self.con)

    # --- ingest ---

    def ingest(self, paths: Iterable[str | Path] | str | Path) -> IngestReport:
        """Load event files (CSV or Parquet, files or directories) in one transaction."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        files = expand_paths(paths)
        known = dict(self.con.execute("SELECT sha256, path FROM ingested_files").fetchall())
        now = datetime.now(UTC)
        try:
            return self._ingest_files(files, known, now)
        except duckdb.Error as exc:  # the commit itself failed (a full disk): rolled back
            raise MeteringError(f"{self.path}: ingest not saved: {_first_line(exc)}") from None

    def _ingest_files(self, files: list[Path], known: dict[str, str], now: datetime) -> IngestReport:
        reports: list[FileReport] = []
        with self._transaction():
            new_ids: list[int] = []
            for path in files:
                digest = _sha256(path)
                if digest in known:
                    reports.append(FileReport(str(path), digest, "skipped", duplicate_of=known[digest]))
                    continue
                with literal_path(path) as readable:
                    report, file_id = self._ingest_file(path, readable, digest, now)
                known[digest] = str(path)
                new_ids.append(file_id)
                reports.append(report)
            if new_ids:
                # Months touched by new events must be metered again.
                self.con.execute(
                    "DELETE FROM metered_months WHERE month IN (SELECT DISTINCT strftime(\"timestamp\", '%Y-%m')"
                    f" FROM events WHERE file_id IN ({', '.join(map(str, new_ids))}))"
                )
        return IngestReport(tuple(reports))

    def _source(self, path: Path, readable: Path) -> str:
        """A relation over the file's rows with a 1-based ``_row`` column."""
        name = _sql_string(str(readable))
        if file_format(path) == "parquet":
            return f"(SELECT *, file_row_number + 1 AS _row FROM read_parquet({name}, file_row_number = true))"
        # NOTE: the CSV is staged as text first, numbered in file order (a window without
        # ORDER BY streams rows in scan order, which DuckDB keeps for CSV files).
        self.con.execute("DROP TABLE IF EXISTS _staged_csv")
        self.con.execute(
            "CREATE TEMP TABLE _staged_csv AS SELECT *, row_number() OVER () AS _row FROM read_csv("
            f"{name}, header = true, all_varchar = true, null_padding = true, auto_detect = true)"
        )
        return "_staged_csv"

    def _ingest_file(self, path: Path, readable: Path, digest: str, now: datetime) -> tuple[FileReport, int]:
        try:
            source = self._source(path, readable)
            described = self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        except duckdb.Error as exc:
            raise MeteringError(f"{path}: cannot read as {file_format(path)}: {_first_line(exc)}") from None
        types = {row[0]: str(row[1]) for row in described if row[0] != "_row"}
        if missing := missing_columns(types):
            raise MeteringError(
                f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
                f" (found: {', '.join(c for c in types if c != 'file_row_number') or 'none'})"
            )
        try:
            clean, reason, raw = validation_sql(types, now)
        except PricingError as exc:
            raise MeteringError(f"{path}: {exc}") from None
        file_id = int(self.con.execute("SELECT nextval('file_ids')").fetchall()[0][0])
        try:
            rejected = int(self.con.execute(
                f"INSERT INTO rejects SELECT {file_id}, {_sql_string(str(path))}, _row, r.reason,"
                " r.* EXCLUDE (reason, _row)"
                f" FROM (SELECT _row, {reason} AS reason, {raw} FROM {source}) AS r WHERE r.reason IS NOT NULL"
            ).fetchall()[0][0])
            rows = self._count(f"SELECT count(*) FROM {source}")
            checked = f"(SELECT {clean}, _row FROM {source} WHERE ({reason}) IS NULL)"
            accepted = self._insert_new_by_id(checked, file_id) if EVENT_ID in types else 0
            accepted += self._insert_new_by_content(checked, file_id, self._time_span(source, types, now))
            duplicates = rows - rejected - accepted
        except duckdb.Error as exc:
            raise MeteringError(f"{path}: cannot ingest: {_first_line(exc)}") from None
        reasons = dict(
            self.con.execute(
                "SELECT reason, count(*) FROM rejects WHERE file_id = ? GROUP BY reason ORDER BY count(*) DESC, reason",
                [file_id],
            ).fetchall()
        )
        examples = tuple(
            (int(r), str(s))
            for r, s in self.con.execute(
                'SELECT "row", reason FROM rejects WHERE file_id = ? ORDER BY "row" LIMIT 5', [file_id]
            ).fetchall()
        )
        self.con.execute(
            "INSERT INTO ingested_files (file_id, path, sha256, format, ingested_at, \"rows\", accepted, rejected,"
            " duplicates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [file_id, str(path), digest, file_format(path), datetime.now(UTC).replace(tzinfo=None),
             rows, accepted, rejected, duplicates],
        )
        self.con.execute("DROP TABLE IF EXISTS _staged_csv")
        report = FileReport(str(path), digest, "ingested", rows, accepted, rejected, reasons, examples,
                            duplicates=duplicates)
        return report, file_id

    def _count(self, sql: str, parameters: list[Any] | None = None) -> int:
        """The first value of a statement's result (a count, or the rows a DML statement changed)."""
        return int(self.con.execute(sql, parameters or []).fetchall()[0][0])

    def _time_span(self, source: str, types: Mapping[str, str], now: datetime) -> tuple[Any, Any]:
        """First and last plausible event time in a file: one column read, no other check.

        It bounds the stored events a file's events are compared with; rows rejected
        for other reasons only widen it.
        """
        ts = timestamp_sql(types["timestamp"])
        earliest, latest = plausible_window(now)
        return tuple(self.con.execute(
            f"SELECT min({ts}), max({ts}) FROM {source} WHERE {ts} BETWEEN {earliest} AND {latest}"
        ).fetchall()[0])

    def _insert_new_by_id(self, checked: str, file_id: int) -> int:
        """Events with an ``event_id``: new if no stored event has it; the first of a repeated id wins.

        NOTE: one grouping by id of the file's rows with the stored ids (spilled to disk
        when large, like the content grouping below), keeping the first row of each id
        that only the file has.
        """
        values = ", ".join(_quote(c) for c in EVENT_COLUMNS)
        return self._count(
            f"INSERT INTO events BY NAME SELECT {EVENT_ID}, earliest.*, {file_id} AS file_id FROM ("
            f" SELECT {EVENT_ID}, arg_min(struct_pack({values}), _row) AS earliest FROM ("
            f" SELECT {EVENT_ID}, _row, {values}, true AS fresh FROM {checked} WHERE {EVENT_ID} IS NOT NULL"
            f" UNION ALL BY NAME SELECT {EVENT_ID}, false AS fresh FROM events"
            f" WHERE file_id <> {file_id} AND {EVENT_ID} IS NOT NULL"
            f") GROUP BY {EVENT_ID} HAVING bool_and(fresh))"
        )

    def _insert_new_by_content(self, checked: str, file_id: int, span: tuple[Any, Any]) -> int:
        """Insert the file's events without an id that are not stored yet, each once; return how many.

        NOTE: an event without an id is its whole checked row. When nothing is stored
        in the file's time span (a new month, the usual case), only a repeat inside the
        file can be a duplicate: the file is inserted at once and its repeats found in
        the inserted rows, the cheapest way. Otherwise duplicates are found before
        anything is inserted, never inserted then deleted: DuckDB holds a
        transaction's deletions in memory until the commit, and a re-exported month of
        132 M events did not fit in 1 GB that way.
        """
        lo, hi = span
        if lo is None:  # no plausible time: every row is a reject
            return 0
        values = ", ".join(_quote(c) for c in EVENT_COLUMNS)
        new = f"(SELECT {values} FROM {checked} WHERE {EVENT_ID} IS NULL)"
        stored = f'events WHERE file_id <> {file_id} AND {EVENT_ID} IS NULL AND "timestamp" BETWEEN ? AND ?'
        if not self._count(f"SELECT count(*) FROM (SELECT 1 FROM {stored} LIMIT 1)", [lo, hi]):
            inserted = self._count(f"INSERT INTO events BY NAME SELECT *, {file_id} AS file_id FROM {new}")
            return inserted - self._drop_repeats(file_id)
        # NOTE: one grouping of the file's rows with the stored ones of its time span, by the whole
        # row: a group holding a stored row is a duplicate, a group of several file rows is stored
        # once. It is exact (no hash decides anything), and DuckDB spills a large grouping to disk,
        # where a join against a set as large as the file ran out of memory.
        return self._count(
            f"INSERT INTO events BY NAME SELECT {values}, {file_id} AS file_id FROM ("
            f" SELECT *, true AS fresh FROM {new} UNION ALL SELECT {values}, false AS fresh FROM {stored}"
            f") GROUP BY {values} HAVING bool_and(fresh)",
            [lo, hi],
        )

    def _drop_repeats(self, file_id: int) -> int:
        """Delete the extra copies of rows repeated inside a just-inserted file; return how many."""
        row = [_quote(c) for c in EVENT_COLUMNS]
        key = f"hash({', '.join(row)})"
        day = 'CAST("timestamp" AS DATE)'
        new = f"events WHERE file_id = {file_id} AND {EVENT_ID} IS NULL"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _repeated AS SELECT {day} AS d, {key} AS k FROM {new}"
            " GROUP BY ALL HAVING count(*) > 1"
        )
        days = [r[0] for r in self.con.execute("SELECT DISTINCT d FROM _repeated ORDER BY d").fetchall()]
        span = 'AND "timestamp" >= CAST(? AS TIMESTAMP) AND "timestamp" < CAST(? AS TIMESTAMP) + INTERVAL 1 DAY'
        deleted = 0
        for when in days:
            deleted += self._count(
                "DELETE FROM events WHERE rowid IN (SELECT rid FROM (SELECT n.rid, row_number() OVER"
                f" (PARTITION BY {', '.join('n.' + c for c in row)} ORDER BY n.rid) AS copy"
                f" FROM (SELECT rowid AS rid, {key} AS k, * FROM {new} {span}) AS n"
                " SEMI JOIN (SELECT k FROM _repeated WHERE d = ?) AS r ON n.k = r.k) WHERE copy > 1)",
                [when, when, when],
            )
        self.con.execute("DROP TABLE _repeated")
        return deleted

    # --- readers ---

    def months(self) -> list[str]:
        """Months ('YYYY-MM') that have events."""
        rows = self.con.execute(
            "SELECT DISTINCT strftime(\"timestamp\", '%Y-%m') AS m FROM events ORDER BY m"
        ).fetchall()
        return [r[0] for r in rows]

    def event_count(self, month: str | None = None) -> int:
        if month is None:
            return int(self.con.execute("SELECT count(*) FROM events").fetchall()[0][0])
        start, end = month_bounds(month, MeteringError)
        return int(
            self.con.execute(
                'SELECT count(*) FROM events WHERE "timestamp" >= ? AND "timestamp" < ?', [start, end]
            ).fetchall()[0][0]
        )

    def files(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM ingested_files ORDER BY file_id").df()

    def rejects(self, file: str | None = None) -> pd.DataFrame:
        if file is None:
            return self.con.execute('SELECT * FROM rejects ORDER BY file_id, "row"').df()
        return self.con.execute('SELECT * FROM rejects WHERE file = ? ORDER BY "row"', [file]).df()

    def customers(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM customers ORDER BY customer_id").df()

    def timelines(self) -> dict[str, str]:
        return dict(self.con.execute("SELECT customer_id, timeline_yaml FROM subscriptions ORDER BY 1").fetchall())

    def ledgers(self) -> dict[str, str]:
        return dict(self.con.execute("SELECT customer_id, ledger_yaml FROM ledgers ORDER BY 1").fetchall())

    def timeline_shas(self) -> dict[str, str]:
        """customer_id -> sha256 (hex) of the stored timeline text."""
        return dict(self.con.execute(
            "SELECT customer_id, sha256(timeline_yaml) FROM subscriptions ORDER BY 1").fetchall())

    def timelines_of(self, customer_ids: Iterable[str]) -> dict[str, str]:
        """The stored timeline texts of some customers."""
        wanted = pd.DataFrame({"customer_id": sorted(set(customer_ids))}, dtype=object)
        if wanted.empty:
            return {}
        self.con.register("_wanted_timelines", wanted)
        try:
            return dict(self.con.execute(
                "SELECT s.customer_id, s.timeline_yaml FROM subscriptions s"
                " JOIN _wanted_timelines w USING (customer_id) ORDER BY 1").fetchall())
        finally:
            self.con.unregister("_wanted_timelines")

    # --- settled subscriptions (the billing cache) ---

    def settled_subscriptions(self) -> pd.DataFrame:
        """Every cached settled state (current or stale: the caller compares the keys)."""
        if "settled_subscriptions" not in {r[0] for r in self.con.execute("SHOW TABLES").fetchall()}:
            return pd.DataFrame(columns=_SETTLED_COLUMNS)  # a read-only store made before the cache existed
        # NOTE: plain Python values (None, datetime), not DuckDB's Arrow-backed frame: a month's run
        # reads every row one by one
        rows = self.con.execute(f"SELECT {', '.join(_quote(c) for c in _SETTLED_COLUMNS)} FROM settled_subscriptions"
                                ).fetchall()
        return pd.DataFrame(rows, columns=list(_SETTLED_COLUMNS), dtype=object)

    def customer_catalogs(self) -> dict[str, str]:
        """customer_id -> catalog of every customer in the book."""
        return dict(self.con.execute("SELECT customer_id, catalog FROM customers").fetchall())

    def ledger_ids(self) -> set[str]:
        """The customers billed by a prepaid ledger."""
        return {r[0] for r in self.con.execute("SELECT customer_id FROM ledgers").fetchall()}

    def save_settled(self, rows: pd.DataFrame) -> None:
        """Replace the cached settled state of the customers in ``rows`` (columns of the table)."""
        if rows.empty:
            return
        with self._transaction():
            self.con.register("_settled_rows", rows.reindex(columns=list(_SETTLED_COLUMNS)))
            try:
                self.con.execute("DELETE FROM settled_subscriptions"
                                 " WHERE customer_id IN (SELECT customer_id FROM _settled_rows)")
                self.con.execute("INSERT INTO settled_subscriptions BY NAME SELECT * FROM _settled_rows")
            finally:
                self.con.unregister("_settled_rows")

    # --- the customer book ---

    def mixing_books(self, book: Book) -> str | None:
        """Why loading the generated ``book`` here would mix it with another book's events; None if it would not.

        NOTE: generated books number their customers c0001, c0002...: a second book with other sizes or
        another seed would take over the first one's customer ids while that book's events stay, and each
        customer's usage would be two unrelated datasets summed. The same book again is fine (re-runs).
        """
        events = self.event_count()
        if events == 0:
            return None
        stored = [tuple(row) for row in self.con.execute(
            "SELECT customer_id, name, catalog FROM customers ORDER BY customer_id").fetchall()]
        generated = sorted(zip(book.customers["customer_id"], book.customers["name"], book.customers["catalog"]))
        # the same customers over more months differ only in their timelines and ledgers
        if stored == generated and self.timelines() == dict(book.timelines) and self.ledgers() == dict(book.ledgers):
            return None
        return (f"{self.path}: already holds {events:,} events of another customer book ({len(stored):,} customers);"
                " the sample data would be mixed with them: choose another --store, or remove that file")

    def write_book(self, book: Book) -> None:
        """Store (or replace) a book's customers, subscription timelines and prepaid ledgers."""
        frame = book.customers.copy()
        for column in CUSTOMER_FIELDS:
            if column not in frame.columns:
                frame[column] = None
        frame = frame[list(CUSTOMER_FIELDS)]
        timelines = pd.DataFrame(list(book.timelines.items()), columns=["customer_id", "timeline_yaml"])
        ledgers = pd.DataFrame(list(book.ledgers.items()), columns=["customer_id", "ledger_yaml"])
        with self._transaction():
            self.con.register("_book_customers", frame)
            self.con.register("_book_timelines", timelines)
            self.con.register("_book_ledgers", ledgers)
            try:
                for table, view in (("customers", "_book_customers"), ("subscriptions", "_book_timelines"),
                                    ("ledgers", "_book_ledgers")):
                    self.con.execute(
                        f"DELETE FROM {table} WHERE customer_id IN (SELECT customer_id FROM _book_customers)"
                    )
                    self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
                self.con.execute("DELETE FROM metered_months")
            finally:
                for view in ("_book_customers", "_book_timelines", "_book_ledgers"):
                    self.con.unregister(view)

    def import_book(self, customers: Sequence[Mapping[str, Any]], timelines: Mapping[str, str],
                    ledgers: Mapping[str, str]) -> ImportCounts:
        """Add or update customers (imported fields only), their timelines and ledgers, in one
        transaction. Importing the same book again changes nothing."""
        existing = {str(r["customer_id"]): r for r in self.customers().to_dict("records")}
        stored_timelines, stored_ledgers = self.timelines(), self.ledgers()
        added, updated, unchanged = [], [], []
        rows: list[dict[str, Any]] = []
        for record in customers:
            customer_id = str(record["customer_id"])
            before = existing.get(customer_id)
            after = {column: None for column in CUSTOMER_FIELDS}
            if before is not None:
                after.update({k: (None if _missing(v) else v) for k, v in before.items() if k in CUSTOMER_FIELDS})
            after.update(record)
            same_row = before is not None and all(_same(after[c], before.get(c)) for c in CUSTOMER_FIELDS)
            same_subscription = (timelines.get(customer_id, stored_timelines.get(customer_id))
                                 == stored_timelines.get(customer_id)
                                 and ledgers.get(customer_id, stored_ledgers.get(customer_id))
                                 == stored_ledgers.get(customer_id))
            if before is None:
                added.append(customer_id)
            elif same_row and same_subscription:
                unchanged.append(customer_id)
                continue
            else:
                updated.append(customer_id)
            rows.append(after)
        changed = [r["customer_id"] for r in rows]
        frame = pd.DataFrame(rows, columns=list(CUSTOMER_FIELDS))
        new_timelines = pd.DataFrame([(c, timelines[c]) for c in changed if c in timelines],
                                     columns=["customer_id", "timeline_yaml"])
        new_ledgers = pd.DataFrame([(c, ledgers[c]) for c in changed if c in ledgers],
                                   columns=["customer_id", "ledger_yaml"])
        with self._transaction():
            self.con.register("_import_customers", frame)
            self.con.register("_import_timelines", new_timelines)
            self.con.register("_import_ledgers", new_ledgers)
            try:
                self.con.execute("DELETE FROM customers"
                                 " WHERE customer_id IN (SELECT customer_id FROM _import_customers)")
                self.con.execute("INSERT INTO customers BY NAME SELECT * FROM _import_customers")
                # a customer holds one timeline or one ledger: an imported one replaces either
                moved = "SELECT customer_id FROM _import_timelines UNION SELECT customer_id FROM _import_ledgers"
                self.con.execute(f"DELETE FROM subscriptions WHERE customer_id IN ({moved})")
                self.con.execute(f"DELETE FROM ledgers WHERE customer_id IN ({moved})")
                self.con.execute("INSERT INTO subscriptions BY NAME SELECT * FROM _import_timelines")
                self.con.execute("INSERT INTO ledgers BY NAME SELECT * FROM _import_ledgers")
            finally:
                for view in ("_import_customers", "_import_timelines", "_import_ledgers"):
                    self.con.unregister(view)
        return ImportCounts(tuple(added), tuple(updated), tuple(unchanged))

    def customer(self, customer_id: str) -> dict[str, Any]:
        """One customer's row, with its timeline or ledger text."""
        rows = self.con.execute("SELECT * FROM customers WHERE customer_id = ?", [customer_id]).df()
        if rows.empty:
            raise ReportError(f"no customer {customer_id!r} in {self.path}")
        record = {str(k): (None if _missing(v) else v) for k, v in rows.iloc[0].to_dict().items()}
        record["timeline_yaml"] = self.timelines().get(customer_id)
        record["ledger_yaml"] = self.ledgers().get(customer_id)
        return record

    def _catalogs(self) -> dict[str, Catalog]:
        ids = [r[0] for r in self.con.execute("SELECT DISTINCT catalog FROM customers ORDER BY 1").fetchall()]
        return {i: load_catalog(i) for i in ids}

    # --- metering ---

    def meter(self, month: str, default_catalog: str | None = None) -> MeterResult:
        """Meter one month for every customer, replacing that month's stored metrics.

        Customers with events but no row in ``customers`` are an error unless
        ``default_catalog`` is given: then they are added to the book with it.
        """
        month_bounds(month, MeteringError)
        events = self.ibis.table("events")
        mapping = self.ibis.table("customers")
        unmapped = unmapped_customers_expr(events, mapping, month).to_pandas()
        if not unmapped.empty:
            if default_catalog is None:
                sample = ", ".join(unmapped["customer_id"].head(3))
                more = f" and {len(unmapped) - 3} more" if len(unmapped) > 3 else ""
                raise MeteringError(
                    f"events of {month}: {len(unmapped)} customer(s) not in the customer book ({sample}{more});"
                    " import them (pricing customers import) or give --catalog to meter them with one catalog"
                )
            load_catalog(default_catalog)
            self.con.register("_unmapped", unmapped[["customer_id"]])
            try:
                self.con.execute(
                    "INSERT INTO customers (customer_id, name, catalog) SELECT customer_id, customer_id, ?"
                    " FROM _unmapped",
                    [default_catalog],
                )
            finally:
                self.con.unregister("_unmapped")
        catalogs = self._catalogs()
        # NOTE: the book may name a catalog file by path; metering keys its rules by the id the file
        # declares, so the book's references are read as those ids (two files with one id are refused)
        ids: dict[str, str] = {}
        for reference, catalog in catalogs.items():
            if ids.setdefault(catalog.id, reference) != reference:
                raise MeteringError(f"catalogs {ids[catalog.id]!r} and {reference!r} both declare id {catalog.id!r};"
                                    " give each catalog its own id")
        renamed = {reference: catalog.id for reference, catalog in catalogs.items() if reference != catalog.id}
        if renamed:
            mapping = mapping.mutate(catalog=mapping.catalog.substitute(renamed))
        result = meter_events(events, mapping, list(catalogs.values()), month)
        self.save_metrics(month, result)
        return result

    def save_metrics(self, month: str, result: MeterResult) -> None:
        """Store a month's metrics, replacing that month's rows.

        :meth:`meter` calls this; call it yourself with the result of
        :func:`pricing.metering.meters.meter_events` run on a warehouse or Spark.
        """
        month_bounds(month, MeteringError)
        result = MeterResult(
            tenants=result.tenants[result.tenants["month"] == month],
            customers=result.customers[result.customers["month"] == month],
        )
        with self._transaction():
            self.con.execute("DELETE FROM tenant_metrics WHERE month = ?", [month])
            self.con.execute("DELETE FROM customer_metrics WHERE month = ?", [month])
            self.con.execute("DELETE FROM metered_months WHERE month = ?", [month])
            self.con.register("_tenants", result.tenants)
            self.con.register("_customers", result.customers)
            try:
                self.con.execute(
                    "INSERT INTO tenant_metrics SELECT month, customer_id, tenant_id, metric, value FROM _tenants"
                )
                self.con.execute(
                    "INSERT INTO customer_metrics SELECT month, customer_id, metric, value FROM _customers"
                )
            finally:
                self.con.unregister("_tenants")
                self.con.unregister("_customers")
            self.con.execute(
                "INSERT INTO metered_months VALUES (?, ?)",
                [month, datetime.now(UTC).replace(tzinfo=None)],
            )

    def _ensure_metered(self, month: str) -> None:
        month_bounds(month, MeteringError)
        done = self.con.execute("SELECT count(*) FROM metered_months WHERE month = ?", [month]).fetchall()[0]
        if not done or not done[0]:
            if self.read_only:
                raise MeteringError(f"{self.path}: the events of {month} changed since they were metered;"
                                    f" run `pricing meter --month {month} --store {self.path}` first")
            self.meter(month)

    def metered(self, month: str) -> MeterResult:
        """The stored metrics of a month (metered now if the month's events changed)."""
        self._ensure_metered(month)
        tenants = self.con.execute(
            "SELECT m.month, m.customer_id, m.tenant_id, c.catalog, m.metric, m.value FROM tenant_metrics m"
            " JOIN customers c USING (customer_id) WHERE m.month = ? ORDER BY m.customer_id, m.tenant_id",
            [month],
        ).df()[TENANT_COLUMNS]
        customers = self.con.execute(
            "SELECT m.month, m.customer_id, c.catalog, m.metric, m.value FROM customer_metrics m"
            " JOIN customers c USING (customer_id) WHERE m.month = ? ORDER BY m.customer_id",
            [month],
        ).df()[CUSTOMER_COLUMNS]
        return MeterResult(tenants=tenants, customers=customers)

    def customer_usage(self, month: str, catalog: str | None = None) -> pd.DataFrame:
        """One row per customer in the book: customer_id, catalog and an int column per metered metric.

        Customers without events in the month have zeros. A metric of another
        catalog is 0 for a customer; pass ``catalog`` to get one catalog's
        customers and metrics only.
        """
        self._ensure_metered(month)
        where = "WHERE c.catalog = ?" if catalog else ""
        params: list[Any] = [month] + ([catalog] if catalog else [])
        long = self.con.execute(
            "SELECT c.customer_id, c.catalog, m.metric, m.value FROM customers c"
            " LEFT JOIN customer_metrics m ON m.customer_id = c.customer_id AND m.month = ?"
            f" {where} ORDER BY c.customer_id",
            params,
        ).df()
        return self._pivot(long, ["customer_id", "catalog"], catalog)

    def tenant_usage(self, month: str, catalog: str | None = None) -> pd.DataFrame:
        """One row per customer x tenant with events in the month: ids, catalog, an int column per metric."""
        self._ensure_metered(month)
        where = "AND c.catalog = ?" if catalog else ""
        params: list[Any] = [month] + ([catalog] if catalog else [])
        long = self.con.execute(
            "SELECT m.customer_id, m.tenant_id, c.catalog, m.metric, m.value FROM tenant_metrics m"
            f" JOIN customers c USING (customer_id) WHERE m.month = ? {where}"
            " ORDER BY m.customer_id, m.tenant_id",
            params,
        ).df()
        return self._pivot(long, ["customer_id", "tenant_id", "catalog"], catalog)

    def _pivot(self, long: pd.DataFrame, keys: list[str], catalog: str | None) -> pd.DataFrame:
        catalogs = [load_catalog(catalog)] if catalog else list(self._catalogs().values())
        metrics: list[str] = []
        for listed in catalogs:
            metrics += [m for m in metered_metrics(listed) if m not in metrics]
        base = long[keys].drop_duplicates().reset_index(drop=True)
        present = long.dropna(subset=["metric"])
        if not present.empty:
            wide = present.pivot_table(index=keys, columns="metric", values="value", aggfunc="sum").reset_index()
            base = base.merge(wide, on=keys, how="left")
        for metric in metrics:
            if metric not in base.columns:
                base[metric] = 0
        base = base[keys + metrics]
        for metric in metrics:
            base[metric] = base[metric].fillna(0).astype("int64")
        return base

    # --- invoices ---

    def _append_frames(self, heads: pd.DataFrame, lines: pd.DataFrame) -> None:
        if heads.empty:
            return
        self.con.register("_heads", heads)
        self.con.register("_lines", lines)
        try:
            self.con.execute("INSERT INTO invoices BY NAME SELECT * FROM _heads")
            if not lines.empty:
                self.con.execute("INSERT INTO invoice_lines BY NAME SELECT * FROM _lines")
        finally:
            self.con.unregister("_heads")
            self.con.unregister("_lines")

    def issue_invoices(self, month: str, invoices: Sequence[Invoice], prefix: str = "INV-") -> IssueResult:
        """Issue a month's invoices: new ones get the next numbers of ``prefix``, without gaps;
        invoices issued before are final and never changed (a fresh computation that differs is
        reported, to be corrected with a credit note). One transaction: all or nothing."""
        month_bounds(month, MeteringError)
        with self._transaction():
            stored = self.con.execute(
                'SELECT "number", customer_id, issued_at, period_start, total_minor FROM invoices'
                " WHERE month = ? AND kind = 'invoice' ORDER BY \"number\"", [month]).fetchall()
            known: dict[tuple[Any, ...], tuple[str, int]] = {}
            counts: dict[tuple[Any, ...], int] = {}
            for number, customer, issued, start, total in stored:
                key = (customer, _naive(issued), _naive(start))
                ordinal = counts[key] = counts.get(key, -1) + 1  # invoices sharing a key, in number order
                known[(*key, ordinal)] = (number, int(total))
            fresh: list[Invoice] = []
            unchanged: list[str] = []
            differing: list[str] = []
            seen: dict[tuple[Any, ...], int] = {}
            for invoice in invoices:
                key = (invoice.customer_id, _naive(invoice.issued_at), _naive(invoice.period_start))
                ordinal = seen[key] = seen.get(key, -1) + 1
                previous = known.get((*key, ordinal))
                if previous is None:
                    fresh.append(invoice)
                elif previous[1] == invoice.total_minor:
                    unchanged.append(previous[0])
                else:
                    differing.append(previous[0])
            numbers = self._next_numbers(prefix, len(fresh))
            self._insert_invoices(month, list(zip(numbers, fresh)), kind="invoice")
        return IssueResult(month, tuple(numbers), tuple(unchanged), tuple(differing))

    def _next_numbers(self, prefix: str, count: int) -> list[str]:
        row = self.con.execute("SELECT last FROM invoice_numbers WHERE prefix = ?", [prefix]).fetchall()
        last = int(row[0][0]) if row else 0
        if count:
            if row:
                self.con.execute("UPDATE invoice_numbers SET last = ? WHERE prefix = ?", [last + count, prefix])
            else:
                self.con.execute("INSERT INTO invoice_numbers VALUES (?, ?)", [prefix, last + count])
        return [f"{prefix}{n:06d}" for n in range(last + 1, last + count + 1)]

    def _insert_invoices(self, month: str, numbered: list[tuple[str, Invoice]], kind: str,
                         credit_for: str | None = None, reason: str | None = None,
                         issued_at: datetime | None = None) -> None:
        heads, lines = _invoice_frames(month, numbered, kind, credit_for, reason, issued_at)
        self._append_frames(heads[_columns(self.con, "invoices")], lines[_columns(self.con, "invoice_lines")])

    def credit_invoice(self, number: str, reason: str, issued_at: datetime, prefix: str = "INV-") -> str:
        """A credit note reversing issued invoice ``number`` in full; returns its own number.

        The credit note is listed in the register of the month of the invoice it
        corrects (so the register nets them), with its own issue date.
        """
        if not reason.strip():
            raise ReportError("a credit note needs a reason (--reason)")
        with self._transaction():
            head = self.con.execute(
                'SELECT month, kind FROM invoices WHERE "number" = ?', [number]).fetchall()
            if not head:
                raise ReportError(f"no issued invoice {number!r} in {self.path}")
            month, kind = head[0]
            if kind != "invoice":
                raise ReportError(f"{number} is a {str(kind).replace('_', ' ')}, not an invoice")
            done = self.con.execute(
                "SELECT \"number\" FROM invoices WHERE credit_for = ?", [number]).fetchall()
            if done:
                raise ReportError(f"{number} is already credited by {done[0][0]}")
            invoice = self.invoice(number)
            reversed_lines = tuple(replace(line, amount_minor=-line.amount_minor, exact_amount=-line.exact_amount)
                                   for line in invoice.lines)
            credit = replace(invoice, lines=reversed_lines, notes=(f"credit note for {number}: {reason}",))
            [credit_number] = self._next_numbers(prefix, 1)
            self._insert_invoices(str(month), [(credit_number, credit)], kind="credit_note", credit_for=number,
                                  reason=reason, issued_at=issued_at)
        return credit_number

    def invoice(self, number: str) -> Invoice:
        """One stored invoice (or credit note) by number, as an Invoice object."""
        from pricing.engine.invoice import Invoice, Line, LineType

        heads = self.con.execute('SELECT * FROM invoices WHERE "number" = ?', [number]).df()
        if heads.empty:
            raise ReportError(f"no issued invoice {number!r} in {self.path}")
        head = heads.iloc[0]
        rows = self.con.execute(
            "SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no", [head["invoice_id"]]).df()
        lines = tuple(Line(
            item=r["item"], line_type=LineType(r["line_type"]), quantity=Decimal(r["quantity"]),
            unit_price=None if r["unit_price"] is None or pd.isna(r["unit_price"]) else Decimal(r["unit_price"]),
            amount_minor=int(r["amount_minor"]), exact_amount=Decimal(r["exact_amount"]),
            explanation=r["explanation"] or "", metric=None if pd.isna(r["metric"]) else r["metric"],
            service_start=_utc(r["service_start"]), service_end=_utc(r["service_end"]),
        ) for _, r in rows.iterrows())
        return Invoice(
            catalog=head["catalog"], plan=head["plan"], currency=head["currency"], decimals=int(head["decimals"]),
            lines=lines, eligible=bool(head["eligible"]), reason=None if pd.isna(head["reason"]) else head["reason"],
            period_start=_utc(head["period_start"]), period_end=_utc(head["period_end"]),
            customer_id=head["customer_id"], notes=tuple(str(head["notes"] or "").splitlines()),
            issued_at=_utc(head["issued_at"]))

    def issued(self, month: str | None = None) -> pd.DataFrame:
        """Issued invoices and credit notes (of ``month``, or all), in number order."""
        where, params = ("WHERE month = ?", [month]) if month else ("", [])
        return self.con.execute(
            f"SELECT * FROM invoices {where} ORDER BY \"number\" NULLS LAST, invoice_id", params).df()

    def invoices(self, month: str) -> pd.DataFrame:
        return self.con.execute(
            "SELECT * FROM invoices WHERE month = ? ORDER BY invoice_id", [month]
        ).df()

    def invoice_lines(self, month: str) -> pd.DataFrame:
        return self.con.execute(
            "SELECT l.* FROM invoice_lines l JOIN invoices i USING (invoice_id) WHERE i.month = ?"
            " ORDER BY l.invoice_id, l.line_no",
            [month],
        ).df()


def _invoice_frames(month: str, numbered: list[tuple[str, Invoice]], kind: str, credit_for: str | None,
                    reason: str | None, issued_at: datetime | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``invoices`` and ``invoice_lines`` for numbered invoices, built a column at a time
    (a dict per line cost more than pricing the line)."""
    naive: dict[datetime | None, datetime | None] = {}

    def utc_naive(moment: datetime | None) -> datetime | None:
        # NOTE: the lines of a month share a few service dates: convert each once
        if moment not in naive:
            naive[moment] = _naive(moment)
        return naive[moment]

    sums = []
    for _, invoice in numbered:
        total = discount = tax = 0
        for line in invoice.lines:
            total += line.amount_minor
            if line.line_type is LineType.DISCOUNT:
                discount += line.amount_minor
            elif line.line_type is LineType.TAX:
                tax += line.amount_minor
        sums.append((total - tax - discount, discount, total - tax, tax, total))
    invoices = [invoice for _, invoice in numbered]
    heads = pd.DataFrame({
        "invoice_id": [number for number, _ in numbered], "month": month,
        "customer_id": [i.customer_id for i in invoices],
        "period_start": [utc_naive(i.period_start) for i in invoices],
        "period_end": [utc_naive(i.period_end) for i in invoices],
        "catalog": [i.catalog for i in invoices], "plan": [i.plan for i in invoices],
        "currency": [i.currency for i in invoices], "decimals": [i.decimals for i in invoices],
        # NOTE: reason: a credit note's reason, else why the invoice's plan was ineligible (None if it was)
        "eligible": [i.eligible for i in invoices], "reason": [reason if reason is not None else i.reason
                                                               for i in invoices],
        "subtotal_minor": [s[0] for s in sums], "discount_minor": [s[1] for s in sums],
        "net_minor": [s[2] for s in sums], "tax_minor": [s[3] for s in sums], "total_minor": [s[4] for s in sums],
        "notes": ["\n".join(i.notes) or None for i in invoices],
        "number": [number for number, _ in numbered], "kind": kind,
        "issued_at": [utc_naive(issued_at or i.issued_at) for i in invoices], "credit_for": credit_for,
    }, columns=_INVOICE_HEAD_COLUMNS)
    owners = [number for number, invoice in numbered for _ in invoice.lines]
    lines = [line for _, invoice in numbered for line in invoice.lines]
    frame = pd.DataFrame({
        "invoice_id": owners,
        "line_no": [n for _, invoice in numbered for n in range(1, len(invoice.lines) + 1)],
        "item": [line.item for line in lines], "line_type": [line.line_type.value for line in lines],
        "metric": [line.metric for line in lines], "quantity": [str(line.quantity) for line in lines],
        "unit_price": [None if line.unit_price is None else str(line.unit_price) for line in lines],
        "amount_minor": [line.amount_minor for line in lines],
        "exact_amount": [str(line.exact_amount) for line in lines],
        "explanation": [line.explanation for line in lines],
        "service_start": [utc_naive(line.service_start) for line in lines],
        "service_end": [utc_naive(line.service_end) for line in lines],
    }, columns=_INVOICE_LINE_COLUMNS)
    return heads, frame


_INVOICE_HEAD_COLUMNS = [
    "invoice_id", "month", "customer_id", "period_start", "period_end", "catalog", "plan", "currency", "decimals",
    "eligible", "reason", "subtotal_minor", "discount_minor", "net_minor", "tax_minor", "total_minor", "notes",
    "number", "kind", "issued_at", "credit_for",
]
_INVOICE_LINE_COLUMNS = [
    "invoice_id", "line_no", "item", "line_type", "metric", "quantity", "unit_price", "amount_minor",
    "exact_amount", "explanation", "service_start", "service_end",
]


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _same(left: Any, right: Any) -> bool:
    if _missing(left) or _missing(right):
        return _missing(left) and _missing(right)
    return str(left) == str(right)


def _utc(moment: Any) -> datetime | None:
    """A stored (naive UTC) timestamp as an aware datetime; None for a missing one."""
    if moment is None or pd.isna(moment):
        return None
    value = moment.to_pydatetime() if hasattr(moment, "to_pydatetime") else moment
    return value.replace(tzinfo=UTC)


def _naive(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


class _Transaction:
    """BEGIN ... COMMIT, or ROLLBACK on any exception (nested uses join the outer one)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.owner = False

    def __enter__(self) -> _Transaction:
        try:
            self.con.execute("BEGIN TRANSACTION")
            self.owner = True
        except duckdb.TransactionException:
            self.owner = False  # already inside a transaction
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.owner:
            return
        if exc_type is None:
            self.con.execute("COMMIT")
            return
        try:
            self.con.execute("ROLLBACK")
        except duckdb.Error:
            # NOTE: after an I/O error DuckDB may have aborted the transaction itself;
            # the error that got us here is the one to report, so it propagates.
            pass


def open_store(path: str | Path | None) -> Store:
    """The CLI's store: ``path`` or :data:`DEFAULT_STORE`."""
    return Store(path or DEFAULT_STORE)


__all__ = ["DEFAULT_STORE", "FileReport", "ImportCounts", "IngestReport", "IssueResult", "MeterResult", "Store",
           "expand_paths", "open_store"]
