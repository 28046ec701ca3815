"""Figures: every chart the workbench draws, from numbers the engine computed.

Plotly figures for the plan-comparison chart (with the live patch a slider move sends), the
commitment advice, and a backtest's revenue, bill-change histogram and tornado. Amounts arrive
exact (minor units) and become floats here, for drawing only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from pricing.analysis.comparison import Switch
from pricing.engine.catalog import Catalog
from pricing.engine.money import from_minor
from pricing.engine.formatting import format_money
from pricing.engine.rating import cheapest_positions

if TYPE_CHECKING:
    from pricing.analysis.backtest import Backtest
    from pricing.analysis.backtest_stream import StreamedBacktest
    from pricing.analysis.commitment import CommitmentAnalysis


def major_units(minor: Any, decimals: int) -> float:
    """A minor-unit amount in currency units, as a float: for drawing only, never for arithmetic."""
    return float(from_minor(int(minor), decimals))  # floats for charts only


# NOTE: traces are drawn in catalog order, later ones on top; a wider line under each narrower, dashed one
# keeps a plan visible where its curve coincides with another's (Pay As You Go under Gravitate & Save)
LINE_WIDTHS = (6.0, 4.0, 2.5, 2.0, 1.5)
LINE_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
# the y-axis shows up to this multiple of the cheapest plan's highest cost over the chart's range
Y_HEADROOM = 2
# ...but is cut only when a plan would otherwise stretch the axis past this multiple of that
CLIP_WHEN_ABOVE = 2.5


@dataclass(frozen=True)
class ChartView:
    """What the cost chart shows for one refresh, as plain lists: drawn new or patched into a live figure."""

    x: list[int]
    lines: dict[str, list[float | None]]  # plan id -> monthly cost (None where not eligible)
    switch_x: list[int]
    switch_y: list[float]
    switch_text: list[str]
    switch_text_at: list[str]  # above / below in turn, so labels of nearby switches do not print over each other
    switch_hover: list[str]
    prospect_x: list[int]
    prospect_y: list[float | None]
    y_range: list[float] | None  # None: plotly's autorange
    note: str  # says what the axis leaves out, when it is cut


def chart_view(catalog: Catalog, metric: str, curve: pd.DataFrame, switches: list[Switch],
               prospect: tuple[int, int | None] | None) -> ChartView:
    """The chart's data in currency units (floats for drawing only) and the y-axis range.

    When a plan runs far above the cheapest one over the whole range (Enterprise's
    flat fee against a few hundred for the others), the axis stops at
    ``Y_HEADROOM`` x the cheapest plan's highest cost and ``note`` names the plans
    left above it, so the range where plans cross stays readable.
    """
    minor_unit = catalog.decimals
    plans = list(catalog.plans)
    lines: dict[str, list[float | None]] = {}
    above: list[str] = []
    ceiling = None
    if len(curve):
        totals = {p: curve[p].to_numpy(dtype=object) for p in plans}
        eligible = {p: curve[f"{p}_eligible"].to_numpy(dtype=bool) for p in plans}
        best = cheapest_positions([curve[p].to_numpy() for p in plans], [eligible[p] for p in plans])
        envelope = [int(totals[plans[b]][i]) for i, b in enumerate(best) if b < len(plans)]
        highest = max((int(t) for p in plans for t, ok in zip(totals[p], eligible[p]) if ok), default=0)
        if envelope and max(envelope) > 0 and highest > CLIP_WHEN_ABOVE * max(envelope):
            ceiling = Y_HEADROOM * max(envelope)
        for p in plans:
            lines[p] = [(major_units(t, minor_unit) if ok else None) for t, ok in zip(totals[p], eligible[p])]
            shown = [int(t) for t, ok in zip(totals[p], eligible[p]) if ok]
            if ceiling is not None and shown and max(shown) > ceiling:
                low, high = min(shown), max(shown)
                money = format_money(low, catalog.currency, minor_unit)
                top = format_money(high, catalog.currency, minor_unit)
                span = f"{money} flat" if low == high else f"{money} to {top}"
                above.append(f"{catalog.plans[p].name} ({span})")
    y_range = None
    note = ""
    if ceiling is not None:
        lowest = min((int(t) for p in plans for t, ok in zip(curve[p], curve[f"{p}_eligible"]) if ok), default=0)
        y_range = [min(0.0, major_units(lowest, minor_unit)), major_units(ceiling, minor_unit) * 1.04]
        note = (f"Axis cut at {format_money(ceiling, catalog.currency, minor_unit)}; above it: {', '.join(above)}")
    q, total = prospect if prospect is not None else (None, None)
    return ChartView(
        x=curve[metric].astype(int).tolist() if len(curve) else [], lines=lines,
        switch_x=[s.quantity for s in switches], switch_y=[major_units(s.total_minor, minor_unit) for s in switches],
        switch_text=[f"{s.quantity:,}" for s in switches],
        switch_text_at=[("top center", "bottom center")[i % 2] for i in range(len(switches))],
        switch_hover=[f"{catalog.plans[s.before].name} \u2192 {catalog.plans[s.after].name}" for s in switches],
        prospect_x=[] if q is None else [q],
        prospect_y=[] if q is None else [None if total is None else major_units(total, minor_unit)],
        y_range=y_range, note=note)


def comparison_figure(catalog: Catalog, metric: str, curve: pd.DataFrame, switches: list[Switch],
                      prospect: tuple[int, int | None] | None, figure: go.Figure | None = None) -> go.Figure:
    """Cost against ``metric`` for every plan (gaps where ineligible), break-evens and the prospect's point."""
    fig = figure if figure is not None else go.Figure()
    view = chart_view(catalog, metric, curve, switches, prospect)
    name = catalog.metrics[metric].name
    traces: list[go.Scatter] = []
    for i, (plan_id, plan) in enumerate(catalog.plans.items()):
        traces.append(go.Scatter(
            x=view.x, y=view.lines.get(plan_id, []), mode="lines", name=plan.name, meta=plan_id,
            line={"width": LINE_WIDTHS[i % len(LINE_WIDTHS)], "dash": LINE_DASHES[i % len(LINE_DASHES)]},
            hovertemplate=f"{plan.name}<br>%{{x:,}} {name}: {catalog.currency} %{{y:,.2f}}"
                          "<extra></extra>"))
    traces.append(go.Scatter(
        x=view.switch_x, y=view.switch_y, mode="markers+text", name="cheapest plan changes", meta="break-even",
        marker={"symbol": "diamond", "size": 11, "color": "black"}, text=view.switch_text,
        textposition=view.switch_text_at, customdata=view.switch_hover,
        hovertemplate="%{customdata} at %{x:,}<extra></extra>",
        cliponaxis=False))
    traces.append(go.Scatter(
        x=view.prospect_x, y=view.prospect_y, mode="markers", name="your usage", meta="prospect",
        marker={"symbol": "star", "size": 16, "color": "crimson"}, cliponaxis=False))
    fig.add_traces(traces)
    # NOTE: the legend stands right of the plot (plotly's automatic margin makes room), so it can
    # overlap neither the curves nor the x-axis title, however many plans there are
    fig.update_layout(
        title={"text": f"Monthly cost by {name} ({catalog.currency})", "subtitle": {"text": view.note}},
        xaxis={"title": {"text": name}, "rangemode": "tozero"},
        yaxis={"title": {"text": catalog.currency}, "range": view.y_range, "autorange": view.y_range is None,
               "rangemode": "tozero"},
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        margin={"t": 80, "l": 70, "r": 20, "b": 50}, height=440)
    return fig


