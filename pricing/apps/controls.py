"""What every widget app shares: label widths, the apps' HTML fragments, error lines, figures swapped in place."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from markupsafe import Markup

from pricing.reporting.html_pages import render_fragment

# a widget's description gets the width its text needs (ipywidgets' default cuts it at about 80 px)
LABEL_FITS = {"description_width": "initial"}


def widget_html(macro: str, **values: Any) -> Markup:
    """One macro of ``templates/widgets.html.j2`` as an HTML widget's value: every text in it escaped by the
    same Jinja2 environment as the report pages (:mod:`pricing.reporting.html_pages`)."""
    return render_fragment("widgets.html.j2", macro, **values)


def error_html(problem: Any) -> Markup:
    """A refused input as one red line."""
    return widget_html("error_line", problem=str(problem))


def swap_figure(owner: Any, attribute: str, box: widgets.Box, figure: go.FigureWidget) -> None:
    """Show ``figure`` in ``box`` in place of the previous one, and close the old widget's model."""
    old = getattr(owner, attribute)
    setattr(owner, attribute, figure)
    box.children = (figure,)
    old.close()


__all__ = ["LABEL_FITS", "error_html", "swap_figure", "widget_html"]
