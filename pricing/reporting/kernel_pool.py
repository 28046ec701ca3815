"""Warm Jupyter kernels, started once and reused by many notebook runs.

Starting a kernel, importing pandas and plotly and shutting the kernel down
cost seconds; a month's tenant pages are thousands of short runs of the same
notebook. A :class:`KernelPool` keeps ``size`` kernels warm, one per worker
thread, and hands each task the kernel of the thread that runs it:

- a kernel is started on a worker's first task (``warmup`` code, e.g. the
  imports, runs once then) and reused for every later task of that worker;
- before each run the kernel's namespace is reset (IPython's ``reset``) and
  its working directory restored, so one page cannot see another's variables.
  Imported modules and their caches stay: that is what "warm" buys;
- a kernel that died, timed out or could not start (a port collision gives
  "Address already in use") is shut down and replaced on the next task;
- a task that fails is retried once (on a fresh kernel when its kernel broke)
  and then reported; it never stops the other tasks.

A kernel belongs to the thread that started it: jupyter_client's asyncio
sockets are bound to that thread's event loop, so tasks never move a kernel
between threads. :func:`current_kernel` gives the calling thread its kernel,
which is how the Papermill engine (:mod:`pricing.reporting.papermill_engine`) finds it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pricing.errors import ReportError

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_STARTUP_TIMEOUT = 60
RESET_TIMEOUT = 60
# Kernels that fail to start this many times in a row will not start: the remaining tasks are
# reported as not run instead of each waiting for two more failed starts.
MAX_FAILED_STARTS = 4
# IPython's own reset: clears the user namespace and the output history, keeps imported modules.
# NOTE: reset ends with a full gc.collect(), 0.1-0.2 s with pandas and plotly loaded, more than a
# page's cells take: it is skipped here (the interpreter's automatic collection still runs).
# The code runs inside a function so that its locals survive the namespace it clears.
_RESET = """
def _pricing_reset(cwd):
    import gc, os
    os.chdir(cwd)
    collect = gc.collect
    gc.collect = lambda generation=2: 0
    try:
        get_ipython().reset(new_session=False)
    finally:
        gc.collect = collect
_pricing_reset({cwd!r})
"""
# The kernel's own log (a TCP-transport warning) would clutter the progress bar; no input history
# database (one SQLite file shared by every kernel, written on every cell).
KERNEL_ARGUMENTS = ["--log-level=CRITICAL", "--HistoryManager.enabled=False"]


class KernelFailure(ReportError):
    """The kernel itself failed (could not start, died, or stopped answering): replace it."""


@dataclass
class PoolStats:
    """What a pool did: kernels started, start failures, tasks run, tasks retried."""

    starts: int = 0
    start_failures: int = 0
    failed_starts_in_a_row: int = 0
    tasks: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def started(self) -> None:
        with self._lock:
            self.starts += 1
            self.failed_starts_in_a_row = 0


class WarmKernel:
    """One kernel and its client, driven from the thread that started it."""

    def __init__(self, kernel_name: str, cwd: Path, warmup: str = "", startup_timeout: int = DEFAULT_STARTUP_TIMEOUT,
                 stats: PoolStats | None = None) -> None:
        self.kernel_name = kernel_name
        self.cwd = Path(cwd)
        self.warmup = warmup
        self.startup_timeout = startup_timeout
        self.stats = stats or PoolStats()
        self.km: Any = None
        self.kc: Any = None
        self.runs = 0  # runs since this kernel started
        self.broken = False
        self.thread = threading.get_ident()

    # --- life cycle ---

    def _launch(self) -> None:
        """Start the kernel process and its client (overridable in tests)."""
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        run_sync(self.km.start_kernel)(cwd=str(self.cwd), extra_arguments=KERNEL_ARGUMENTS)
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        self.kc.allow_stdin = False

    def start(self) -> WarmKernel:
        """Start the kernel and run the warm-up code; a KernelFailure line if it cannot."""
        self._check_thread()
        try:
            self._launch()
            if self.warmup:
                self.run_code(self.warmup, timeout=max(self.startup_timeout, RESET_TIMEOUT))
        except BaseException as exc:
            self.stats.add(start_failures=1, failed_starts_in_a_row=1)
            self.shutdown()
            if isinstance(exc, Exception):
                first = (str(exc).strip().splitlines() or [""])[0]
                raise KernelFailure(f"kernel {self.kernel_name!r} could not start:"
                                    f" {type(exc).__name__}: {first}") from exc
            raise
        self.stats.started()
        self.broken = False
        self.runs = 0
        return self

    @property
    def started(self) -> bool:
        return self.km is not None and self.kc is not None

    def is_alive(self) -> bool:
        from jupyter_core.utils import run_sync

        if not self.started or self.broken:
            return False
        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:
            return False

    def shutdown(self) -> None:
        """Stop the client and the kernel; never raises (it runs on error paths)."""
        from jupyter_core.utils import run_sync

        kc, km = self.kc, self.km
        self.kc = self.km = None
        try:
            if kc is not None:
                kc.stop_channels()
        except Exception:
            pass
        try:
            if km is not None and run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=self.broken)
        except Exception:
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception:
                pass

    # --- running code ---

    def _check_thread(self) -> None:
        if threading.get_ident() != self.thread:
            raise RuntimeError("a warm kernel is used only from the thread that owns it")

    def run_code(self, code: str, timeout: float = RESET_TIMEOUT) -> None:
        """Run ``code`` silently; a KernelFailure when the kernel does not answer or the code fails."""
        from jupyter_core.utils import run_sync

        self._check_thread()
        try:
            reply = run_sync(self.kc.execute_interactive)(
                code, silent=True, store_history=False, allow_stdin=False, timeout=timeout,
                output_hook=lambda msg: None)
        except Exception as exc:
            self.broken = True
            raise KernelFailure(f"kernel stopped answering: {type(exc).__name__}: {exc}") from exc
        content = reply.get("content", {})
        if content.get("status") != "ok":
            self.broken = True
            raise KernelFailure(f"kernel code failed: {content.get('ename')}: {content.get('evalue')}")

    def reset(self) -> None:
        """A clean namespace and the pool's working directory, before each run."""
        self.run_code(_RESET.format(cwd=str(self.cwd)))