def update_comparison_figure(figure: go.FigureWidget, catalog: Catalog, metric: str, curve: pd.DataFrame,
                             switches: list[Switch], prospect: tuple[int, int | None] | None) -> None:
    """Patch a figure :func:`comparison_figure` drew for the same catalog and metric: new data, same traces.

    One batched message updates every open view (far cheaper than a new
    FigureWidget). The widget's own copy of the data is refreshed too,
    without a message, because a view opened later (Voila shows the page after
    the notebook ran) starts from that copy, not from the messages before it.
    """
    view = chart_view(catalog, metric, curve, switches, prospect)
    traces = {t.meta: t for t in figure.data}
    with figure.batch_update():
        for plan_id in catalog.plans:
            traces[plan_id].x = view.x
            traces[plan_id].y = view.lines.get(plan_id, [])
        marks = traces["break-even"]
        marks.x, marks.y = view.switch_x, view.switch_y
        marks.text, marks.customdata = view.switch_text, view.switch_hover
        marks.textposition = view.switch_text_at
        you = traces["prospect"]
        you.x, you.y = view.prospect_x, view.prospect_y
        figure.layout.title.subtitle.text = view.note
        figure.layout.yaxis.autorange = view.y_range is None
        figure.layout.yaxis.range = view.y_range
    _sync_widget_state(figure)


