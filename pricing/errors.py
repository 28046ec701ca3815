"""Errors a user can act on.

Every error raised for bad input is a :class:`PricingError` whose message is
one line naming the file, row or field and what is wrong. The CLI prints that
line and exits with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the error is only read here: importing pydantic would slow every command's start
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails


class PricingError(Exception):
    """Bad input: one readable line, shown to the user as is."""

    exit_status = 2


class CatalogError(PricingError):
    """A catalog file or catalog name that cannot be used."""


class UsageError(PricingError):
    """A usage quantity that cannot be rated (unknown metric, negative, not a number)."""


class SubscriptionError(PricingError):
    """A subscription timeline or ledger event that cannot be applied."""


class MeteringError(PricingError):
    """Events or a store that cannot be metered."""


class ReportError(PricingError):
    """A report that cannot be produced with the given parameters."""


class BookError(PricingError):
    """A customers file, subscription file or ledger that cannot be imported."""


def _pydantic_internal(part: object) -> bool:
    # validators and literal checks add their own names to an error's location: not fields a user wrote
    return isinstance(part, str) and part.startswith(("function-", "literal["))


def validation_line(
    origin: str,
    error: ValidationError,
    data: object = None,
    *,
    hidden: Collection[str] = (),
    event_time: str = "at",
    event_word: str = "at",
    explain: Callable[[ErrorDetails], str | None] | None = None,
) -> str:
    """One line for a pydantic validation error: ``origin: field.path: problem (and N more problems)``.

    ``hidden``: location parts that are not fields (a tagged union's tags; pydantic's validator names
    are always left out). When ``data`` holds a list of
    ``events`` and the error is in one, the event is named by index, type and time (the key
    ``event_time``, printed after ``event_word``: ``events[1] (downgrade at 2026-01-10T00:00:00Z)``).
    ``explain`` may word a problem better than pydantic does (None: pydantic's message).
    """
    problems = error.errors()
    first = problems[0]
    location = [part for part in first["loc"] if not (_pydantic_internal(part) or part in hidden)]
    where = ".".join(str(part) for part in location) or "(top level)"
    events = data.get("events") if isinstance(data, dict) else None
    if len(location) >= 2 and location[0] == "events" and isinstance(location[1], int) and isinstance(events, list):
        index = location[1]
        raw = events[index] if index < len(events) and isinstance(events[index], dict) else {}
        when = raw.get(event_time, "?")
        if isinstance(when, datetime):
            when = (when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)).isoformat()
            when = when.replace("+00:00", "Z")
        rest = ".".join(str(part) for part in location[2:])
        where = f"events[{index}] ({raw.get('type', '?')} {event_word} {when})" + (f": {rest}" if rest else "")
    message = (explain(first) if explain is not None else None) or problem_text(error)
    more = len(problems) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{origin}: {where}: {message}{suffix}"


def problem_text(error: ValidationError) -> str:
    """The first problem of a pydantic error as pydantic words it, without its "Value error, " prefix."""
    return error.errors()[0]["msg"].removeprefix("Value error, ")
