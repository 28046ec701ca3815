"""``pricing catalogs``, ``schema``, ``quote`` and ``break-even``: the pricing core's commands."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pricing.apps.cli.options import SubParsers, add_usage_options, decimal_option, parse_usage, whole_quantity
from pricing.errors import PricingError, UsageError, problem_text

if TYPE_CHECKING:
    from pricing.analysis.comparison import BreakEven, Comparison
    from pricing.engine.invoice import Invoice
    from pricing.engine.rating import RateOptions


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser("catalogs", help="list bundled catalogs with their plans and metrics")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_catalogs)

    p = subparsers.add_parser("schema", help="write the catalog JSON Schema (for editors)")
    p.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    p.set_defaults(handler=cmd_schema)

    p = subparsers.add_parser("quote", help="price a usage under every plan of a catalog")
    p.add_argument("catalog", help="bundled catalog id or path to a catalog YAML")
    p.add_argument("--plan", action="append", help="only this plan (repeatable)")
    add_usage_options(p)
    p.add_argument("--transactions", type=Path, metavar="CSV",
                   help="the period's transactions, one a row (columns metric,amount), for charges priced"
                        " per transaction; each metric listed is the sum of its rows")
    p.add_argument("--tax", metavar="PERCENT", help="tax rate in percent, e.g. 21 (default: none)")
    p.add_argument("--discount", metavar="PERCENT", help="percent off the subtotal")
    p.add_argument("--discount-amount", metavar="AMOUNT", help="amount off the subtotal")
    p.add_argument("--json", action="store_true", help="print JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_quote)

    p = subparsers.add_parser("break-even", help="quantity of a metric where the cheaper of two plans changes")
    p.add_argument("catalog", help="bundled catalog id or path to a catalog YAML")
    p.add_argument("--metric", required=True, help="the metric whose quantity is searched, e.g. maa")
    p.add_argument("--plans", nargs=2, required=True, metavar=("PLAN_A", "PLAN_B"), help="the two plans compared")
    add_usage_options(p)
    p.add_argument("--max", type=whole_quantity, default=10_000_000, help="largest quantity searched")
    p.add_argument("--json", action="store_true", help="print JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_break_even)


def read_transactions(path: Path) -> dict[str, list[str]]:
    """A CSV of transactions (``metric,amount``, one a row, in order) as a list of amounts per metric."""
    import csv

    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the transactions ({exc.__class__.__name__}: {exc})") from None
    if not rows or [c.strip() for c in rows[0]] != ["metric", "amount"]:
        raise UsageError(f"{path}: row 1 must be the header 'metric,amount'")
    out: dict[str, list[str]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise UsageError(f"{path}: row {number}: expected metric,amount, got {','.join(row)!r}")
        out.setdefault(row[0].strip(), []).append(row[1].strip())
    if not out:
        raise UsageError(f"{path}: no transactions (only a header)")
    return out


def _options(args: argparse.Namespace) -> RateOptions:
    from pydantic import ValidationError

    from pricing.engine.catalog import Discount
    from pricing.engine.rating import RateOptions

    discounts: list[Discount] = []
    percent = decimal_option("--discount", getattr(args, "discount", None), maximum=Decimal(100))
    amount = decimal_option("--discount-amount", getattr(args, "discount_amount", None), places=12)
    try:
        if percent is not None:
            discounts.append(Discount(percent=percent, name=f"Discount {percent}%"))
        if amount is not None:
            discounts.append(Discount(amount=amount, name="Discount"))
    except ValidationError as exc:
        raise UsageError(f"--discount: {problem_text(exc)}") from None
    return RateOptions(
        discounts=tuple(discounts),
        # NOTE: a tax rate is a percentage of the net; above 100 % is a typo, not a tax
        tax_percent=decimal_option("--tax", getattr(args, "tax", None), maximum=Decimal(100)),
        billing_details=not args.no_billing_details,
    )


def cmd_catalogs(args: argparse.Namespace) -> int:
    from pricing.engine.catalog import iter_bundled

    catalogs = list(iter_bundled())
    if args.json:
        print(json.dumps([
            {"id": c.id, "name": c.name, "version": c.version, "currency": c.currency,
             "interval": c.interval.value, "plans": list(c.plans), "metrics": list(c.metrics)}
            for c in catalogs], indent=2))
        return 0
    for c in catalogs:
        print(f"{c.id}  {c.name}  ({c.currency}, per {c.interval.value}, version {c.version})")
        for plan_id, plan in c.plans.items():
            print(f"    plan   {plan_id:<20} {plan.name}{'  [hidden]' if plan.hidden else ''}")
        print(f"    metrics {', '.join(c.metrics)}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from pricing.engine.catalog import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.output:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise PricingError(f"{args.output}: cannot write: {exc.strerror}") from None
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_quote(args: argparse.Namespace) -> int:
    from pricing.analysis.comparison import compare
    from pricing.engine.catalog import load_catalog

    catalog = load_catalog(args.catalog)
    usage: dict[str, Any] = dict(parse_usage(args.usage))
    if args.transactions is not None:
        listed = read_transactions(args.transactions)
        twice = sorted(set(listed) & set(usage))
        if twice:
            raise UsageError(f"{twice[0]!r} is given by --usage and by --transactions; give it one way")
        usage.update(listed)
    comparison = compare(catalog, usage, args.plan, _options(args))
    if args.json:
        print(json.dumps(comparison.to_json(), indent=2))
    else:
        print(render_comparison(comparison))
    return 0


def render_comparison(comparison: Comparison) -> str:
    """A plain-text quote: a summary table, then each plan's lines."""
    from pricing.engine.formatting import format_minor

    catalog = comparison.catalog
    usage = ", ".join(f"{k}={len(v)} transaction(s)" if isinstance(v, (list, tuple)) else f"{k}={v}"
                      for k, v in comparison.usage.items()) or "no usage"
    out = [f"{catalog.name} ({catalog.id} {catalog.version}), {catalog.currency} per {catalog.interval.value};"
           f" usage: {usage}", ""]
    width = max(len(inv.plan) for inv in comparison.invoices)
    for inv in comparison.invoices:
        mark = "*" if comparison.cheapest is inv else " "
        status = format_minor(inv.total_minor, inv.decimals) if inv.eligible else f"ineligible: {inv.reason}"
        out.append(f" {mark} {inv.plan:<{width}}  {status:>12}")
    for inv in comparison.invoices:
        out.append("")
        out.extend(render_invoice(inv))
    return "\n".join(out)


