"""``pricing app tuning``: the price-tuning view opened on the store's metered history, not a synthetic one.

The command checks the store like ``pricing backtest`` does, then serves a copy of
notebooks/price_tuning.ipynb with the store, catalog and months injected as Papermill
parameters. These tests read that copy and execute it with Papermill.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill
import pytest
from _report_fixtures import MONTH, PREVIOUS, ReportStore, report_store  # noqa: F401

from pricing.analysis.backtest import backtest, history_from_store
from pricing.analysis.candidates import apply_overrides
from pricing.engine.catalog import load_catalog
from pricing.apps.cli import main
from pricing.apps.cli.app import tuning_notebook, tuning_parameters
from pricing.engine.formatting import format_money
from pricing.metering.store import Store


@pytest.fixture(autouse=True)
def _temporary_files_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # --print-command keeps its injected notebook for the printed command: keep it out of /tmp
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))


def printed_notebook(capsys: pytest.CaptureFixture[str], *argv: str) -> Path:
    assert main(["app", "tuning", *argv, "--print-command"]) == 0
    command = capsys.readouterr().out.split()
    return Path(next(part for part in command if part.endswith("price_tuning.ipynb")))


def injected(notebook: Path) -> dict[str, object]:
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    values: dict[str, object] = {}
    exec(cell.source, {}, values)  # the cell is plain assignments of literals
    return values


def test_tuning_app_serves_the_notebook_with_the_store_injected(report_store: ReportStore,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    notebook = printed_notebook(capsys, "--store", str(report_store.path), "--catalog", "quasr",
                                "--months", MONTH, "--set", "payg.maa.unit_price=0.07")
    assert injected(notebook) == {"catalog": "quasr", "store": str(report_store.path.resolve()),
                                  "store_months": MONTH, "overrides": '{"payg.maa.unit_price": "0.07"}'}
    # every month by default
    notebook = printed_notebook(capsys, "--store", str(report_store.path), "--catalog", "quasr")
    assert injected(notebook)["store_months"] == f"{PREVIOUS},{MONTH}"


def test_the_tuning_notebook_backtests_the_stores_customers(report_store: ReportStore, tmp_path: Path) -> None:
    """The page's numbers are the store's: its quasr customers (c0005...), its months, its revenue."""
    parameters = tuning_parameters(report_store.path, "quasr", None, ["payg.maa.unit_price=0.07"])
    notebook = tuning_notebook(parameters, tmp_path)
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(notebook), str(out), kernel_name="python3", cwd=str(tmp_path),
                               execution_timeout=180, progress_bar=False)
    text = json.dumps([c.get("outputs") for c in nbformat.read(out, as_version=4).cells])
    quasr = load_catalog("quasr")
    with Store(report_store.path, read_only=True) as store:
        history = history_from_store(store, "quasr", [PREVIOUS, MONTH])
    expected = backtest(quasr, apply_overrides(quasr, {"payg.maa.unit_price": "0.07"}), history).totals()
    assert set(history["customer_id"]) == {"c0005", "c0006", "c0007", "c0008", "c0009", "c0010", "c0012"}
    assert f"7 customers, 2 month(s) ({PREVIOUS} to {MONTH}): revenue today " \
           f"{format_money(expected['current_minor'], 'EUR', 2)}" in text
    assert "c0005" in text and "C000000" not in text  # store ids, not the synthetic history's


@pytest.mark.parametrize("argv, message", [
    (["--store", "missing.duckdb"], "missing.duckdb: no such store"),
    (["--months", "2031-01", "--catalog", "quasr"], "--months '2031-01': the store has no events in 2031-01"),
    ([], "the store's customers use catalogs license_jp, logto, prepaid_auth, quasr: choose one with --catalog"),
    (["--catalog", "quasr", "--set", "payg.nope.unit_price=1"], "has no price parameter 'payg.nope.unit_price'"),
])
def test_bad_tuning_input_is_one_line_and_status_2(report_store: ReportStore, capsys: pytest.CaptureFixture[str],
                                                   argv: list[str], message: str) -> None:
    if "--store" not in argv:
        argv = ["--store", str(report_store.path), *argv]
    assert main(["app", "tuning", *argv, "--print-command"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_tuning_options_are_refused_for_the_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "--months", "3", "--print-command"]) == 2
    assert "--months applies to `pricing app tuning` only" in capsys.readouterr().err