def _sync_widget_state(figure: go.FigureWidget) -> None:
    # plotly keeps the state a new view starts from in these two traits and refreshes them only when
    # the figure itself is displayed; ours sits inside a Box, so copy it in place (in place: no message)
    figure._widget_data[:] = copy.deepcopy(figure._data)
    figure._widget_layout.clear()
    figure._widget_layout.update(copy.deepcopy(figure._layout_obj._props))


def commitment_figure(analysis: CommitmentAnalysis) -> go.Figure:
    """Expected monthly cost and the chance of leaving part of the commitment unused, by committed level."""
    catalog, levels = analysis.catalog, analysis.levels
    figure = go.Figure()
    figure.add_scatter(x=levels["level"], y=levels["expected_minor"] / 10**catalog.decimals, name="expected cost",
                       mode="lines+markers")
    figure.add_scatter(x=levels["level"], y=levels["prob_unused"], name="P(unused commitment)",
                       yaxis="y2", mode="lines", line={"dash": "dot"})
    figure.update_layout(
        title=f"Expected monthly cost by committed {catalog.metrics[analysis.option.metric].name}", height=320,
        yaxis={"title": catalog.currency},
        yaxis2={"overlaying": "y", "side": "right", "range": [0, 1], "title": "probability"},
        margin={"t": 40, "l": 60, "r": 60, "b": 40}, legend={"orientation": "h"})
    return figure


def revenue_figure(result: Backtest | StreamedBacktest) -> go.Figure:
    """Revenue today and under the candidate, per month (bars)."""
    minor_unit = result.current.decimals
    months = result.by_month()
    fig = go.Figure()
    fig.add_bar(x=months["month"], y=months["current_minor"] / 10**minor_unit, name="today")
    fig.add_bar(x=months["month"], y=months["candidate_minor"] / 10**minor_unit, name="candidate")
    fig.update_layout(title="Revenue by month", barmode="group", yaxis_title=result.current.currency, height=360)
    return fig


def delta_histogram_figure(result: Backtest | StreamedBacktest, bins: int = 40) -> go.Figure:
    """How per-customer bills change over the history: who pays more, who pays less, by how much."""
    minor_unit = result.current.decimals
    hist = result.histogram(bins)
    fig = go.Figure()
    fig.add_bar(x=(hist["low"] + hist["high"]) / 2 / 10**minor_unit, y=hist["customers"],
                width=(hist["high"] - hist["low"]) / 10**minor_unit, name="customers")
    fig.update_layout(title="Change in each customer's bill over the history", height=360,
                      xaxis_title=f"change ({result.current.currency})", yaxis_title="customers")
    return fig


def tornado_figure(table: pd.DataFrame, catalog: Catalog, top: int = 15) -> go.Figure:
    """Revenue change for -x% and +x% on each price parameter, largest swing on top."""
    minor_unit = catalog.decimals
    shown = table.head(top).iloc[::-1]
    pct = shown["percent"].iloc[0] if len(shown) else 0
    fig = go.Figure()
    fig.add_bar(y=shown["key"], x=pd.to_numeric(shown["low_delta_minor"]) / 10**minor_unit, orientation="h",
                name=f"-{pct}%")
    fig.add_bar(y=shown["key"], x=pd.to_numeric(shown["high_delta_minor"]) / 10**minor_unit, orientation="h",
                name=f"+{pct}%")
    fig.update_layout(title="Revenue sensitivity (tornado)", barmode="overlay", height=120 + 24 * len(shown),
                      xaxis_title=f"revenue change ({catalog.currency})", margin={"l": 260})
    return fig


__all__ = [
    "ChartView", "chart_view", "commitment_figure", "comparison_figure", "delta_histogram_figure", "major_units",
    "revenue_figure", "tornado_figure", "update_comparison_figure",
]
