"""Interactive views for sales and product: plan comparison and price tuning.

Widgets only gather input and show output; every number comes from the
engine (:func:`pricing.analysis.comparison.compare`, :func:`pricing.analysis.comparison.cost_curve`,
:func:`pricing.analysis.forecast.forecast`, :func:`pricing.analysis.commitment.analyse_commitment`,
:func:`pricing.analysis.backtest.backtest`). Each view keeps its last result in plain
attributes (``state``, ``figure.data``), so tests drive it without a browser:
set a widget's ``.value`` or call ``Button.click()`` and read the state.

Stable CSS classes (``pw-...``) name the elements a browser test looks for:
``pw-usage-<metric>`` on each number box, ``pw-cheapest`` on the cheapest-plan
label (its ``data-plan`` attribute holds the plan id).
"""

from __future__ import annotations

import copy
import html
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pricing.analysis.backtest import Backtest, backtest, sensitivity
from pricing.analysis.candidates import apply_overrides, price_parameters
from pricing.engine.catalog import Catalog, MetricKind, bundled_catalog_ids, load_catalog
from pricing.analysis.commitment import CommitmentAnalysis, analyse_commitment, commitment_options
from pricing.analysis.comparison import Comparison, compare, cost_curve
from pricing.errors import PricingError
from pricing.analysis.forecast import Forecast, forecast
from pricing.engine.money import format_money, from_minor
from pricing.engine.rating import RateOptions, cheapest_positions

if TYPE_CHECKING:
    from pricing.analysis.backtest_stream import StreamedBacktest

CURVE_POINTS = 241
# NOTE: a change between two curve points is narrowed on a grid this fine per round (2 rounds for gaps up to ~4,000)
REFINE_POINTS = 64
MONTHS_PER_YEAR = 12
# a widget's description gets the width its text needs (ipywidgets' default cuts it at about 80 px)
LABEL_FITS = {"description_width": "initial"}


# --- pure helpers (tested directly) ------------------------------------------------


@dataclass(frozen=True)
class Switch:
    """Where the cheapest eligible plan changes along the chart's metric."""

    quantity: int
    before: str
    after: str
    total_minor: int  # the new cheapest plan's total at ``quantity``


def cheapest_along(curve: pd.DataFrame, plans: list[str]) -> list[str | None]:
    """The cheapest eligible plan at each row of a cost curve (ties: first listed)."""
    best = cheapest_positions([curve[p].to_numpy() for p in plans],
                              [curve[f"{p}_eligible"].to_numpy(dtype=bool) for p in plans])
    names = [*plans, None]
    return [names[i] for i in best]


def cheapest_switches(catalog: Catalog, metric: str, usage: Mapping[str, Any], high: int,
                      options: RateOptions | None = None,
                      points: int = CURVE_POINTS) -> tuple[pd.DataFrame, list[Switch]]:
    """The cost curve of every plan over ``[0, high]`` and the exact quantities where the cheapest changes.

    Each change seen between two grid points is narrowed to the unit on finer
    grids, every grid of every pending change rated in one vectorized engine
    call per round, so a switch at ``q`` means: at ``q - 1`` the old plan is
    the cheapest eligible one, at ``q`` it is not (the first such ``q`` in that
    stretch of the grid).
    """
    quantities = np.unique(np.linspace(0, max(high, 1), points).round().astype(np.int64))
    curve = cost_curve(catalog, metric, quantities, usage, None, options)
    plans = list(catalog.plans)
    best = cheapest_along(curve, plans)
    # quantity -> (cheapest plan, row of totals) for every quantity rated so far
    known: dict[int, tuple[str | None, dict[str, int]]] = {}

    def remember(table: pd.DataFrame, cheapest: list[str | None]) -> None:
        totals = {p: table[p].tolist() for p in plans}
        for i, q in enumerate(table[metric].tolist()):
            known[int(q)] = (cheapest[i], {p: int(totals[p][i]) for p in plans})

    remember(curve, best)
    # (lo, hi, before, after): ``before`` is cheapest at lo, something else at hi
    pending = [(int(lo), int(hi), before, after)
               for lo, hi, before, after in zip(quantities[:-1], quantities[1:], best[:-1], best[1:])
               if before is not None and after is not None and before != after]
    done: list[tuple[int, str, str]] = []
    while pending:
        probes = {lo: _probe_grid(lo, hi) for lo, hi, _, _ in pending if hi - lo > 1}
        if probes:
            grid = np.concatenate(list(probes.values()))
            finer = cost_curve(catalog, metric, grid, usage, None, options)
            remember(finer, cheapest_along(finer, plans))
        narrowed = []
        for lo, hi, before, after in pending:
            if hi - lo <= 1:
                done.append((hi, before, after))
                continue
            # the first probe where ``before`` is no longer the cheapest; the one before it still is
            for q in probes[lo].tolist():
                if known[q][0] != before:
                    hi = q
                    break
                lo = q
            narrowed.append((lo, hi, before, after))
        pending = narrowed
    switches = []
    for q, before, after in sorted(done):  # intervals finish in different rounds
        cheapest, totals = known[q]
        new = cheapest or after
        switches.append(Switch(q, before, new, totals[new]))
    return curve, switches


