"""Reading YAML inputs (catalogs, timelines, ledgers) with errors that name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import PricingError


def parse_yaml(text: str, origin: str, error: type[PricingError]) -> Any:
    """``yaml.safe_load`` whose failure is one line: ``origin: line N: not valid YAML: problem``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{origin}:{where} not valid YAML: {problem}") from None


def read_yaml(path: Path, error: type[PricingError], missing: str = "no such file") -> Any:
    """Read and parse a YAML file; a missing or unreadable file is one line too."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    return parse_yaml(text, str(path), error)
