"""``pricing app``: the plan comparison, or price tuning on the store, as a web app.

    pricing app [comparison] [--port 8866] [--no-browser] [--print-command]
    pricing app tuning [--store PATH] [--catalog ID] [--months SPEC] [--set KEY=VALUE ...]

Runs Voila on ``notebooks/plan_comparison.ipynb`` (or ``price_tuning.ipynb``),
bound to 127.0.0.1 only, with code cells hidden. The command line is built by
:func:`voila_command`, which the browser test uses too. The tuning view is a
copy of its notebook with the store, catalog and months injected as Papermill
parameters (:func:`tuning_notebook`), checked here first, so a wrong store or
month is one line and exit 2 instead of an error page in the browser.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pricing.apps.cli.options import SubParsers
from pricing.errors import PricingError, UsageError
from pricing.metering.store_location import DEFAULT_STORE

APP_NOTEBOOK = "plan_comparison.ipynb"
TUNING_NOTEBOOK = "price_tuning.ipynb"
DEFAULT_PORT = 8866
CULL_IDLE_SECONDS = 600
DEFAULT_MAX_KERNELS = 8  # about 210 MB each: 1.7 GB at most (pricing.apps.app_kernels.DEFAULT_MAX_KERNELS too)
CAPPED_KERNEL_MANAGER = "pricing.apps.app_kernels.CappedKernelManager"


def app_notebook(name: str = APP_NOTEBOOK) -> Path:
    """``notebooks/plan_comparison.ipynb`` of the project (``PRICING_NOTEBOOKS`` overrides the directory)."""
    from pricing.reporting.notebook_runner import notebooks_dir

    path = notebooks_dir() / name
    if not path.is_file():
        raise PricingError(f"the app notebook {path} is missing (run from a checkout of the project)")
    return path


def voila_command(port: int, open_browser: bool = False, notebook: Path | None = None,
                  max_kernels: int = DEFAULT_MAX_KERNELS) -> list[str]:
    """The Voila command line serving the app on 127.0.0.1:``port``, with at most ``max_kernels`` kernels."""
    if not 1 <= port <= 65535:
        raise PricingError(f"--port must be between 1 and 65535, got {port}")
    if max_kernels < 1:
        raise PricingError(f"--max-kernels must be at least 1, got {max_kernels}")
    command = [
        sys.executable, "-m", "voila", str(notebook or app_notebook()),
        f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--strip_sources=True",
        "--show_tracebacks=False", "--theme=light",
        # NOTE: every visit starts a ~210 MB kernel; kernels idle for 10 minutes are shut down
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_SECONDS}", "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=True",
        # NOTE: Voila has no cap of its own; this kernel manager refuses visits past it with HTTP 503
        f"--VoilaConfiguration.multi_kernel_manager_class={CAPPED_KERNEL_MANAGER}",
        f"--CappedKernelManager.max_kernels={max_kernels}",
    ]
    if not open_browser:
        command.append("--no-browser")
    return command


def tuning_parameters(store_path: Path, catalog: str | None, months: str | None,
                      sets: list[str]) -> dict[str, Any]:
    """The tuning notebook's parameters for a store, checked like ``pricing backtest`` checks them."""
    from pricing.analysis.candidates import parameter_map
    from pricing.engine.catalog import load_catalog
    from pricing.metering.store import Store
    from pricing.apps.cli.backtest import parse_sets, select_months, store_catalog

    changes = parse_sets(sets)
    if not store_path.is_file():
        raise UsageError(f"{store_path}: no such store; run `pricing demo` or `pricing sample-data --ingest` first")
    with Store(store_path, read_only=True, create=False) as store:
        customers = store.customers()
        current = load_catalog(catalog or store_catalog([str(c) for c in customers["catalog"].dropna()]))
        if current.id not in set(customers["catalog"].astype(str)):
            raise UsageError(f"no customer of the store is on catalog {current.id!r}")
        chosen = select_months(months, store.months())
        metered = {r[0] for r in store.con.execute("SELECT DISTINCT month FROM metered_months").fetchall()}
    unmetered = [m for m in chosen if m not in metered]
    if unmetered:
        raise UsageError(f"month {unmetered[0]} is not metered yet: run `pricing meter --month {unmetered[0]}"
                         f" --store {store_path}`")
    known = parameter_map(current)
    for key in changes:
        if key not in known:
            raise UsageError(f"--set {key}: catalog {current.id!r} has no price parameter {key!r}; list them with "
                             f"`pricing backtest --catalog {current.id} --list-parameters`")
    # a catalog file is named by its absolute path: the notebook runs in another folder
    named = str(Path(catalog).resolve()) if catalog and Path(catalog).is_file() else current.id
    return {"catalog": named,
            "store": str(store_path.resolve()), "store_months": ",".join(chosen),
            "overrides": json.dumps({k: str(v) for k, v in changes.items()})}


