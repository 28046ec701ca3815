"""Shared test helpers: small inline catalogs, and the browser/Spark gates."""

from __future__ import annotations

import os
import shutil
import textwrap

import pytest

from pricing.engine.catalog import Catalog, read_catalog_text

IN_CI = os.environ.get("CI") == "true"


def make_catalog(charges_yaml: str, *, settings: str = "", currency: str = "EUR",
                 metrics: str = "  q: {name: Quantity}\n", plan_extra: str = "") -> Catalog:
    """A one-plan catalog ``t`` with plan ``p`` whose charges are given as YAML."""
    text = (
        "id: t\nname: Test\nversion: '1'\n"
        f"currency: {currency}\n"
        + (f"settings:\n{textwrap.indent(textwrap.dedent(settings), '  ')}" if settings else "")
        + "metrics:\n" + metrics
        + "plans:\n  p:\n    name: P\n"
        + textwrap.indent(textwrap.dedent(plan_extra), "    ")
        + "    charges:\n"
        + textwrap.indent(textwrap.dedent(charges_yaml), "      ")
    )
    return read_catalog_text(text, "<test>")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests need Debian's chromium; outside CI they skip when it is missing.

    In CI (CI=true) nothing skips: a missing browser must fail the run.
    """
    if IN_CI or shutil.which("chromium") or os.path.exists("/usr/bin/chromium"):
        return
    skip = pytest.mark.skip(reason="/usr/bin/chromium not installed (scripts/setup.sh installs it as root)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)
