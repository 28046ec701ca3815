"""Pricing workbench: exact pricing of identity-vendor catalogs, from raw events to invoices.

The public entry points; everything else lives in modules named by what they do.
"""

from .catalog import Catalog, load_catalog
from .comparison import Comparison, break_even, compare, cost_curve
from .errors import PricingError
from .invoice import Invoice, Line, LineType
from .rating import RatedTable, RateOptions, rate, rate_one

__all__ = [
    "Catalog", "Comparison", "Invoice", "Line", "LineType", "PricingError", "RateOptions", "RatedTable",
    "break_even", "compare", "cost_curve", "load_catalog", "rate", "rate_one",
]
