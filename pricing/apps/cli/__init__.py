"""The ``pricing`` command line.

Each subcommand group lives in its own module with a ``register(subparsers)``
function. Bad input raises :class:`pricing.errors.PricingError`; ``main``
prints its one line to stderr and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence

from pricing.errors import PricingError

# Modules in the order data flows; each adds its subcommands.
COMMAND_MODULES = (
    "pricing.apps.cli.core",  # catalogs, schema, quote, compare
    "pricing.apps.cli.commitment",  # commitment: the level to buy, against every other plan
    "pricing.apps.cli.billing",  # bill, balance
    "pricing.apps.cli.metering",  # sample-data, ingest, meter
    "pricing.apps.cli.customers",  # customers import, list, show, event
    "pricing.apps.cli.invoices",  # invoices run, list, show, credit
    "pricing.apps.cli.reports",  # report
    "pricing.apps.cli.backtest",  # backtest: a price change on the store's history
    "pricing.apps.cli.policies",  # policies: a month re-billed under other billing conventions
    "pricing.apps.cli.interop",  # catalog import/export (Stripe, Lago), reconcile
    "pricing.apps.cli.demo",  # demo: the main job on bundled sample data
    "pricing.apps.cli.app",  # app (Voila)
)


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus a message; the contract is one line and status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]  # raises, as the base class's exits
        raise PricingError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pricing", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _terminate(signum: int, frame: object) -> None:
    # NOTE: a stopped command (kill, a scheduler's timeout) cleans up as on Ctrl-C: report workers and
    # their kernels are shut down and no half-written file is left
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        args = build_parser().parse_args(argv)
        status = args.handler(args)
    except PricingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    except BrokenPipeError:
        # output piped into `head` and closed early: not an error of ours
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
