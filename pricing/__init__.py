"""Pricing workbench: exact pricing of identity-vendor catalogs, from raw events to invoices.

The package is in layers that follow the flow of data, each a sub-package naming its entry points:
``engine`` (money, catalog, charge models, rating) <- ``metering`` (events, meters, the store) <-
``billing`` (subscriptions over time, prepaid ledgers, monthly runs) <- ``analysis`` (comparison,
candidates, backtests, advice) <- ``interop`` and ``reporting`` (vendors' formats; tables, documents,
notebook runs) <- ``apps`` (the CLI and the widget apps). A layer imports only the layers before it.
The most used entry points are re-exported here, imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pricing._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from pricing.analysis.comparison import Comparison, break_even, compare, cost_curve
    from pricing.engine.catalog import Catalog, load_catalog
    from pricing.engine.invoice import Invoice, Line, LineType
    from pricing.engine.rating import RatedTable, RateOptions, rate, rate_one
    from pricing.errors import PricingError

__getattr__, __dir__ = lazy_exports(__name__, {
    "Catalog": "engine.catalog",
    "load_catalog": "engine.catalog",
    "Comparison": "analysis.comparison",
    "break_even": "analysis.comparison",
    "compare": "analysis.comparison",
    "cost_curve": "analysis.comparison",
    "PricingError": "errors",
    "Invoice": "engine.invoice",
    "Line": "engine.invoice",
    "LineType": "engine.invoice",
    "RatedTable": "engine.rating",
    "RateOptions": "engine.rating",
    "rate": "engine.rating",
    "rate_one": "engine.rating",
})

__all__ = [
    "Catalog", "Comparison", "Invoice", "Line", "LineType", "PricingError", "RateOptions", "RatedTable",
    "break_even", "compare", "cost_curve", "load_catalog", "rate", "rate_one",
]
