"""Hostile inputs through the CLI: each exits 2 with one line naming its file, row or field (issue 12).

Every case runs ``pricing`` in-process (``main`` with captured output) on a bad
input a careless user or an attacker could give: catalogs, usage, options,
event files and stores, subscription timelines, prepaid ledgers and report
parameters. The contract checked is the same for all: status 2, exactly one
line on stderr, starting ``error:``, naming what is wrong (the file, row,
field or option), and no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pricing.apps.cli import main
from pricing.metering.events import EVENT_COLUMNS

# --- fixtures as text ----------------------------------------------------------------------

CATALOG = """\
id: t
name: T
version: "1"
currency: EUR
metrics:
  q: {name: Q}
  seats: {name: Seats, kind: count}
  gb: {name: GB, decimals: 2}
plans:
  p:
    name: P
    recurring: {amount: "10", source: "assumption: t"}
    minimum_spend: {amount: "5", source: "assumption: t"}
    limits: [{metric: seats, maximum: 10, source: "assumption: t"}]
    charges:
      - {metric: q, model: per_unit, unit_price: "0.004", source: "assumption: t",
         included: {quantity: 100, source: "assumption: t"}}
      - {metric: q, model: graduated, source: "assumption: t",
         tiers: [{up_to: 1000, unit_price: "0.1", flat_fee: "1"}, {unit_price: "0.05"}]}
      - {metric: gb, model: package, package_size: "0.5", package_price: "2", source: "assumption: t"}
      - {metric: seats, model: flat, fee: "3", source: "assumption: t"}
"""

TIMELINE = """\
customer_id: c0003
catalog: quasr
billing_details: true
anchor: calendar
events:
  - {at: "2026-01-10T00:00:00Z", type: start, plan: payg}
usage:
  "2026-01": {maa: 1800, mac: 15000, mat: 4}
"""

LEDGER = """\
customer_id: c0042
catalog: prepaid_auth
start: "2026-01-01"
plan: standard
objects: {users: 800, applications: 2}
events:
  - {date: "2026-01-01", type: top_up, amount: "100.00"}
