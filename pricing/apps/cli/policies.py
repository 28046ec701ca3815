"""``pricing policies``: one month re-billed under other billing conventions, side by side.

    pricing policies --month 2026-03 --vary rounding=half_up,half_even
                     --vary day_count=exact_seconds,actual_days,thirty_day_month
                     [--store PATH] [--out reports/policies] [--json]
    pricing policies --list

Bills the month with every catalog's own settings and under each combination of the values
asked for (:mod:`pricing.analysis.policies`, nothing is stored), and writes ``OUT/policies.html``
(totals, differences, charts, the customers most affected) and ``OUT/policies.xlsx`` (every
changed line with the setting that moved it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pricing.apps.cli.options import SubParsers
from pricing.errors import UsageError
from pricing.metering.store_location import DEFAULT_STORE

DEFAULT_OUT = Path("reports/policies")


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "policies", help="re-bill a month under other billing conventions and compare (HTML report + Excel)",
        description="Bill a month with each catalog's own settings and under every combination of the"
                    " values given with --vary, and report what moves, for whom, and why.")
    p.add_argument("--month", metavar="YYYY-MM", help="the month to bill (required unless --list)")
    p.add_argument("--vary", action="append", default=[], metavar="SETTING=V1,V2",
                   help="a setting and the values to try (repeatable; combinations are every mix), e.g."
                        " --vary rounding=half_up,half_even; see --list")
    p.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"workbook store (default {DEFAULT_STORE})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for the report (default {DEFAULT_OUT})")
    p.add_argument("--top", type=int, default=10, help="customers listed as most affected (default 10)")
    p.add_argument("--list", action="store_true", help="print the settings that can be varied and their values")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_policies)


def cmd_policies(args: argparse.Namespace) -> int:
    from pricing.analysis.policies import compare_policies, parse_vary, setting_values
    from pricing.reporting.policies_report import PoliciesReport, write_report
    from pricing.metering.store import Store

    if args.list:
        values = setting_values()
        if args.json:
            print(json.dumps(values, indent=2))
        else:
            for name, options in values.items():
                print(f"{name:<22} {', '.join(options)}")
        return 0
    if not args.month:
        raise UsageError("--month YYYY-MM is required (or --list)")
    if args.top < 1:
        raise UsageError(f"--top {args.top}: at least 1")
    vary = parse_vary(args.vary)
    if not args.store.is_file():
        raise UsageError(f"{args.store}: no such store; run `pricing demo` or `pricing sample-data --ingest` first")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: not a folder")
    with Store(args.store, read_only=True, create=False) as store:
        comparison = compare_policies(store, args.month, vary)
        customers = store.customers()
        names = {str(c): ("" if n is None else str(n)) for c, n in zip(customers["customer_id"], customers["name"])}
    if not comparison.baseline.invoices:
        raise UsageError(f"month {args.month}: no invoices to compare (nothing is billed in it)")
    report = PoliciesReport(comparison, names, args.top)
    try:
        page, book = write_report(report, args.out)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot write: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps({**comparison.to_json(), "files": [str(page), str(book)]}, indent=2))
        return 0
    print("\n".join(report.headline()))
    print(f"wrote {page}")
    print(f"wrote {book}")
    return 0
