"""Running the project's notebooks with Papermill and turning them into report pages.

Every notebook in ``notebooks/`` is run the same way, by :func:`run_notebook`:

1. its parameters are checked against the ones the notebook declares
   (``papermill.inspect_notebook``) *before* a kernel starts: Papermill pastes
   names into the injected cell unchecked, so a typo would otherwise create a
   new variable and the report would silently use the default;
2. values are made plain literals (Decimal, date and Path become strings; the
   notebook parses them back);
3. it is executed with an explicit kernel, working directory and timeout;
4. it is converted to an HTML page without code cells; no script is fetched from
   a CDN (MathJax, require.js and the widget manager are left out). A page on its
   own inlines plotly.js and the stylesheet; pages of a month folder link the
   folder's one copy instead (``assets/``, written by :func:`write_assets`), so
   thousands of pages do not carry 5 MB each and still open offline;
5. the page is written atomically (a temporary file in the same directory,
   then ``os.replace``), so an interrupted run never leaves half a page.

:func:`fingerprint` hashes a report's inputs; a sidecar ``<page>.json`` holds it,
written after the page, so :func:`is_current` can skip a page whose inputs have
not changed, and a run interrupted between the two simply redoes that page.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import threading
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from pricing.errors import ReportError
from pricing.files import PARTIAL_SUFFIX, atomic_write_bytes, atomic_write_text

DEFAULT_KERNEL = "python3"
DEFAULT_TIMEOUT = 600
SIDECAR_SUFFIX = ".json"

ASSETS_DIR = "assets"
PLOTLY_FILE = "plotly.min.js"
CSS_FILE = "report.css"

# One self-contained page: the lab template minus everything it would fetch from a CDN,
# plus plotly.js once in the head (figures are emitted as divs that call the global Plotly).
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}
{%- if resources.plotly_js -%}<script type="text/javascript">{{ resources.plotly_js }}</script>{%- endif -%}
{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""

# A page of a month folder: a small head linking the folder's stylesheet and plotly.js.
_LINKED_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head -%}
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ nb.metadata.get('title', '') | escape_html_keep_quotes }}</title>
<link rel="stylesheet" href="{{ resources.assets_href }}/report.css">
{%- if resources.plotly_js -%}<script src="{{ resources.assets_href }}/plotly.min.js"></script>{%- endif -%}
{%- endblock html_head -%}
"""

# What the linked pages need beside JupyterLab's own stylesheet (prompts and anchors hidden, print colours).
_EXTRA_CSS = """
/* pricing reports */
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
a.anchor-link, .jp-Collapser { display: none; }
.jp-OutputArea-output pre { line-height: inherit; font-family: inherit; }
@page { margin: 0.5in; }
"""


# --- where notebooks live -----------------------------------------------------------


def notebooks_dir() -> Path:
    """Where the notebooks are: ``$PRICING_NOTEBOOKS``, else the checkout's ``notebooks/``, else the packaged copy.

    A checkout (a ``pyproject.toml`` beside the package) uses its own ``notebooks/``, so an edit shows at
    once; an installed wheel carries the same notebooks as ``pricing/notebooks`` (package data).
    """
    override = os.environ.get("PRICING_NOTEBOOKS")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "notebooks").is_dir():
        return checkout / "notebooks"
    return package / "notebooks"


def notebook_path(name: str | Path) -> Path:
    """A notebook by name (``monthly_finance``) or by path."""
    candidate = Path(name)
    if candidate.suffix == ".ipynb" and candidate.exists():
        return candidate
    path = notebooks_dir() / f"{candidate.name.removesuffix('.ipynb')}.ipynb"
    if not path.is_file():
        raise ReportError(f"notebook {str(name)!r} not found in {notebooks_dir()}")
    return path


# --- parameters ---------------------------------------------------------------------


@lru_cache(maxsize=32)
def _declared(path: str, mtime_ns: int) -> dict[str, dict[str, Any]]:
    import papermill

    return dict(papermill.inspect_notebook(path))


