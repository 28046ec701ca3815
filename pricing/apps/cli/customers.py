"""``pricing customers``: a finance team's own customers and subscriptions, in the store.

    pricing customers import --customers customers.csv [--timelines DIR_OR_FILE ...]
                             [--events subscription_events.csv ...] [--ledgers DIR_OR_FILE ...] [--store PATH]
    pricing customers list [--store PATH] [--json]
    pricing customers show ID [--store PATH] [--json]
    pricing customers event ID --type upgrade --plan pro [--at 2026-05-04T10:00:00Z] [...] [--store PATH]

Formats: docs/customers.md. An import reads and checks everything (every
timeline replayed through its catalog) before it writes anything, in one
transaction; importing the same files again changes nothing.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pricing.apps.cli.options import SubParsers, add_store_options, existing_store
from pricing.errors import BookError
from pricing.metering.store_location import DEFAULT_STORE

# an event's fields given as options, with what each means (docs/subscriptions.md has the whole table)
EVENT_FLAGS = {
    "plan": "the plan to move to (upgrade, downgrade, change_plan)",
    "item": "the add-on or feature added or removed (add, remove)",
    "quantity": "units of the add-on added or removed (add, remove)",
    "effective": "now or end_of_period: when a plan change or a cancellation takes effect",
    "invoice": "now (an invoice of its own for the change) or next (on the next periodic invoice)",
    "refund": "on cancel now: add_ons (default), all or none",
    "until": "on trial: the instant the trial ends, ISO 8601",
    "note": "free text kept with the event",
}


def register(subparsers: SubParsers) -> None:
    group = subparsers.add_parser("customers", help="import, list and show the customer book; add subscription events")
    commands = group.add_subparsers(dest="customers_command", metavar="ACTION", parser_class=type(group))
    commands.required = True

    p = commands.add_parser("import", help="customers, subscriptions and ledgers from your files (all or nothing)")
    p.add_argument("--customers", type=Path, required=True, help="customers file (.csv or .parquet)")
    p.add_argument("--timelines", type=Path, nargs="*", default=[], help="timeline YAML files or folders")
    p.add_argument("--events", type=Path, nargs="*", default=[], help="flat CSV files of subscription events")
    p.add_argument("--ledgers", type=Path, nargs="*", default=[], help="prepaid ledger YAML files or folders")
    p.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"workbook store (default {DEFAULT_STORE})")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.set_defaults(handler=cmd_import)

    p = commands.add_parser("list", help="the customer book")
    add_store_options(p)
    p.set_defaults(handler=cmd_list)

    p = commands.add_parser("show", help="one customer, with its subscription and what it holds now")
    p.add_argument("customer_id", help="the customer's id in the store")
    add_store_options(p)
    p.set_defaults(handler=cmd_show)

    p = commands.add_parser("event", help="append an event to a customer's timeline (checked by replay)")
    p.add_argument("customer_id", help="the customer whose subscription timeline gets the event")
    p.add_argument("--type", required=True, help="event type (docs/subscriptions.md)")
    p.add_argument("--at", help="UTC instant, ISO 8601 (default: now)")
    for flag, what in EVENT_FLAGS.items():
        p.add_argument(f"--{flag}", help=what)
    p.add_argument("--commitments", help="metric=qty;metric=qty")
    p.add_argument("--no-prorate", action="store_true", help="a change now, not prorated")
    p.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"workbook store (default {DEFAULT_STORE})")
    p.set_defaults(handler=cmd_event)


def cmd_import(args: argparse.Namespace) -> int:
    from pricing.billing.customer_book import build_book, customers_from_frame, read_customers
    from pricing.metering.store import Store

    customers = read_customers(args.customers)
    known = {}
    if args.store.is_file():
        with Store(args.store, read_only=True) as store:
            known = customers_from_frame(store.customers())
    book = build_book(customers, args.timelines, args.events, args.ledgers, known)
    with Store(args.store) as store:
        counts = store.import_book([c.row() for c in book.customers.values()], book.timelines, book.ledgers)
    if args.json:
        print(json.dumps({"store": str(args.store), "added": list(counts.added), "updated": list(counts.updated),
                          "unchanged": list(counts.unchanged), "timelines": len(book.timelines),
                          "ledgers": len(book.ledgers)}, indent=2))
        return 0
    print(f"{args.store}: {len(counts.added)} customer(s) added, {len(counts.updated)} updated,"
          f" {len(counts.unchanged)} unchanged; {len(book.timelines)} subscription(s),"
          f" {len(book.ledgers)} prepaid ledger(s) read")
    return 0


def _record(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if key in ("timeline_yaml", "ledger_yaml"):
            continue
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    out["billing"] = _billing(bool(row.get("timeline_yaml")), bool(row.get("ledger_yaml")))
    return out


def _billing(has_timeline: bool, has_ledger: bool) -> str:
    """How a customer is billed: by a subscription timeline, a prepaid ledger, or not at all."""
    return "subscription" if has_timeline else ("prepaid ledger" if has_ledger else "none")


def cmd_list(args: argparse.Namespace) -> int:
    with existing_store(args.store, read_only=True) as store:
        frame = store.customers()
        timelines, ledgers = set(store.timelines()), set(store.ledgers())
    if frame.empty:
        raise BookError(f"{args.store}: no customers (import them with `pricing customers import`)")
    rows = []
    for record in frame.to_dict("records"):
        cid = str(record["customer_id"])
        rows.append({"customer_id": cid, "name": record.get("name"), "catalog": record.get("catalog"),
                     "billing": _billing(cid in timelines, cid in ledgers)})
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        print(f"{r['customer_id']:<14} {str(r['name'])[:40]:<40} {r['catalog']:<14} {r['billing']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from pricing.engine.catalog import load_catalog
    from pricing.billing.timeline import parse_timeline
    from pricing.billing.subscriptions import state_at
    from pricing.yaml_files import parse_yaml

    with existing_store(args.store, read_only=True) as store:
        row = store.customer(args.customer_id)
    record = _record(row)
    if row.get("timeline_yaml"):
        origin = f"timeline of {args.customer_id}"
        timeline = parse_timeline(parse_yaml(row["timeline_yaml"], origin, BookError), origin)
        now = datetime.now(UTC)
        if timeline.events[0].at <= now:
            state = state_at(load_catalog(timeline.catalog), timeline, now)
            record["now"] = {"plan": state.plan, "quantities": {k: str(v) for k, v in state.quantities.items()},
                             "commitments": {k: str(v) for k, v in state.commitments.items()},
                             "scheduled_change": state.downgrade_to, "ended_at": None if state.ended_at is None
                             else state.ended_at.isoformat()}
        record["events"] = [{"at": e.at.isoformat(), "type": e.type, **({"plan": e.plan} if e.plan else {})}
                            for e in timeline.events]
    if args.json:
        print(json.dumps(record, indent=2, default=str))
        return 0
    for key, value in record.items():
        if key == "events":
            print("events:")
            for e in value:
                print(f"  {e['at']}  {e['type']}" + (f" {e['plan']}" if "plan" in e else ""))
        elif value is not None:
            print(f"{key}: {value}")
    return 0


def cmd_event(args: argparse.Namespace) -> int:
    from pricing.billing.customer_book import append_event, customers_from_frame, metric_pairs

    event: dict[str, Any] = {"at": args.at or datetime.now(UTC).replace(microsecond=0).isoformat(), "type": args.type}
    for flag in EVENT_FLAGS:
        value = getattr(args, flag)
        if value is not None:
            event[flag] = value
    if args.commitments:
        event["commitments"] = metric_pairs(args.commitments, "--commitments")
    if args.no_prorate:
        event["prorate"] = False
    with existing_store(args.store, read_only=False) as store:
        row = store.customer(args.customer_id)
        if not row.get("timeline_yaml"):
            raise BookError(f"customer {args.customer_id!r} has no subscription timeline to add to")
        customer = customers_from_frame(store.customers())[args.customer_id]
        text = append_event(customer, row["timeline_yaml"], event, f"timeline of {args.customer_id}")
        store.import_book([customer.row()], {args.customer_id: text}, {})
    print(f"{args.customer_id}: {args.type} at {event['at']} added")
    return 0
