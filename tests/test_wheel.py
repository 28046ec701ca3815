"""The wheel installs like a library: built from the sources alone, installed in a fresh virtualenv,
it runs ``pricing demo`` from an empty directory with the notebooks it carries.

Dependencies are not downloaded again: the fresh virtualenv sees this environment's site-packages
through a ``.pth`` line, placed after its own site-packages (and its Jupyter data through ``JUPYTER_PATH``),
so ``pricing`` itself comes from the wheel (asserted: its ``__file__`` is inside the new virtualenv) and
everything else from here. The build runs
in pip's isolated build environment, so it checks ``[build-system] requires`` too (it needs PyPI or
pip's cache for setuptools).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# What a build needs from the repository; anything else the wheel needed would be missing here.
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "pricing", "notebooks")
BUILD_TIMEOUT_SECONDS = 300
DEMO_TIMEOUT_SECONDS = 300


def run(command: list[str], cwd: Path, timeout: int, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the sources (a build in the checkout would leave build/ behind)."""
    sources = tmp_path_factory.mktemp("sources")
    for name in BUILD_INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, sources / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy2(source, sources / name)
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(sources)],
        cwd=sources, timeout=BUILD_TIMEOUT_SECONDS)
    (built,) = dist.glob("pricing-*.whl")
    return built


def test_the_wheel_carries_notebooks_templates_catalogs_and_the_licence(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert {"monthly_finance.ipynb", "tenant_usage.ipynb", "plan_comparison.ipynb",
            "price_tuning.ipynb", "sales_quote.ipynb"} <= set(notebooks)
    assert {f"pricing/notebooks/{name}" for name in notebooks} <= names
    catalogs = sorted(p.name for p in (ROOT / "pricing" / "catalogs").glob("*.yaml"))
    assert "quasr.yaml" in catalogs
    assert {f"pricing/catalogs/{name}" for name in catalogs} <= names
    templates = ROOT / "pricing" / "reporting" / "templates"
    shipped_templates = {p.relative_to(ROOT).as_posix() for p in templates.rglob("*") if p.is_file()
                         and "__pycache__" not in p.parts} if templates.is_dir() else set()
    assert shipped_templates <= names
    assert {"pricing/py.typed", "pricing-0.1.0.dist-info/licenses/LICENSE"} <= names

    metadata = zipfile.ZipFile(wheel).read("pricing-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    # psutil only with the bench extra, pyspark only with spark: a base install pulls neither itself
    assert [line for line in requires if "psutil" in line] == ['Requires-Dist: psutil>=7.2.2; extra == "bench"']
    assert [line for line in requires if "pyspark" in line] == ['Requires-Dist: pyspark>=4.3.0; extra == "spark"']


def test_the_installed_wheel_runs_the_demo_from_an_empty_directory(wheel: Path, tmp_path: Path) -> None:
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    site_packages = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             cwd=tmp_path, timeout=60).strip())
    # NOTE: a .pth line appends this environment's site-packages *after* the new one, and .pth files found
    # there are not processed, so the checkout's editable install stays invisible to the new environment.
    (site_packages / "dependencies_from_test_environment.pth").write_text(
        sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
        cwd=tmp_path, timeout=BUILD_TIMEOUT_SECONDS)

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in {"PRICING_NOTEBOOKS", "PYTHONPATH", "VIRTUAL_ENV"}}
    # the dependencies' data files (nbconvert's templates, the python3 kernel spec) stay in this environment
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    where = run([str(python), "-c", "import pricing; from pricing.reporting.notebook_runner import notebooks_dir; "
                 "print(pricing.__file__); print(notebooks_dir())"], cwd=empty, timeout=60, env=env).split("\n")
    assert Path(where[0]).is_relative_to(environment), f"pricing imported from {where[0]}, not from the wheel"
    assert Path(where[1]) == Path(where[0]).parent / "notebooks"  # the packaged copy, not the checkout's

    out = run([str(environment / "bin" / "pricing"), "demo", "--customers", "4", "--months", "2", "--jobs", "1",
               "--no-tenants"], cwd=empty, timeout=DEMO_TIMEOUT_SECONDS, env=env)
    index = Path(out.strip().splitlines()[-1])  # the demo's last line: reports/YYYY-MM/index.html
    assert index.is_relative_to(empty) and index.name == "index.html"
    month = index.parent
    assert month.parent == empty / "reports"
    for name in ("index.html", "monthly_finance.html", "invoices.xlsx"):
        assert (month / name).is_file() and (month / name).stat().st_size > 0, f"demo did not write {name}"
    assert "monthly_finance.html" in index.read_text(encoding="utf-8")  # the index links the finance report
    assert (empty / "data" / "workbook.duckdb").is_file()