def _probe_grid(lo: int, hi: int) -> np.ndarray:
    """Quantities strictly between ``lo`` and ``hi``: all of them when few, else an even grid."""
    inside = hi - lo - 1
    if inside <= REFINE_POINTS:
        return np.arange(lo + 1, hi, dtype=np.int64)
    return np.unique(np.linspace(lo + 1, hi - 1, REFINE_POINTS).round().astype(np.int64))


def plan_rows(comparison: Comparison, forecast_: Forecast | None) -> list[dict[str, Any]]:
    """The comparison table: one dict per plan, cheapest eligible first, exact integer amounts."""
    catalog = comparison.catalog
    cheapest = comparison.cheapest.plan if comparison.cheapest else None
    rows = []
    for invoice in comparison.invoices:
        monthly = invoice.total_minor
        rows.append({
            "plan": invoice.plan,
            "name": catalog.plans[invoice.plan].name,
            "eligible": invoice.eligible,
            "reason": invoice.reason or "",
            "monthly_minor": monthly,
            "annual_minor": monthly * MONTHS_PER_YEAR,
            "term_minor": forecast_.total(invoice.plan) if forecast_ is not None else None,
            "cheapest": invoice.plan == cheapest,
            "lines": [(line.item, line.amount_minor, line.explanation) for line in invoice.lines],
        })
    return rows


def rows_frame(rows: list[dict[str, Any]], catalog: Catalog) -> pd.DataFrame:
    """The table as text amounts, for display and export."""
    def money(minor: int | None) -> str:
        return "" if minor is None else format_money(minor, catalog.currency, catalog.decimals)

    return pd.DataFrame([{
        "plan": r["plan"], "name": r["name"], "monthly": money(r["monthly_minor"]),
        "annual": money(r["annual_minor"]), "term total": money(r["term_minor"]),
        "eligible": r["eligible"], "reason": r["reason"], "cheapest": "\u2605" if r["cheapest"] else "",
    } for r in rows])


