"""One slider move in the plan comparison app: CPU milliseconds, today's path against the old one.

    .venv/bin/python benchmarks/bench_widgets.py                 # 60 moves of Quasr's MAA slider
    .venv/bin/python benchmarks/bench_widgets.py --moves 200

A move is what the app does when a person drops the MAA slider somewhere: the
comparison, the term forecast, the cost curve with the exact quantities where
the cheapest plan changes, the table, and the chart. Both paths run in this
process on the same sequence of slider values, alternately, and are timed in
CPU seconds (``time.process_time``), so other work on the machine does not
count:

- **today**: ``app.sliders["maa"].value = v``, the app as shipped (switches
  narrowed on vectorized grids, the live figure patched with ``batch_update``);
- **old**: the path before issue 13, rebuilt here as the baseline (switches
  bisected with one single-row ``cost_curve`` call per step, and a new
  ``FigureWidget`` built for every move).

Both compute the same switches (checked on every move). The parts (switches
alone, figure alone) are timed the same way to show where the time went.
"""

from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import plotly.graph_objects as go  # noqa: E402

from pricing.analysis.comparison import compare, cost_curve  # noqa: E402
from pricing.analysis.forecast import forecast  # noqa: E402
from pricing.analysis.comparison import CURVE_POINTS, Switch, cheapest_along, cheapest_switches  # noqa: E402
from pricing.apps.plan_comparison import PlanComparisonApp, plan_rows, render_table  # noqa: E402
from pricing.reporting.charts import comparison_figure  # noqa: E402

TARGET_MS = 30.0


def bisected_switches(catalog: Any, metric: str, usage: dict[str, Any], high: int,
                      options: Any) -> tuple[Any, list[Switch]]:
    """The old way to the switches: the same curve, then a bisection of single-row engine calls per change."""
    quantities = np.unique(np.linspace(0, max(high, 1), CURVE_POINTS).round().astype(np.int64))
    curve = cost_curve(catalog, metric, quantities, usage, None, options)
    plans = list(catalog.plans)
    best = cheapest_along(curve, plans)

    def cheapest_at(q: int) -> str | None:
        return cheapest_along(cost_curve(catalog, metric, [q], usage, None, options), plans)[0]

    switches = []
    for i in range(1, len(best)):
        before, after = best[i - 1], best[i]
        if before is None or after is None or before == after:
            continue
        lo, hi = int(quantities[i - 1]), int(quantities[i])
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if cheapest_at(mid) == before:
                lo = mid
            else:
                hi = mid
        new = cheapest_at(hi) or after
        total = int(cost_curve(catalog, metric, [hi], usage, [new], options)[new].iloc[0])
        switches.append(Switch(hi, before, new, total))
    return curve, switches


def chart_high(app: PlanComparisonApp, usage: dict[str, Any], metric: str) -> int:
    """The chart's range, as the app computes it."""
    sample = int(app.catalog.sample_usage.get(metric, 0))
    return max(int(Decimal(str(usage.get(metric, 0)))) * 3, sample * 2, 1000)


def old_move(app: PlanComparisonApp, value: int) -> list[Switch]:
    """Everything the app did for one move before issue 13, on the app's own inputs."""
    catalog, metric, options = app.catalog, "maa", app.options()
    usage = dict(app.usage(), maa=value)
    comparison = compare(catalog, usage, options=options)
    outlook = forecast(catalog, usage, Decimal("3"), 24, options=options)
    rows = plan_rows(comparison, outlook)
    curve, switches = bisected_switches(catalog, metric, usage, chart_high(app, usage, metric), options)
    app.table.value = render_table(rows, catalog, 24)
    best = comparison.cheapest
    figure = go.FigureWidget(comparison_figure(catalog, metric, curve, switches, (value, best.total_minor)))
    figure.close()
    return switches


def cpu_ms(fn: Callable[[], Any]) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=60)
    args = parser.parse_args()
    app = PlanComparisonApp("quasr")
    rng = np.random.default_rng(13)
    slider = app.sliders["maa"]
    # distinct values inside the slider's range (a value past it would be clipped, and a repeat does nothing)
    values = rng.choice(np.arange(slider.min + 1, slider.max), args.moves + 3, replace=False).tolist()
    for v in values[:3]:  # warm caches and imports on both paths
        slider.value = v
        old_move(app, v)
    values = values[3:]

    today, old = [], []
    for v in values:
        today.append(cpu_ms(lambda: setattr(slider, "value", v)))
        start = time.process_time()
        switches = old_move(app, v)
        old.append((time.process_time() - start) * 1000)
        assert switches == app.state.switches, (v, switches, app.state.switches)  # same answer both ways

    # the parts
    usage = dict(app.usage())
    high = chart_high(app, usage, "maa")
    parts = {
        "switches, bisection (old)": lambda: bisected_switches(app.catalog, "maa", usage, high, app.options()),
        "switches, grids (today)": lambda: cheapest_switches(app.catalog, "maa", usage, high, app.options()),
        "figure alone, new FigureWidget (old)": lambda: go.FigureWidget(
            comparison_figure(app.catalog, "maa", app.state.curve, app.state.switches, (usage["maa"], 0))).close(),
        "table + figure patched (today)": lambda: app._render(app.state),
    }
    print(f"one slider move, Quasr MAA, {len(values)} moves, CPU ms (median / p90)")
    for name, series in (("today", today), ("old", old)):
        print(f"  {name:<42} {np.median(series):7.1f} / {np.percentile(series, 90):7.1f}")
    ratio = np.median(old) / np.median(today)
    print(f"  old / today                                {ratio:7.1f}x")
    for name, fn in parts.items():
        times = [cpu_ms(fn) for _ in range(15)]
        print(f"  part: {name:<36} {np.median(times):7.1f}")
    verdict = "met" if np.median(today) < TARGET_MS else f"MISSED by {np.median(today) - TARGET_MS:.1f} ms"
    print(f"target < {TARGET_MS:.0f} ms CPU per move: {verdict}")


if __name__ == "__main__":
    main()
