"""``pricing backtest``: what a price change would have billed on the store's metered history.

    pricing backtest --set payg.maa.unit_price=0.06 [--set KEY=VALUE ...] [--candidate FILE.yaml]
                     [--store PATH] [--catalog ID] [--months N | YYYY-MM | YYYY-MM..YYYY-MM | YYYY-MM,YYYY-MM]
                     [--out reports/backtest] [--format xlsx|csv] [--top 10] [--sensitivity 10 | --no-sensitivity]
                     [--json]
    pricing backtest --catalog quasr --list-parameters

The current catalog (the store's, or ``--catalog``) and the candidate (``--candidate``
and/or ``--set`` changes of price parameters, see ``--list-parameters``) both rate every
customer-month through the one rating engine (:mod:`pricing.analysis.backtest`). Writes
``OUT/backtest.html`` (charts and tables; plotly.js in ``OUT/assets/``) and
``OUT/backtest_customers.xlsx`` (or ``.csv``): every customer's bills in currency units.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from pricing.apps.cli.options import SubParsers, decimal_option
from pricing.errors import UsageError
from pricing.metering.store_location import DEFAULT_STORE

if TYPE_CHECKING:
    from pricing.engine.catalog import Catalog

DEFAULT_OUT = Path("reports/backtest")


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "backtest", help="current vs candidate prices on the store's metered history (HTML report + Excel/CSV)",
        description="Rate the store's metered history under the current catalog and a candidate, and write an "
                    "HTML report with charts and a per-customer table.")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="PLAN.METRIC.FIELD=VALUE",
                   help="a price change (repeatable), e.g. --set payg.maa.unit_price=0.06; see --list-parameters")
    p.add_argument("--candidate", type=Path, metavar="FILE.yaml",
                   help="a candidate catalog YAML (any --set applies on top of it)")
    p.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"workbook store (default {DEFAULT_STORE})")
    p.add_argument("--catalog", help="current catalog: bundled id or YAML path (default: the store's only catalog)")
    p.add_argument("--months", metavar="SPEC",
                   help="N (the last N months), YYYY-MM, YYYY-MM..YYYY-MM or a comma list (default: every month)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for the report (default {DEFAULT_OUT})")
    p.add_argument("--format", choices=["xlsx", "csv"], default="xlsx", help="per-customer table (default xlsx)")
    p.add_argument("--top", type=int, default=10, help="customers listed as paying most more / less (default 10)")
    p.add_argument("--sensitivity", default="10", metavar="PERCENT",
                   help="tornado: move each price parameter by -/+ PERCENT (default 10)")
    p.add_argument("--no-sensitivity", action="store_true", help="skip the tornado")
    p.add_argument("--list-parameters", action="store_true", help="print the catalog's price parameters and exit")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_backtest)


def parse_sets(items: list[str]) -> dict[str, Decimal]:
    """``KEY=VALUE`` price changes: each a non-negative decimal, each key once."""
    out: dict[str, Decimal] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or not raw.strip():
            raise UsageError(f"--set {item!r}: expected PLAN.METRIC.FIELD=VALUE, e.g. payg.maa.unit_price=0.06")
        if key in out:
            raise UsageError(f"--set {key!r} given twice")
        value = decimal_option(f"--set {key}", raw, places=12)
        assert value is not None
        out[key] = value
    return out


def select_months(spec: str | None, available: list[str]) -> list[str]:
    """The months a ``--months`` spec names, each one the store has events for."""
    if not available:
        raise UsageError("the store holds no events; ingest events first (`pricing ingest FILES`)")
    if spec is None:
        return available
    text = spec.strip()
    if text.isdigit():
        count = int(text)
        if count < 1:
            raise UsageError(f"--months {spec!r}: at least 1")
        return available[-count:]
    if ".." in text:
        first, _, last = text.partition("..")
        first, last = _month(first, spec), _month(last, spec)
        if first > last:
            raise UsageError(f"--months {spec!r}: the range runs backwards")
        chosen = [m for m in available if first <= m <= last]
        if not chosen:
            raise UsageError(f"--months {spec!r}: the store has no events in that range "
                             f"(it has {available[0]} to {available[-1]})")
        return chosen
    chosen = sorted({_month(part, spec) for part in text.split(",")})
    missing = [m for m in chosen if m not in available]
    if missing:
        raise UsageError(f"--months {spec!r}: the store has no events in {', '.join(missing)}"
                         f" (it has {available[0]} to {available[-1]})")
    return chosen


def _month(text: str, spec: str) -> str:
    from pricing.engine.periods import MONTH_PATTERN  # the engine (pydantic, numpy) only for this command

    text = text.strip()
    if not MONTH_PATTERN.fullmatch(text):
        raise UsageError(f"--months {spec!r}: {text!r} is not a month (YYYY-MM); or give N for the last N months")
    return text


def store_catalog(customers: list[str]) -> str:
    """The one catalog the store's customers use (their ids, as read); otherwise ``--catalog`` is needed."""
    ids = sorted({c for c in customers if c})
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise UsageError("the store has no customers; import them first (`pricing customers import`)")
    raise UsageError(f"the store's customers use catalogs {', '.join(ids)}: choose one with --catalog")


