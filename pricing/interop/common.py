"""What the Stripe and Lago adapters share: reading vendor JSON, exact amounts, ids, refusals.

Vendor files are read with ``parse_float=Decimal``, so a JSON number such as
``20.0`` reaches us as an exact decimal, never a binary float. Every refusal is
an :class:`InteropError`: one line naming the file, the vendor object's id and
the field, which the CLI prints with exit status 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from pricing.engine.catalog import Catalog, Interval, Money, Percent, Quantity, parse_catalog
from pricing.errors import CatalogError, PricingError, problem_text
from pricing.engine.money import minor_unit_of
from pricing.engine.formatting import plain_number

MAX_FILE_BYTES = 200 * 1024 * 1024  # a list export far beyond any real catalog or month of invoices


class InteropError(CatalogError):
    """A vendor object the catalog cannot express, or a catalog the vendor cannot: one line, exit 2."""


# --- reading -----------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    """A vendor's JSON file, numbers as exact ``Decimal``/``int``; one line on any problem."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InteropError(f"{path}: no such file") from None
    except OSError as exc:
        raise InteropError(f"{path}: cannot read: {exc.strerror}") from None
    if path.is_dir():
        raise InteropError(f"{path}: is a directory, not a JSON file")
    if size > MAX_FILE_BYTES:
        raise InteropError(f"{path}: {size:,} bytes is more than the {MAX_FILE_BYTES:,} read at once")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InteropError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InteropError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InteropError(f"{path}: line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise InteropError(f"{path}: JSON nested too deeply") from None


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a number", name, 0)


def write_json(data: Any) -> str:
    """Vendor JSON as text: Decimals written as plain JSON numbers or strings as the caller made them."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- fields of vendor objects --------------------------------------------------------------


def mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InteropError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def optional_object(obj: Mapping[str, Any], field: str) -> dict[str, Any]:
    """``obj[field]`` when it is a JSON object, else an empty one (vendors omit or null optional objects)."""
    value = obj.get(field)
    return value if isinstance(value, dict) else {}


def text(obj: Mapping[str, Any], field: str, what: str, *, required: bool = True) -> str | None:
    value = obj.get(field)
    if value is None:
        if required:
            raise InteropError(f"{what}.{field}: missing")
        return None
    if not isinstance(value, str):
        raise InteropError(f"{what}.{field}: expected text, got {type(value).__name__} {value!r}")
    return value


def number(value: Any, what: str) -> Decimal:
    """An exact number from a JSON integer, an exact JSON decimal or a decimal string."""
    if isinstance(value, bool) or value is None:
        raise InteropError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, (int, Decimal)):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InteropError(f"{what}: {value!r} is not a number") from None
    else:
        raise InteropError(f"{what}: expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise InteropError(f"{what}: {value!r} is not a finite number")
    return result


def whole(value: Any, what: str) -> int:
    result = number(value, what)
    if result != result.to_integral_value():
        raise InteropError(f"{what}: {plain_number(result)} must be a whole number")
    return int(result)


_MONEY: TypeAdapter[Decimal] = TypeAdapter(Money)
_PERCENT: TypeAdapter[Decimal] = TypeAdapter(Percent)
_QUANTITY: TypeAdapter[Decimal] = TypeAdapter(Quantity)


def _checked(adapter: TypeAdapter[Decimal], value: Decimal, what: str) -> str:
    try:
        adapter.validate_python(plain_number(value))
    except ValidationError as exc:
        raise InteropError(f"{what}: {problem_text(exc)}") from None
    return plain_number(value)


def catalog_money(value: Decimal, what: str) -> str:
    """A catalog price as text, or a refusal when the catalog cannot hold it exactly."""
    return _checked(_MONEY, value, what)


def catalog_percent(value: Decimal, what: str) -> str:
    return _checked(_PERCENT, value, what)


def catalog_quantity(value: Decimal, what: str) -> str:
    return _checked(_QUANTITY, value, what)


def minor_to_major(minor: Decimal, decimals: int) -> Decimal:
    """Cents (or the currency's minor unit) to currency units, exactly: 150 -> 1.50."""
    return minor.scaleb(-decimals)


def major_to_minor(major: Decimal, decimals: int) -> Decimal:
    return major.scaleb(decimals)


def minor_unit(currency: str, what: str) -> int:
    try:
        return minor_unit_of(currency.upper())
    except PricingError:
        raise InteropError(f"{what}: currency {currency!r} has no minor unit known to the workbench") from None


def invoice_currency(invoice: Mapping[str, Any], what: str) -> tuple[str, int]:
    """An invoice's currency (upper case) and its minor unit's decimals."""
    code = text(invoice, "currency", what)
    assert code is not None
    return code.upper(), minor_unit(code, f"{what}.currency")


# --- ids --------------------------------------------------------------------------------------

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_VENDOR_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


def slug(value: str) -> str | None:
    """A catalog id from a vendor code or name: lower case, ``_`` between words; None if nothing is left."""
    out = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
    if not out:
        return None
    return out if out[0].isalpha() else f"x_{out}"


def is_catalog_id(value: str) -> bool:
    return bool(_ID.match(value))


def vendor_id(value: Any, what: str) -> str:
    """An id that can stand in a ``source`` address (no spaces, no slashes)."""
    if not isinstance(value, str) or not _VENDOR_ID.match(value):
        raise InteropError(f"{what}: {value!r} is not an id the workbench can cite (letters, digits, _ . : -)")
    return value


def unique(base: str, taken: Iterable[str]) -> str:
    used = set(taken)
    if base not in used:
        return base
    n = 2
    while f"{base}_{n}" in used:
        n += 1
    return f"{base}_{n}"


# --- billing intervals -------------------------------------------------------------------------


def place_intervals(catalog_data: dict[str, Any], intervals: Mapping[str, tuple[Interval, int]]) -> None:
    """The catalog's interval is its first plan's; a plan on another interval names its own.

    One rule, so the same plans always give the same catalog (the round trip depends on it).
    """
    if not intervals:
        return
    first = next(iter(intervals.values()))
    catalog_data["interval"], catalog_data["interval_count"] = first[0].value, first[1]
    for plan_id, (interval, count) in intervals.items():
        if (interval, count) != first:
            plan = catalog_data["plans"][plan_id]
            plan["interval"] = interval.value
            if count != 1:
                plan["interval_count"] = count


def assemble(catalog_id: str, vendor: str, what: str, currency: str, settings: dict[str, str],
             metrics: dict[str, Any], plans: dict[str, Any], intervals: Mapping[str, tuple[Interval, int]],
             reference: str, origin: str) -> Catalog:
    """The imported catalog: the same header for every vendor, the vendor's semantics as ``settings``."""
    data: dict[str, Any] = {
        "id": catalog_id, "name": f"{catalog_id} (imported from {vendor})", "version": vendor.lower(),
        "description": f"Imported from {vendor} {what}; each source is the object's API address.",
        "currency": currency, "settings": settings, "metrics": metrics, "plans": plans,
        "sources": {vendor.lower(): reference},
    }
    place_intervals(data, intervals)
    return build(data, origin)


def build(data: dict[str, Any], origin: str) -> Catalog:
    """The catalog, validated like any YAML file (a refusal names ``origin``)."""
    try:
        return parse_catalog(data, origin)
    except PricingError as exc:
        raise InteropError(str(exc)) from None


__all__ = [
    "InteropError", "assemble", "build", "catalog_money", "catalog_percent", "catalog_quantity", "invoice_currency",
    "is_catalog_id",
    "major_to_minor", "mapping", "minor_to_major", "minor_unit", "number", "place_intervals", "read_json",
    "refuse_non_defaults", "slug", "text", "unique", "vendor_id", "whole", "write_json",
]


def check_settings(catalog: Catalog, what: str, vendor: str, day_count: str) -> None:
    """Refuse settings the vendor's engine does not work by: it rounds half up, each line item or fee
    on its own (``rounding_scope: line``), with inclusive tier bounds and ``day_count``."""
    settings = catalog.settings
    for field, wanted in (("rounding", "half_up"), ("rounding_scope", "line"), ("tier_bounds", "up_to_inclusive"),
                          ("day_count", day_count)):
        if getattr(settings, field).value != wanted:
            raise InteropError(f"{what}: settings.{field} {getattr(settings, field).value}: {vendor} works {wanted}")


def refuse_non_defaults(obj: Any, allowed: Iterable[str], what: str, target: str,
                        why: Mapping[str, str] | None = None) -> None:
    """Refuse any field of a catalog object, outside ``allowed``, that differs from its default.

    Export never drops what it cannot write: a field the target has no place for must be at
    its default (which the target's own behaviour matches), or the export stops here.
    """
    allowed = set(allowed)
    for name, field in type(obj).model_fields.items():
        if name in allowed:
            continue
        value = getattr(obj, name)
        if value != field.get_default(call_default_factory=True):
            reason = (why or {}).get(name, f"{target} has no such field")
            raise InteropError(f"{what}.{name}: cannot be exported to {target} ({reason})")
