"""A finance team's own customers and subscriptions, read from their files and checked before the store.

Inputs (documented in docs/customers.md):

- a **customers file**, CSV or Parquet, one row per customer: ``customer_id``,
  ``name``, ``catalog`` (required), ``billing_email``, ``address`` (lines
  separated by ``|`` or newlines), ``billing_details`` (yes/no, true/false,
  1/0), ``tax_percent``, ``tax_id``, ``anchor`` (``calendar``, ``start``, a
  day 1-31 or an ISO instant), ``country``, ``segment``;
- **subscription timelines**, YAML files in the documented format
  (docs/subscriptions.md), one per customer, files or folders;
- a **flat CSV of subscription events**, one row per event (``customer_id``,
  ``at``, ``type`` and the event's own columns: ``plan``, ``item``,
  ``quantity``, ``effective``, ``prorate``, ``invoice``, ``refund``,
  ``until``, ``value``, ``note``; ``quantities`` and ``commitments`` as
  ``metric=qty;metric=qty``), for users exporting from a spreadsheet or
  another billing system;
- **prepaid ledgers**, YAML files (seed 002).

Everything is read and checked (every timeline replayed through its catalog)
before anything is written; the first problem is one line naming the file,
the row or event and the field. Values from the customers file fill a
timeline's ``billing_details``, ``anchor`` and ``tax_percent``; a timeline that
says otherwise is refused rather than silently overridden.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pricing.billing.balances import Ledger, parse_ledger, simulate_ledger
from pricing.engine.catalog import Catalog, bundled_catalog_ids, load_catalog
from pricing.errors import BookError, PricingError, SubscriptionError
from pricing.billing.timeline import Timeline, parse_timeline
from pricing.billing.subscriptions import plan_invoices
from pricing.yaml_files import parse_yaml

REQUIRED = ("customer_id", "name", "catalog")
OPTIONAL = ("billing_email", "address", "billing_details", "tax_percent", "tax_id", "anchor", "country", "segment")
EVENT_COLUMNS = ("customer_id", "at", "type")
EVENT_OPTIONAL = ("plan", "item", "quantity", "effective", "prorate", "invoice", "refund", "until", "value", "note",
                  "quantities", "commitments")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    catalog: str
    billing_email: str | None = None
    address: str | None = None
    billing_details: bool | None = None
    tax_percent: Decimal | None = None
    tax_id: str | None = None
    anchor: str | int | datetime | None = None
    country: str | None = None
    segment: str | None = None

    def row(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id, "name": self.name, "catalog": self.catalog,
            "billing_email": self.billing_email, "address": self.address,
            "billing_details": self.billing_details,
            "tax_percent": None if self.tax_percent is None else str(self.tax_percent), "tax_id": self.tax_id,
            "anchor": None if self.anchor is None else (
                self.anchor.isoformat().replace("+00:00", "Z") if isinstance(self.anchor, datetime)
                else str(self.anchor)),
            "country": self.country, "segment": self.segment,
        }


@dataclass
class Book:
    """What an import would write: customers, timelines and ledgers (YAML text), all checked."""

    customers: dict[str, Customer] = field(default_factory=dict)
    timelines: dict[str, str] = field(default_factory=dict)
    ledgers: dict[str, str] = field(default_factory=dict)


# --- the customers file ---------------------------------------------------------------------


def _table(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """A CSV or Parquet file with exactly these columns (required ones present, no unknown ones),
    and the number of its first data row, for messages."""
    frame, first = _read_table(path)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise BookError(f"{path}: missing column {missing[0]!r} (required: {', '.join(required)})")
    unknown = [c for c in frame.columns if c not in required + optional]
    if unknown:
        raise BookError(f"{path}: unknown column {unknown[0]!r} (columns: {', '.join(required + optional)})")
    return frame, first


def _rows(path: Path, required: tuple[str, ...],
          optional: tuple[str, ...]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Each row's number, its "file: row N" for messages, and its cells (empty ones None; required ones set)."""
    frame, first = _table(path, required, optional)
    for offset, raw in enumerate(frame.to_dict("records")):
        where = f"{path}: row {first + offset}"
        values: dict[str, Any] = {str(k): _text(v) for k, v in raw.items()}
        for column in required:
            if values.get(column) is None:
                raise BookError(f"{where}: {column} is empty")
        yield first + offset, where, values


