"""The price-tuning app: edit a catalog's price parameters, backtest the candidate, see the tornado.

Every amount comes from :func:`pricing.analysis.backtest.backtest` and
:func:`pricing.analysis.backtest.sensitivity`; the figures from :mod:`pricing.reporting.charts`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import ipywidgets as widgets
import pandas as pd

from pricing.analysis.backtest import Backtest, backtest, sensitivity
from pricing.analysis.candidates import apply_overrides, price_parameters
from pricing.apps.controls import error_html, widget_html
from pricing.engine.catalog import Catalog
from pricing.engine.formatting import format_money
from pricing.errors import PricingError
from pricing.reporting.charts import delta_histogram_figure, revenue_figure, tornado_figure


class PriceTuningApp:
    """Edit a catalog's price parameters with widgets, backtest the candidate, see the tornado."""

    def __init__(self, catalog: Catalog, history: pd.DataFrame, sensitivity_percent: int = 10) -> None:
        self.catalog = catalog
        self.history = history
        self.fields: dict[str, widgets.Text] = {}
        sections = []
        titles = []
        for plan_id in catalog.plans:
            boxes = []
            for param in price_parameters(catalog, [plan_id]):
                box = widgets.Text(value=format(param.value, "f"), description=param.key.split(".", 1)[1],
                             continuous_update=False, style={"description_width": "220px"},
                             layout=widgets.Layout(width="380px"))
                box.add_class(f"pw-param-{param.key.replace('.', '-')}")
                self.fields[param.key] = box
                boxes.append(box)
            sections.append(widgets.VBox(boxes))
            titles.append(catalog.plans[plan_id].name)
        self.editor = widgets.Accordion(children=sections, titles=tuple(titles))
        self.percent = widgets.BoundedIntText(value=sensitivity_percent, min=1, max=90, description="Tornado \u00b1%")
        self.run_button = widgets.Button(description="Backtest candidate", button_style="primary")
        self.run_button.on_click(lambda _: self.run())
        self.tornado_button = widgets.Button(description="Sensitivity (tornado)")
        self.tornado_button.on_click(lambda _: self.run_sensitivity())
        self.status = widgets.HTML()
        self.summary = widgets.HTML()
        self.output = widgets.Output()
        self.tornado_output = widgets.Output()
        self.candidate: Catalog | None = None
        self.result: Backtest | None = None
        self.sensitivity: pd.DataFrame | None = None
        self.widget = widgets.VBox([self.editor, widgets.HBox([self.run_button, self.percent, self.tornado_button]),
                              self.status, self.summary, self.output, self.tornado_output])

    def overrides(self) -> dict[str, str]:
        """Only the parameters whose text differs from the catalog's value."""
        current = {p.key: p.value for p in price_parameters(self.catalog)}
        out = {}
        for key, box in self.fields.items():
            text = box.value.strip()
            try:
                same = Decimal(text) == current[key]
            except InvalidOperation:  # not a number: the backtest refuses it with one line
                same = False
            if not same:
                out[key] = text
        return out

    def run(self) -> Backtest | None:
        try:
            self.candidate = apply_overrides(self.catalog, self.overrides())
            self.result = backtest(self.catalog, self.candidate, self.history)
        except PricingError as exc:
            self.status.value = error_html(exc)
            return None
        self.status.value = ""
        totals = self.result.totals()
        catalog = self.catalog
        percentiles = self.result.percentiles()

        def money(minor: int) -> str:
            return format_money(minor, catalog.currency, catalog.decimals)

        self.summary.value = widget_html(
            "backtest_summary", delta_minor=totals["delta_minor"], current=money(totals["current_minor"]),
            candidate=money(totals["candidate_minor"]), delta=money(totals["delta_minor"]),
            p50=money(percentiles["p50"]), p95=money(percentiles["p95"]),
            switched=len(self.result.switched_customers()))
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


__all__ = ["PriceTuningApp"]
