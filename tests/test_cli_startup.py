"""A command line that answers at once: what ``pricing --help`` and a quote import, ``--version``,
``python -m pricing``. Speed itself is measured in ``benchmarks/bench_cli_startup.py``, not here."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pricing.apps.cli import COMMAND_MODULES, build_parser

ROOT = Path(__file__).resolve().parents[1]

# Libraries only some commands need: none may be imported to print the help or price a quote.
HEAVY = ("pandas", "pyarrow", "ibis", "duckdb", "plotly", "papermill", "nbformat", "ipywidgets", "jinja2", "openpyxl")

# Runs the CLI in a fresh interpreter and prints, as JSON, the heavy top-level packages it imported.
PROBE = """
import contextlib, io, json, sys
from pricing.apps.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        status = main(sys.argv[1:])
    except SystemExit as stop:  # --help exits through argparse
        status = stop.code
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(%r))
print(json.dumps({"status": status, "heavy": heavy, "out": out.getvalue()}))
""" % (HEAVY,)


def probe(*argv: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True,
                          cwd=ROOT)
    return json.loads(done.stdout)


def test_help_imports_no_heavy_library() -> None:
    result = probe("--help")
    assert result["status"] == 0
    assert "quote" in str(result["out"]) and "report" in str(result["out"])  # the whole parser was built
    assert result["heavy"] == []


def test_help_does_not_even_load_the_engine() -> None:
    # the parser is the standard library only: numpy and pydantic (0.15 s) wait for a command that prices
    done = subprocess.run([sys.executable, "-c", "import sys; from pricing.apps.cli import build_parser;"
                           " build_parser(); print(sorted({m.split('.')[0] for m in sys.modules}"
                           " & {'numpy', 'pydantic', 'yaml'}), sorted(m for m in sys.modules"
                           " if m.startswith('pricing.engine')))"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "[] []"


def test_a_quote_imports_no_heavy_library() -> None:
    result = probe("quote", "quasr", "--usage", "maa=50")
    assert result["status"] == 0
    # payg: 50 of 100 MAA included free, 0 x 0.05 = 0.00; startup: its fee 1 x 49.00 = 49.00 (50 of 2,500 MAA free)
    lines = str(result["out"]).splitlines()
    assert any(line.split() == ["*", "payg", "0.00"] for line in lines)
    assert any(line.split() == ["startup", "49.00"] for line in lines)
    assert result["heavy"] == []


def test_the_probe_sees_a_heavy_import() -> None:
    # guards the probe: a command that does read a store imports DuckDB, and the probe must say so
    result = probe("customers", "list", "--store", str(ROOT / "no-such-store.duckdb"))
    assert result["status"] == 2
    assert "duckdb" in result["heavy"]


def test_version_is_the_project_version() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    done = subprocess.run([sys.executable, "-m", "pricing", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0
    assert done.stdout == f"pricing {declared}\n"


def test_python_dash_m_pricing_runs_the_command_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pricing", "quote", "quasr", "--usage", "maa=50", "--json"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["cheapest"] == "payg"
    totals = {quote["plan"]: quote["total"] for quote in data["quotes"]}
    assert totals["startup"] == "49.00"


@pytest.mark.parametrize("argv", [["quote", "quasr", "--usage", "maa=-1"], ["no-such-command"]])
def test_python_dash_m_pricing_refuses_in_one_line(argv: list[str], tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pricing", *argv], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: ")


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(found[0].choices)


def test_the_command_table_names_every_command_and_its_module() -> None:
    # the table lets `pricing COMMAND` import one module: a command missing from it, or listed under
    # the wrong module, would be unknown when run on its own
    assert _commands(build_parser()) == set(COMMAND_MODULES)
    for command, module in COMMAND_MODULES.items():
        alone = _commands(build_parser(command))
        assert command in alone
        assert alone == {c for c, m in COMMAND_MODULES.items() if m == module}


def test_a_command_imports_only_its_own_module() -> None:
    listing = "sorted(m for m in sys.modules if m.startswith('pricing.apps.cli.'))"
    done = subprocess.run([sys.executable, "-c", "import contextlib, io, sys; from pricing.apps.cli import main\n"
                           "with contextlib.redirect_stdout(io.StringIO()): main(['catalogs'])\n"
                           f"print({listing})"], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == str(["pricing.apps.cli.core", "pricing.apps.cli.options"])