def _read_table(path: Path) -> tuple[pd.DataFrame, int]:
    if not path.is_file():
        raise BookError(f"{path}: no such file")
    suffix = path.name.lower()
    try:
        if suffix.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path)
            frame = frame.astype(object).where(frame.notna(), None)
            return frame, 1
        if suffix.endswith(".csv"):
            text = path.read_text(encoding="utf-8-sig")
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            return frame.where(frame != "", None), 2
    except UnicodeDecodeError:
        raise BookError(f"{path}: not UTF-8 text") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise BookError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    raise BookError(f"{path}: expected a .csv or .parquet file")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN: an empty cell
        return None
    text = str(value).strip()
    return text or None


def read_customers(path: Path) -> dict[str, Customer]:
    """The customers file, every row checked; the first problem names file, row and field."""
    out: dict[str, Customer] = {}
    for _row, where, values in _rows(path, REQUIRED, OPTIONAL):
        customer_id = str(values["customer_id"])
        if customer_id in out:
            raise BookError(f"{where}: customer_id {customer_id!r} appears twice")
        catalog = str(values["catalog"])
        _catalog(catalog, f"{where}: catalog")
        out[customer_id] = Customer(
            customer_id=customer_id, name=str(values["name"]), catalog=catalog,
            billing_email=_email(values.get("billing_email"), where),
            address=None if values.get("address") is None else "\n".join(
                part.strip() for part in str(values["address"]).replace("|", "\n").splitlines() if part.strip()),
            billing_details=_yes_no(values.get("billing_details"), f"{where}: billing_details"),
            tax_percent=_percent(values.get("tax_percent"), f"{where}: tax_percent"),
            tax_id=values.get("tax_id"), anchor=_anchor(values.get("anchor"), f"{where}: anchor"),
            country=values.get("country"), segment=values.get("segment"),
        )
    if not out:
        raise BookError(f"{path}: no customers (an empty file imports nothing)")
    return out


def _catalog(catalog_id: str, where: str) -> Catalog:
    try:
        return load_catalog(catalog_id)
    except PricingError:
        raise BookError(f"{where}: unknown catalog {catalog_id!r} (bundled: {', '.join(bundled_catalog_ids())};"
                           " or the path of a catalog YAML)") from None


def _email(value: str | None, where: str) -> str | None:
    if value is not None and ("@" not in value or " " in value):
        raise BookError(f"{where}: billing_email {value!r} is not an e-mail address")
    return value


def _yes_no(value: str | None, where: str) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise BookError(f"{where}: {value!r} is not yes/no")


def _percent(value: str | None, where: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value.rstrip("%").strip())
    except InvalidOperation:
        raise BookError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(100):
        raise BookError(f"{where}: {value!r} must be between 0 and 100")
    return number


def _anchor(value: str | None, where: str) -> str | int | datetime | None:
    if value is None:
        return None
    if value in ("calendar", "start"):
        return value
    if value.isdigit() and 1 <= int(value) <= 31:
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BookError(f"{where}: {value!r} is not 'calendar', 'start', a day 1-31 or an ISO instant") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- subscriptions ----------------------------------------------------------------------------


def _yaml_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".yaml", ".yml"))
            if not found:
                raise BookError(f"{path}: folder holds no .yaml files")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise BookError(f"{path}: no such file or folder")
    return out


