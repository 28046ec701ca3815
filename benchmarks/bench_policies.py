"""Billing conventions side by side: ``compare_policies`` against billing the month once, same run.

    .venv/bin/python benchmarks/bench_policies.py                     # 100,000 customers, 12 combinations
    .venv/bin/python benchmarks/bench_policies.py --customers 10000

Setup (not timed): the sample generator's book and two months of metered usage in a store, as in
``bench_billing.py``. Timed in one process, in CPU seconds: ``bill_month(store, MONTH, write=False)``
once (the floor), then ``compare_policies`` with 12 combinations (rounding x day_count x
credit_basis), which bills the baseline and each combination that differs from it.
Target (issue 16): 10 combinations at no more than 10x billing the month once, i.e. one billing's
time per combination at most.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_billing import MONTH, peak_rss_mib, write_store  # noqa: E402

from pricing.billing.billing_run import bill_month  # noqa: E402
from pricing.engine.periods import previous_month  # noqa: E402
from pricing.analysis.policies import compare_policies  # noqa: E402
from pricing.metering.store import Store  # noqa: E402

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=3, help="the book's story spread (see bench_billing)")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    vary = {"rounding": ["half_up", "half_even"],
            "day_count": ["exact_seconds", "actual_days", "thirty_day_month"],
            "credit_basis": ["current_price", "amount_paid"]}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        book = write_store(folder / "bench.duckdb", args.customers, args.months, args.seed)
        with Store(folder / "bench.duckdb") as store:
            bill_month(store, previous_month(MONTH))  # last month billed, as a vendor's store would be
            t0 = time.process_time()
            once = bill_month(store, MONTH, write=False)
            t1 = time.process_time()
            comparison = compare_policies(store, MONTH, vary)
            t2 = time.process_time()
    combos = len(comparison.runs)
    distinct = sum(1 for run in comparison.runs if run.invoices is not comparison.baseline.invoices)
    print(f"book: {args.customers:,} customers ({len(book.timelines):,} timelines), stories over {args.months} months")
    print(f"bill_month once (write=False): {t1 - t0:.2f} CPU-s, {len(once.invoices):,} invoices")
    print(f"compare_policies, {combos} combinations ({distinct} billed, the rest the baseline itself):"
          f" {t2 - t1:.2f} CPU-s = {(t2 - t1) / (t1 - t0):.1f}x billing once (target <= 10x);"
          f" peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
