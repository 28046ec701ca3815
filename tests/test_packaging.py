"""How the project installs: dependency bounds that are the tested versions, the wheel's package list,
the base install covering every import of the package, and where the notebooks are found."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pricing.reporting import notebook_runner

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
BASE = [Requirement(text) for text in PROJECT["project"]["dependencies"]]
EXTRAS = {name: [Requirement(text) for text in texts]
          for name, texts in PROJECT["project"]["optional-dependencies"].items()}
EVERY_REQUIREMENT = BASE + [r for group in EXTRAS.values() for r in group]


def lower_bound(requirement: Requirement) -> str:
    """The version of the one ``>=`` specifier every requirement must have (no caps, no pins)."""
    specifiers = list(requirement.specifier)
    assert [s.operator for s in specifiers] == [">="], f"{requirement}: want exactly one '>=' bound"
    return specifiers[0].version


def constraint_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, line in enumerate((ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, separator, version = line.partition("==")
        assert separator, f"constraints.txt line {number}: {line!r} is not 'name==version'"
        assert canonicalize_name(name) not in pins, f"constraints.txt line {number}: {name} pinned twice"
        pins[canonicalize_name(name)] = version.strip()
    return pins


def test_every_lower_bound_is_the_pinned_version_ci_installs() -> None:
    bounds: dict[str, str] = {canonicalize_name(r.name): lower_bound(r) for r in EVERY_REQUIREMENT}
    pins = constraint_pins()
    # e.g. pyproject's "pandas>=3.1.1" must meet "pandas==3.1.1" in constraints.txt, and nothing else is pinned
    differing = {name: (bounds.get(name), pins.get(name)) for name in bounds.keys() | pins.keys()
                 if bounds.get(name) != pins.get(name)}
    assert not differing, f"(pyproject bound, constraints.txt pin) differ: {differing}"
    assert bounds["pandas"] == "3.1.1"  # pytest's filterwarnings names Pandas4Warning, which pandas 2 lacks


def test_the_environment_running_these_tests_has_exactly_the_lower_bounds() -> None:
    # scripts/setup.sh installs with -c constraints.txt, so every installed direct dependency is at its bound;
    # an extra that is not installed here (a partial setup) is left out rather than failed.
    installed: dict[str, str] = {}
    for name in constraint_pins():
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    assert installed, "no direct dependency found installed"
    pins = constraint_pins()
    wrong = {name: (version, pins[name]) for name, version in installed.items() if version != pins[name]}
    assert not wrong, f"(installed, pinned) differ; run bash scripts/setup.sh --dev: {wrong}"


def test_no_dependency_is_declared_twice_and_every_extra_is_named() -> None:
    names = [canonicalize_name(r.name) for r in EVERY_REQUIREMENT]
    assert len(names) == len(set(names))
    assert set(EXTRAS) >= {"dev", "spark", "bench"}
    assert {canonicalize_name(r.name) for r in EXTRAS["bench"]} == {"psutil"}
    assert "psutil" not in {canonicalize_name(r.name) for r in BASE}
    assert "pyspark" not in {canonicalize_name(r.name) for r in BASE}


def third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party module -> the package files importing it (at any depth, lazy imports too)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "pricing").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".", 1)[0]
                if top != "pricing" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    return found


def test_every_module_the_package_imports_comes_from_a_base_dependency() -> None:
    # The base install must run everything in pricing/: an import served only by an extra (psutil, pyspark)
    # or by a dependency's dependency would break a `pip install pricing` user.
    base = {canonicalize_name(r.name) for r in BASE}
    providers = importlib.metadata.packages_distributions()
    undeclared = {module: sorted(files) for module, files in third_party_imports().items()
                  if not base & {canonicalize_name(d) for d in providers.get(module, [])}}
    assert not undeclared, f"imported but not a base dependency: {undeclared}"
    assert "psutil" not in third_party_imports()


def test_the_wheel_lists_every_package_of_the_tree_and_the_notebooks() -> None:
    tree = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "pricing").rglob("__init__.py")}
    listed = set(PROJECT["tool"]["setuptools"]["packages"])
    data_only = {"pricing.notebooks", "pricing.reporting.templates"}  # folders of package data, no __init__.py
    assert listed == tree | data_only, "add the new sub-package to [tool.setuptools] packages"
    assert PROJECT["tool"]["setuptools"]["package-dir"] == {"pricing.notebooks": "notebooks"}


def test_notebooks_come_from_the_environment_variable_first(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setenv("PRICING_NOTEBOOKS", str(tmp_path))
    assert notebook_runner.notebooks_dir() == tmp_path


def test_a_checkout_uses_its_own_notebooks_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRICING_NOTEBOOKS", raising=False)
    assert notebook_runner.notebooks_dir() == ROOT / "notebooks"
    assert (notebook_runner.notebooks_dir() / "monthly_finance.ipynb").is_file()


def fake_install(root: Path, *, checkout: bool) -> Path:
    """A ``pricing`` package under ``root`` with both notebook folders; a checkout also has pyproject.toml."""
    module = root / "pricing" / "reporting" / "notebook_runner.py"
    module.parent.mkdir(parents=True)
    module.write_text("", encoding="utf-8")
    (root / "pricing" / "notebooks").mkdir()
    (root / "notebooks").mkdir()
    if checkout:
        (root / "pyproject.toml").write_text("", encoding="utf-8")
    return module


def test_an_installed_package_uses_its_packaged_notebooks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PRICING_NOTEBOOKS", raising=False)
    # site-packages may hold an unrelated notebooks/ folder: without pyproject.toml beside it, it is ignored
    monkeypatch.setattr(notebook_runner, "__file__", str(fake_install(tmp_path / "site", checkout=False)))
    assert notebook_runner.notebooks_dir() == tmp_path / "site" / "pricing" / "notebooks"
    monkeypatch.setattr(notebook_runner, "__file__", str(fake_install(tmp_path / "repo", checkout=True)))
    assert notebook_runner.notebooks_dir() == tmp_path / "repo" / "notebooks"
