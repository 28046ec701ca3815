"""Analysis on top of the engine: plan comparison, candidate catalogs, backtests, forecasts, advice.

Sales compare plans for a usage (:func:`compare`, :func:`break_even`) and size a commitment
(:func:`analyse_commitment`); product re-prices history under a candidate catalog
(:func:`apply_overrides`, :func:`backtest`, :func:`backtest_streamed`); finance sees what a billing
convention moves (:func:`compare_policies`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pricing._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from pricing.analysis.comparison import BreakEven, Comparison, break_even, compare, cost_curve
    from pricing.analysis.candidates import apply_overrides, price_parameters
    from pricing.analysis.backtest import Backtest, backtest, history_from_store, sensitivity, synthetic_history
    from pricing.analysis.backtest_stream import StreamedBacktest, backtest_streamed
    from pricing.analysis.forecast import Forecast, forecast
    from pricing.analysis.commitment import CommitmentAnalysis, analyse_commitment
    from pricing.analysis.policies import PolicyComparison, compare_policies

__getattr__, __dir__ = lazy_exports(__name__, {
    "BreakEven": "comparison",
    "Comparison": "comparison",
    "break_even": "comparison",
    "compare": "comparison",
    "cost_curve": "comparison",
    "apply_overrides": "candidates",
    "price_parameters": "candidates",
    "Backtest": "backtest",
    "backtest": "backtest",
    "history_from_store": "backtest",
    "sensitivity": "backtest",
    "synthetic_history": "backtest",
    "StreamedBacktest": "backtest_stream",
    "backtest_streamed": "backtest_stream",
    "Forecast": "forecast",
    "forecast": "forecast",
    "CommitmentAnalysis": "commitment",
    "analyse_commitment": "commitment",
    "PolicyComparison": "policies",
    "compare_policies": "policies",
})
__all__ = ["Backtest", "BreakEven", "CommitmentAnalysis", "Comparison", "Forecast", "PolicyComparison",
           "StreamedBacktest", "analyse_commitment", "apply_overrides", "backtest", "backtest_streamed", "break_even",
           "compare", "compare_policies", "cost_curve", "forecast", "history_from_store", "price_parameters",
           "sensitivity", "synthetic_history"]
