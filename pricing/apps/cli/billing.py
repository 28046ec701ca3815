"""``pricing bill`` and ``pricing balance``: a subscription's invoice for a period, a prepaid ledger."""

from __future__ import annotations

import argparse
import json
import re
from datetime import date

from typing import TYPE_CHECKING

from pricing.apps.cli.options import SubParsers, parse_usage
from pricing.errors import SubscriptionError

if TYPE_CHECKING:
    from pricing.billing.balances import LedgerResult
    from pricing.billing.replay import IssuedInvoice


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser("bill", help="the invoice a subscription timeline issues in a period")
    p.add_argument("catalog", help="bundled catalog id or path to a catalog YAML")
    p.add_argument("--subscription", required=True, metavar="FILE", action="append",
                   help="subscription timeline YAML; repeat it for a customer's several subscriptions,"
                        " consolidated on one invoice where they share an issue date")
    p.add_argument("--period", required=True, metavar="YYYY-MM[-DD]",
                   help="YYYY-MM: the period starting in that month; YYYY-MM-DD: the period containing that day")
    p.add_argument("--usage", action="append", default=[], metavar="METRIC=QTY",
                   help="metered usage the invoice bills (the period just ended), repeatable; "
                        "overrides the timeline's usage block")
    p.add_argument("--json", action="store_true", help="print JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_bill)

    p = subparsers.add_parser("balance", help="a prepaid ledger day by day, with its runway")
    p.add_argument("catalog", help="bundled catalog id or path to a catalog YAML")
    p.add_argument("--ledger", required=True, metavar="FILE", help="prepaid ledger YAML")
    p.add_argument("--until", required=True, metavar="YYYY-MM-DD", help="last day simulated")
    p.add_argument("--json", action="store_true", help="print JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_balance)


def cmd_bill(args: argparse.Namespace) -> int:
    from pricing.billing.subscriptions import issued_in_period, issued_in_period_consolidated
    from pricing.billing.timeline import load_timeline
    from pricing.billing.replay import resolve_period, timeline_schedule
    from pricing.engine.catalog import load_catalog

    catalog = load_catalog(args.catalog)
    timelines = [load_timeline(path) for path in args.subscription]
    timeline = timelines[0]
    usage = parse_usage(args.usage) if args.usage else None
    if usage is not None and len(timelines) > 1:
        raise SubscriptionError("--usage goes with one --subscription; give each timeline its usage block")
    text = args.period.strip()
    if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", text):
        raise SubscriptionError(f"--period {text!r}: expected YYYY-MM or YYYY-MM-DD")
    when: date  # a period's start (a datetime) or a day
    if len(text) == 7:
        when = resolve_period(timeline_schedule(catalog, timeline), text).start
    else:
        when = _day("--period", text)
    if len(timelines) > 1:
        issued = issued_in_period_consolidated(catalog, timelines, when)
    else:
        issued = issued_in_period(catalog, timeline, when, usage)
    if args.json:
        print(json.dumps(issued.to_json(), indent=2))
    else:
        print("\n".join(render_issued(issued)))
    return 0


def cmd_balance(args: argparse.Namespace) -> int:
    from pricing.billing.balances import load_ledger, simulate_ledger
    from pricing.engine.catalog import load_catalog

    catalog = load_catalog(args.catalog)
    ledger = load_ledger(args.ledger)
    result = simulate_ledger(catalog, ledger, _day("--until", args.until))
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print("\n".join(render_ledger(result)))
    return 0


def _day(flag: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise SubscriptionError(f"{flag} {text!r}: expected a date YYYY-MM-DD") from None


def _when(moment: date | None) -> str:  # a datetime is a date
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z").replace("T00:00:00Z", "")


def render_issued(issued: IssuedInvoice) -> list[str]:
    from pricing.engine.formatting import format_minor

    inv = issued.invoice
    rows = [f"{inv.customer_id}: {issued.kind} invoice issued {_when(issued.issued_at)} on plan {inv.plan},"
            f" period {issued.period.label()}: total {inv.money(inv.total_minor)}"]
    if issued.closes is not None:
        rows.append(f"    bills usage for {_when(issued.closes[0])} .. {_when(issued.closes[1])}")
    if not inv.eligible:
        rows.append(f"    ineligible: {inv.reason}")
    item_width = max((len(line.item) for line in inv.lines), default=4)
    for line in inv.lines:
        price = "" if line.unit_price is None else f"x {line.unit_price}"
        service = f"{_when(line.service_start)} .. {_when(line.service_end)}"
        rows.append(f"    {line.item:<{item_width}}  {line.line_type.value:<10} {service:<24} {str(line.quantity):>8}"
                    f" {price:<10} {format_minor(line.amount_minor, inv.decimals):>12}   {line.explanation}")
    rows.extend(f"    note: {note}" for note in inv.notes[1:])
    return rows


def render_ledger(result: LedgerResult) -> list[str]:
    from pricing.engine.formatting import format_minor

    f = lambda minor: format_minor(minor, result.decimals)  # noqa: E731
    rows = [f"{result.customer_id} on {result.catalog} ({result.currency}): opening {f(result.opening_balance)},"
            f" top-ups {f(result.top_ups)}, debits {f(result.debits)}, balance {f(result.balance)}",
            f"    {'date':<10}  {'plan':<10} {'status':<9} {'top-up':>10} {'debit':>8} {'balance':>10} {'credit':>8}"]
    for r in result.rows:
        rows.append(f"    {r.day.isoformat():<10}  {r.plan:<10} {r.status:<9} {f(r.top_up):>10} {f(r.debit):>8}"
                    f" {f(r.balance):>10} {f(r.credit_limit):>8}  {r.note}".rstrip())
    notices = ", ".join(d.isoformat() for d in result.notices) or "none"
    suspensions = ", ".join(d.isoformat() for d in result.suspensions) or "none"
    rows.append(f"low-balance notices: {notices}; suspensions: {suspensions}")
    run = result.runway
    if run.days is None:
        rows.append(f"runway: no debits running (daily debit {f(run.daily_debit)})")
    else:
        notice = run.notice_on.isoformat() if run.notice_on else "already given"
        rows.append(f"runway: {run.days} days at {f(run.daily_debit)} a day; notice {notice};"
                    f" suspension {run.suspended_on.isoformat() if run.suspended_on else 'none'}")
    return rows