def read_event_rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The flat CSV of subscription events, as event mappings per customer (file order kept)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row, where, values in _rows(path, EVENT_COLUMNS, EVENT_OPTIONAL):
        event: dict[str, Any] = {"at": values["at"], "type": values["type"]}
        for column in ("plan", "item", "effective", "invoice", "refund", "until", "note"):
            if values.get(column) is not None:
                event[column] = values[column]
        if values.get("quantity") is not None:
            event["quantity"] = values["quantity"]
        for column in ("prorate", "value"):
            if values.get(column) is not None:
                event[column] = _yes_no(values[column], f"{where}: {column}")
        for column in ("quantities", "commitments"):
            if values.get(column) is not None:
                event[column] = metric_pairs(str(values[column]), f"{where}: {column}")
        event["_row"] = row
        out.setdefault(str(values["customer_id"]), []).append(event)
    return out


def metric_pairs(text: str, where: str) -> dict[str, str]:
    """``metric=qty;metric=qty`` as a mapping; ``where`` names the file and row (or option) for errors."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, qty = part.partition("=")
        if not sep or not name.strip() or not qty.strip():
            raise BookError(f"{where}: {part!r} is not metric=quantity")
        out[name.strip()] = qty.strip()
    return out


def _merge_customer(data: dict[str, Any], customer: Customer, origin: str) -> dict[str, Any]:
    """Fill the timeline from the customer's record; refuse a timeline that says otherwise."""
    merged = dict(data)
    given = {"billing_details": customer.billing_details, "anchor": customer.anchor,
             "tax_percent": None if customer.tax_percent is None else str(customer.tax_percent)}
    for key, value in given.items():
        if value is None:
            continue
        if key in merged and str(merged[key]) != str(value) and not _same_anchor(key, merged[key], value):
            raise BookError(f"{origin}: {key} is {merged[key]!r} here but {value!r} in the customers file")
        merged[key] = value.isoformat() if isinstance(value, datetime) else value
    return merged


def _same_anchor(key: str, left: Any, right: Any) -> bool:
    if key != "anchor" or not isinstance(right, datetime):
        return False
    try:
        return datetime.fromisoformat(str(left).replace("Z", "+00:00")) == right
    except ValueError:
        return False


def check_timeline(catalog: Catalog, timeline: Timeline) -> None:
    """Replay the timeline through its catalog to a year past its last event: every event is checked."""
    last = timeline.events[-1].at + timedelta(days=timeline.trial_days + 400)
    plan_invoices(catalog, timeline, last, lambda period, closed: None)