def _major(minor: Any, decimals: int) -> float:
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
    d = catalog.decimals
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
            lines[p] = [(_major(t, d) if ok else None) for t, ok in zip(totals[p], eligible[p])]
            shown = [int(t) for t, ok in zip(totals[p], eligible[p]) if ok]
            if ceiling is not None and shown and max(shown) > ceiling:
                low, high = min(shown), max(shown)
                money = format_money(low, catalog.currency, d)
                span = f"{money} flat" if low == high else f"{money} to {format_money(high, catalog.currency, d)}"
                above.append(f"{catalog.plans[p].name} ({span})")
    y_range = None
    note = ""
    if ceiling is not None:
        lowest = min((int(t) for p in plans for t, ok in zip(curve[p], curve[f"{p}_eligible"]) if ok), default=0)
        y_range = [min(0.0, _major(lowest, d)), _major(ceiling, d) * 1.04]
        note = (f"Axis cut at {format_money(ceiling, catalog.currency, d)}; above it: {', '.join(above)}")
    q, total = prospect if prospect is not None else (None, None)
    return ChartView(
        x=curve[metric].astype(int).tolist() if len(curve) else [], lines=lines,
        switch_x=[s.quantity for s in switches], switch_y=[_major(s.total_minor, d) for s in switches],
        switch_text=[f"{s.quantity:,}" for s in switches],
        switch_text_at=[("top center", "bottom center")[i % 2] for i in range(len(switches))],
        switch_hover=[f"{catalog.plans[s.before].name} \u2192 {catalog.plans[s.after].name}" for s in switches],
        prospect_x=[] if q is None else [q],
        prospect_y=[] if q is None else [None if total is None else _major(total, d)],
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


def _swap_figure(owner: Any, attribute: str, box: W.Box, figure: go.FigureWidget) -> None:
    """Show ``figure`` in ``box`` in place of the previous one, and close the old widget's model."""
    old = getattr(owner, attribute)
    setattr(owner, attribute, figure)
    box.children = (figure,)
    old.close()


def _escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def render_table(rows: list[dict[str, Any]], catalog: Catalog, term_months: int) -> str:
    def money(minor: int | None) -> str:
        return "" if minor is None else _escape(format_money(minor, catalog.currency, catalog.decimals))

    head = ("<tr><th>Plan</th><th>Monthly</th><th>Annual</th>"
            f"<th>{term_months}-month total (with growth)</th><th>Status</th></tr>")
    body = []
    for r in rows:
        style = ' style="background:#e6f4ea;font-weight:bold"' if r["cheapest"] else (
            ' style="color:#888"' if not r["eligible"] else "")
        status = "cheapest" if r["cheapest"] else ("eligible" if r["eligible"] else f"not eligible: {r['reason']}")
        lines = "".join(
            f"<tr><td>{_escape(item)}</td><td style='text-align:right'>{money(amount)}</td>"
            f"<td style='color:#555'>{_escape(explain)}</td></tr>" for item, amount, explain in r["lines"])
        body.append(
            f'<tr class="pw-plan-row" data-plan="{_escape(r["plan"])}"{style}>'
            f"<td><details><summary>{_escape(r['name'])}</summary><table>{lines}</table></details></td>"
            f"<td style='text-align:right'>{money(r['monthly_minor'])}</td>"
            f"<td style='text-align:right'>{money(r['annual_minor'])}</td>"
            f"<td style='text-align:right'>{money(r['term_minor'])}</td><td>{_escape(status)}</td></tr>")
    # NOTE: room between amounts, which are right-aligned and would otherwise touch ("EUR 2,294.00EUR 27,528.00")
    style = "<style>.pw-plans th, .pw-plans td { padding: 3px 10px; white-space: nowrap; }</style>"
    return f'{style}<table class="pw-plans" style="border-collapse:collapse">{head}{"".join(body)}</table>'


# --- the plan comparison app ---------------------------------------------------------


@dataclass(frozen=True)
class ComparisonState:
    """Everything the comparison view shows, derived from the engine in one refresh."""

    catalog: Catalog
    usage: dict[str, Any]
    billing_details: bool
    comparison: Comparison
    rows: list[dict[str, Any]]
    cheapest: str | None
    chart_metric: str
    curve: pd.DataFrame
    switches: list[Switch]
    forecast: Forecast
    growth_percent: Decimal
    term_months: int
    error: str | None = None


def _slider_max(catalog: Catalog, metric: str, value: int) -> int:
    kind = catalog.metrics[metric].kind
    floor = 1000 if kind in (MetricKind.METERED, MetricKind.COMMITMENT, MetricKind.AMOUNT) else 20
    return int(max(floor, value * 4))


def _chartable(catalog: Catalog) -> list[str]:
    return [m for m in catalog.charged_metrics()
            if catalog.metrics[m].kind in (MetricKind.METERED, MetricKind.COUNT, MetricKind.AMOUNT)]


class PlanComparisonApp:
    """Choose a catalog, enter expected usage, see every plan's cost, chart and commitment advice."""

    def __init__(self, catalog: str = "quasr", usage: Mapping[str, Any] | None = None,
                 billing_details: bool = True, growth_percent: str | float = "3", term_months: int = 24,
                 chart_metric: str | None = None, catalogs: list[str] | None = None) -> None:
        self._building = True
        self.catalog_select = W.Dropdown(options=catalogs or bundled_catalog_ids(), value=catalog,
                                         description="Catalog", style=LABEL_FITS)
        self.catalog_select.add_class("pw-catalog")
        self.billing_details = W.Checkbox(value=billing_details, description="Billing details on file",
                                          indent=False)
        self.billing_details.add_class("pw-billing-details")
        self.growth = W.BoundedFloatText(value=float(growth_percent), min=-50, max=100, step=0.5,
                                         description="Usage growth, % a month", style=LABEL_FITS)
        self.growth.add_class("pw-growth")
        self.term = W.IntSlider(value=term_months, min=12, max=36, step=1, description="Term (months)",
                                style=LABEL_FITS,
                                continuous_update=False)
        self.term.add_class("pw-term")
        self.chart_metric = W.Dropdown(description="Chart by", style=LABEL_FITS)
        self.chart_metric.add_class("pw-chart-metric")
        self.usage_panel = W.VBox()
        self.boxes: dict[str, W.Widget] = {}
        self.sliders: dict[str, W.IntSlider] = {}
        self.status = W.HTML()
        self.status.add_class("pw-status")
        self.cheapest_label = W.HTML()
        self.cheapest_label.add_class("pw-cheapest-label")
        self.table = W.HTML()
        self.table.add_class("pw-table")
        # a new FigureWidget only when the catalog or chart metric changes; every other refresh patches
        # its traces in place (update_comparison_figure)
        self.figure = go.FigureWidget()
        self._drawn: tuple[Catalog, str] | None = None
        self.figure_box = W.Box([self.figure])
        self.state: ComparisonState | None = None
        self.commitment = CommitmentPanel(self)

        self.catalog_select.observe(self._on_catalog, "value")
        for control in (self.billing_details, self.growth, self.term, self.chart_metric):
            control.observe(lambda change: self.refresh(), "value")
        self._load_catalog(catalog, usage, chart_metric)
        self._building = False
        self.refresh()

        controls = W.VBox([
            W.HTML("<b>Prospect</b>"), self.catalog_select, self.billing_details, self.usage_panel,
            W.HTML("<b>Outlook</b>"), self.growth, self.term, self.chart_metric,
        ], layout=W.Layout(width="420px"))
        results = W.VBox([self.status, self.cheapest_label, self.table, self.figure_box, self.commitment.widget],
                         layout=W.Layout(flex="1"))
        self.widget = W.HBox([controls, results])
        self.widget.add_class("pw-plan-comparison")

    # --- building the usage inputs ---

    def _load_catalog(self, catalog_id: str, usage: Mapping[str, Any] | None, chart_metric: str | None) -> None:
        catalog = load_catalog(catalog_id)
        self.catalog = catalog
        start = {k: v for k, v in catalog.sample_usage.items()}
        if usage:
            start.update(usage)
        self.boxes, self.sliders = {}, {}
        rows: list[W.Widget] = []
        for metric in catalog.charged_metrics():
            spec = catalog.metrics[metric]
            if spec.kind is MetricKind.COMMITMENT:
                # NOTE: each plan's own committed quantity applies, as in `pricing quote`; the
                # commitment panel below explores other levels
                continue
            value = start.get(metric, 0)
            label = spec.name
            if spec.kind is MetricKind.FLAG:
                box = W.Checkbox(value=bool(int(value)), description=label, indent=False)
                box.add_class(f"pw-usage-{metric}")
                box.observe(lambda change: self.refresh(), "value")
                self.boxes[metric] = box
                rows.append(box)
                continue
            if spec.decimals:
                box = W.Text(value=str(value), continuous_update=False, layout=W.Layout(width="200px"))
                box.add_class(f"pw-usage-{metric}")
                box.observe(lambda change: self.refresh(), "value")
                self.boxes[metric] = box
                rows.append(W.VBox([W.HTML(_escape(label)), box]))
                continue
            number = int(Decimal(str(value)))
            box = W.BoundedIntText(value=number, min=0, max=10**12, layout=W.Layout(width="160px"))
            box.add_class(f"pw-usage-{metric}")
            slider = W.IntSlider(value=number, min=0, max=_slider_max(catalog, metric, number),
                                 continuous_update=False, readout=False, layout=W.Layout(width="200px"))
            slider.add_class(f"pw-slider-{metric}")
            slider.observe(lambda change, m=metric: self._slider_moved(m, change["new"]), "value")
            box.observe(lambda change, m=metric: self._box_changed(m, change["new"]), "value")
            self.boxes[metric], self.sliders[metric] = box, slider
            rows.append(W.VBox([W.HTML(_escape(label)), W.HBox([box, slider])]))
        self.usage_panel.children = tuple(rows)
        options = _chartable(catalog)
        # refresh() does nothing while _building is set, so these assignments trigger no recomputation
        self.chart_metric.options = [(catalog.metrics[m].name, m) for m in options]
        self.chart_metric.value = chart_metric if chart_metric in options else (options[0] if options else None)
        self.commitment.load(catalog)

    def _on_catalog(self, change: dict[str, Any]) -> None:
        self._building = True
        try:
            self._load_catalog(change["new"], None, None)
        finally:
            self._building = False
        self.refresh()

    def _slider_moved(self, metric: str, value: int) -> None:
        box = self.boxes[metric]
        if box.value != value:
            box.value = value  # the box's observer refreshes

    def _box_changed(self, metric: str, value: int) -> None:
        slider = self.sliders[metric]
        if value > slider.max:
            slider.max = int(value * 2)
        if slider.value != value:
            slider.value = value
        self.refresh()

    # --- reading inputs ---

    def usage(self) -> dict[str, Any]:
        """The usage the widgets hold, metric -> quantity (int, or text for fractional metrics)."""
        out: dict[str, Any] = {}
        for metric, box in self.boxes.items():
            if isinstance(box, W.Checkbox):
                out[metric] = int(box.value)
            elif isinstance(box, W.Text):
                out[metric] = box.value.strip()
            else:
                out[metric] = int(box.value)
        return out

    def set_usage(self, **values: Any) -> None:
        for metric, value in values.items():
            box = self.boxes[metric]
            box.value = bool(value) if isinstance(box, W.Checkbox) else (
                str(value) if isinstance(box, W.Text) else int(value))

    def options(self) -> RateOptions:
        return RateOptions(billing_details=bool(self.billing_details.value))

    # --- the one place results are computed ---

    def refresh(self) -> None:
        if self._building:
            return
        try:
            self.state = self.compute()
        except PricingError as exc:
            self.status.value = f'<span style="color:#b00">{_escape(exc)}</span>'
            return
        self.status.value = ""
        self._render(self.state)

    def compute(self) -> ComparisonState:
        catalog = self.catalog
        usage = self.usage()
        options = self.options()
        comparison = compare(catalog, usage, options=options)
        growth = Decimal(str(round(float(self.growth.value), 4)))
        term = int(self.term.value)
        outlook = forecast(catalog, usage, growth, term, options=options)
        rows = plan_rows(comparison, outlook)
        metric = self.chart_metric.value
        switches: list[Switch]
        if metric is None:
            curve, switches = pd.DataFrame(), []
        else:
            current = int(Decimal(str(usage.get(metric, 0))))
            sample = int(catalog.sample_usage.get(metric, 0))
            high = max(current * 3, sample * 2, 10 if catalog.metrics[metric].kind is MetricKind.COUNT else 1000)
            curve, switches = cheapest_switches(catalog, metric, usage, high, options)
        cheapest = comparison.cheapest.plan if comparison.cheapest else None
        return ComparisonState(catalog, usage, options.billing_details, comparison, rows, cheapest,
                               metric or "", curve, switches, outlook, growth, term)

    def _render(self, state: ComparisonState) -> None:
        catalog = state.catalog
        best = state.comparison.cheapest
        if best is None:
            self.cheapest_label.value = ('<div class="pw-cheapest" data-plan="">No plan is eligible for this usage'
                                         "</div>")
        else:
            name = catalog.plans[best.plan].name
            money = format_money(best.total_minor, catalog.currency, catalog.decimals)
            self.cheapest_label.value = (
                f'<div class="pw-cheapest" data-plan="{_escape(best.plan)}" style="font-size:1.2em">'
                f"Cheapest: <b>{_escape(name)}</b> at {_escape(money)} a month</div>")
        self.table.value = render_table(state.rows, catalog, state.term_months)
        if state.chart_metric:
            prospect = (int(Decimal(str(state.usage.get(state.chart_metric, 0)))), best.total_minor if best else None)
            drawn = (catalog, state.chart_metric)
            if self._drawn is not None and self._drawn[0] is drawn[0] and self._drawn[1] == drawn[1]:
                update_comparison_figure(self.figure, catalog, state.chart_metric, state.curve, state.switches,
                                         prospect)
            else:
                # another catalog or metric: other traces, so a new figure
                figure = comparison_figure(catalog, state.chart_metric, state.curve, state.switches, prospect)
                _swap_figure(self, "figure", self.figure_box, go.FigureWidget(figure))
                self._drawn = drawn

    # --- readable state for tests and notebooks ---

    @property
    def cheapest(self) -> str | None:
        return self.state.cheapest if self.state else None

    def table_frame(self) -> pd.DataFrame:
        assert self.state is not None
        return rows_frame(self.state.rows, self.state.catalog)

    def _ipython_display_(self) -> None:  # pragma: no cover - display hook
        from IPython.display import display

        display(self.widget)


# --- commitment advice -------------------------------------------------------------------


class CommitmentPanel:
    """Pick a plan's commitment, give a usage range, find the level with the lowest expected cost."""

    def __init__(self, app: PlanComparisonApp) -> None:
        self.app = app
        self.choice = W.Dropdown(description="Commitment", style=LABEL_FITS, layout=W.Layout(width="auto"))
        self.choice.add_class("pw-commitment-choice")
        self.low = W.BoundedIntText(min=0, max=10**12, description="Low",
                                   style=LABEL_FITS, layout=W.Layout(width="190px"))
        self.expected = W.BoundedIntText(min=0, max=10**12, description="Expected",
                                   style=LABEL_FITS, layout=W.Layout(width="190px"))
        self.high = W.BoundedIntText(min=0, max=10**12, description="High",
                                   style=LABEL_FITS, layout=W.Layout(width="190px"))
        self.method = W.ToggleButtons(options=[("Low / expected / high", "scenarios"),
                                               ("Triangular (Monte Carlo)", "triangular")], value="triangular",
                                     style={"button_width": "auto"})
        self.samples = W.BoundedIntText(value=2000, min=10, max=50_000, description="Samples",
                                       style=LABEL_FITS, layout=W.Layout(width="190px"))
        self.button = W.Button(description="Find best commitment", button_style="primary")
        self.button.add_class("pw-commitment-run")
        self.button.on_click(lambda _: self.run())
        self.result = W.HTML()
        self.result.add_class("pw-commitment-result")
        self.figure = go.FigureWidget()
        self.figure_box = W.Box([self.figure], layout=W.Layout(display="none"))
        self.analysis: CommitmentAnalysis | None = None
        self.choice.observe(lambda change: self._defaults(), "value")
        self.widget = W.VBox([
            W.HTML("<b>Commitment</b>: the level that minimises expected cost over a usage range"),
            self.choice, W.HBox([self.low, self.expected, self.high]), W.HBox([self.method, self.samples]),
            self.button, self.result, self.figure_box,
        ])

    def load(self, catalog: Catalog) -> None:
        found = commitment_options(catalog)
        self.choice.options = [(f"{catalog.plans[o.plan].name}: {catalog.metrics[o.commitment_metric].name}", o.key)
                               for o in found]
        self.choice.value = found[0].key if found else None
        self.widget.layout.display = None if found else "none"
        self.analysis = None
        self.result.value = ""
        self.figure_box.layout.display = "none"
        self._defaults()

    def _defaults(self) -> None:
        option = self.option()
        if option is None:
            return
        expected = int(self.app.usage().get(option.metric, 0)) if self.app.boxes else 0
        expected = expected or int(self.app.catalog.sample_usage.get(option.metric, 0))
        self.expected.value = expected
        self.low.value = expected // 2
        self.high.value = expected * 2

    def option(self) -> Any:
        catalog = self.app.catalog
        return next((o for o in commitment_options(catalog) if o.key == self.choice.value), None)

    def run(self) -> CommitmentAnalysis | None:
        option = self.option()
        if option is None:
            return None
        catalog = self.app.catalog
        try:
            analysis = analyse_commitment(
                catalog, option.plan, self.app.usage(), int(self.low.value), int(self.expected.value),
                int(self.high.value), option.commitment_metric, self.method.value, int(self.samples.value),
                seed=0, options=RateOptions(billing_details=True))  # commitments need billing details
        except PricingError as exc:
            self.result.value = f'<span style="color:#b00">{_escape(exc)}</span>'
            return None
        self.analysis = analysis
        best = analysis.best
        d, cur = catalog.decimals, catalog.currency
        recommended = analysis.recommended.plan if analysis.recommended is not None else ""
        # the advice compares the best commitment with every other plan (pricing.analysis.commitment)
        self.result.value = (
            f'<div class="pw-commitment-best" data-level="{int(best["level"])}"'
            f' data-recommended="{_escape(recommended)}">{_escape(analysis.advice())}</div>')
        levels = analysis.levels
        self.figure_box.layout.display = None
        figure = go.Figure()
        figure.add_scatter(x=levels["level"], y=levels["expected_minor"] / 10**d, name="expected cost",
                           mode="lines+markers")
        figure.add_scatter(x=levels["level"], y=levels["prob_unused"], name="P(unused commitment)",
                           yaxis="y2", mode="lines", line={"dash": "dot"})
        figure.update_layout(
            title=f"Expected monthly cost by committed {catalog.metrics[option.metric].name}", height=320,
            yaxis={"title": cur}, yaxis2={"overlaying": "y", "side": "right", "range": [0, 1], "title": "probability"},
            margin={"t": 40, "l": 60, "r": 60, "b": 40}, legend={"orientation": "h"})
        _swap_figure(self, "figure", self.figure_box, go.FigureWidget(figure))
        return analysis


# --- price tuning ----------------------------------------------------------------------


def revenue_figure(result: Backtest | StreamedBacktest) -> go.Figure:
    """Revenue today and under the candidate, per month (bars)."""
    d = result.current.decimals
    months = result.by_month()
    fig = go.Figure()
    fig.add_bar(x=months["month"], y=months["current_minor"] / 10**d, name="today")
    fig.add_bar(x=months["month"], y=months["candidate_minor"] / 10**d, name="candidate")
    fig.update_layout(title="Revenue by month", barmode="group", yaxis_title=result.current.currency, height=360)
    return fig


def delta_histogram_figure(result: Backtest | StreamedBacktest, bins: int = 40) -> go.Figure:
    """How per-customer bills change over the history: who pays more, who pays less, by how much."""
    d = result.current.decimals
    hist = result.histogram(bins)
    fig = go.Figure()
    fig.add_bar(x=(hist["low"] + hist["high"]) / 2 / 10**d, y=hist["customers"],
                width=(hist["high"] - hist["low"]) / 10**d, name="customers")
    fig.update_layout(title="Change in each customer's bill over the history", height=360,
                      xaxis_title=f"change ({result.current.currency})", yaxis_title="customers")
    return fig


def tornado_figure(table: pd.DataFrame, catalog: Catalog, top: int = 15) -> go.Figure:
    """Revenue change for -x% and +x% on each price parameter, largest swing on top."""
    d = catalog.decimals
    shown = table.head(top).iloc[::-1]
    pct = shown["percent"].iloc[0] if len(shown) else 0
    fig = go.Figure()
    fig.add_bar(y=shown["key"], x=pd.to_numeric(shown["low_delta_minor"]) / 10**d, orientation="h",
                name=f"-{pct}%")
    fig.add_bar(y=shown["key"], x=pd.to_numeric(shown["high_delta_minor"]) / 10**d, orientation="h",
                name=f"+{pct}%")
    fig.update_layout(title="Revenue sensitivity (tornado)", barmode="overlay", height=120 + 24 * len(shown),
                      xaxis_title=f"revenue change ({catalog.currency})", margin={"l": 260})
    return fig


class PriceTuningApp:
    """Edit a catalog's price parameters with widgets, backtest the candidate, see the tornado."""

    def __init__(self, catalog: Catalog, history: pd.DataFrame, sensitivity_percent: int = 10) -> None:
        self.catalog = catalog
        self.history = history
        self.fields: dict[str, W.Text] = {}
        sections = []
        titles = []
        for plan_id in catalog.plans:
            boxes = []
            for param in price_parameters(catalog, [plan_id]):
                box = W.Text(value=format(param.value, "f"), description=param.key.split(".", 1)[1],
                             continuous_update=False, style={"description_width": "220px"},
                             layout=W.Layout(width="380px"))
                box.add_class(f"pw-param-{param.key.replace('.', '-')}")
                self.fields[param.key] = box
                boxes.append(box)
            sections.append(W.VBox(boxes))
            titles.append(catalog.plans[plan_id].name)
        self.editor = W.Accordion(children=sections, titles=tuple(titles))
        self.percent = W.BoundedIntText(value=sensitivity_percent, min=1, max=90, description="Tornado \u00b1%")
        self.run_button = W.Button(description="Backtest candidate", button_style="primary")
        self.run_button.on_click(lambda _: self.run())
        self.tornado_button = W.Button(description="Sensitivity (tornado)")
        self.tornado_button.on_click(lambda _: self.run_sensitivity())
        self.status = W.HTML()
        self.summary = W.HTML()
        self.output = W.Output()
        self.tornado_output = W.Output()
        self.candidate: Catalog | None = None
        self.result: Backtest | None = None
        self.sensitivity: pd.DataFrame | None = None
        self.widget = W.VBox([self.editor, W.HBox([self.run_button, self.percent, self.tornado_button]),
                              self.status, self.summary, self.output, self.tornado_output])

    def overrides(self) -> dict[str, str]:
        """Only the parameters whose text differs from the catalog's value."""
        current = {p.key: p.value for p in price_parameters(self.catalog)}
        out = {}
        for key, box in self.fields.items():
            text = box.value.strip()
            try:
                same = Decimal(text) == current[key]
            except Exception:
                same = False
            if not same:
                out[key] = text
        return out

    def run(self) -> Backtest | None:
        try:
            self.candidate = apply_overrides(self.catalog, self.overrides())
            self.result = backtest(self.catalog, self.candidate, self.history)
        except PricingError as exc:
            self.status.value = f'<span style="color:#b00">{_escape(exc)}</span>'
            return None
        self.status.value = ""
        totals = self.result.totals()
        cat = self.catalog
        p = self.result.percentiles()

        def money(minor: int) -> str:
            return _escape(format_money(minor, cat.currency, cat.decimals))

        self.summary.value = (
            f'<div class="pw-backtest-summary" data-delta="{totals["delta_minor"]}">Revenue today '
            f"{money(totals['current_minor'])}, candidate {money(totals['candidate_minor'])}, change "
            f"<b>{money(totals['delta_minor'])}</b>. Per-customer change p50 {money(p['p50'])}, "
            f"p95 {money(p['p95'])}; {len(self.result.switched_customers())} customers' cheapest plan changes."
            "</div>")
        self.output.clear_output()
        with self.output:
            from IPython.display import display

            display(revenue_figure(self.result))
            display(delta_histogram_figure(self.result))
            display(self.result.top_movers(10))
        return self.result

    def run_sensitivity(self) -> pd.DataFrame:
        self.sensitivity = sensitivity(self.catalog, self.history, int(self.percent.value))
        self.tornado_output.clear_output()
        with self.tornado_output:
            from IPython.display import display

            display(tornado_figure(self.sensitivity, self.catalog))
        return self.sensitivity

    def _ipython_display_(self) -> None:  # pragma: no cover - display hook
        from IPython.display import display

        display(self.widget)


__all__ = [
    "ChartView", "CommitmentPanel", "ComparisonState", "PlanComparisonApp", "PriceTuningApp", "Switch", "chart_view",
    "cheapest_along",
    "cheapest_switches", "comparison_figure", "delta_histogram_figure", "plan_rows", "render_table",
    "revenue_figure", "rows_frame", "tornado_figure", "update_comparison_figure",
]