def render_invoice(inv: Invoice) -> list[str]:
    from pricing.engine.formatting import format_minor

    head = f"{inv.plan}: total {inv.money(inv.total_minor)}"
    if not inv.eligible:
        head += f"  (ineligible: {inv.reason})"
    rows = [head]
    item_width = max((len(line.item) for line in inv.lines), default=4)
    for line in inv.lines:
        price = "" if line.unit_price is None else f"x {line.unit_price}"
        rows.append(f"    {line.item:<{item_width}}  {str(line.quantity):>10} {price:<12} "
                    f"{format_minor(line.amount_minor, inv.decimals):>12}   {line.explanation}")
    if inv.tax_minor or inv.discount_minor:
        rows.append(f"    net {inv.format(inv.net_minor)}  tax {inv.format(inv.tax_minor)}  "
                    f"gross {inv.format(inv.total_minor)}")
    return rows


def break_even_sentence(point: BreakEven, plan_a: str, plan_b: str, currency: str, decimals: int) -> str:
    """Where two plans cost the same, and from which quantity the other one is cheaper."""
    from pricing.engine.formatting import format_money

    def money(minor: int | None) -> str:
        return format_money(int(minor or 0), currency, decimals)

    m = point.metric
    strict = point.strictly_from if point.strictly_from is not None else point.quantity
    after = (f"from {m} = {strict:,} {point.cheaper_from} is cheaper ({plan_a} {money(point.strict_a_minor)}, "
             f"{plan_b} {money(point.strict_b_minor)})")
    before = f"below {m} = {point.quantity:,} {point.cheaper_below} is cheaper"
    if not point.equal:
        return f"{before}; {after}"
    where = f"at {m} = {point.quantity:,}" if strict == point.quantity + 1 \
        else f"for {m} = {point.quantity:,} to {strict - 1:,}"
    return (f"{before}; {plan_a} and {plan_b} cost the same {where} ({money(point.total_a_minor)} each); "
            f"{after}")


def cmd_break_even(args: argparse.Namespace) -> int:
    from pricing.analysis.comparison import break_even
    from pricing.engine.catalog import load_catalog
    from pricing.engine.money import MAX_SCALED_QUANTITY
    from pricing.engine.formatting import format_minor

    catalog = load_catalog(args.catalog)
    for plan_id in args.plans:
        catalog.plan(plan_id)
    usage = parse_usage(args.usage)
    if args.metric not in catalog.metrics:
        raise UsageError(f"--metric {args.metric!r}: not a metric of catalog {catalog.id!r}"
                         f" (metrics: {', '.join(catalog.metrics)})")
    largest = MAX_SCALED_QUANTITY // 10 ** catalog.metrics[args.metric].decimal_places
    if args.max > largest:
        raise UsageError(f"--max {args.max}: at most {largest:,} {args.metric} can be rated exactly")
    points = break_even(catalog, args.plans[0], args.plans[1], args.metric, usage,
                        high=args.max, options=_options(args))
    a_id, b_id = args.plans

    def money(minor: int) -> str:
        return format_minor(minor, catalog.decimals)

    data: list[dict[str, Any]] = [
        {"metric": p.metric, "quantity": p.quantity, "cheaper_below": p.cheaper_below,
         "cheaper_from": p.cheaper_from, "equal_at": p.quantity if p.equal else None,
         "equal_until": (p.strictly_from - 1) if p.equal and p.strictly_from is not None else None,
         "cheaper_from_quantity": p.strictly_from,
         a_id: money(p.total_a_minor), b_id: money(p.total_b_minor),
         "totals_from": {a_id: money(p.strict_a_minor if p.strict_a_minor is not None else p.total_a_minor),
                         b_id: money(p.strict_b_minor if p.strict_b_minor is not None else p.total_b_minor)}}
        for p in points
    ]
    if args.json:
        print(json.dumps({"catalog": catalog.id, "currency": catalog.currency, "break_even": data}, indent=2))
    elif not data:
        print(f"no break-even for {args.metric} in [0, {args.max}]: the same plan is cheaper throughout")
    else:
        for p in points:
            print(break_even_sentence(p, a_id, b_id, catalog.currency, catalog.decimals))
    return 0

