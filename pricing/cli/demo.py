"""``pricing demo``: the main job on bundled data.

Until the monthly reports exist this compares every bundled catalog's plans
for the catalog's sample usage.
"""

from __future__ import annotations

import argparse

from ..catalog import iter_bundled
from ..comparison import compare
from .core import render_comparison


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("demo", help="run the main job on bundled sample data")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    for catalog in iter_bundled():
        print(render_comparison(compare(catalog, catalog.sample_usage)))
        print("\n" + "=" * 100 + "\n")
    return 0