def declared_parameters(name: str | Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares: name -> {inferred_type_name, default, help}."""
    path = notebook_path(name)
    return _declared(str(path), path.stat().st_mtime_ns)


def plain_value(value: Any) -> str | int | float | bool | None:
    """A parameter value as a literal Papermill can paste: Decimal, dates and paths become strings."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise ReportError(f"parameter value {value!r} of type {type(value).__name__} cannot be passed to a notebook")


def check_parameters(name: str | Path, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as plain literals, or a one-line ReportError naming what the notebook does not declare."""
    declared = declared_parameters(name)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ReportError(
            f"notebook {Path(str(name)).stem!r} has no parameter {', '.join(repr(u) for u in unknown)}"
            f" (it declares: {', '.join(declared) or 'none'})"
        )
    values = {key: plain_value(value) for key, value in parameters.items()}
    for key, value in values.items():
        # NOTE: Papermill quotes a string without escaping backslashes: refuse what it would paste wrongly.
        if isinstance(value, str) and any(ch == "\\" or ord(ch) < 32 for ch in value):
            raise ReportError(f"parameter {key!r}: {value!r} holds a backslash or control character, which"
                              " cannot be passed to a notebook")
    return values


def ensure_kernel(kernel_name: str = DEFAULT_KERNEL) -> None:
    """A one-line error when the kernel is not installed, before anything runs."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise ReportError(
            f"Jupyter kernel {kernel_name!r} is not installed; run scripts/setup.sh"
            " (or: python -m ipykernel install --sys-prefix)"
        ) from None


# --- files --------------------------------------------------------------------------


def clean_partials(directory: Path) -> int:
    """Remove temporary files an interrupted run left behind; returns how many."""
    if not directory.is_dir():
        return 0
    removed = 0
    for leftover in sorted(directory.rglob(f".*{PARTIAL_SUFFIX}"), reverse=True):
        try:
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
            removed += 1
        except OSError:
            pass
    return removed


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, max_length: int = 80) -> str:
    """A file-name part from any id or name: ASCII letters, digits, '.', '_' and '-' only.

    Path separators and other characters become '_', leading dots are dropped (no
    '..', no hidden files), and a short hash of the original keeps two different
    names from colliding once cleaned ("a/b" and "a_b").
    """
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    cleaned = _SAFE.sub("_", folded).strip("._-")[:max_length] or "x"
    if cleaned == str(text):
        return cleaned
    digest = hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:8]
    return f"{cleaned}-{digest}"


