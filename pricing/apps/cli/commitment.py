"""``pricing commitment``: which commitment to buy, checked against every other plan.

    pricing commitment quasr --plan gravitate_and_save --range 1200,2400,4800 [--metric committed_maa]
                     [--usage mac=30000 --usage mat=3] [--method scenarios|triangular] [--samples 2000]
                     [--seed 0] [--no-billing-details] [--json]

Rates each commitment level of the plan and every other plan of the catalog on the
same usage samples (:func:`pricing.analysis.commitment.analyse_commitment`) and prints the
advice: the commitment when it is the cheapest choice, otherwise the plan that beats it.
"""

from __future__ import annotations

import argparse
import json

from pricing.apps.cli.options import SubParsers, parse_usage
from pricing.errors import UsageError


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "commitment", help="the commitment level to buy over a usage range, against every other plan",
        description="Find the commitment level with the lowest expected cost over a usage range, and compare it "
                    "with every other plan of the catalog on the same usage.")
    p.add_argument("catalog", help="bundled catalog id or path to a catalog YAML")
    p.add_argument("--plan", required=True, help="the plan that sells the commitment")
    p.add_argument("--metric", help="the commitment metric, e.g. committed_maa (default: the plan's first)")
    p.add_argument("--range", required=True, metavar="LOW,EXPECTED,HIGH",
                   help="usage of the committed metric: low, expected and high, e.g. 1200,2400,4800")
    p.add_argument("--usage", action="append", default=[], metavar="METRIC=QTY",
                   help="the other metrics (repeatable), e.g. --usage mac=30000; counted metrics scale with the range")
    p.add_argument("--method", choices=["scenarios", "triangular"], default="triangular",
                   help="scenarios: low, expected, high weighted 1:2:1; triangular: a Monte Carlo (default)")
    p.add_argument("--samples", type=int, default=2000, help="Monte Carlo samples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the Monte Carlo; the same seed, the same advice")
    p.add_argument("--no-billing-details", action="store_true",
                   help="the account has no billing details (plans that need them are not eligible)")
    p.add_argument("--json", action="store_true", help="print JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_commitment)


def _range(text: str) -> tuple[int, int, int]:
    parts = [p.strip().replace("_", "") for p in text.split(",")]
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise UsageError(f"--range {text!r}: expected LOW,EXPECTED,HIGH as whole numbers, e.g. 1200,2400,4800")
    low, expected, high = (int(p) for p in parts)
    return low, expected, high


def cmd_commitment(args: argparse.Namespace) -> int:
    from pricing.engine.catalog import load_catalog
    from pricing.analysis.commitment import analyse_commitment, find_option
    from pricing.engine.formatting import format_minor, format_money
    from pricing.engine.rating import RateOptions

    catalog = load_catalog(args.catalog)
    catalog.plan(args.plan)  # one line for an unknown plan
    low, expected, high = _range(args.range)
    option = find_option(catalog, args.plan, args.metric)
    usage = parse_usage(args.usage)
    usage.setdefault(option.metric, str(expected))
    analysis = analyse_commitment(
        catalog, args.plan, usage, low, expected, high, option.commitment_metric, args.method, args.samples,
        args.seed, options=RateOptions(billing_details=not args.no_billing_details))
    d, cur = catalog.decimals, catalog.currency
    recommended = analysis.recommended
    choices = analysis.choices()
    if args.json:
        print(json.dumps({
            "catalog": catalog.id, "currency": cur, "plan": args.plan,
            "commitment_metric": option.commitment_metric,
            "commitment_metric_name": catalog.metrics[option.commitment_metric].name,
            "best_level": analysis.best_level,
            "recommended_plan": None if recommended is None else recommended.plan,
            "commitment_is_cheapest": analysis.commitment_is_cheapest,
            "choices": [{"plan": c.plan, "name": c.name, "eligible": c.eligible, "reason": c.reason,
                         "committed": c.commitment, "expected": format_minor(c.expected_minor(catalog), d)}
                        for c in choices],
            "advice": analysis.advice(),
        }, indent=2))
        return 0
    print(analysis.advice())
    print()
    metric_name = catalog.metrics[option.commitment_metric].name
    width = max(len(c.name) for c in choices)
    print(f"{'plan':<{width}}  {'expected a month':>18}  {metric_name:>{len(metric_name)}}")
    for c in choices:
        cost = format_money(c.expected_minor(catalog), cur, d) if c.eligible else "not eligible"
        committed = "" if c.commitment is None or not c.eligible else f"{c.commitment:,}"
        note = ("  <- recommended" if recommended is not None and c.plan == recommended.plan
                else "" if c.eligible else f"  ({c.reason})")
        print(f"{c.name:<{width}}  {cost:>18}  {committed:>{len(metric_name)}}{note}")
    return 0
