"""Warm kernels: reused across runs, a clean namespace for every run, failures retried once and reported."""

from __future__ import annotations

import threading
from pathlib import Path

import nbformat
import papermill
import pytest

from pricing.reporting import kernel_pool as kp
from pricing.reporting import notebook_runner
from pricing.errors import ReportError
from pricing.reporting.papermill_engine import ENGINE_NAME


def _leaky_notebook(path: Path) -> Path:
    """Each run lists the ``page_*`` variables it can see, then leaves one behind."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("n: int = 0  # the run's number")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import os\n"
        "print('seen', sorted(k for k in globals() if k.startswith('page_')), os.getcwd())\n"
        "globals()[f'page_{n}'] = n\n"
        "os.chdir('/')\n")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _seen(nb: nbformat.NotebookNode) -> str:
    return nb.cells[-1].outputs[0]["text"].strip()


def test_pool_reuses_kernels_and_pages_do_not_see_each_other(tmp_path: Path) -> None:
    notebook = _leaky_notebook(tmp_path / "leaky.ipynb")
    pool = kp.KernelPool(2, cwd=tmp_path)
    kernels: dict[int, set[int]] = {}

    def run(n: int) -> str:
        kernels.setdefault(threading.get_ident(), set()).add(id(kp.current_kernel()))
        nb = papermill.execute_notebook(str(notebook), None, {"n": n}, engine_name=ENGINE_NAME,
                                        kernel_name="python3", progress_bar=False)
        return _seen(nb)

    outcomes = pool.map(run, range(6))
    assert sorted(o.item for o in outcomes) == list(range(6)) and all(o.ok for o in outcomes)
    assert pool.stats.starts == 2 < 6  # two kernels for six runs
    assert all(len(ids) == 1 for ids in kernels.values())  # each worker kept its kernel
    # nothing of an earlier run is visible, and the working directory is the pool's again
    assert {o.result for o in outcomes} == {f"seen [] {tmp_path}"}


def test_the_engine_outside_a_pool_keeps_one_warm_kernel(tmp_path: Path) -> None:
    notebook = _leaky_notebook(tmp_path / "leaky.ipynb")
    try:
        first = papermill.execute_notebook(str(notebook), None, {"n": 1}, engine_name=ENGINE_NAME,
                                           kernel_name="python3", progress_bar=False)
        kernel = kp.current_kernel()
        second = papermill.execute_notebook(str(notebook), None, {"n": 2}, engine_name=ENGINE_NAME,
                                            kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
        assert kp.current_kernel() is kernel and kernel is not None and kernel.stats.starts == 1
        assert _seen(first).startswith("seen []") and _seen(second) == f"seen [] {tmp_path}"  # papermill's cwd
    finally:
        if kp.current_kernel() is not None:
            kp.current_kernel().shutdown()
        kp.set_current_kernel(None)


def test_runner_with_the_engine_links_the_folders_assets(tmp_path: Path) -> None:
    notebook = tmp_path / "chart.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import plotly.graph_objects as go\nfrom IPython.display import HTML, display\n"
        "from pricing.reporting.report_tables import figure_html\n"
        "display(HTML(figure_html(go.Figure(go.Bar(x=[1, 2], y=[3, 4])), 'chart')))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebook)
    site = tmp_path / "site"
    notebook_runner.write_assets(site)

    def run(name: str) -> Path:
        return notebook_runner.run_notebook(notebook, {}, site / "deep" / name, 120, engine=ENGINE_NAME, assets=site)

    outcomes = kp.KernelPool(1, cwd=tmp_path).map(run, ["a.html", "b.html"])
    for outcome in outcomes:
        text = outcome.result.read_text(encoding="utf-8")
        assert '<script src="../assets/plotly.min.js">' in text and "Plotly.newPlot" in text
        assert 'href="../assets/report.css"' in text
        assert len(text) < 50_000  # neither plotly.js (4.8 MB) nor JupyterLab's stylesheet inlined
    assert (site / "assets" / "plotly.min.js").stat().st_size > 1_000_000


class _Flaky(kp.WarmKernel):
    """A kernel whose first start fails the way a port collision does."""

    failures = 1

    def _launch(self) -> None:
        if _Flaky.failures:
            _Flaky.failures -= 1
            raise OSError("[Errno 98] Address already in use")
        super()._launch()


def test_a_failure_is_retried_once_and_never_stops_the_others(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kp, "WarmKernel", _Flaky)
    calls: dict[str, int] = {}

    def run(item: str) -> str:
        calls[item] = calls.get(item, 0) + 1
        kp.current_kernel().run_code("x = 1")
        if item == "broken":
            raise ReportError(f"{item}: the notebook failed in cell 3: ValueError: broken on purpose")
        return item

    pool = kp.KernelPool(1, cwd=tmp_path)
    outcomes = {o.item: o for o in pool.map(run, ["first", "broken", "last"])}
    assert outcomes["first"].ok and outcomes["first"].attempts == 2  # the kernel start failed once
    assert outcomes["last"].ok and outcomes["last"].attempts == 1
    broken = outcomes["broken"]
    assert not broken.ok and broken.attempts == 2 and calls["broken"] == 2
    assert broken.error == "broken: the notebook failed in cell 3: ValueError: broken on purpose"
    assert pool.stats.start_failures == 1 and pool.stats.starts == 1  # a failed page keeps its warm kernel


def test_an_interrupt_stops_the_pool(tmp_path: Path) -> None:
    def run(item: int) -> int:
        if item == 1:
            raise KeyboardInterrupt
        return item

    with pytest.raises(KeyboardInterrupt):
        kp.KernelPool(1, cwd=tmp_path).map(run, [0, 1, 2])
    assert not [t for t in threading.enumerate() if t.name.startswith("kernel-pool-")]


def test_a_kernel_that_dies_is_replaced_and_the_page_retried(tmp_path: Path) -> None:
    notebook = tmp_path / "dies.ipynb"
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("die: bool = False  # end the kernel's process")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("import os\nif die:\n    os._exit(1)\nprint('alive')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebook)

    def run(die: bool) -> str:
        out = notebook_runner.run_notebook(notebook, {"die": die}, tmp_path / f"page-{die}.html", 60, engine=ENGINE_NAME)
        return out.read_text(encoding="utf-8")

    pool = kp.KernelPool(1, cwd=tmp_path)
    outcomes = pool.map(run, [True, False])
    dead, alive = sorted(outcomes, key=lambda o: not o.item)
    assert not dead.ok and dead.attempts == 2 and "\n" not in dead.error
    assert alive.ok and "alive" in alive.result
    assert pool.stats.starts == 3  # the first kernel, its replacement after the first death, one after the retry's


def test_kernels_that_never_start_do_not_hold_up_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: kp.WarmKernel) -> None:
        raise OSError("[Errno 98] Address already in use")

    monkeypatch.setattr(kp.WarmKernel, "_launch", refuse)
    pool = kp.KernelPool(1, cwd=tmp_path)
    outcomes = pool.map(lambda item: item, range(10))
    assert not any(o.ok for o in outcomes) and len(outcomes) == 10
    assert pool.stats.start_failures == kp.MAX_FAILED_STARTS  # then the other tasks are not tried
    assert "could not start: OSError: [Errno 98] Address already in use" in outcomes[0].error
    assert outcomes[-1].error.startswith(f"not run: {kp.MAX_FAILED_STARTS} kernel starts failed in a row (")
