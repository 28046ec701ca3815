"""How fast the command line answers: ``pricing --help`` and a quote, against bare interpreters.

    .venv/bin/python benchmarks/bench_cli_startup.py                  # 20 runs of each command (~1 min)
    .venv/bin/python benchmarks/bench_cli_startup.py --runs 40
    .venv/bin/python benchmarks/bench_cli_startup.py --also-source /tmp/before   # and an older tree of pricing/

Each command runs ``--runs`` times in a fresh interpreter (``python -m pricing.apps.cli ...``, what the
``pricing`` script runs), the commands taking turns so that load from other processes falls on all
of them alike. Reported per command: median and best wall time, and median CPU time of the child
(user + system, from ``resource.getrusage(RUSAGE_CHILDREN)``), against two baselines measured in
the same run: ``python -c pass`` (the interpreter alone) and ``python -c "import numpy, pydantic"``
(the two libraries the pricing engine is built on).

Bytecode caches are written before timing (one untimed run of each command, with
``PYTHONDONTWRITEBYTECODE`` removed from the children's environment), as they are for an installed
package: compiling the sources on every start would be measured otherwise.

``--also-source DIR`` times the same commands with ``DIR`` (a folder holding another version's
``pricing/`` package, e.g. ``git archive 9f2cd8c pricing | tar -x -C /tmp/before``) first on
``PYTHONPATH``, its bytecode kept apart with ``PYTHONPYCACHEPREFIX``: the figures before a change.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TARGET_SECONDS = 0.3  # issue 14: `pricing --help` and `pricing quote` under 0.3 s wall on the 2-core machine

CLI = [sys.executable, "-m", "pricing.apps.cli"]
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import numpy, pydantic'": [sys.executable, "-c", "import numpy, pydantic"],
    "pricing --help": [*CLI, "--help"],
    "pricing quote quasr --usage maa=50": [*CLI, "quote", "quasr", "--usage", "maa=50"],
}
BASELINES = ("python -c pass", "python -c 'import numpy, pydantic'")


@dataclass
class Runs:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``argv`` (its output discarded; a failure stops the benchmark)."""
    cpu_before, started = _children_cpu(), time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return time.perf_counter() - started, _children_cpu() - cpu_before


def measure(commands: dict[str, list[str]], runs: int, env: dict[str, str], cwd: Path) -> dict[str, Runs]:
    for argv in commands.values():
        run_once(argv, env, cwd)  # writes the bytecode caches; not timed
    results = {name: Runs() for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            wall, cpu = run_once(argv, env, cwd)
            results[name].wall.append(wall)
            results[name].cpu.append(cpu)
    return results


def report(title: str, results: dict[str, Runs]) -> None:
    print(f"\n{title}")
    print(f"{'command':<40} {'median wall':>12} {'best wall':>10} {'median CPU':>11} {'CPU over numpy+pydantic':>24}")
    floor = statistics.median(results[BASELINES[1]].cpu) if BASELINES[1] in results else None
    for name, found in results.items():
        wall, cpu = statistics.median(found.wall), statistics.median(found.cpu)
        extra = "" if floor is None or name in BASELINES else f"{cpu - floor:+.3f} s"
        print(f"{name:<40} {wall:>11.3f}s {min(found.wall):>9.3f}s {cpu:>10.3f}s {extra:>24}")
    for name in COMMANDS:
        if name in BASELINES or name not in results:
            continue
        wall = statistics.median(results[name].wall)
        verdict = "met" if wall < TARGET_SECONDS else f"missed by {wall - TARGET_SECONDS:.3f} s"
        print(f"  target {TARGET_SECONDS} s wall for `{name}`: {verdict} (median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each command (default 20)")
    parser.add_argument("--also-source", type=Path, metavar="DIR",
                        help="also time a folder holding another version's pricing/ package")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        cwd = Path(folder)  # no data/ or reports/ of a checkout in sight
        print(f"{args.runs} runs of each command, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        report("this tree", measure(COMMANDS, args.runs, env, cwd))
        if args.also_source is not None:
            other = {**env, "PYTHONPATH": str(args.also_source.resolve()),
                     "PYTHONPYCACHEPREFIX": str(cwd / "pycache-other")}
            report(f"{args.also_source} (PYTHONPATH)", measure(COMMANDS, args.runs, other, cwd))


if __name__ == "__main__":
    main()
