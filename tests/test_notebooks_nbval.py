"""Every notebook in notebooks/ passes ``pytest --nbval-lax``, as a user would open it: default parameters.

nbval runs each notebook with its kernel's working directory at the notebook's folder, so
the notebooks are copied to a temporary folder beside a small billed sample store at their
default path (``data/workbook.duckdb``, months 2026-02 and 2026-03, customer c0001 with
tenant c0001-prod): the notebooks that read a store get it, and nothing they write lands in
the repository. ``--nbval-lax`` checks that every cell runs without error; outputs are not
compared (they are cleared in the repository, and plotly's div ids are random).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from pricing.billing.billing_run import bill_month
from pricing.metering.sample_data import generate_book, write_events
from pricing.metering.store import DEFAULT_STORE, Store

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NBVAL_TIMEOUT = 900  # seconds for all notebooks together; each cell has nbval's own timeout below


@pytest.fixture(scope="module")
def notebook_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the notebooks, with the sample store where their defaults look for it."""
    folder = tmp_path_factory.mktemp("nbval")
    for notebook in NOTEBOOKS:
        shutil.copy(notebook, folder / notebook.name)
    book = generate_book(12, 2, 7)
    paths = write_events(book, folder / "events")
    store_path = folder / DEFAULT_STORE
    store_path.parent.mkdir(parents=True)
    with Store(store_path) as store:
        store.write_book(book)
        store.ingest(paths)
        for month in book.months:
            store.meter(month)
        for month in book.months:
            bill_month(store, month)
    return folder


def test_there_are_notebooks_to_check() -> None:
    assert {p.stem for p in NOTEBOOKS} >= {"monthly_finance", "tenant_usage", "plan_comparison", "price_tuning",
                                           "sales_quote"}


@pytest.mark.slow
def test_every_notebook_runs_under_nbval_lax(notebook_folder: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=300",
         "-p", "no:cacheprovider", "-q", "--rootdir", str(notebook_folder),
         *[str(notebook_folder / p.name) for p in NOTEBOOKS]],
        cwd=notebook_folder, capture_output=True, text=True, timeout=NBVAL_TIMEOUT)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # nbval makes one test item of each code cell: all of them ran and passed
    cells = sum(c.cell_type == "code" for p in NOTEBOOKS for c in nbformat.read(p, as_version=4).cells)
    assert summary.startswith(f"{cells} passed"), summary
