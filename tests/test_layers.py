"""The package's layers, enforced by reading every module's imports (no module is imported here).

Data flows one way: each layer may import its own layer and the ones before it, never a later one::

    cross-cutting modules at the top of pricing/ (errors, yaml_files, spreadsheet_text, files, _lazy)
    < engine < metering < billing < analysis < interop, reporting < apps

``interop`` and ``reporting`` stand side by side and do not import each other, with one exception:
``interop.reconcile_report`` writes its page with reporting's page helpers. The package's own
``pricing/__init__.py`` names entry points of every layer for users and is not a layer.

A module also never imports another module's private (``_underscored``) names: what a module shares
is public, what it keeps to itself is its own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pricing"
RANK = {"engine": 1, "metering": 2, "billing": 3, "analysis": 4, "interop": 5, "reporting": 5, "apps": 6}
SIDE_BY_SIDE_EXCEPTIONS = {("pricing.interop.reconcile_report", "reporting")}
# No module imports another module's private names; there are no exceptions left, and none may be added.
PRIVATE_IMPORT_EXCEPTIONS: set[tuple[str, str, str]] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    """``engine``, ``metering``... or ``cross-cutting`` for the modules at the top of the package."""
    if module == "pricing.__main__":
        return "apps"  # `python -m pricing` is the command line
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else "cross-cutting"


def _rank(layer: str) -> int:
    return RANK.get(layer, 0)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    return _imports_in(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")


def _imports_in(text: str, module: str, is_package: bool) -> list[tuple[str, list[str], int]]:
    """``(imported module, names taken from it, line)`` for every import of pricing in ``text``, at any depth
    (inside functions and ``if TYPE_CHECKING:`` too); relative imports resolved against ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names if alias.name.startswith("pricing")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                target = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "pricing" or target.startswith("pricing."):
                found.append((target, [alias.name for alias in node.names], node.lineno))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "bundled" not in p.parts)


def test_every_module_is_read():
    names = {_module_name(p) for p in MODULES}
    # one module of each layer and of the cross-cutting top, so a broken walk cannot pass silently
    assert {"pricing.errors", "pricing.engine.money", "pricing.metering.store", "pricing.billing.billing_run",
            "pricing.analysis.comparison", "pricing.interop.stripe", "pricing.reporting.charts",
            "pricing.apps.plan_comparison"} <= names


def test_layer_names_follow_the_tree():
    assert _layer("pricing.errors") == "cross-cutting"
    assert _layer("pricing.engine") == "engine"
    assert _layer("pricing.engine.charges.graduated") == "engine"
    assert _layer("pricing.apps.cli.core") == "apps"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_its_own_layer_or_earlier_ones(path):
    module = _module_name(path)
    if module == "pricing":
        return  # the package's facade names every layer's entry points
    layer = _layer(module)
    wrong = []
    for target, _, line in _imports(path):
        if target == "pricing":
            wrong.append(f"line {line}: imports the package facade `pricing`; import the module itself")
            continue
        other = _layer(target)
        if _rank(other) > _rank(layer):
            wrong.append(f"line {line}: {layer} imports {target} ({other} comes later)")
        elif other != layer and _rank(other) == _rank(layer) and (module, other) not in SIDE_BY_SIDE_EXCEPTIONS:
            wrong.append(f"line {line}: {layer} imports {target} ({other} stands beside it)")
    assert not wrong, f"{module}: " + "; ".join(wrong)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_another_modules_private_names(path):
    module = _module_name(path)
    taken = [(target, name, line) for target, names, line in _imports(path) for name in names
             if name.startswith("_") and not name.startswith("__") and target != module
             and (module, target, name) not in PRIVATE_IMPORT_EXCEPTIONS]
    assert not taken, f"{module} imports private names: {taken}"


def test_the_walk_sees_imports_in_functions_and_relative_ones():
    """Else the tests above could pass on a module that breaks the rules."""
    text = "def f():\n    from pricing.apps.cli import main\n    from ..reporting.charts import _hidden\n"
    assert _imports_in(text, "pricing.engine.money", False) == [
        ("pricing.apps.cli", ["main"], 2), ("pricing.reporting.charts", ["_hidden"], 3)]


LAYER_PACKAGES = ["pricing", "pricing.engine", "pricing.metering", "pricing.billing", "pricing.analysis",
                  "pricing.interop", "pricing.reporting", "pricing.apps"]


@pytest.mark.parametrize("package", LAYER_PACKAGES)
def test_each_layer_names_entry_points_that_exist_and_imports_nothing_until_used(package: str) -> None:
    # a fresh interpreter: importing the package alone loads none of its modules (nor pandas);
    # each name in __all__ then resolves to something defined in the package's modules
    code = (
        "import importlib, sys\n"
        f"package = importlib.import_module({package!r})\n"
        f"loaded = sorted(m for m in sys.modules if m.startswith({package + '.'!r}) and m != 'pricing._lazy'"
        " and not m.startswith('pricing.errors'))\n"
        "assert not loaded, loaded\n"
        "assert 'pandas' not in sys.modules\n"
        "assert package.__all__, 'no entry points named'\n"
        "missing = [n for n in package.__all__ if getattr(package, n, None) is None]\n"
        "assert not missing, missing\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