def cmd_backtest(args: argparse.Namespace) -> int:
    from pricing.reporting.backtest_report import BacktestReport, check_xlsx_size, write_customers, write_page
    from pricing.analysis.backtest_stream import backtest_streamed, store_history
    from pricing.engine.catalog import load_catalog
    from pricing.metering.store import Store

    if args.top < 1:
        raise UsageError(f"--top {args.top}: at least 1")
    percent = None
    if not args.no_sensitivity:
        percent = decimal_option("--sensitivity", args.sensitivity, maximum=Decimal(99), places=2)
        if not percent:
            raise UsageError(f"--sensitivity {args.sensitivity!r}: between 0 and 100 (or --no-sensitivity)")
    sets = parse_sets(args.sets)
    if args.list_parameters and args.catalog:
        return _list_parameters(load_catalog(args.catalog), args.json)
    if not args.store.is_file():
        raise UsageError(f"{args.store}: no such store; run `pricing demo` or `pricing sample-data --ingest` first")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: not a folder")
    with Store(args.store, read_only=True, create=False) as store:
        catalogs = [str(r[0]) for r in store.con.execute("SELECT DISTINCT catalog FROM customers").fetchall()
                    if r[0] is not None]
        current = load_catalog(args.catalog or store_catalog(catalogs))
        if args.list_parameters:
            return _list_parameters(current, args.json)
        if not sets and args.candidate is None:
            raise UsageError("no price change: give --set PLAN.METRIC.FIELD=VALUE (see --list-parameters) "
                             "or --candidate FILE.yaml")
        candidate = _candidate(current, args.candidate, sets)
        months = select_months(args.months, store.months())
        metered = {r[0] for r in store.con.execute("SELECT DISTINCT month FROM metered_months").fetchall()}
        unmetered = [m for m in months if m not in metered]
        if unmetered:
            raise UsageError(f"month {unmetered[0]} is not metered yet: run `pricing meter --month {unmetered[0]}"
                             f" --store {args.store}`")
        if current.id not in catalogs:
            raise UsageError(f"no customer of the store is on catalog {current.id!r}")
        # NOTE: streamed a month at a time (pricing.analysis.backtest_stream): memory holds running sums,
        # not the history
        history = store_history(store, current, months)
        if args.format == "xlsx":  # before minutes of rating, not after
            check_xlsx_size(len(history.customer_ids))
        result = backtest_streamed(current, candidate, history.chunks(), customer_ids=history.customer_ids,
                                   sensitivity_percent=percent)
        named = store.con.execute("SELECT customer_id, coalesce(name, '') AS name FROM customers"
                                  " WHERE catalog = ?", [current.id]).fetchnumpy()  # numpy: 3x faster than .df()
        names = dict(zip(named["customer_id"].tolist(), named["name"].tolist()))
        del named
    report = BacktestReport(result, result.sensitivity(), names, months, top=args.top)
    try:
        table = write_customers(report, args.out, args.format)
        page = write_page(report, args.out)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot write: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps({**report.summary(), "files": [str(page), str(table)]}, indent=2))
        return 0
    print(report.headline())
    print(f"wrote {page}")
    print(f"wrote {table}")
    return 0


def _candidate(current: Catalog, path: Path | None, sets: dict[str, Decimal]) -> Catalog:
    """The candidate: ``--candidate`` (or today's catalog) with every ``--set`` applied."""
    from pricing.analysis.candidates import apply_overrides, parameter_map
    from pricing.engine.catalog import load_catalog

    base = load_catalog(path) if path is not None else current
    known = parameter_map(base)
    for key in sets:
        if key not in known:
            raise UsageError(f"--set {key}: catalog {base.id!r} has no price parameter {key!r}; list them with "
                             f"`pricing backtest --catalog {current.id} --list-parameters`")
    return apply_overrides(base, {k: str(v) for k, v in sets.items()}) if sets else base


def _list_parameters(catalog: Catalog, as_json: bool) -> int:
    from pricing.analysis.candidates import price_parameters
    from pricing.engine.formatting import plain_number

    params = price_parameters(catalog)
    if as_json:
        print(json.dumps([{"key": p.key, "plan": p.plan, "kind": p.kind, "value": plain_number(p.value)}
                          for p in params], indent=2))
        return 0
    width = max((len(p.key) for p in params), default=10)
    for p in params:
        print(f"{p.key:<{width}}  {plain_number(p.value):>12}  {p.kind}")
    return 0
