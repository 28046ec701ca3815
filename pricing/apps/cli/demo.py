"""``pricing demo``: the main job on generated sample data, end to end (:mod:`pricing.reporting.demo_run`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pricing.apps.cli.options import SubParsers
from pricing.metering.store_location import DEFAULT_STORE
from pricing.reporting.demo_run import DEFAULT_CUSTOMERS, DEFAULT_MONTHS, DEFAULT_SEED
from pricing.reporting.report_runs import DEFAULT_OUT


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "demo", help="run the main job on sample data: bill a month and make every report",
        description="Generate sample data, ingest, meter and bill it, then make the last month's finance report,"
                    " Excel register and tenant reports, and print the month's index page. A second run reuses"
                    " everything that has not changed.")
    p.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS, help=f"customers (default {DEFAULT_CUSTOMERS})")
    p.add_argument("--months", type=int, default=DEFAULT_MONTHS, help=f"months of events (default {DEFAULT_MONTHS})")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"store file (default {DEFAULT_STORE})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"reports directory (default {DEFAULT_OUT})")
    p.add_argument("--jobs", type=int, default=None,
                   help="warm kernels rendering tenant reports (default: CPU count, at most 4)")
    p.add_argument("--no-tenants", action="store_true", help="skip the per-tenant reports")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from pricing.reporting.demo_run import run_demo

    started = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {text}", flush=True)

    result = run_demo(args.store, args.out, customers=args.customers, months=args.months, seed=args.seed,
                      jobs=args.jobs, tenants=not args.no_tenants, say=say)
    print(result.index.resolve())
    for line in result.failures:
        print(line, file=sys.stderr)
    return 2 if result.failures else 0
