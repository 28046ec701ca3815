"""A Papermill engine that executes notebooks on warm kernels instead of starting one per run.

Import it as :mod:`pricing.reporting.papermill_engine`. This private module is what Papermill's
entry point loads: Papermill loads its engines while it is itself being imported,
so the module defining the engine must not be the one that imports Papermill
first (Papermill would then find it half-imported).

Registered with Papermill as ``pricing-warm`` (entry point ``papermill.engine``,
and on import of :mod:`pricing.reporting.papermill_engine`), so any Papermill call can use it::

    papermill.execute_notebook(src, None, parameters, engine_name="pricing-warm", kernel_name="python3")

It runs the parameterized notebook with Papermill's own notebook client, on the
kernel of the calling thread (:func:`pricing.reporting.kernel_pool.current_kernel`, set
by a :class:`~pricing.reporting.kernel_pool.KernelPool` worker), after resetting the
kernel's namespace and working directory. Called outside a pool, it starts a
kernel for the thread, keeps it warm for the next call and shuts it down when
the process exits.

Papermill's ``cwd`` argument changes the working directory of the whole
process, which threads share: in a pool pass ``cwd=None`` and give the pool its
directory instead (its kernels start there and are put back there on reset).
Outside a pool the kernel follows ``cwd`` from run to run.
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import Engine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from pricing.reporting.kernel_pool import KernelFailure, WarmKernel, set_current_kernel, current_kernel

ENGINE_NAME = "pricing-warm"
_standalone: list[WarmKernel] = []


def _own_kernel(kernel_name: str, start_timeout: int) -> WarmKernel:
    """A kernel for a thread that is not a pool worker: started once, reset before each run."""
    kernel = current_kernel()
    if kernel is not None and kernel.kernel_name == kernel_name and not kernel.broken and kernel.started:
        kernel.cwd = Path.cwd()  # Papermill's cwd argument (it changed the process's directory for this run)
        return kernel
    if kernel is not None:
        kernel.shutdown()
    kernel = WarmKernel(kernel_name, Path.cwd(), startup_timeout=start_timeout)
    set_current_kernel(kernel)
    kernel.start()
    _standalone.append(kernel)
    return kernel


@atexit.register
def _shutdown_standalone() -> None:
    for kernel in _standalone:
        try:
            kernel.shutdown()
        except Exception:  # pragma: no cover - best effort at exit
            pass


class WarmKernelEngine(Engine):
    """Papermill's nbclient engine, minus the kernel start and shutdown of every run."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                 stdout_file: Any = None, stderr_file: Any = None, start_timeout: int = 60,
                                 execution_timeout: int | None = None, **kwargs: Any) -> Any:
        kernel = current_kernel()
        if kernel is None or kernel in _standalone or not kernel.started or kernel.broken:
            kernel = _own_kernel(kernel_name, start_timeout)
        elif kernel.kernel_name != kernel_name:
            raise KernelFailure(f"the warm kernel runs {kernel.kernel_name!r}, the notebook asks for {kernel_name!r}")
        kernel.reset()  # a clean namespace: nothing of the previous run is visible
        kwargs = remove_args(["input_path", "timeout", "startup_timeout", "cwd"], **kwargs)
        final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                             kernel_name=kernel_name, log=logger, log_output=log_output,
                             stdout_file=stdout_file, stderr_file=stderr_file)
        client = PapermillNotebookClient(nb_man, km=kernel.km, **final)
        client.kc = kernel.kc  # the client is warm too: nbclient then neither starts nor stops anything
        try:
            return client.execute(cleanup_kc=False)
        except Exception as exc:
            # a timeout leaves the kernel busy and a dead kernel answers nothing: replace it
            if type(exc).__name__ in {"CellTimeoutError", "DeadKernelError", "TimeoutError"} or not kernel.is_alive():
                kernel.broken = True
            raise


papermill_engines.register(ENGINE_NAME, WarmKernelEngine)

__all__ = ["ENGINE_NAME", "WarmKernelEngine"]
