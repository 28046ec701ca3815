"""CLI: ``sample-data``, ``ingest`` and ``meter``.

    pricing sample-data --customers 200 --months 3 --seed 7 [--out data/sample] [--ingest]
    pricing ingest FILE_OR_DIR... [--store data/workbook.duckdb] [--json]
    pricing meter --month 2026-01 [--store PATH] [--catalog ID] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pricing.apps.cli.options import SubParsers
from pricing.errors import MeteringError
from pricing.metering.store_location import DEFAULT_STORE

DEFAULT_SAMPLE_DIR = Path("data/sample")


def register(subparsers: SubParsers) -> None:
    sample = subparsers.add_parser(
        "sample-data",
        help="write a synthetic customer book and its events",
        description="Write customers.csv, timelines/*.yaml, ledgers/*.yaml and events/events-YYYY-MM.parquet.",
    )
    sample.add_argument("--customers", type=int, default=200, help="number of customers (default 200)")
    sample.add_argument("--months", type=int, default=3, help="months of events (default 3)")
    sample.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same data")
    sample.add_argument("--end-month", default=None, help="last month, YYYY-MM (default 2026-03)")
    sample.add_argument("--out", type=Path, default=DEFAULT_SAMPLE_DIR,
                        help=f"directory (default {DEFAULT_SAMPLE_DIR})")
    sample.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="event file format")
    sample.add_argument("--ingest", action="store_true", help="also load the book and events into the store")
    sample.add_argument("--store", type=Path, default=None, help=f"store file (default {DEFAULT_STORE})")
    sample.set_defaults(handler=_sample_data)

    ingest = subparsers.add_parser(
        "ingest",
        help="load event files (CSV or Parquet) into the workbook store",
        description="Load event files or directories of them; events already in the store (by event_id,"
        " or the whole row) are counted as duplicates and skipped; rows failing the checks are counted"
        " and kept in the rejects table.",
    )
    ingest.add_argument("files", nargs="+", metavar="FILE", help="event files (.csv, .parquet) or directories")
    ingest.add_argument("--store", type=Path, default=None, help=f"store file (default {DEFAULT_STORE})")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.set_defaults(handler=_ingest)

    meter = subparsers.add_parser(
        "meter",
        help="compute a month's metered metrics per tenant and customer",
        description="Meter one calendar month (UTC) from the stored events and store the metrics.",
    )
    meter.add_argument("--month", required=True, help="YYYY-MM")
    meter.add_argument("--store", type=Path, default=None, help=f"store file (default {DEFAULT_STORE})")
    meter.add_argument("--catalog", default=None,
                       help="catalog for customers with events but not in the customer book")
    meter.add_argument("--json", action="store_true", help="print the metrics as JSON")
    meter.set_defaults(handler=_meter)


def _sample_data(args: argparse.Namespace) -> int:
    from pricing.metering.sample_data import generate_book, write_book_files, write_events
    from pricing.metering.store import Store

    started = time.perf_counter()
    book = generate_book(args.customers, args.months, args.seed, args.end_month)
    try:
        write_book_files(book, args.out)
    except OSError as exc:
        raise MeteringError(f"{exc.filename or args.out}: cannot write: {exc.strerror}") from None
    paths = write_events(book, args.out / "events", fmt=args.format)
    per_catalog = ", ".join(f"{k} {v}" for k, v in book.customers["catalog"].value_counts().items())
    print(
        f"wrote {len(book.customers)} customers ({per_catalog}),"
        f" {len(book.timelines)} timelines, {len(book.ledgers)} ledgers to {args.out}"
    )
    for path in paths:
        print(f"wrote {path}")
    if args.ingest:
        with Store(args.store or DEFAULT_STORE) as store:
            mixed = store.mixing_books(book)
            if mixed:
                raise MeteringError(mixed)
            store.write_book(book)
            report = store.ingest(paths)
            for line in report.lines():
                print(line)
            for month in book.months:
                store.meter(month)
            print(f"metered {', '.join(book.months)} into {args.store or DEFAULT_STORE}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from pricing.metering.store import Store

    with Store(args.store or DEFAULT_STORE) as store:
        report = store.ingest(args.files)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for line in report.lines():
            print(line)
    return 0


def _meter(args: argparse.Namespace) -> int:
    from pricing.metering.store import Store

    with Store(args.store or DEFAULT_STORE, create=False) as store:
        result = store.meter(args.month, default_catalog=args.catalog)
    data = result.to_json(args.month)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"{args.month}: {len(data['tenants'])} tenants of {len(data['customers'])} customers metered")
    for row in data["customers"]:
        values = ", ".join(f"{k} {v:,}" for k, v in row.items() if k not in {"customer_id", "catalog"})
        print(f"  {row['customer_id']} ({row['catalog']}): {values}")
    return 0
