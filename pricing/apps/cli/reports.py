"""``pricing report monthly``, ``report tenants`` and ``report quote``: parse, run, print.

    pricing report monthly --month 2026-03 [--store PATH] [--out reports] [--force] [--param NAME=VALUE]
    pricing report tenants --month 2026-03 [--customer ID] [--jobs 2] [--store PATH] [--out reports] [--force]
    pricing report quote --prospect NAME --catalog ID --usage M=Q ... [--plan P] [--term MONTHS] [--discount PCT]
                         [--tax PERCENT] [--seller FILE] [--include-hidden] [--internal] [--no-pdf] [--out DIR]

The runs themselves (which pages, kernels, skipping, retries, the index) are
:mod:`pricing.reporting.report_runs`.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path

from pricing.apps.cli.options import SubParsers, decimal_option, parse_params, parse_usage
from pricing.errors import ReportError, UsageError
from pricing.metering.store_location import DEFAULT_STORE
from pricing.reporting.report_runs import DEFAULT_OUT


def register(subparsers: SubParsers) -> None:
    report = subparsers.add_parser("report", help="monthly finance, per-tenant usage and quote reports")
    sub = report.add_subparsers(dest="report_command", metavar="REPORT", parser_class=type(report))
    sub.required = True

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--month", required=True, help="YYYY-MM")
        p.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"store file (default {DEFAULT_STORE})")
        p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"reports directory (default {DEFAULT_OUT})")
        p.add_argument("--force", action="store_true", help="render even when the inputs have not changed")
        p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="an extra notebook parameter (checked against the notebook's declared ones)")
        p.add_argument("--timeout", type=int, default=600, help="seconds a notebook cell may run (default 600)")

    p = sub.add_parser("monthly", help="the monthly finance report and the Excel invoice register")
    common(p)
    p.set_defaults(handler=cmd_monthly)

    p = sub.add_parser("tenants", help="a usage report per tenant (all customers, or one)")
    common(p)
    p.add_argument("--customer", help="only this customer's tenants")
    p.add_argument("--jobs", type=int, default=None,
                   help="warm kernels rendering tenant pages (default: CPU count, at most 4)")
    p.set_defaults(handler=cmd_tenants)

    p = sub.add_parser("quote", help="a quote document for a prospect")
    p.add_argument("--prospect", required=True, help="the prospect's name")
    p.add_argument("--catalog", required=True, help="bundled catalog id or path")
    p.add_argument("--usage", action="append", default=[], metavar="METRIC=QTY", help="expected usage (repeatable)")
    p.add_argument("--plan", default=None, help="the plan to quote (default: the cheapest eligible)")
    p.add_argument("--term", type=int, default=12, metavar="MONTHS", help="contract term in months (default 12)")
    p.add_argument("--discount", default=None, metavar="PCT", help="percent off")
    p.add_argument("--tax", default=None, metavar="PERCENT", help="tax rate in percent, shown as its own line")
    p.add_argument("--seller", type=Path, default=None, metavar="FILE",
                   help="seller file the invoices use (seller block, contact, quote_prefix, locale); "
                        "default: the catalog's vendor, amounts in en_US")
    p.add_argument("--include-hidden", action="store_true", help="also quote and compare hidden plans")
    p.add_argument("--internal", action="store_true",
                   help="add the internal appendix (catalog sources, assumption notes); writes *-internal.html")
    p.add_argument("--no-pdf", action="store_true", help="HTML only")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT / "quotes", help="directory (default reports/quotes)")
    p.set_defaults(handler=cmd_quote)


def cmd_monthly(args: argparse.Namespace) -> int:
    from pricing.reporting.report_runs import build_monthly, write_month_index

    results = build_monthly(args.store, args.month, args.out, force=args.force, extra=parse_params(args.param),
                            timeout=args.timeout)
    for result in results:
        print(f"{result.status}: {result.path}")
    print(f"index: {write_month_index(args.out, args.month, args.store)}")
    return 0


def cmd_tenants(args: argparse.Namespace) -> int:
    from pricing.reporting.report_runs import build_tenants, counts_line, failed_lines, write_month_index

    results = build_tenants(args.store, args.month, args.out, customer=args.customer, jobs=args.jobs,
                            force=args.force, extra=parse_params(args.param), timeout=args.timeout)
    print(counts_line(results))
    print(f"index: {write_month_index(args.out, args.month, args.store)}")
    failures = failed_lines(results, args.out, args.month)
    for line in failures:
        print(line, file=sys.stderr)
    return 2 if failures else 0


def cmd_quote(args: argparse.Namespace) -> int:
    try:
        from pricing.reporting.quote_document import write_quote_report
    except ImportError:
        raise ReportError("quote documents are not available in this version"
                          " (pricing.reporting.quote_document is missing)") from None
    discount = decimal_option("--discount", args.discount, maximum=Decimal(100))
    if args.term < 1:
        raise UsageError(f"--term {args.term}: must be at least 1 month")
    from pricing.reporting.invoice_document import load_seller

    tax = decimal_option("--tax", args.tax, maximum=Decimal(100))
    seller = load_seller(args.seller) if args.seller is not None else None
    paths = write_quote_report(args.prospect, args.catalog, parse_usage(args.usage), args.plan, args.term,
                               discount, args.out, pdf=not args.no_pdf, tax_percent=tax,
                               include_hidden=args.include_hidden, internal=args.internal, seller=seller)
    for path in paths:
        print(f"wrote {path}")
    return 0


