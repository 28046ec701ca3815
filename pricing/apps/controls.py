"""What every widget app shares: label widths, escaped text, error lines, figures swapped in place."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

# a widget's description gets the width its text needs (ipywidgets' default cuts it at about 80 px)
LABEL_FITS = {"description_width": "initial"}


def escape(text: Any) -> str:
    """Text for an HTML widget's value (quotes too: ids go into attributes)."""
    return html.escape(str(text), quote=True)


def error_html(problem: Any) -> str:
    """A refused input as one red line."""
    return f'<span style="color:#b00">{escape(problem)}</span>'


def swap_figure(owner: Any, attribute: str, box: widgets.Box, figure: go.FigureWidget) -> None:
    """Show ``figure`` in ``box`` in place of the previous one, and close the old widget's model."""
    old = getattr(owner, attribute)
    setattr(owner, attribute, figure)
    box.children = (figure,)
    old.close()


__all__ = ["LABEL_FITS", "error_html", "escape", "swap_figure"]
