"""Rating at scale: customer-months rated per second, measured in one run.

    .venv/bin/python benchmarks/bench_rating.py            # N = 10k, 100k, 1M
    .venv/bin/python benchmarks/bench_rating.py --sizes 10000 100000

For each catalog (quasr, logto) and N, a fresh worker process generates N
customer-months with the sample-data generator and rates them against every
plan in one call, reporting throughput and the process's peak memory. On the
same rows it then measures:

- the one-at-a-time path (``rate_one`` per row and plan) on the first rows,
  as a ratio of per-row throughput;
- a bare numpy float64 expression for Pay As You Go totals, the floor: how
  close the exact engine comes to plain array arithmetic (and how many rows
  the float version gets wrong by a cent).

Timings are the best of a few repeats, to damp noise from other processes.
Each worker also runs a second time with glibc told to keep freed memory
(``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``): at a million rows
much of the remaining time is the kernel handing back zeroed pages for
temporaries, and the second column shows what a batch job gains from
setting those two variables.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np
from timing import best_of  # benchmarks/ is on sys.path when run as a script

ONE_AT_A_TIME_ROWS = 300


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def payg_float_totals(maa: np.ndarray, mac: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """Quasr Pay As You Go in float64, each line rounded to the cent: the floor to beat."""
    accounts = np.round(np.maximum(maa - 100, 0) * 0.05, 2)
    tenants = np.round(np.maximum(mat - 3, 0) * 5.0, 2)
    calls = np.round(np.maximum(mac - np.maximum(10 * maa, 1000), 0) * 0.004, 2)
    return accounts + tenants + calls


def worker(catalog_id: str, rows: int, seed: int) -> dict[str, Any]:
    from pricing.engine.catalog import load_catalog
    from pricing.engine.rating import rate, rate_one
    from pricing.metering.sample_data import generate_usage_table

    catalog = load_catalog(catalog_id)
    usage = generate_usage_table(catalog, rows, seed)
    rate(catalog, usage.head(100_000)).totals()  # warm up imports, caches and the allocator
    seconds, rated = best_of(lambda: rate(catalog, usage).totals())
    result: dict[str, Any] = {
        "catalog": catalog_id, "rows": rows, "plans": len(catalog.plans), "seconds": seconds,
        "rows_per_second": rows / seconds,
    }
    # one at a time, on the first rows of the same table, every plan
    sample = usage.head(ONE_AT_A_TIME_ROWS)
    records = sample.to_dict("records")
    start = time.perf_counter()
    singles = [[rate_one(catalog, plan, row).total_minor for plan in catalog.plans] for row in records]
    single_seconds = time.perf_counter() - start
    assert np.array_equal(np.array(singles), rated.head(len(records)).to_numpy()), "paths disagree"
    result["one_at_a_time_rows_per_second"] = len(records) / single_seconds
    if catalog_id == "quasr":
        maa, mac, mat = (usage[c].to_numpy() for c in ("maa", "mac", "mat"))
        float_seconds, floats = best_of(lambda: payg_float_totals(maa, mac, mat))
        exact_seconds, exact = best_of(lambda: rate(catalog, usage, ["payg"]).totals()["payg"].to_numpy())
        result["payg_float_seconds"] = float_seconds
        result["payg_exact_seconds"] = exact_seconds
        result["payg_float_wrong_cents"] = int((np.round(floats * 100).astype(np.int64) != exact).sum())
    result["peak_rss_mib"] = _peak_rss_mib()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--catalogs", nargs="+", default=["quasr", "logto"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--worker", nargs=2, metavar=("CATALOG", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args.seed)))
        return
    results = []
    tuned_env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
    for catalog_id in args.catalogs:
        for rows in args.sizes:
            command = [sys.executable, __file__, "--worker", catalog_id, str(rows), "--seed", str(args.seed)]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            tuned = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, env=tuned_env).stdout)
            result["tuned_rows_per_second"] = tuned["rows_per_second"]
            results.append(result)
    print(f"{'catalog':<8} {'rows':>9} {'plans':>5} {'seconds':>8} {'rows/s':>11} {'rows/s glibc-tuned':>19} "
          f"{'vs one-at-a-time':>17} {'peak RSS MiB':>12}")
    for r in results:
        ratio = r["rows_per_second"] / r["one_at_a_time_rows_per_second"]
        print(f"{r['catalog']:<8} {r['rows']:>9,} {r['plans']:>5} {r['seconds']:>8.3f} {r['rows_per_second']:>11,.0f} "
              f"{r['tuned_rows_per_second']:>19,.0f} {ratio:>16,.0f}x {r['peak_rss_mib']:>12,.0f}")
    print()
    for catalog_id in args.catalogs:
        mine = [r for r in results if r["catalog"] == catalog_id]
        if len(mine) > 1:
            first, last = mine[0], mine[-1]
            growth = (last["seconds"] / first["seconds"]) / (last["rows"] / first["rows"])
            print(f"{catalog_id}: time grew {last['seconds'] / first['seconds']:.1f}x for "
                  f"{last['rows'] / first['rows']:.0f}x the rows (1.0 = linear; measured {growth:.2f})")
    for r in results:
        if "payg_float_seconds" in r:
            print(f"quasr payg, {r['rows']:,} rows: exact engine {r['payg_exact_seconds']:.4f}s vs bare numpy float64 "
                  f"{r['payg_float_seconds']:.4f}s = {r['payg_exact_seconds'] / r['payg_float_seconds']:.1f}x the floor; "
                  f"float totals off by a cent or more on {r['payg_float_wrong_cents']:,} rows")


if __name__ == "__main__":
    main()
