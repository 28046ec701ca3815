"""Options several commands share, and the parsing of their values into checked values.

Each parser raises :class:`pricing.errors.UsageError` (one line, exit status 2) on a bad value.
Only the standard library is imported at the top: building the parser must cost nothing, so
the engine's bounds are imported where a value is checked.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from pricing.errors import ReportError, UsageError
from pricing.metering.store_location import DEFAULT_STORE

if TYPE_CHECKING:
    from pricing.metering.store import Store

# what ``add_subparsers`` returns; argparse gives the type no public name
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_usage_options(p: argparse.ArgumentParser) -> None:
    """``--usage METRIC=QTY`` (repeatable) and ``--no-billing-details``."""
    p.add_argument("--usage", action="append", default=[], metavar="METRIC=QTY",
                   help="a usage quantity (repeatable), e.g. --usage maa=50")
    p.add_argument("--no-billing-details", action="store_true",
                   help="the account has no billing details (held to the free tier where the catalog says so)")


def add_store_options(p: argparse.ArgumentParser, json_help: str = "print JSON") -> None:
    p.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"workbook store (default {DEFAULT_STORE})")
    p.add_argument("--json", action="store_true", help=json_help)


def existing_store(path: Path, read_only: bool) -> Store:
    """A store that must exist: a missing or non-DuckDB path is one line, never an empty new store."""
    from pricing.metering.store import Store

    return Store(path, read_only=read_only, create=False)


def parse_usage(items: Sequence[str]) -> dict[str, str]:
    """``METRIC=QUANTITY`` items as a mapping; each metric once."""
    usage: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--usage {item!r}: expected METRIC=QUANTITY, e.g. maa=50")
        if name.strip() in usage:
            raise UsageError(f"--usage {name.strip()!r} given twice")
        usage[name.strip()] = value.strip()
    return usage


def parse_params(items: Sequence[str]) -> dict[str, str]:
    """``--param NAME=VALUE`` items (notebook parameters, checked later against the notebook)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ReportError(f"--param {item!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def decimal_option(flag: str, raw: str | None, maximum: Decimal | None = None, places: int = 6) -> Decimal | None:
    """A non-negative decimal option, bounded so the engine keeps it exact; one line otherwise."""
    from pricing.engine.catalog import MAX_SIGNIFICANT_DIGITS

    if raw is None:
        return None
    try:
        value = Decimal(raw.strip().replace("_", ""))
    except (InvalidOperation, ValueError):
        raise UsageError(f"{flag} {raw!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise UsageError(f"{flag} {raw!r} must be a non-negative number")
    # NOTE: bounds before any arithmetic: 1e400 or 1e-99999999 would overflow or hang later
    if maximum is not None and value > maximum:
        raise UsageError(f"{flag} {raw!r} must be at most {maximum}")
    if value != 0 and value.adjusted() >= MAX_SIGNIFICANT_DIGITS:
        raise UsageError(f"{flag} {raw!r} is too large (at most {MAX_SIGNIFICANT_DIGITS} digits)")
    # NOTE: places counted on the digits themselves: normalize() or scaleb() would round past 28 digits first
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # a finite value's exponent is a number
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if value != 0 and (value.adjusted() < -places or -(exponent + trailing_zeros) > places):
        raise UsageError(f"{flag} {raw!r} has more than {places} decimal places")
    return value


def whole_quantity(raw: str) -> int:
    """An argparse ``type``: a whole number of units, as digits (``10_000_000``), bounded to exact rating."""
    from pricing.engine.money import MAX_SCALED_QUANTITY

    text = raw.strip().replace("_", "").replace(",", "")
    if not text.isdigit() or not text.isascii():
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number (write digits, e.g. 10000000)")
    if len(text) > 30 or not 1 <= int(text) <= MAX_SCALED_QUANTITY:
        raise argparse.ArgumentTypeError(f"{raw!r} must be between 1 and {MAX_SCALED_QUANTITY:,}")
    return int(text)