"""

HEADER = ",".join(EVENT_COLUMNS)
ROW = "2026-01-05T10:00:00Z,c1,c1-prod,a1,user,POST,factors/login,200"

BOMB = ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n")
DEEP = "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 120))


@dataclass(frozen=True)
class Case:
    """A bad input: files to write under tmp_path, the CLI arguments, words the one line must hold."""

    id: str
    argv: tuple[str, ...]
    names: tuple[str, ...]
    files: dict[str, bytes | str] = field(default_factory=dict)
    prepare: Callable[[Path], None] | None = None


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


# --- catalogs ------------------------------------------------------------------------------------

CATALOG_EDITS: list[tuple[str, str, str, str]] = [
    # (id, old, new, field named)
    ("negative unit price", 'unit_price: "0.004"', 'unit_price: "-0.004"', "plans.p.charges.0.unit_price"),
    ("negative recurring fee", 'recurring: {amount: "10"', 'recurring: {amount: "-10"', "plans.p.recurring.amount"),
    ("negative minimum", 'minimum_spend: {amount: "5"', 'minimum_spend: {amount: "-5"', "minimum_spend.amount"),
    ("negative flat fee", 'flat_fee: "1"', 'flat_fee: "-1"', "tiers.0.flat_fee"),
    ("negative tier price", '{unit_price: "0.05"}', '{unit_price: "-0.05"}', "tiers.1.unit_price"),
    ("negative package price", 'package_price: "2"', 'package_price: "-2"', "package_price"),
    ("negative feature fee", 'fee: "3"', 'fee: "-3"', "charges.3.fee"),
    ("negative limit", "maximum: 10", "maximum: -10", "limits.0.maximum"),
    ("negative included", "included: {quantity: 100", "included: {quantity: -100", "included.quantity"),
    ("negative commitment", 'model: flat, fee: "3"',
     'model: flat, fee: "3", commitment: {quantity_metric: seats, unit_price: "-1", source: "assumption: t"}',
     "commitment"),
    ("negative tax", "currency: EUR", 'currency: EUR\ntax_percent: "-21"', "tax_percent"),
    ("price 1e400", 'unit_price: "0.004"', 'unit_price: "1e400"', "unit_price"),
    ("price 1e-99999999", 'unit_price: "0.004"', 'unit_price: "1e-99999999"', "unit_price"),
    ("price of 19 digits", 'unit_price: "0.004"', 'unit_price: "1234567890123456789"', "unit_price"),
    ("price Infinity", 'unit_price: "0.004"', 'unit_price: "Infinity"', "unit_price"),
    ("price NaN", 'unit_price: "0.004"', 'unit_price: "NaN"', "unit_price"),
    ("price unquoted float", 'unit_price: "0.004"', "unit_price: 0.004", "unit_price"),
    ("price as a list", 'unit_price: "0.004"', "unit_price: [1]", "unit_price"),
    ("price as text", 'unit_price: "0.004"', 'unit_price: "cheap"', "unit_price"),
    ("price with a comma", 'unit_price: "0.004"', 'unit_price: "1,5"', "unit_price"),
    ("limit of 5000 digits", "maximum: 10", "maximum: " + "9" * 5000, "line"),
    ("fractional bound on whole metric", "up_to: 1000,", 'up_to: "1000.5",', "tiers.0.up_to"),
    ("package size finer than metric", 'package_size: "0.5"', 'package_size: "0.125"', "package_size"),
    ("fractional included", "included: {quantity: 100", 'included: {quantity: "100.5"', "included.quantity"),
    ("fractional limit", "maximum: 10", 'maximum: "10.5"', "limits.0.maximum"),
    ("zero package size", 'package_size: "0.5"', 'package_size: "0"', "package_size"),
    ("descending tiers", "up_to: 1000,", "up_to: 0,", "tier bounds must be positive"),
    ("duplicate key", 'fee: "3", source', 'fee: "3", fee: "300", source', "duplicate key 'fee'"),
    ("duplicate plan id", "plans:\n  p:\n", "plans:\n  p: {name: Old}\n  p:\n", "duplicate key 'p'"),
    ("duplicate metric", "metrics:\n", "metrics:\n  q: {name: Other}\n", "duplicate key 'q'"),
    ("unknown key", "    name: P\n", "    name: P\n    recuring: {}\n", "recuring"),
    ("unknown metric", "- {metric: q, model: per_unit", "- {metric: nope, model: per_unit", "nope"),
    ("unknown model", "model: per_unit", "model: per_unicorn", "charges.0"),
    ("bad currency", "currency: EUR", "currency: XYZ", "XYZ"),
    ("bad id", "id: t", "id: T T", "id"),
    ("missing plans", "plans:\n", "plons:\n", "plans"),
    ("metric decimals 99", "gb: {name: GB, decimals: 2}", "gb: {name: GB, decimals: 99}", "decimals"),
    ("bad source", 'source: "assumption: t"}\n    minimum', 'source: "trust me"}\n    minimum', "source"),
    ("tab indentation", "plans:\n  p:\n", "plans:\n\tp:\n", "line"),
    ("unclosed flow", "tiers: [{up_to", "tiers: [[{up_to", "line"),
]

CATALOG_FILES: list[tuple[str, bytes, str]] = [
    ("latin-1 catalog", CATALOG.replace("name: T\n", "name: Tarifs été\n").encode("latin-1"), "not UTF-8"),
    ("utf-16 catalog", CATALOG.encode("utf-16"), "not UTF-8"),
    ("binary catalog", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not UTF-8"),
    ("NUL bytes", b"id: t\x00\x01\x02\n", "binary content"),
    ("deep nesting", DEEP.encode(), "nested deeper"),
    ("deep flow nesting", ("a: " + "[" * 20000 + "]" * 20000).encode(), "nested deeper"),
    ("alias bomb", BOMB.encode(), "alias bomb"),
    ("empty file", b"", "expected a mapping"),
    ("a list", b"- 1\n- 2\n", "expected a mapping"),
    ("a scalar", b"just text\n", "expected a mapping"),
    ("huge integer", ("a: " + "1" * 5000 + "\n").encode(), "integer too long"),
    ("impossible date", b"a: 2026-02-30\n", "day is out of range"),
]


def _catalog_cases() -> list[Case]:
    cases = [
        Case(f"catalog: {name}", ("quote", "{tmp}/cat.yaml"), ("cat.yaml", named),
             files={"cat.yaml": _replace(CATALOG, old, new)})
        for name, old, new, named in CATALOG_EDITS
    ]
    cases += [
        Case(f"catalog: {name}", ("quote", "{tmp}/cat.yaml"), ("cat.yaml", named), files={"cat.yaml": content})
        for name, content, named in CATALOG_FILES
    ]
    cases += [
        Case("catalog: missing file", ("quote", "{tmp}/nope.yaml"), ("nope.yaml", "no such catalog file")),
        Case("catalog: a directory", ("quote", "{tmp}/dir.yaml"), ("dir.yaml",),
             prepare=lambda tmp: (tmp / "dir.yaml").mkdir()),
        Case("catalog: unknown id", ("quote", "nope"), ("unknown catalog 'nope'",)),
    ]
    return cases


# --- usage and options ------------------------------------------------------------------------------

BAD_QUANTITIES = [
    ("-1", "negative"), ("abc", "not a number"), ("1e19", "too large"), ("1234567890" * 4, "too large"),
    ("9223372036854775808", "too large"), ("1.5", "whole number"), ("nan", "not a number"),
    ("inf", "not a number"), ("1e-99999999", "whole number"), ("0x10", "not a number"),
    ("1,000", "not a number"), ("2^63", "not a number"),
]
FIRST_METRIC = {"quasr": "maa", "logto": "tokens", "license_jp": "mau", "prepaid_auth": "users"}


def _usage_cases() -> list[Case]:
    cases = [
        Case(f"usage: {catalog} {metric}={value}", ("quote", catalog, "--usage", f"{metric}={value}"),
             (metric, problem))
        for catalog, metric in FIRST_METRIC.items()
        for value, problem in BAD_QUANTITIES
    ]
    cases += [
        Case("usage: unknown metric", ("quote", "quasr", "--usage", "nope=1"), ("unknown metric 'nope'",)),
        Case("usage: no value", ("quote", "quasr", "--usage", "maa="), ("--usage", "METRIC=QUANTITY")),
        Case("usage: no name", ("quote", "quasr", "--usage", "=5"), ("--usage",)),
        Case("usage: twice", ("quote", "quasr", "--usage", "maa=1", "--usage", "maa=2"), ("'maa' given twice",)),
        Case("usage: unknown plan", ("quote", "quasr", "--plan", "gold"), ("no plan 'gold'",)),
    ]
    options = [
        ("--tax", "1e400", "at most 100"), ("--tax", "-5", "non-negative"), ("--tax", "abc", "not a number"),
        ("--tax", "1e-99999999", "decimal places"), ("--tax", "NaN", "non-negative"),
        ("--discount", "150", "at most 100"), ("--discount", "-1", "non-negative"),
        ("--discount", "Infinity", "non-negative"), ("--discount-amount", "1e400", "too large"),
        ("--discount-amount", "-3", "non-negative"),
    ]
    cases += [
        Case(f"option: {flag} {value}", ("quote", "logto", f"{flag}={value}"), (flag, problem))
        for flag, value, problem in options
    ]
    be = ("break-even", "quasr", "--metric", "maa", "--plans", "payg", "startup")
    cases += [
        Case("break-even: --max 10^19", (*be, "--max", "10^19"), ("--max", "not a whole number")),
        Case("break-even: --max 1e19", (*be, "--max", "10000000000000000000"), ("--max", "between 1 and")),
        Case("break-even: --max 0", (*be, "--max", "0"), ("--max", "between 1 and")),
        Case("break-even: --max -5", (*be, "--max=-5"), ("--max", "not a whole number")),
        Case("break-even: unknown metric", ("break-even", "quasr", "--metric", "nope", "--plans", "payg",
                                            "startup"), ("--metric 'nope'",)),
        Case("break-even: unknown plan", ("break-even", "quasr", "--metric", "maa", "--plans", "payg", "gold"),
             ("no plan 'gold'",)),
    ]
    return cases


# --- events and stores ----------------------------------------------------------------------------


def _parquet(tmp: Path, name: str, **overrides: pa.Array) -> None:
    columns = {c: pa.array(["x"]) for c in EVENT_COLUMNS} | overrides
    pq.write_table(pa.table(columns), tmp / name)


def _csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def _event_cases() -> list[Case]:
    store = ("--store", "{tmp}/w.duckdb")
    return [
        Case("events: missing columns", ("ingest", "{tmp}/a.csv", *store), ("a.csv", "missing columns"),
             files={"a.csv": _csv("x,y", header="timestamp,customer_id")}),
        Case("events: empty csv", ("ingest", "{tmp}/a.csv", *store), ("a.csv",), files={"a.csv": b""}),
        Case("events: binary csv", ("ingest", "{tmp}/a.csv", *store), ("a.csv",),
             files={"a.csv": bytes(range(256)) * 8}),
        Case("events: latin-1 csv", ("ingest", "{tmp}/a.csv", *store), ("a.csv",),
             files={"a.csv": _csv(ROW.replace("c1,", "cé,", 1)).encode("latin-1")}),
        Case("events: garbage parquet", ("ingest", "{tmp}/a.parquet", *store), ("a.parquet", "cannot read"),
             files={"a.parquet": b"PAR1 not really"}),
        Case("events: integer timestamps", ("ingest", "{tmp}/a.parquet", *store), ("a.parquet", "timestamp"),
             prepare=lambda tmp: _parquet(tmp, "a.parquet", timestamp=pa.array([1], pa.int64()))),
        Case("events: json file", ("ingest", "{tmp}/a.json", *store), ("a.json", "unknown event file type"),
             files={"a.json": "{}"}),
        Case("events: xlsx in a directory", ("ingest", "{tmp}/ev", *store), ("ev", "b.xlsx"),
             files={"ev/a.csv": _csv(ROW), "ev/b.xlsx": "x"}),
        Case("events: empty directory", ("ingest", "{tmp}/ev", *store), ("ev", "no .csv or .parquet"),
             prepare=lambda tmp: (tmp / "ev").mkdir()),
        Case("events: missing file", ("ingest", "{tmp}/nope.csv", *store), ("nope.csv", "no such file")),
        Case("events: a glob that is not a file", ("ingest", "{tmp}/*.csv", *store), ("*.csv", "no such file"),
             files={"a.csv": _csv(ROW)}),
        Case("store: a csv file", ("ingest", "{tmp}/a.csv", "--store", "{tmp}/a.csv"), ("a.csv", "not a store"),
             files={"a.csv": _csv(ROW)}),
        Case("store: a parquet name", ("ingest", "{tmp}/a.csv", "--store", "{tmp}/w.parquet"),
             ("w.parquet", "not a store"), files={"a.csv": _csv(ROW)}),
        Case("store: a json file", ("ingest", "{tmp}/a.csv", "--store", "{tmp}/w.json"),
             ("w.json", "not a store"), files={"a.csv": _csv(ROW), "w.json": "{}"}),
        Case("store: text in a .duckdb", ("ingest", "{tmp}/a.csv", "--store", "{tmp}/w.duckdb"),
             ("w.duckdb", "not a DuckDB database"), files={"a.csv": _csv(ROW), "w.duckdb": "hello"}),
        Case("store: an empty .duckdb", ("ingest", "{tmp}/a.csv", "--store", "{tmp}/w.duckdb"),
             ("w.duckdb", "not a DuckDB database"), files={"a.csv": _csv(ROW), "w.duckdb": b""}),
        Case("store: under a regular file", ("ingest", "{tmp}/a.csv", "--store", "{tmp}/a.csv/w.duckdb"),
             ("w.duckdb", "not a directory"), files={"a.csv": _csv(ROW)}),
        Case("store: a directory", ("ingest", "{tmp}/a.csv", "--store", "{tmp}/d"), ("d", "directory"),
             files={"a.csv": _csv(ROW)}, prepare=lambda tmp: (tmp / "d").mkdir()),
        Case("meter: missing store", ("meter", "--month", "2026-01", "--store", "{tmp}/none.duckdb"),
             ("none.duckdb", "no such store")),
        Case("meter: a csv as store", ("meter", "--month", "2026-01", "--store", "{tmp}/a.csv"),
             ("a.csv", "not a store"), files={"a.csv": _csv(ROW)}),
        Case("meter: bad month", ("meter", "--month", "2026-13", "--store", "{tmp}/w.duckdb"), ("2026-13",),
             prepare=lambda tmp: main(["ingest", str(_write(tmp / "a.csv", _csv(ROW))), "--store",
                                       str(tmp / "w.duckdb")])),
    ]


def _write(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# --- timelines and ledgers -----------------------------------------------------------------------


def _yaml_file_cases(kind: str, argv: tuple[str, ...], text: str, name: str) -> list[Case]:
    return [
        Case(f"{kind}: missing file", argv, (name,)),
        Case(f"{kind}: latin-1", argv, (name, "not UTF-8"),
             files={name: ("# é\n" + text).encode("latin-1")}),
        Case(f"{kind}: binary", argv, (name, "not UTF-8"), files={name: bytes(range(256)) * 4}),
        Case(f"{kind}: NUL bytes", argv, (name, "binary content"), files={name: text + "\x00"}),
        Case(f"{kind}: duplicate key", argv, (name, "duplicate key 'catalog'"),
             files={name: text + "catalog: quasr\n"}),
        Case(f"{kind}: deep nesting", argv, (name, "nested deeper"), files={name: text + DEEP.replace("a:", "x:")}),
        Case(f"{kind}: alias bomb", argv, (name, "alias bomb"), files={name: text + BOMB.replace("a:", "zz:", 1)}),
        Case(f"{kind}: a list", argv, (name,), files={name: "- 1\n"}),
        Case(f"{kind}: not YAML", argv, (name, "line"), files={name: text + "x: [\n"}),
    ]


def _timeline_cases() -> list[Case]:
    bill = ("bill", "quasr", "--subscription", "{tmp}/t.yaml", "--period", "2026-01")
    cases = _yaml_file_cases("timeline", bill, TIMELINE, "t.yaml")
    cases += [
        Case("timeline: alias bomb in usage", bill, ("t.yaml", "alias bomb"),
             files={"t.yaml": BOMB + TIMELINE.replace('"2026-01": {maa: 1800, mac: 15000, mat: 4}',
                                                      '"2026-01": {maa: 1800, mac: 15000, mat: 4, x: *g}')}),
        Case("timeline: bad period", ("bill", "quasr", "--subscription", "{tmp}/t.yaml", "--period", "2026-13-45"),
             ("--period",), files={"t.yaml": TIMELINE}),
        Case("timeline: period text", ("bill", "quasr", "--subscription", "{tmp}/t.yaml", "--period", "soon"),
             ("--period",), files={"t.yaml": TIMELINE}),
        # February's invoice bills January's usage (the opening one is in advance, without usage)
        Case("timeline: usage 1e19", (*bill[:-1], "2026-02", "--usage", "maa=1e19"), ("maa", "too large"),
             files={"t.yaml": TIMELINE}),
        Case("timeline: usage 40 digits", (*bill[:-1], "2026-02", "--usage", "maa=" + "1234567890" * 4),
             ("maa", "too large"), files={"t.yaml": TIMELINE}),
    ]
    feb = (*bill[:-1], "2026-02")
    for value, problem in [("1e30", "too large"), ('"1e400"', "too large"), ("-5", "negative"),
                           ("99999999999999999999999", "too large"), ("1.5", "whole number")]:
        # NOTE: these name the metric but not yet the timeline file (subscriptions.py parses usage)
        cases.append(Case(f"timeline: usage block maa={value}", feb, ("maa", problem),
                          files={"t.yaml": TIMELINE.replace("{maa: 1800,", f"{{maa: {value},")}))
    return cases


def _ledger_cases() -> list[Case]:
    balance = ("balance", "prepaid_auth", "--ledger", "{tmp}/l.yaml", "--until", "2026-02-01")
    cases = _yaml_file_cases("ledger", balance, LEDGER, "l.yaml")
    cases += [
        Case("ledger: bad --until", ("balance", "prepaid_auth", "--ledger", "{tmp}/l.yaml", "--until", "2026-02-30"),
             ("--until",), files={"l.yaml": LEDGER}),
        Case("ledger: --until text", ("balance", "prepaid_auth", "--ledger", "{tmp}/l.yaml", "--until", "later"),
             ("--until",), files={"l.yaml": LEDGER}),
    ]
    for amount, problem in [("1e400", "beyond what the engine keeps exact"), ("-100", "must not be negative"),
                            ("abc", "not a decimal number"), ("1e-99999999", "more than 12 decimal places"),
                            ("99999999999999999999999", "beyond what the engine keeps exact")]:
        cases.append(Case(f"ledger: top-up {amount}", balance, ("l.yaml", "events[0]", "amount", problem),
                          files={"l.yaml": LEDGER.replace('amount: "100.00"', f'amount: "{amount}"')}))
    cases.append(Case("ledger: 23-digit users", balance, ("l.yaml", "objects.users", "beyond what"),
                      files={"l.yaml": LEDGER.replace("users: 800", "users: 99999999999999999999999")}))
    return cases


def _report_cases() -> list[Case]:
    return [
        Case("report: missing store", ("report", "monthly", "--month", "2026-01", "--store", "{tmp}/none.duckdb",
                                       "--out", "{tmp}/out"), ("none.duckdb", "no such store")),
        Case("report: tenants, missing store", ("report", "tenants", "--month", "2026-01", "--store",
                                                "{tmp}/none.duckdb", "--out", "{tmp}/out"), ("none.duckdb",)),
        Case("report: quote, unknown catalog", ("report", "quote", "--prospect", "Acme", "--catalog", "nope",
                                                "--out", "{tmp}/out"), ("nope",)),
        Case("report: quote, bad usage", ("report", "quote", "--prospect", "Acme", "--catalog", "quasr",
                                          "--usage", "maa=1e19", "--out", "{tmp}/out"), ("maa", "too large")),
    ]


CASES = _catalog_cases() + _usage_cases() + _event_cases() + _timeline_cases() + _ledger_cases() + _report_cases()


def test_the_suite_is_large_enough():
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_one_line_and_status_2(case: Case, tmp_path: Path, capsys) -> None:
    for name, content in case.files.items():
        _write(tmp_path / name, content)
    if case.prepare is not None:
        case.prepare(tmp_path)
    capsys.readouterr()
    argv = [a.replace("{tmp}", str(tmp_path)) for a in case.argv]
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "errors.pydantic.dev" not in err
    for word in case.names:
        assert word.replace("{tmp}", str(tmp_path)) in err, (word, err)


# --- faults: a killed ingest, two ingests at once ------------------------------------------------


def _cli(*argv: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "pricing.apps.cli", *argv]


@pytest.fixture(scope="module")
def event_files(tmp_path_factory) -> Path:
    from pricing.metering.sample_data import generate_book, write_events

    folder = tmp_path_factory.mktemp("events")
    write_events(generate_book(120, 1, seed=5), folder, fmt="csv")
    return folder


def _stored(db: Path) -> int:
    import duckdb

    from pricing.metering.store import Store

    # NOTE: a kill between DuckDB creating the file and the schema's commit leaves a database
    # without tables: nothing stored (the next ingest creates the schema), which a read-only
    # Store cannot open, so it is counted here directly
    with duckdb.connect(str(db), read_only=True) as con:
        if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'events'").fetchone()[0]:
            return 0
    with Store(db, read_only=True) as store:
        return store.event_count()


def test_a_killed_ingest_leaves_nothing_or_everything(event_files: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    db = tmp_path / "w.duckdb"
    assert subprocess.run(_cli("ingest", str(event_files), "--store", str(tmp_path / "full.duckdb")),
                          capture_output=True).returncode == 0
    total = _stored(tmp_path / "full.duckdb")
    for delay in (0.8, 1.6):
        db.unlink(missing_ok=True)
        db.with_suffix(".duckdb.wal").unlink(missing_ok=True)
        proc = subprocess.Popen(_cli("ingest", str(event_files), "--store", str(db)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        count = _stored(db) if db.exists() else 0
        assert count in (0, total), (delay, count, total)
        # and ingesting again afterwards completes the store, counting nothing twice
        assert subprocess.run(_cli("ingest", str(event_files), "--store", str(db)),
                              capture_output=True).returncode == 0
        assert _stored(db) == total


def test_a_second_ingest_while_the_store_is_open_is_one_line(event_files: Path, tmp_path: Path) -> None:
    import subprocess

    from pricing.metering.store import Store

    db = tmp_path / "w.duckdb"
    with Store(db):  # holds DuckDB's write lock, as a running ingest does
        result = subprocess.run(_cli("ingest", str(event_files), "--store", str(db)),
                                capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot open the store" in result.stderr
    assert "Traceback" not in result.stderr
    assert _stored(db) == 0


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 3 MiB tmpfs, where the machine lets the tests mount one (root in a container); else skip."""
    import os
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_full_disk_during_ingest_is_one_line_and_loses_nothing(small_disk: Path, tmp_path: Path, capsys) -> None:
    from pricing.metering.sample_data import generate_book, write_events

    paths = write_events(generate_book(200, 1, seed=2), tmp_path / "ev")
    db = small_disk / "w.duckdb"
    assert main(["ingest", str(paths[0]), "--store", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err
    if db.exists() and db.stat().st_size:
        assert _stored(db) == 0  # nothing half-written


def test_sample_data_on_a_full_disk_leaves_no_partial_file(small_disk: Path, capsys) -> None:
    assert main(["sample-data", "--customers", "600", "--months", "1", "--out", str(small_disk / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err
    assert not list(small_disk.rglob("*.partial"))