def tuning_notebook(parameters: Mapping[str, Any], folder: Path) -> Path:
    """A copy of the tuning notebook in ``folder`` with ``parameters`` injected as Papermill does."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from pricing.reporting.notebook_runner import check_parameters

    source = app_notebook(TUNING_NOTEBOOK)
    values = check_parameters(source, parameters)  # names the notebook declares, literals Papermill can paste
    # load_notebook_node gives every cell the metadata Papermill expects (tags)
    nb = parameterize_notebook(load_notebook_node(str(source)), values, kernel_name="python3", language="python")
    target = folder / TUNING_NOTEBOOK
    nbformat.write(nb, target)
    return target


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "app", help="serve the plan comparison (or price tuning on the store) as a web app (Voila) on localhost",
        description="Serve notebooks/plan_comparison.ipynb (or, with `tuning`, notebooks/price_tuning.ipynb on "
                    "the store's metered history) with Voila on http://127.0.0.1:PORT/ until Ctrl-C.")
    p.add_argument("view", nargs="?", choices=["comparison", "tuning"], default="comparison",
                   help="comparison: every plan for a prospect's usage (default); tuning: edit prices and backtest "
                        "them on the store's customers")
    p.add_argument("--store", type=Path, default=DEFAULT_STORE,
                   help=f"tuning: workbook store with the metered history (default {DEFAULT_STORE})")
    p.add_argument("--catalog", help="tuning: current catalog, bundled id or YAML path (default: the store's only one)")
    p.add_argument("--months", metavar="SPEC",
                   help="tuning: N (the last N months), YYYY-MM, YYYY-MM..YYYY-MM or a comma list (default: every "
                        "month)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="PLAN.METRIC.FIELD=VALUE",
                   help="tuning: a price change the page opens with (repeatable), e.g. --set payg.maa.unit_price=0.06")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("--max-kernels", type=int, default=DEFAULT_MAX_KERNELS,
                   help=f"most visitors served at once, one kernel each (default {DEFAULT_MAX_KERNELS});"
                        " more get 'busy' (HTTP 503)")
    p.add_argument("--print-command", action="store_true", help="print the Voila command instead of running it")
    p.set_defaults(handler=cmd_app)


def cmd_app(args: argparse.Namespace) -> int:
    if args.view == "comparison":
        given = [flag for flag, value in (("--catalog", args.catalog), ("--months", args.months),
                                          ("--set", args.sets)) if value]
        if given:
            raise UsageError(f"{given[0]} applies to `pricing app tuning` only")
        return _serve(voila_command(args.port, open_browser=not args.no_browser, max_kernels=args.max_kernels), args,
                      "the plan comparison")
    parameters = tuning_parameters(args.store, args.catalog, args.months, args.sets)
    months = parameters["store_months"].split(",")
    span = months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"
    what = f"price tuning on {args.store} ({Path(parameters['catalog']).stem}, {span})"
    if args.print_command:
        # NOTE: the printed command needs the injected copy after we exit, so it is kept
        notebook = tuning_notebook(parameters, Path(tempfile.mkdtemp(prefix="pricing-tuning-")))
        return _serve(voila_command(args.port, notebook=notebook, max_kernels=args.max_kernels), args, what)
    # the injected copy lives as long as the app; Voila runs it with this folder as its working directory
    with tempfile.TemporaryDirectory(prefix="pricing-tuning-") as folder:
        notebook = tuning_notebook(parameters, Path(folder))
        return _serve(voila_command(args.port, open_browser=not args.no_browser, notebook=notebook,
                                    max_kernels=args.max_kernels), args, what)


def _serve(command: list[str], args: argparse.Namespace, what: str) -> int:
    if args.print_command:
        print(" ".join(command))
        return 0
    print(f"serving {what} on http://127.0.0.1:{args.port}/ (Ctrl-C stops it)", file=sys.stderr)
    try:
        # its own process group, so stopping the app stops Voila and every kernel it started
        child = subprocess.Popen(command, cwd=str(app_notebook().parent.parent), start_new_session=True)
    except FileNotFoundError as exc:  # pragma: no cover - the interpreter itself vanished
        raise PricingError(f"cannot start Voila: {exc}") from None

    def stop(signum: int, frame: object) -> None:
        # NOTE: only signal here; the wait below (interrupted by this handler) collects Voila
        try:
            os.killpg(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return child.wait()
    finally:
        _stop_group(child)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_group(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    try:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    except ProcessLookupError:
        pass
