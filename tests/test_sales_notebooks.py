"""The three sales and product notebooks execute end to end with Papermill on small data."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def execute(name: str, parameters: dict, tmp_path: Path) -> nbformat.NotebookNode:
    source = NOTEBOOKS / f"{name}.ipynb"
    declared = papermill.inspect_notebook(str(source))
    assert set(parameters) <= set(declared), f"unknown parameters {set(parameters) - set(declared)}"
    out = tmp_path / f"{name}.out.ipynb"
    papermill.execute_notebook(str(source), str(out), parameters=parameters, kernel_name="python3",
                               cwd=str(tmp_path), execution_timeout=120, progress_bar=False)
    return nbformat.read(out, as_version=4)


def outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(v) for v in output.get("data", {}).values())
    return "\n".join(parts)


@pytest.mark.parametrize("name", ["plan_comparison", "price_tuning", "sales_quote"])
def test_committed_with_outputs_cleared_and_a_parameters_cell(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")
    assert sum("parameters" in cell.metadata.get("tags", []) for cell in nb.cells) == 1


def test_plan_comparison_shows_the_app(tmp_path):
    nb = execute("plan_comparison", {"catalog": "logto", "usage": json.dumps({"tokens": 500000}),
                                     "term_months": 12}, tmp_path)
    assert "application/vnd.jupyter.widget-view+json" in json.dumps([c.get("outputs") for c in nb.cells])


def test_price_tuning_backtests_and_exports(tmp_path):
    from pricing.reporting.notebook_runner import notebook_to_html

    nb = execute("price_tuning", {"customers": 150, "months": 3, "export": "deltas.csv"}, tmp_path)
    text = outputs_text(nb)
    assert "revenue today EUR" in text and "payg.maa.unit_price" in text
    assert "<th>Revenue today</th>" in text and "delta_minor" not in text and "NaN" not in text
    exported = (tmp_path / "deltas.csv").read_text().splitlines()
    assert exported[0].startswith("Customer,Name,Plan,Months,Bill today (EUR),Bill with candidate (EUR)")
    assert len(exported) == 151
    # the three charts survive the HTML export (nbconvert drops plotly's JSON, keeps the HTML twin)
    page = notebook_to_html(nb, "Price tuning")
    for div in ("revenue", "distribution", "tornado"):
        assert f'id="{div}"' in page
    assert "not able to be represented" not in page


def test_sales_quote_writes_the_document(tmp_path):
    nb = execute("sales_quote", {"prospect": "Fjord <Labs>", "out_dir": "quotes", "term_months": 24,
                                 "discount_percent": "5", "tax_percent": "21",
                                 "seller": str(ROOT / "examples" / "seller.yaml")}, tmp_path)
    text = outputs_text(nb)
    assert "Fjord &lt;Labs&gt;" in text and "valid until" in text
    assert "Quasr Identity B.V." in text and "Tax 21%" in text and "QUO-" in text
    assert "seed:" not in text and "Gravitate" not in text
    assert len(list((tmp_path / "quotes").glob("quote-fjord-labs-*.html"))) == 1
