"""ruff and mypy are clean on pricing/: both run from the repository root with its pyproject.toml settings.

Outside CI a missing tool skips its test (the dev extra installs both); with CI=true it must run.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _run_tool(module: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{module} is not installed, and CI=true requires the static checks (pip install -e '.[dev]')")
        pytest.skip(f"{module} is not installed (pip install -e '.[dev]' installs it)")
    return subprocess.run(
        [sys.executable, "-m", module, *arguments], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_reports_nothing_on_the_package() -> None:
    result = _run_tool("ruff", "check", "pricing")
    assert result.returncode == 0, f"ruff check pricing failed:\n{result.stdout}{result.stderr}"


def test_mypy_reports_nothing_on_the_package() -> None:
    result = _run_tool("mypy", "pricing")
    assert result.returncode == 0, f"mypy pricing failed:\n{result.stdout}{result.stderr}"
