"""The ``--store``/``--json`` options of commands that work on a store, and opening one that exists."""

from __future__ import annotations

import argparse
from pathlib import Path

from pricing.metering.store import DEFAULT_STORE, Store


def add_store_options(p: argparse.ArgumentParser, json_help: str = "print JSON") -> None:
    p.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"workbook store (default {DEFAULT_STORE})")
    p.add_argument("--json", action="store_true", help=json_help)


def existing_store(path: Path, read_only: bool) -> Store:
    """A store that must exist: a missing or non-DuckDB path is one line, never an empty new store."""
    return Store(path, read_only=read_only, create=False)
