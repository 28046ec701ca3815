"""``pricing backtest`` on a big store: customer-months per CPU-second and peak memory, streamed.

    .venv/bin/python benchmarks/bench_backtest_stream.py                         # 1,000,000 customers x 12 months
    .venv/bin/python benchmarks/bench_backtest_stream.py --customers 100000 --months 12 --keep /tmp/bt.duckdb

Builds a store with DuckDB alone (customers, one placeholder event and one metered
row set per month, ``customer_metrics`` for MAA, MAC and MAT; usage heavy-tailed from
a hash of customer and month, so the same arguments give the same store). Then runs,
each in a fresh worker process that calls the CLI in-process and reports its own
``getrusage``:

1. the baseline in the same run: ``rate`` of one month's usage table (N rows) under
   the current catalog only, every plan, as ``benchmarks/bench_rating.py`` does: what
   rating costs with nothing else;
2. ``pricing backtest --set payg.maa.unit_price=0.055 --no-sensitivity --format csv --json``;
3. the same with glibc told to keep freed memory (``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``,
   as in ``bench_rating.py``): what a batch job gains from two environment variables;
4. the same with the tornado (``--sensitivity 10``, 37 parameters), unless ``--skip-tornado``.

CPU seconds are user + system of the worker (DuckDB's threads included), so they do
not depend on what else the machine runs; customer-months per CPU-second is the figure
the target (1,000,000/s) is about; peak RSS is the worker's ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)]


def build_store(path: Path, customers: int, months: int) -> None:
    """A store of ``customers`` quasr customers with ``months`` metered months (DuckDB SQL, seconds)."""
    from pricing.metering.store import Store

    chosen = MONTHS[:months]
    with Store(path) as store:
        con = store.con
        # u1, u2, u3: uniform in [0, 1) from hashes of (customer, month): reproducible, no RNG state
        con.execute("""
            INSERT INTO customers (customer_id, name, catalog, plan, billing_details)
            SELECT printf('C%07d', i), printf('Customer %d', i), 'quasr',
                   CASE WHEN u < 0.02 THEN NULL WHEN u < 0.50 THEN 'payg' WHEN u < 0.80 THEN 'startup'
                        WHEN u < 0.97 THEN 'gravitate_and_save' ELSE 'enterprise' END, true
            FROM (SELECT i, (hash(i, 'plan') % 1000000) / 1e6 AS u FROM range(?) t(i))
        """, [customers])
        for month in chosen:
            con.execute("""
                INSERT INTO customer_metrics
                SELECT ?, printf('C%07d', i), metric,
                       CASE metric WHEN 'maa' THEN maa WHEN 'mac' THEN maa * (2 + (hash(i, ?, 'c') % 25))
                                   ELSE 1 + (hash(i, ?, 't') % 8) END
                FROM (SELECT i, CAST(floor(pow(10, 1 + 4.2 * ((hash(i, ?, 'a') % 1000000) / 1e6))) AS BIGINT) AS maa
                      FROM range(?) t(i)),
                     (SELECT unnest(['maa', 'mac', 'mat']) AS metric)
            """, [month, month, month, month, customers])
            con.execute("INSERT INTO metered_months VALUES (?, now())", [month])
            con.execute(
                "INSERT INTO events (\"timestamp\", customer_id, tenant_id, account_id, account_kind, method, endpoint,"
                " status, file_id) VALUES (CAST(? AS TIMESTAMP), 'C0000000', 't', 'a', 'user', 'POST', 'factors/login',"
                " 200, 0)", [f"{month}-15 12:00:00"])
        con.execute("CHECKPOINT")


def _usage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024}


def worker(kind: str, store: str, out: str) -> dict[str, Any]:
    start = _usage()
    wall = time.perf_counter()
    if kind == "rate":
        from pricing.engine.catalog import load_catalog
        from pricing.engine.rating import rate
        from pricing.metering.store import Store

        catalog = load_catalog("quasr")
        with Store(store, read_only=True) as opened:
            month = opened.months()[0]
            frame = opened.con.execute(
                "SELECT customer_id, sum(value) FILTER (WHERE metric = 'maa') AS maa,"
                " sum(value) FILTER (WHERE metric = 'mac') AS mac, sum(value) FILTER (WHERE metric = 'mat') AS mat"
                " FROM customer_metrics WHERE month = ? GROUP BY customer_id", [month]).df()
        frame = frame.astype({"maa": "int64", "mac": "int64", "mat": "int64"})
        start = _usage()  # the baseline is rating alone
        rate(catalog, frame).totals()
        rows = len(frame)
    else:
        from pricing.apps.cli import main

        argv = ["backtest", "--store", store, "--set", "payg.maa.unit_price=0.055", "--format", "csv",
                "--out", out, "--json"]
        argv += ["--no-sensitivity"] if kind == "backtest" else ["--sensitivity", "10"]
        status = main(argv)
        assert status == 0, f"pricing backtest exited {status}"
        rows = -1
    end = _usage()
    return {"kind": kind, "cpu_seconds": end["cpu_seconds"] - start["cpu_seconds"],
            "wall_seconds": time.perf_counter() - wall, "peak_rss_mib": end["peak_rss_mib"], "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the store at this path instead of a temporary one")
    parser.add_argument("--skip-tornado", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "STORE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(*args.worker)
        print("RESULT " + json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="bench_backtest_") as tmp:
        store = args.keep or Path(tmp) / "big.duckdb"
        if not store.exists():
            started = time.perf_counter()
            build_store(store, args.customers, args.months)
            print(f"store: {args.customers:,} customers x {args.months} months built in "
                  f"{time.perf_counter() - started:.0f} s ({store.stat().st_size / 2**20:,.0f} MiB)")
        kinds = ["rate", "backtest", "backtest, glibc tuned"] + ([] if args.skip_tornado else ["tornado"])
        tuned = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
        results = {}
        for kind in kinds:
            worker_kind = "backtest" if kind.startswith("backtest") else kind
            command = [sys.executable, __file__, "--worker", worker_kind, str(store), str(Path(tmp) / f"out_{worker_kind}")]
            done = subprocess.run(command, check=True, capture_output=True, text=True,
                                  env=tuned if "tuned" in kind else None)
            line = next(l for l in done.stdout.splitlines() if l.startswith("RESULT "))
            results[kind] = json.loads(line[len("RESULT "):])
            if kind != "rate":
                summary = json.loads(done.stdout[: done.stdout.index("RESULT ")])
                results[kind]["customer_months"] = summary["customer_months"]
                results[kind]["revenue_change"] = summary["revenue_change"]
    rate_run = results["rate"]
    per_rating = rate_run["rows"] / rate_run["cpu_seconds"]
    print(f"baseline: rate() of one month, {rate_run['rows']:,} rows, every plan, one catalog: "
          f"{rate_run['cpu_seconds']:.2f} CPU-s = {per_rating:,.0f} rows per CPU-second")
    for kind in kinds[1:]:
        r = results[kind]
        speed = r["customer_months"] / r["cpu_seconds"]
        label = {"backtest": "pricing backtest --no-sensitivity",
                 "backtest, glibc tuned": "the same, glibc tuned",
                 "tornado": "pricing backtest --sensitivity 10"}[kind]
        print(f"{label}: {r['customer_months']:,} customer-months in {r['cpu_seconds']:.1f} CPU-s "
              f"({r['wall_seconds']:.1f} s wall) = {speed:,.0f} customer-months per CPU-second; "
              f"peak RSS {r['peak_rss_mib']:,.0f} MiB; {speed / per_rating:.2f}x the one-catalog rating rate "
              f"(two catalogs: 0.5x is rating alone); revenue change {r['revenue_change']}")


if __name__ == "__main__":
    main()
