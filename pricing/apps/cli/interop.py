"""``pricing catalog import|export`` and ``pricing reconcile``: working with Stripe and Lago."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pricing.engine.catalog import load_catalog
from pricing.errors import PricingError, UsageError
from pricing.interop import VENDORS, export_catalog, import_catalog
from pricing.interop.common import is_catalog_id, read_json, slug, write_json
from pricing.interop.reconcile import CustomerKey, detect_vendor, read_vendor_invoices, reconcile
from pricing.interop.reconcile_report import write as write_report
from pricing.files import atomic_write_text
from pricing.apps.cli.store_args import add_store_options, existing_store


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("catalog", help="import a catalog from Stripe or Lago, or export one to them")
    commands = p.add_subparsers(dest="catalog_command", metavar="ACTION", parser_class=type(p))
    commands.required = True

    q = commands.add_parser("import", help="a catalog YAML from Stripe Products/Prices or Lago plans (their list JSON)")
    q.add_argument("vendor", choices=VENDORS)
    q.add_argument("file", type=Path, help="the vendor's list JSON (GET /v1/prices, GET /api/v1/plans)")
    q.add_argument("--output", "-o", type=Path, help="catalog YAML to write (default: standard output)")
    q.add_argument("--id", help="catalog id (default: from the file name)")
    q.set_defaults(handler=cmd_import)

    q = commands.add_parser("export", help="Stripe or Lago JSON for a catalog (refusing what they cannot express)")
    q.add_argument("vendor", choices=VENDORS)
    q.add_argument("catalog", help="bundled catalog id or path to a catalog YAML")
    q.add_argument("--output", "-o", type=Path, help="JSON file to write (default: standard output)")
    q.set_defaults(handler=cmd_export)

    p = subparsers.add_parser("reconcile", help="compare a billing system's invoices of a month with the engine's")
    add_store_options(p, "print the comparison as JSON")
    p.add_argument("--month", required=True, help="YYYY-MM: the invoices issued in that month")
    p.add_argument("--invoices", required=True, type=Path,
                   help="Stripe invoices (GET /v1/invoices) or Lago invoices (GET /api/v1/invoices), as JSON")
    p.add_argument("--vendor", choices=VENDORS, help="default: recognised from the file")
    p.add_argument("--customer-key", default="id", metavar="id|email|metadata:KEY",
                   help="the vendor field holding the store's customer id (default id: Stripe's customer,"
                        " Lago's external_id)")
    p.add_argument("--output", type=Path, help="folder for the HTML page and Excel sheet"
                                               " (default reports/reconcile/VENDOR-YYYY-MM)")
    p.set_defaults(handler=cmd_reconcile)


def _check_output(output: Path | None) -> None:
    """Before any work: an output that is a folder is one line, not a half-done run."""
    if output is not None and output.is_dir():
        raise PricingError(f"--output {output}: is a folder, not a file")


def _write_or_print(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        atomic_write_text(output, text)
    except OSError as exc:
        raise PricingError(f"--output {output}: cannot write: {exc.strerror}") from None
    print(f"wrote {output}", file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    _check_output(args.output)
    catalog_id = args.id or slug(args.file.stem.replace(".", "_")) or "imported"
    if not is_catalog_id(catalog_id):
        raise UsageError(f"--id {catalog_id!r}: lower-case letters, digits, '_' and '-', starting with a letter")
    catalog, notes = import_catalog(args.vendor, read_json(args.file), catalog_id, str(args.file))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    _write_or_print(catalog.to_yaml(), args.output)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    _check_output(args.output)
    catalog = load_catalog(args.catalog)
    _write_or_print(write_json(export_catalog(args.vendor, catalog, str(args.catalog))), args.output)
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    key = CustomerKey.parse(args.customer_key)
    data = read_json(args.invoices)
    vendor = args.vendor or detect_vendor(data)
    if vendor is None:
        raise UsageError(f"{args.invoices}: neither Stripe invoices (a list object) nor Lago invoices"
                         " ({\"invoices\": ...}); give --vendor")
    invoices, notes = read_vendor_invoices(vendor, data, str(args.invoices))
    with existing_store(args.store, read_only=True) as store:
        result = reconcile(store, args.month, vendor, invoices, key, notes)
    folder = args.output or Path("reports") / "reconcile" / f"{vendor}-{args.month}"
    written = write_report(result, folder)
    if args.json:
        print(json.dumps({**result.to_json(), "files": [str(p) for p in written]}, indent=2))
    else:
        print("\n".join(result.lines()))
        print(f"wrote {written[0]} and {written[1]}")
    return 0
