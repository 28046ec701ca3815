"""The apps people use: the ``pricing`` command line and the widget apps (notebooks, Voila).

:func:`main` is the CLI (one module per group of subcommands in :mod:`pricing.apps.cli`);
:class:`PlanComparisonApp` and :class:`PriceTuningApp` are the widget apps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pricing._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from pricing.apps.cli import main
    from pricing.apps.plan_comparison import PlanComparisonApp
    from pricing.apps.price_tuning import PriceTuningApp

__getattr__, __dir__ = lazy_exports(__name__, {
    "main": "cli",
    "PlanComparisonApp": "plan_comparison",
    "PriceTuningApp": "price_tuning",
})
__all__ = ["PlanComparisonApp", "PriceTuningApp", "main"]
