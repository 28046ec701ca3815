"""``pricing app``: the plan comparison as a web app for people who never open a notebook.

Runs Voila on ``notebooks/plan_comparison.ipynb``, bound to 127.0.0.1 only,
with code cells hidden. The command line is built by :func:`voila_command`,
which the browser test uses too.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..errors import PricingError

APP_NOTEBOOK = "plan_comparison.ipynb"
DEFAULT_PORT = 8866
CULL_IDLE_SECONDS = 600
DEFAULT_MAX_KERNELS = 8  # about 210 MB each: 1.7 GB at most (pricing.app_kernels.DEFAULT_MAX_KERNELS too)
CAPPED_KERNEL_MANAGER = "pricing.app_kernels.CappedKernelManager"


def app_notebook() -> Path:
    """``notebooks/plan_comparison.ipynb`` of the project (``PRICING_NOTEBOOKS`` overrides the directory)."""
    override = os.environ.get("PRICING_NOTEBOOKS")
    directory = Path(override) if override else Path(__file__).resolve().parents[2] / "notebooks"
    path = directory / APP_NOTEBOOK
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


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "app", help="serve the plan comparison as a web app (Voila) on localhost",
        description="Serve notebooks/plan_comparison.ipynb with Voila on http://127.0.0.1:PORT/ until Ctrl-C.")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("--max-kernels", type=int, default=DEFAULT_MAX_KERNELS,
                   help=f"most visitors served at once, one kernel each (default {DEFAULT_MAX_KERNELS});"
                        " more get 'busy' (HTTP 503)")
    p.add_argument("--print-command", action="store_true", help="print the Voila command instead of running it")
    p.set_defaults(handler=cmd_app)


def cmd_app(args: argparse.Namespace) -> int:
    command = voila_command(args.port, open_browser=not args.no_browser, max_kernels=args.max_kernels)
    if args.print_command:
        print(" ".join(command))
        return 0
    print(f"serving the plan comparison on http://127.0.0.1:{args.port}/ (Ctrl-C stops it)", file=sys.stderr)
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