# --- the calling thread's kernel -------------------------------------------------------------

_local = threading.local()


def current_kernel() -> WarmKernel | None:
    """The warm kernel of the calling thread (set by a pool worker), or None."""
    return getattr(_local, "kernel", None)


def set_current_kernel(kernel: WarmKernel | None) -> None:
    """The warm kernel this thread's notebook runs use (None: none)."""
    _local.kernel = kernel


# --- the pool -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One task's end: its result, or the one-line error of its last attempt."""

    item: T
    result: Any = None
    error: str = ""
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return not self.error


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class KernelPool:
    """``size`` worker threads, each with a warm kernel, running tasks ``fn(item)``.

    ``fn`` runs in a worker thread whose kernel :func:`current_kernel` returns
    (the Papermill engine resets it before each notebook). Kernels start on a
    worker's first task and are shut down when :meth:`map` returns, fails or is
    interrupted.
    """

    def __init__(self, size: int = 2, *, kernel_name: str = "python3", cwd: Path | None = None, warmup: str = "",
                 startup_timeout: int = DEFAULT_STARTUP_TIMEOUT, retries: int = 1) -> None:
        if size < 1:
            raise ReportError(f"a kernel pool needs at least one kernel, got {size}")
        self.size = size
        self.kernel_name = kernel_name
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.warmup = warmup
        self.startup_timeout = startup_timeout
        self.retries = retries
        self.stats = PoolStats()
        self._last_start_error = ""

    def _kernel(self, held: WarmKernel | None) -> WarmKernel:
        """The worker's kernel, started or replaced as needed (the engine resets it before each run)."""
        if held is not None and held.broken:
            held.shutdown()
            held = None
        if held is None:
            held = WarmKernel(self.kernel_name, self.cwd, self.warmup, self.startup_timeout, self.stats)
            set_current_kernel(held)
            held.start()
        set_current_kernel(held)
        return held

    def _attempts(self, fn: Callable[[T], R], item: T, kernel: list[WarmKernel | None]) -> Outcome[T]:
        error = ""
        for attempt in range(1, self.retries + 2):
            if kernel[0] is None and self.stats.failed_starts_in_a_row >= MAX_FAILED_STARTS:
                return Outcome(item, None, f"not run: {self.stats.failed_starts_in_a_row} kernel starts failed in a"
                               f" row ({self._last_start_error})", attempt - 1)
            if attempt > 1:
                self.stats.add(retries=1)
            try:
                running = kernel[0] = self._kernel(kernel[0])
                self.stats.add(tasks=1)
                result = fn(item)
                running.runs += 1
                return Outcome(item, result, "", attempt)
            except KernelFailure as exc:
                if kernel[0] is not None:
                    kernel[0].broken = True
                error = _one_line(exc)
                if "could not start" in error:
                    self._last_start_error = error
            except Exception as exc:  # the task failed; its kernel may still be fine
                held = kernel[0]
                if held is not None and not held.is_alive():
                    held.broken = True
                error = _one_line(exc)
            if kernel[0] is not None and kernel[0].broken:
                kernel[0].shutdown()
                kernel[0] = None
        return Outcome(item, None, error, self.retries + 1)

    def map(self, fn: Callable[[T], R], items: Iterable[T],
            on_done: Callable[[Outcome[T]], object] | None = None) -> list[Outcome[T]]:
        """Run ``fn`` on every item; outcomes in completion order. Ctrl-C stops after the pages under way."""
        todo: queue.Queue[T] = queue.Queue()
        count = 0
        for item in items:
            todo.put(item)
            count += 1
        done: queue.Queue[Outcome[T] | BaseException] = queue.Queue()
        stop = threading.Event()

        def worker() -> None:
            kernel: list[WarmKernel | None] = [None]
            try:
                while not stop.is_set():
                    try:
                        item = todo.get_nowait()
                    except queue.Empty:
                        return
                    done.put(self._attempts(fn, item, kernel))
            except BaseException as exc:  # KeyboardInterrupt, SystemExit raised by a task: stop everyone
                stop.set()
                done.put(exc)
            finally:
                if kernel[0] is not None:
                    kernel[0].shutdown()
                set_current_kernel(None)

        threads = [threading.Thread(target=worker, name=f"kernel-pool-{i}", daemon=True)
                   for i in range(min(self.size, max(count, 1)))]
        for thread in threads:
            thread.start()
        outcomes: list[Outcome[T]] = []
        try:
            while len(outcomes) < count:
                try:
                    got = done.get(timeout=0.2)
                except queue.Empty:
                    if not any(t.is_alive() for t in threads) and done.empty():
                        break
                    continue
                if isinstance(got, BaseException):
                    raise got
                outcomes.append(got)
                if on_done is not None:
                    on_done(got)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        return outcomes


__all__ = ["KernelFailure", "KernelPool", "Outcome", "PoolStats", "WarmKernel", "current_kernel"]