def build_book(customers: Mapping[str, Customer], timeline_paths: Iterable[Path] = (),
               event_files: Iterable[Path] = (), ledger_paths: Iterable[Path] = (),
               known: Mapping[str, Customer] | None = None) -> Book:
    """Read and check everything; nothing is written here."""
    everyone = {**(known or {}), **customers}
    book = Book(customers=dict(customers))

    def customer_of(customer_id: str, where: str) -> Customer:
        found = everyone.get(customer_id)
        if found is None:
            raise BookError(f"{where}: customer {customer_id!r} is not in the customers file or the store")
        return found

    def add_timeline(data: dict[str, Any], origin: str) -> None:
        customer_id = str(data.get("customer_id", ""))
        customer = customer_of(customer_id, origin)
        if "catalog" in data and data["catalog"] != customer.catalog:
            raise BookError(f"{origin}: catalog {data['catalog']!r}, but customer {customer_id!r} is on"
                               f" {customer.catalog!r} in the customers file")
        data = _merge_customer({**data, "catalog": customer.catalog}, customer, origin)
        timeline = parse_timeline(data, origin)
        try:
            check_timeline(_catalog(customer.catalog, origin), timeline)
        except SubscriptionError as exc:
            raise BookError(str(exc)) from None
        if customer_id in book.timelines:
            raise BookError(f"{origin}: a second subscription for customer {customer_id!r}"
                               " (one timeline per customer)")
        book.timelines[customer_id] = yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True)

    for path in _yaml_files(timeline_paths):
        data = parse_yaml(path.read_text(encoding="utf-8"), str(path), SubscriptionError)
        if not isinstance(data, dict):
            raise BookError(f"{path}: expected a timeline mapping at the top level")
        add_timeline(data, str(path))
    for path in event_files:
        for customer_id, events in read_event_rows(path).items():
            rows = [e.pop("_row") for e in events]
            try:
                add_timeline({"customer_id": customer_id, "events": events}, f"{path}")
            except (BookError, SubscriptionError) as exc:
                # a timeline's events[i] is row rows[i] of the CSV: name the row the user can find
                message = re.sub(r"events\[(\d+)\]", lambda m: f"row {rows[int(m.group(1))]}", str(exc))
                raise BookError(message) from None
    for path in _yaml_files(ledger_paths):
        data = parse_yaml(path.read_text(encoding="utf-8"), str(path), SubscriptionError)
        if not isinstance(data, dict):
            raise BookError(f"{path}: expected a ledger mapping at the top level")
        customer = customer_of(str(data.get("customer_id", "")), str(path))
        data = {**data, "catalog": data.get("catalog", customer.catalog)}
        ledger = parse_ledger(data, str(path))
        if ledger.catalog != customer.catalog:
            raise BookError(f"{path}: catalog {ledger.catalog!r}, but customer {customer.customer_id!r} is on"
                               f" {customer.catalog!r}")
        _check_ledger(ledger, str(path))
        if customer.customer_id in book.ledgers or customer.customer_id in book.timelines:
            raise BookError(f"{path}: customer {customer.customer_id!r} already has a subscription or ledger")
        book.ledgers[customer.customer_id] = yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True)
    return book


def _check_ledger(ledger: Ledger, origin: str) -> None:
    last = max([ledger.start, *(e.date for e in ledger.events)])
    try:
        simulate_ledger(load_catalog(ledger.catalog), ledger, last, runway=False)
    except SubscriptionError as exc:
        raise BookError(str(exc)) from None


def _plain(data: Any) -> Any:
    """YAML-safe plain data: instants as ISO text, decimals as quoted text."""
    if isinstance(data, dict):
        return {str(k) if not isinstance(k, datetime) else k.isoformat(): _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    if isinstance(data, datetime):
        return data.isoformat().replace("+00:00", "Z")
    if isinstance(data, Decimal):
        return str(data)
    return data


def append_event(customer: Customer, timeline_yaml: str, event: Mapping[str, Any], origin: str) -> str:
    """A stored timeline with one more event, checked by replay; the new YAML text."""
    data = parse_yaml(timeline_yaml, origin, SubscriptionError)
    data = {**data, "events": [*data.get("events", []), dict(event)]}
    timeline = parse_timeline(data, origin)
    try:
        check_timeline(_catalog(customer.catalog, origin), timeline)
    except SubscriptionError as exc:
        raise BookError(str(exc)) from None
    return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True)


def customers_from_frame(frame: pd.DataFrame) -> dict[str, Customer]:
    """The store's customers table back as records."""
    out: dict[str, Customer] = {}
    for raw in frame.to_dict("records"):
        values = {k: (None if v is None or (isinstance(v, float) and pd.isna(v)) else v) for k, v in raw.items()}
        out[str(values["customer_id"])] = Customer(
            customer_id=str(values["customer_id"]), name=str(values.get("name") or values["customer_id"]),
            catalog=str(values["catalog"]), billing_email=values.get("billing_email"), address=values.get("address"),
            billing_details=None if values.get("billing_details") is None else bool(values["billing_details"]),
            tax_percent=None if values.get("tax_percent") is None else Decimal(str(values["tax_percent"])),
            tax_id=values.get("tax_id"), anchor=values.get("anchor"), country=values.get("country"),
            segment=values.get("segment"),
        )
    return out


__all__ = ["Book", "Customer", "BookError", "append_event", "build_book", "check_timeline",
           "customers_from_frame", "metric_pairs", "read_customers", "read_event_rows"]
