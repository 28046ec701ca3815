"""The shared notebook runner: parameter checks before kernels, self-contained HTML, atomic files."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from pricing.reporting import notebook_runner
from pricing.errors import ReportError


def _notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('label: str = "x"  # a label\ncount: int = 2  # how many')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Fixture"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


CHART = (
    "import plotly.graph_objects as go\nfrom IPython.display import HTML, display\n"
    "from pricing.reporting.report_tables import figure_html\n"
    "SECRET_CODE_MARKER = 1\n"
    "display(HTML(figure_html(go.Figure(go.Bar(x=[1, 2], y=[count, 5])), 'chart')))\n"
    "print('label is', label)\n"
)


def test_unknown_parameter_is_refused_before_any_kernel(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "p.ipynb", "print(1)")
    with pytest.raises(ReportError) as info:
        notebook_runner.run_notebook(nb, {"lable": "y"}, tmp_path / "out.html")
    assert "'lable'" in str(info.value) and "label, count" in str(info.value)
    assert not (tmp_path / "out.html").exists()


def test_values_become_literals(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "p.ipynb", "print(1)")
    values = notebook_runner.check_parameters(nb, {"label": Decimal("0.10"), "count": 3})
    assert values == {"label": "0.10", "count": 3}
    assert notebook_runner.plain_value(dt.date(2026, 3, 1)) == "2026-03-01"
    with pytest.raises(ReportError):
        notebook_runner.check_parameters(nb, {"label": "a\\b"})


def test_run_renders_self_contained_html_without_code(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "p.ipynb", CHART)
    out = notebook_runner.run_notebook(nb, {"label": "<i>x</i>", "count": 7}, tmp_path / "site" / "page.html", timeout=120,
                          cwd=tmp_path)
    text = out.read_text(encoding="utf-8")
    assert "SECRET_CODE_MARKER" not in text  # no input cells
    assert text.count("Plotly.newPlot") >= 1
    assert "<script src=" not in text  # nothing fetched from a CDN
    assert "label is &lt;i&gt;x&lt;/i&gt;" in text
    assert [p.name for p in out.parent.iterdir()] == ["page.html"]  # no temp files left


def test_failing_notebook_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "bad.ipynb", "raise ValueError('broken on purpose')")
    with pytest.raises(ReportError) as info:
        notebook_runner.run_notebook(nb, {}, tmp_path / "site" / "bad.html", timeout=120, cwd=tmp_path)
    assert "ValueError: broken on purpose" in str(info.value) and "\n" not in str(info.value)
    assert list((tmp_path / "site").iterdir()) == []


def test_atomic_write_cleans_up_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.html"
    notebook_runner.atomic_write_text(target, "old")

    def boom(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        notebook_runner.atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.html"]


def test_clean_partials(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".x.html.abc.partial").write_text("half")
    (tmp_path / ".y.abc.partial").mkdir()
    (tmp_path / "keep.html").write_text("ok")
    assert notebook_runner.clean_partials(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["keep.html", "sub"]


@pytest.mark.parametrize("raw", ["../../etc/passwd", "a/b", "a\\b", "..", "<b>x</b>", "c0001/../prod <b>", "ü ñ"])
def test_safe_name(raw: str) -> None:
    name = notebook_runner.safe_name(raw)
    assert "/" not in name and "\\" not in name and not name.startswith(".") and ".." not in name.split("-")[0][:2]
    assert all(ch.isalnum() or ch in "._-" for ch in name)


def test_safe_names_do_not_collide() -> None:
    assert notebook_runner.safe_name("a/b") != notebook_runner.safe_name("a_b") != notebook_runner.safe_name("a b")
    assert notebook_runner.safe_name("c0001-prod") == "c0001-prod"


def test_fingerprint_and_sidecar(tmp_path: Path) -> None:
    a = notebook_runner.fingerprint(None, {"m": "2026-03"}, {"rows": [1, 2]})
    assert a == notebook_runner.fingerprint(None, {"m": "2026-03"}, {"rows": [1, 2]})
    assert a != notebook_runner.fingerprint(None, {"m": "2026-04"}, {"rows": [1, 2]})
    assert a != notebook_runner.fingerprint(None, {"m": "2026-03"}, {"rows": [1, 3]})
    page = notebook_runner.atomic_write_text(tmp_path / "p.html", "x")
    assert not notebook_runner.is_current(page, a)
    notebook_runner.record(page, a)
    assert notebook_runner.is_current(page, a) and not notebook_runner.is_current(page, "other")
