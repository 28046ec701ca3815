"""The ``pricing`` command line.

Each subcommand group lives in its own module with a ``register(subparsers)``
function. Bad input raises :class:`pricing.errors.PricingError`; ``main``
prints its one line to stderr and exits with status 2, never a traceback.
Building the parser imports only the standard library and the command modules'
light tops: every command imports what it needs (pandas, DuckDB, Papermill...)
when it runs (``tests/test_cli_startup.py``, ``benchmarks/bench_cli_startup.py``).
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
    "pricing.apps.cli.core",  # catalogs, schema, quote, break-even
    "pricing.apps.cli.commitment",  # commitment: the level to buy, against every other plan
    "pricing.apps.cli.billing",  # bill, balance
    "pricing.apps.cli.metering",  # sample-data, ingest, meter
    "pricing.apps.cli.customers",  # customers import, list, show, event
    "pricing.apps.cli.invoices",  # invoices run, list, show, credit
    "pricing.apps.cli.reports",  # report
    "pricing.apps.cli.backtest",  # backtest: a price change on the store's history
    "pricing.apps.cli.policies",  # policies: a month re-billed under other billing conventions
    "pricing.apps.cli.interop",  # catalog import/export (Stripe, Lago), reconcile
    "pricing.apps.cli.demo",  # demo: the main job on generated sample data
    "pricing.apps.cli.app",  # app (Voila)
)


DESCRIPTION = ("Exact pricing of identity-vendor catalogs, from raw usage events to invoices and reports."
               " Run `pricing COMMAND --help` for a command's options.")
DISTRIBUTION = "pricing"  # the installed distribution whose version --version prints


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus a message; the contract is one line and status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise PricingError(f"{self.prog}: {message}")


class _VersionAction(argparse.Action):
    """``--version``: the installed distribution's version, looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        print(f"pricing {installed_version()}")
        parser.exit()


def installed_version() -> str:
    """The version pip installed (``importlib.metadata``); a checkout that was never installed has none."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        raise PricingError(f"the {DISTRIBUTION!r} distribution is not installed, so it has no version;"
                           " install it with `pip install -e .`") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pricing", description=DESCRIPTION)
    parser.add_argument("--version", action=_VersionAction, help="print the installed version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                       help="run `pricing COMMAND --help` for its options")
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
