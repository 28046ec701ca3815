"""Billing over time: subscriptions replayed into invoices, prepaid ledgers, monthly runs.

A timeline of plan changes (:func:`load_timeline`) is replayed into drafts (:mod:`~pricing.billing.replay`),
and the drafts are priced by the engine (:func:`bill_period`, :func:`invoices_between`); prepaid balances
are simulated day by day (:func:`simulate_ledger`); :func:`bill_month` bills every customer of the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pricing._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from pricing.billing.timeline import Timeline, load_timeline, parse_timeline
    from pricing.billing.subscriptions import bill_period, invoices_between, settle, state_at
    from pricing.billing.balances import Ledger, load_ledger, simulate_ledger
    from pricing.billing.billing_run import BillingRun, bill_month
    from pricing.billing.customer_book import Book, build_book, read_customers
    from pricing.billing.proration import share

__getattr__, __dir__ = lazy_exports(__name__, {
    "Timeline": "timeline",
    "bill_period": "subscriptions",
    "invoices_between": "subscriptions",
    "load_timeline": "timeline",
    "parse_timeline": "timeline",
    "settle": "subscriptions",
    "state_at": "subscriptions",
    "Ledger": "balances",
    "load_ledger": "balances",
    "simulate_ledger": "balances",
    "BillingRun": "billing_run",
    "bill_month": "billing_run",
    "Book": "customer_book",
    "build_book": "customer_book",
    "read_customers": "customer_book",
    "share": "proration",
})
__all__ = ["BillingRun", "Book", "Ledger", "Timeline", "bill_month", "bill_period", "build_book", "invoices_between",
           "load_ledger", "load_timeline", "parse_timeline", "read_customers", "settle", "share",
           "simulate_ledger", "state_at"]
