"""Every HTML page and fragment the workbench writes, rendered from the Jinja2 templates beside this module.

One environment, one escaping path: autoescaping is on for every template (they are all HTML), so any
text from outside (a customer's or prospect's name, a seller file, a catalog's names, a vendor's export)
is escaped where it is printed; no page builds HTML from strings. Undefined names fail
(``StrictUndefined``) instead of printing nothing. Markup made by a trusted library (a plotly figure's
div, a table this module rendered) is passed in as :class:`markupsafe.Markup` by :func:`trusted`, which
says why at each use.

Templates live in ``pricing/reporting/templates/*.html.j2`` and ship with the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from pricing.engine.formatting import grouped_number

if TYPE_CHECKING:
    import jinja2

TEMPLATES_DIR = Path(__file__).with_name("templates")


@cache
def environment() -> jinja2.Environment:
    """The one Jinja2 environment: templates from the package folder, autoescaped, strict about names."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template here is HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["grouped"] = grouped_number
    return env


def render_page(template: str, **context: Any) -> str:
    """A whole page from ``templates/<template>``."""
    return environment().get_template(template).render(**context)


def render_fragment(template: str, macro: str, *args: Any, **values: Any) -> Markup:
    """One macro of ``templates/<template>``: a piece of a page or a widget's value, already escaped."""
    module = environment().get_template(template).module
    return Markup(getattr(module, macro)(*args, **values))


def _fragment(macro: str, *args: Any) -> Markup:
    """One macro of ``templates/fragments.html.j2``, the pieces the notebooks and report pages share."""
    return render_fragment("fragments.html.j2", macro, *args)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Markup:
    """A table of text cells with a header row (class ``report-table``); ``[]`` rows -> 'none'."""
    return _fragment("table", list(columns), [list(row) for row in rows])


def heading(text: str, level: int = 2) -> Markup:
    return _fragment("heading", text, level)


def paragraphs(lines: Iterable[str]) -> Markup:
    return _fragment("paragraphs", list(lines))


def trusted(markup: str) -> Markup:
    """Markup made by a library we trust to escape its own content (plotly's figure div, nbconvert's
    page): passed through as is. Never call this on text that came from a user or a file."""
    return Markup(markup)


__all__ = ["TEMPLATES_DIR", "environment", "heading", "paragraphs", "render_fragment", "render_page", "table",
           "trusted"]
