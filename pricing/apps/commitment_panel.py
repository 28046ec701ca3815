"""The commitment panel of the plan-comparison app: a usage range in, the cheapest commitment level out.

Every number comes from :func:`pricing.analysis.commitment.analyse_commitment`; the advice compares
the best commitment with every other plan, as ``pricing commitment`` prints it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets
import plotly.graph_objects as go

from pricing.analysis.commitment import CommitmentAnalysis, CommitmentOption, analyse_commitment, commitment_options
from pricing.apps.controls import LABEL_FITS, error_html, swap_figure, widget_html
from pricing.engine.catalog import Catalog
from pricing.engine.rating import RateOptions
from pricing.errors import PricingError
from pricing.reporting.charts import commitment_figure

if TYPE_CHECKING:
    from pricing.apps.plan_comparison import PlanComparisonApp


class CommitmentPanel:
    """Pick a plan's commitment, give a usage range, find the level with the lowest expected cost."""

    def __init__(self, app: PlanComparisonApp) -> None:
        self.app = app
        self.choice = widgets.Dropdown(description="Commitment", style=LABEL_FITS, layout=widgets.Layout(width="auto"))
        self.choice.add_class("pw-commitment-choice")
        self.low = widgets.BoundedIntText(min=0, max=10**12, description="Low",
                                   style=LABEL_FITS, layout=widgets.Layout(width="190px"))
        self.expected = widgets.BoundedIntText(min=0, max=10**12, description="Expected",
                                   style=LABEL_FITS, layout=widgets.Layout(width="190px"))
        self.high = widgets.BoundedIntText(min=0, max=10**12, description="High",
                                   style=LABEL_FITS, layout=widgets.Layout(width="190px"))
        self.method = widgets.ToggleButtons(options=[("Low / expected / high", "scenarios"),
                                               ("Triangular (Monte Carlo)", "triangular")], value="triangular",
                                     style={"button_width": "auto"})
        self.samples = widgets.BoundedIntText(value=2000, min=10, max=50_000, description="Samples",
                                       style=LABEL_FITS, layout=widgets.Layout(width="190px"))
        self.button = widgets.Button(description="Find best commitment", button_style="primary")
        self.button.add_class("pw-commitment-run")
        self.button.on_click(lambda _: self.run())
        self.result = widgets.HTML()
        self.result.add_class("pw-commitment-result")
        self.figure = go.FigureWidget()
        self.figure_box = widgets.Box([self.figure], layout=widgets.Layout(display="none"))
        self.analysis: CommitmentAnalysis | None = None
        self.choice.observe(lambda change: self._defaults(), "value")
        self.widget = widgets.VBox([
            widgets.HTML("<b>Commitment</b>: the level that minimises expected cost over a usage range"),
            self.choice, widgets.HBox([self.low, self.expected, self.high]), widgets.HBox([self.method, self.samples]),
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

    def option(self) -> CommitmentOption | None:
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
            self.result.value = error_html(exc)
            return None
        self.analysis = analysis
        best = analysis.best
        recommended = analysis.recommended.plan if analysis.recommended is not None else ""
        # the advice compares the best commitment with every other plan (pricing.analysis.commitment)
        self.result.value = widget_html("commitment_best", level=int(best["level"]), recommended=recommended,
                                        advice=analysis.advice())
        self.figure_box.layout.display = None
        figure = commitment_figure(analysis)
        swap_figure(self, "figure", self.figure_box, go.FigureWidget(figure))
        return analysis


__all__ = ["CommitmentPanel"]
