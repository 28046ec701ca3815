"""Errors a user can act on.

Every error raised for bad input is a :class:`PricingError` whose message is
one line naming the file, row or field and what is wrong. The CLI prints that
line and exits with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


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
