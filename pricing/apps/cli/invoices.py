"""``pricing invoices``: bill a month from the store, list and show issued invoices, credit notes.

    pricing invoices run --month 2026-03 [--seller seller.yaml | --prefix INV-] [--store PATH] [--json]
    pricing invoices list [--month 2026-03] [--store PATH] [--json]
    pricing invoices show NUMBER [--seller seller.yaml --out DIR] [--store PATH] [--json]
    pricing invoices credit NUMBER --reason TEXT [--date YYYY-MM-DD] [--store PATH]
    pricing invoices export --month 2026-03 --seller seller.yaml [--out reports] [--no-pdf] [--store PATH]

Issued invoices are final: running a month again issues only the invoices
not issued before and reports any issued invoice a fresh computation would
change; correct those with a credit note, which references the invoice and is
listed in the same month's register.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pricing.apps.cli.options import SubParsers, add_store_options, existing_store
from pricing.errors import ReportError

if TYPE_CHECKING:
    from pricing.metering.store import Store


def register(subparsers: SubParsers) -> None:
    group = subparsers.add_parser("invoices", help="bill a month, list, show and credit issued invoices")
    commands = group.add_subparsers(dest="invoices_command", metavar="ACTION", parser_class=type(group))
    commands.required = True

    p = commands.add_parser("run", help="bill every customer of the store for a month and issue the invoices")
    p.add_argument("--month", required=True, metavar="YYYY-MM", help="the month billed")
    p.add_argument("--seller", type=Path, help="seller file: its invoice_prefix numbers the invoices")
    p.add_argument("--prefix", help="invoice number prefix without a seller file (default INV-)")
    add_store_options(p, "print JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_run)

    p = commands.add_parser("list", help="issued invoices and credit notes")
    p.add_argument("--month", metavar="YYYY-MM", help="only this month's register")
    add_store_options(p, "print JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_list)

    p = commands.add_parser("show", help="one issued invoice or credit note with its lines (or its document)")
    p.add_argument("number", help="the invoice or credit note number, e.g. INV-000001")
    p.add_argument("--seller", type=Path, help="seller file; with --out, writes the invoice's HTML and PDF")
    p.add_argument("--out", type=Path, help="folder for the document (with --seller)")
    p.add_argument("--no-pdf", action="store_true", help="HTML only")
    add_store_options(p, "print JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_show)

    p = commands.add_parser("export", help="every issued invoice and credit note of a month as HTML and PDF")
    p.add_argument("--month", required=True, metavar="YYYY-MM", help="the month whose register is exported")
    p.add_argument("--seller", type=Path, required=True, help="seller file (name, address, tax id, terms, locale)")
    p.add_argument("--out", type=Path, default=Path("reports"), help="documents go to OUT/MONTH/invoices/")
    p.add_argument("--no-pdf", action="store_true", help="HTML only")
    add_store_options(p, "print JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_export)

    p = commands.add_parser("credit", help="a credit note reversing an issued invoice")
    p.add_argument("number", help="the issued invoice the credit note reverses")
    p.add_argument("--reason", required=True, help="why the invoice is corrected (kept on the credit note)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="issue date of the credit note (default: today)")
    p.add_argument("--prefix", default="INV-", help="number prefix of the credit note")
    add_store_options(p, "print JSON (amounts as decimal strings)")
    p.set_defaults(handler=cmd_credit)


def cmd_run(args: argparse.Namespace) -> int:
    from pricing.billing.billing_run import bill_month
    from pricing.engine.formatting import format_minor, format_money

    prefix = _prefix(args.seller, args.prefix)
    with existing_store(args.store, read_only=False) as store:
        run = bill_month(store, args.month, prefix=prefix)
    issued = run.issued
    assert issued is not None
    totals = {currency: minor for currency, minor in sorted(run.totals().items())}
    decimals = {i.currency: i.decimals for i in run.invoices}
    if args.json:
        print(json.dumps({
            "month": run.month, "invoices": len(run.invoices),
            "customers": len({i.customer_id for i in run.invoices}),
            "totals": {c: format_minor(v, decimals[c]) for c, v in totals.items()},
            "issued": list(issued.issued), "unchanged": list(issued.unchanged), "differing": list(issued.differing),
        }, indent=2))
        return 0
    print("\n".join(run.lines()))
    for currency, minor in totals.items():
        count = sum(1 for i in run.invoices if i.currency == currency)
        print(f"  {currency}: {count} invoice(s), {format_money(minor, currency, decimals[currency])}")
    print(f"issued now: {len(issued.issued)}"
          + (f" ({issued.issued[0]} .. {issued.issued[-1]})" if issued.issued else "")
          + f"; issued before, unchanged: {len(issued.unchanged)}"
          + f"; issued before, now different: {len(issued.differing)}")
    if issued.differing:
        print("  issued invoices are final; correct these with `pricing invoices credit NUMBER --reason ...`: "
              + ", ".join(issued.differing))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    import pandas as pd

    from pricing.engine.formatting import format_minor

    with existing_store(args.store, read_only=True) as store:
        heads = store.issued(args.month)
    heads = heads[heads["number"].notna()]
    if heads.empty:
        where = f" for {args.month}" if args.month else ""
        raise ReportError(f"no issued invoices{where} in {args.store} (run `pricing invoices run --month ...`)")
    rows = []
    for _, h in heads.iterrows():
        rows.append({
            "number": h["number"], "kind": h["kind"], "month": h["month"], "customer_id": h["customer_id"],
            "issued_at": None if pd.isna(h["issued_at"]) else h["issued_at"].isoformat(),
            "currency": h["currency"], "total": format_minor(int(h["total_minor"]), int(h["decimals"])),
            "credit_for": None if pd.isna(h["credit_for"]) else h["credit_for"],
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        extra = f"  credits {r['credit_for']}" if r["credit_for"] else ""
        print(f"{r['number']}  {r['kind']:<11} {r['month']}  {r['customer_id']:<12} {r['currency']}"
              f" {r['total']:>14}{extra}")
    return 0


def _prefix(seller_path: Path | None, prefix: str | None) -> str:
    if seller_path is not None and prefix is not None:
        raise ReportError("give --seller (its invoice_prefix numbers the invoices) or --prefix, not both")
    if seller_path is not None:
        from pricing.reporting.invoice_document import load_seller

        return load_seller(seller_path).invoice_prefix or "INV-"
    return prefix or "INV-"


def cmd_show(args: argparse.Namespace) -> int:
    if (args.seller is None) != (args.out is None):
        raise ReportError("a document needs both --seller and --out")
    with existing_store(args.store, read_only=True) as store:
        invoice = store.invoice(args.number)
        if args.seller is not None:
            paths = _documents(store, [args.number], args.seller, args.out, not args.no_pdf)
            print("\n".join(str(p) for p in paths))
            return 0
    if args.json:
        print(json.dumps({"number": args.number, **invoice.to_json()}, indent=2))
        return 0
    print(f"{args.number}  {invoice.customer_id}  {invoice.catalog}/{invoice.plan}"
          f"  total {invoice.money(invoice.total_minor)}")
    width = max((len(line.item) for line in invoice.lines), default=4)
    for line in invoice.lines:
        print(f"    {line.item:<{width}}  {line.line_type.value:<10} {str(line.quantity):>10}"
              f" {invoice.format(line.amount_minor):>14}")
    return 0


def _documents(store: Store, numbers: list[str], seller_path: Path, out: Path, pdf: bool) -> list[Path]:
    """Each issued invoice's document; an invoice that cannot be one (ineligible) is named, then exit 2."""
    import pandas as pd

    from pricing.reporting.invoice_document import Buyer, load_seller, write_documents

    seller = load_seller(seller_path)
    heads = store.issued().set_index("number")
    written: list[Path] = []
    failed: list[str] = []
    for number in numbers:
        invoice = store.invoice(number)
        head = heads.loc[number]
        buyer = Buyer.from_mapping(store.customer(str(invoice.customer_id)), f"customer {invoice.customer_id}")
        credit_for: str | None = None if pd.isna(head["credit_for"]) else str(head["credit_for"])
        issued = (invoice.issued_at or datetime.now(UTC)).date()
        try:
            written += write_documents(invoice, number, issued, seller, buyer, out, credit_note_for=credit_for, pdf=pdf)
        except ReportError as exc:
            failed.append(f"{number}: {exc}")
    if failed:
        for line in failed:
            print(f"failed: {line}")
        raise ReportError(f"{len(failed)} document(s) not written (listed above); {len(written)} file(s) written")
    return written


def cmd_export(args: argparse.Namespace) -> int:
    import pandas as pd

    with existing_store(args.store, read_only=True) as store:
        heads = store.issued(args.month)
        numbers = [str(n) for n in heads["number"] if not pd.isna(n)]
        if not numbers:
            raise ReportError(f"no issued invoices for {args.month} in {args.store}"
                              " (run `pricing invoices run --month ...`)")
        folder = args.out / args.month / "invoices"
        paths = _documents(store, numbers, args.seller, folder, not args.no_pdf)
    print(f"{len(numbers)} document(s) for {args.month} in {folder} ({len(paths)} files)")
    return 0


def cmd_credit(args: argparse.Namespace) -> int:
    when = datetime.now(UTC) if args.date is None else _date(args.date)
    with existing_store(args.store, read_only=False) as store:
        number = store.credit_invoice(args.number, args.reason, when, args.prefix)
    print(f"{number}: credit note for {args.number} ({args.reason})")
    return 0


def _date(text: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    except ValueError:
        raise ReportError(f"--date {text!r}: expected YYYY-MM-DD") from None
