"""The plan-comparison app: a prospect's usage in, every plan's cost, the chart and commitment advice out.

Widgets only gather input and show output; every number comes from the engine
(:func:`pricing.analysis.comparison.compare`, :func:`pricing.analysis.comparison.cheapest_switches`,
:func:`pricing.analysis.forecast.forecast`; the commitment panel: :mod:`pricing.apps.commitment_panel`).
The app keeps its last result in plain attributes (``state``, ``figure.data``), so tests drive it
without a browser: set a widget's ``.value`` or call ``Button.click()`` and read the state.

Stable CSS classes (``pw-...``) name the elements a browser test looks for:
``pw-usage-<metric>`` on each number box, ``pw-cheapest`` on the cheapest-plan
label (its ``data-plan`` attribute holds the plan id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go

from pricing.analysis.comparison import Comparison, Switch, cheapest_switches, compare
from pricing.analysis.forecast import Forecast, forecast
from pricing.apps.commitment_panel import CommitmentPanel
from pricing.apps.controls import LABEL_FITS, error_html, swap_figure, widget_html
from pricing.engine.catalog import Catalog, MetricKind, bundled_catalog_ids, load_catalog
from pricing.engine.formatting import format_money
from pricing.engine.rating import RateOptions
from pricing.errors import PricingError
from pricing.reporting.charts import comparison_figure, update_comparison_figure

MONTHS_PER_YEAR = 12


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


def render_table(rows: list[dict[str, Any]], catalog: Catalog, term_months: int) -> str:
    """The plans table (``widgets.html.j2``'s ``plans_table``): amounts formatted here, every text escaped there."""
    def money(minor: int | None) -> str:
        return "" if minor is None else format_money(minor, catalog.currency, catalog.decimals)

    shown = [{
        "plan": r["plan"], "name": r["name"], "cheapest": r["cheapest"], "eligible": r["eligible"],
        "status": "cheapest" if r["cheapest"] else ("eligible" if r["eligible"] else f"not eligible: {r['reason']}"),
        "monthly": money(r["monthly_minor"]), "annual": money(r["annual_minor"]), "term": money(r["term_minor"]),
        "lines": [{"item": item, "amount": money(amount), "explanation": explain}
                  for item, amount, explain in r["lines"]],
    } for r in rows]
    return widget_html("plans_table", rows=shown, term_months=term_months)


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
        self.catalog_select = widgets.Dropdown(options=catalogs or bundled_catalog_ids(), value=catalog,
                                         description="Catalog", style=LABEL_FITS)
        self.catalog_select.add_class("pw-catalog")
        self.billing_details = widgets.Checkbox(value=billing_details, description="Billing details on file",
                                          indent=False)
        self.billing_details.add_class("pw-billing-details")
        self.growth = widgets.BoundedFloatText(value=float(growth_percent), min=-50, max=100, step=0.5,
                                         description="Usage growth, % a month", style=LABEL_FITS)
        self.growth.add_class("pw-growth")
        self.term = widgets.IntSlider(value=term_months, min=12, max=36, step=1, description="Term (months)",
                                style=LABEL_FITS,
                                continuous_update=False)
        self.term.add_class("pw-term")
        self.chart_metric = widgets.Dropdown(description="Chart by", style=LABEL_FITS)
        self.chart_metric.add_class("pw-chart-metric")
        self.usage_panel = widgets.VBox()
        self.boxes: dict[str, widgets.Widget] = {}
        self.sliders: dict[str, widgets.IntSlider] = {}
        self.status = widgets.HTML()
        self.status.add_class("pw-status")
        self.cheapest_label = widgets.HTML()
        self.cheapest_label.add_class("pw-cheapest-label")
        self.table = widgets.HTML()
        self.table.add_class("pw-table")
        # a new FigureWidget only when the catalog or chart metric changes; every other refresh patches
        # its traces in place (update_comparison_figure)
        self.figure = go.FigureWidget()
        self._drawn: tuple[Catalog, str] | None = None
        self.figure_box = widgets.Box([self.figure])
        self.state: ComparisonState | None = None
        self.commitment = CommitmentPanel(self)

        self.catalog_select.observe(self._on_catalog, "value")
        for control in (self.billing_details, self.growth, self.term, self.chart_metric):
            control.observe(lambda change: self.refresh(), "value")
        self._load_catalog(catalog, usage, chart_metric)
        self._building = False
        self.refresh()

        controls = widgets.VBox([
            widgets.HTML("<b>Prospect</b>"), self.catalog_select, self.billing_details, self.usage_panel,
            widgets.HTML("<b>Outlook</b>"), self.growth, self.term, self.chart_metric,
        ], layout=widgets.Layout(width="420px"))
        results = widgets.VBox([self.status, self.cheapest_label, self.table, self.figure_box, self.commitment.widget],
                         layout=widgets.Layout(flex="1"))
        self.widget = widgets.HBox([controls, results])
        self.widget.add_class("pw-plan-comparison")

    # --- building the usage inputs ---

    def _load_catalog(self, catalog_id: str, usage: Mapping[str, Any] | None, chart_metric: str | None) -> None:
        catalog = load_catalog(catalog_id)
        self.catalog = catalog
        start = {k: v for k, v in catalog.sample_usage.items()}
        if usage:
            start.update(usage)
        self.boxes, self.sliders = {}, {}
        rows: list[widgets.Widget] = []
        for metric in catalog.charged_metrics():
            spec = catalog.metrics[metric]
            if spec.kind is MetricKind.COMMITMENT:
                # NOTE: each plan's own committed quantity applies, as in `pricing quote`; the
                # commitment panel below explores other levels
                continue
            value = start.get(metric, 0)
            label = spec.name
            if spec.kind is MetricKind.FLAG:
                box = widgets.Checkbox(value=bool(int(value)), description=label, indent=False)
                box.add_class(f"pw-usage-{metric}")
                box.observe(lambda change: self.refresh(), "value")
                self.boxes[metric] = box
                rows.append(box)
                continue
            if spec.decimal_places:
                box = widgets.Text(value=str(value), continuous_update=False, layout=widgets.Layout(width="200px"))
                box.add_class(f"pw-usage-{metric}")
                box.observe(lambda change: self.refresh(), "value")
                self.boxes[metric] = box
                rows.append(widgets.VBox([widgets.HTML(widget_html("label", text=label)), box]))
                continue
            number = int(Decimal(str(value)))
            box = widgets.BoundedIntText(value=number, min=0, max=10**12, layout=widgets.Layout(width="160px"))
            box.add_class(f"pw-usage-{metric}")
            slider = widgets.IntSlider(value=number, min=0, max=_slider_max(catalog, metric, number),
                                 continuous_update=False, readout=False, layout=widgets.Layout(width="200px"))
            slider.add_class(f"pw-slider-{metric}")
            slider.observe(lambda change, m=metric: self._slider_moved(m, change["new"]), "value")
            box.observe(lambda change, m=metric: self._box_changed(m, change["new"]), "value")
            self.boxes[metric], self.sliders[metric] = box, slider
            rows.append(widgets.VBox([widgets.HTML(widget_html("label", text=label)), widgets.HBox([box, slider])]))
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
            if isinstance(box, widgets.Checkbox):
                out[metric] = int(box.value)
            elif isinstance(box, widgets.Text):
                out[metric] = box.value.strip()
            else:
                out[metric] = int(box.value)
        return out

    def set_usage(self, **values: Any) -> None:
        for metric, value in values.items():
            box = self.boxes[metric]
            box.value = bool(value) if isinstance(box, widgets.Checkbox) else (
                str(value) if isinstance(box, widgets.Text) else int(value))

    def options(self) -> RateOptions:
        return RateOptions(billing_details=bool(self.billing_details.value))

    # --- the one place results are computed ---

    def refresh(self) -> None:
        if self._building:
            return
        try:
            self.state = self.compute()
        except PricingError as exc:
            self.status.value = error_html(exc)
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
            self.cheapest_label.value = widget_html("no_eligible_plan")
        else:
            name = catalog.plans[best.plan].name
            money = format_money(best.total_minor, catalog.currency, catalog.decimals)
            self.cheapest_label.value = widget_html("cheapest", plan=best.plan, name=name, monthly=money)
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
                swap_figure(self, "figure", self.figure_box, go.FigureWidget(figure))
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


__all__ = ["ComparisonState", "PlanComparisonApp", "plan_rows", "render_table", "rows_frame"]