# --- fingerprints -------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (Decimal, Path, _dt.date, _dt.datetime)):
        return str(value)
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame: its rows, in order
        return [_canonical(r) for r in value.astype(str).to_dict(orient="records")]
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def fingerprint(notebook: str | Path | None = None, parameters: Mapping[str, Any] | None = None,
                data: Any = None) -> str:
    """A sha256 over the notebook file, the parameters and the data a report reads.

    The same inputs give the same hex digest; any change to one of them changes it.
    """
    digest = hashlib.sha256()
    if notebook is not None:
        digest.update(notebook_path(notebook).read_bytes())
        # the package code the notebook calls is part of its inputs too
        digest.update(_package_digest().encode())
    payload = {"parameters": _canonical(dict(parameters or {})), "data": _canonical(data)}
    digest.update(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8"))
    return digest.hexdigest()


# The package modules a report's numbers depend on (the notebooks call them); a change to one
# makes every report stale. Modules of other features (widgets, backtests, the CLI) are left out.
REPORT_CODE = (
    "engine", "metering", "billing",
    "reporting/report_tables.py", "reporting/excel.py", "reporting/report_index.py",
    "reporting/notebook_runner.py", "reporting/month_tables.py", "reporting/html_pages.py", "reporting/templates",
    "catalogs",
)


@lru_cache(maxsize=1)
def _package_digest() -> str:
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    code: list[Path] = []
    for name in REPORT_CODE:
        path = root / name
        code += sorted(p for p in path.rglob("*") if p.suffix in {".py", ".yaml", ".j2"}) if path.is_dir() else [path]
    for path in code:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def sidecar_path(page: Path) -> Path:
    return page.with_name(page.name + SIDECAR_SUFFIX)


def is_current(page: Path, expected: str) -> bool:
    """True when ``page`` exists and its sidecar records the fingerprint ``expected``."""
    side = sidecar_path(page)
    if not page.is_file() or not side.is_file():
        return False
    try:
        return json.loads(side.read_text(encoding="utf-8")).get("fingerprint") == expected
    except (OSError, ValueError):
        return False


def record(page: Path, value: str, **extra: Any) -> Path:
    """Write the sidecar of a finished page (after the page itself is in place)."""
    data = {"fingerprint": value, "page": page.name, **{k: _canonical(v) for k, v in extra.items()}}
    return atomic_write_text(sidecar_path(page), json.dumps(data, indent=2, sort_keys=True) + "\n")


# --- HTML -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _uses_plotly(nb: Any) -> bool:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/vnd.plotly.v1+json" in data or "Plotly.newPlot" in str(data.get("text/html", "")):
                return True
    return False


_exporters = threading.local()


def _exporter(linked: bool) -> Any:
    """An HTML exporter per thread and kind of page: building one (templates, filters) costs more than a page."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    key = "linked" if linked else "inline"
    exporter = getattr(_exporters, key, None)
    if exporter is None:
        name = "pricing_linked.html.j2" if linked else "pricing_report.html.j2"
        config = Config()
        if linked:  # code is not shown, so no syntax-highlighting stylesheet either
            config.CSSHTMLHeaderPreprocessor.enabled = False
        exporter = HTMLExporter(
            config=config,
            template_name="lab",
            extra_loaders=[DictLoader({name: _LINKED_TEMPLATE if linked else _TEMPLATE})],
            template_file=name,
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
        setattr(_exporters, key, exporter)
    return exporter


def notebook_to_html(nb: Any, title: str, assets_href: str | None = None) -> str:
    """An HTML page of an executed notebook, without code cells or prompts.

    Without ``assets_href`` the page is self-contained (plotly.js and the stylesheet
    inlined). With it, the page links ``<assets_href>/plotly.min.js`` and
    ``<assets_href>/report.css`` (a path relative to the page, see :func:`write_assets`).
    """
    nb.metadata["title"] = title
    nb.metadata.pop("widgets", None)
    uses_plotly = _uses_plotly(nb)
    if assets_href is None:
        resources = {"plotly_js": _plotly_js() if uses_plotly else ""}
    else:
        resources = {"plotly_js": "yes" if uses_plotly else "", "assets_href": assets_href.rstrip("/")}
    body, _ = _exporter(assets_href is not None).from_notebook_node(nb, resources=resources)
    return body


@lru_cache(maxsize=1)
def _report_css() -> str:
    """JupyterLab's stylesheet and light theme (as the lab template inlines them), plus our few rules."""
    parts = []
    for directory in _exporter(True).template_paths:
        static = Path(directory) / "static"
        if (static / "index.css").is_file() and (static / "theme-light.css").is_file():
            parts = [(static / "index.css").read_text(encoding="utf-8"),
                     (static / "theme-light.css").read_text(encoding="utf-8")]
            break
    return "\n".join([*parts, _EXTRA_CSS])


def write_assets(folder: Path) -> Path:
    """``<folder>/assets/`` with the one plotly.js and stylesheet every linked page of the folder uses.

    Written only when missing or different (plotly upgraded), atomically; returns the assets directory.
    """
    target = Path(folder) / ASSETS_DIR
    for name, text in ((PLOTLY_FILE, _plotly_js()), (CSS_FILE, _report_css())):
        data = text.encode("utf-8")
        path = target / name
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                continue
        except OSError:
            pass
        atomic_write_bytes(path, data)
    return target


def assets_href(page: Path, folder: Path) -> str:
    """The relative link from ``page`` to ``<folder>/assets`` (pages sit at any depth below the folder)."""
    depth = len(Path(page).resolve().parent.relative_to(Path(folder).resolve()).parts)
    return "/".join([".."] * depth + [ASSETS_DIR])


def _error_line(exc: BaseException, name: str) -> str:
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = str(getattr(exc, "evalue", "") or exc).strip().splitlines()
    detail = evalue[0] if evalue else ""
    # A ReportError raised inside the notebook is a user-facing message: pass it on as is.
    if ename in {"ReportError", "PricingError", "MeteringError", "SubscriptionError", "CatalogError", "UsageError"}:
        return f"{name}: {detail}"
    cell = getattr(exc, "exec_count", None)
    where = f" in cell {cell}" if cell is not None else ""
    return f"{name}: the notebook failed{where}: {ename}: {detail}"


# --- running ------------------------------------------------------------------------


def run_notebook(
    name: str | Path,
    parameters: Mapping[str, Any],
    out_html: Path,
    timeout: int = DEFAULT_TIMEOUT,
    *,
    kernel_name: str = DEFAULT_KERNEL,
    cwd: Path | None = None,
    title: str | None = None,
    keep_notebook: Path | None = None,
    engine: str | None = None,
    assets: Path | None = None,
) -> Path:
    """Execute a notebook with ``parameters`` and write its HTML page to ``out_html``.

    Parameters are checked before any kernel starts; a failure in the notebook
    becomes one ReportError line and leaves no file behind. ``engine`` names a
    Papermill engine (``pricing-warm`` runs on the calling thread's warm kernel,
    whose working directory is the pool's: ``cwd`` is then not used).
    ``assets`` is a folder holding ``assets/`` (:func:`write_assets`) that the
    page links instead of inlining plotly.js.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    path = notebook_path(name)
    values = check_parameters(path, parameters)
    ensure_kernel(kernel_name)
    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(cwd) if cwd is not None else Path.cwd()
    if engine is None:
        # the kernel's own log (a TCP-transport warning) would break the progress bar
        how: dict[str, Any] = {"cwd": str(workdir), "extra_arguments": ["--log-level=CRITICAL"]}
    else:  # papermill's cwd would chdir the whole process, which worker threads share
        how = {"engine_name": engine}
        if engine == "pricing-warm":
            from pricing.reporting import papermill_engine  # noqa: F401  (registers the engine without an installed entry point)
    try:
        nb = papermill.execute_notebook(
            str(path), None, parameters=values, kernel_name=kernel_name,
            execution_timeout=timeout, progress_bar=False, log_output=False,
            request_save_on_cell_execute=False, **how,
        )
    except PapermillExecutionError as exc:
        raise ReportError(_error_line(exc, path.stem)) from None
    except TimeoutError as exc:
        raise ReportError(f"{path.stem}: a cell ran longer than {timeout} s ({exc})") from None
    except Exception as exc:  # kernel died, cell timeout from nbclient, ...
        if type(exc).__name__ in {"CellTimeoutError", "DeadKernelError"}:
            raise ReportError(f"{path.stem}: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}") from None
        raise
    href = assets_href(out_html, assets) if assets is not None else None
    html = notebook_to_html(nb, title or path.stem.replace("_", " "), href)
    atomic_write_text(out_html, html)
    if keep_notebook is not None:
        atomic_write_text(Path(keep_notebook), nbformat.writes(nb))
    return out_html


__all__ = [
    "ASSETS_DIR", "DEFAULT_KERNEL", "DEFAULT_TIMEOUT", "assets_href", "atomic_write_bytes", "atomic_write_text",
    "check_parameters",
    "clean_partials", "declared_parameters", "ensure_kernel", "fingerprint", "is_current", "notebook_path",
    "notebook_to_html", "notebooks_dir", "plain_value", "record", "run_notebook", "safe_name", "sidecar_path",
    "write_assets",
]
