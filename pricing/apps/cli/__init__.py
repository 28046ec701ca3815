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

# Each command and the module that registers it, in the order data flows. `pricing COMMAND ...` imports
# only its module (the others' imports would be wasted on it); the help and unknown commands build them all.
COMMAND_MODULES = {
    "catalogs": "pricing.apps.cli.core",
    "schema": "pricing.apps.cli.core",
    "quote": "pricing.apps.cli.core",
    "break-even": "pricing.apps.cli.core",
    "commitment": "pricing.apps.cli.commitment",  # the level to buy, against every other plan
    "bill": "pricing.apps.cli.billing",
    "balance": "pricing.apps.cli.billing",
    "sample-data": "pricing.apps.cli.metering",
    "ingest": "pricing.apps.cli.metering",
    "meter": "pricing.apps.cli.metering",
    "customers": "pricing.apps.cli.customers",  # import, list, show, event
    "invoices": "pricing.apps.cli.invoices",  # run, list, show, export, credit
    "report": "pricing.apps.cli.reports",  # monthly, tenants, quote
    "backtest": "pricing.apps.cli.backtest",  # a price change on the store's history
    "policies": "pricing.apps.cli.policies",  # a month re-billed under other billing conventions
    "catalog": "pricing.apps.cli.interop",  # import/export (Stripe, Lago)
    "reconcile": "pricing.apps.cli.interop",
    "demo": "pricing.apps.cli.demo",  # the main job on generated sample data
    "app": "pricing.apps.cli.app",  # Voila
}


DESCRIPTION = ("Exact pricing of identity-vendor catalogs, from raw usage events to invoices and reports."
               " Run `pricing COMMAND --help` for a command's options.")
DISTRIBUTION = "pricing"  # the installed distribution whose version --version prints


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus a message; the contract is one line and status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]  # raises, as the base class's exits
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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``command``) the top level with that one command's module registered."""
    parser = _Parser(prog="pricing", description=DESCRIPTION)
    parser.add_argument("--version", action=_VersionAction, help="print the installed version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                       help="run `pricing COMMAND --help` for its options")
    subparsers.required = True
    wanted = [COMMAND_MODULES[command]] if command in COMMAND_MODULES else COMMAND_MODULES.values()
    for module_name in dict.fromkeys(wanted):
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
        arguments = sys.argv[1:] if argv is None else list(argv)
        args = build_parser(arguments[0] if arguments else None).parse_args(arguments)
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
