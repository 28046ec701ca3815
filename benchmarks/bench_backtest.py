"""Backtest speed: a whole customer book against two catalogs, in customer-months per second.

    .venv/bin/python benchmarks/bench_backtest.py                    # 20,000 customers x 12 months
    .venv/bin/python benchmarks/bench_backtest.py --customers 50000 --catalog logto

Builds a synthetic history (``pricing.analysis.backtest.synthetic_history``), a
candidate catalog with a few price changes, then times
``pricing.analysis.backtest.backtest`` (both catalogs rate every customer-month in one
vectorized call each) and the per-customer cuts. Also times the tornado
(``sensitivity``, -/+10% on every price parameter). Best of three runs.
"""

from __future__ import annotations

import argparse
import time


from timing import best_of  # benchmarks/ is on sys.path when run as a script

from pricing.analysis.backtest import backtest, sensitivity, synthetic_history
from pricing.analysis.candidates import price_parameters, scale_parameter
from pricing.engine.catalog import load_catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--catalog", default="quasr")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    current = load_catalog(args.catalog)
    start = time.perf_counter()
    history = synthetic_history(current, args.customers, args.months, args.seed)
    made = time.perf_counter() - start
    first = price_parameters(current)[0].key
    candidate = scale_parameter(current, first, 10)
    rows = len(history)

    elapsed, result = best_of(lambda: backtest(current, candidate, history))
    cuts, _ = best_of(lambda: (result.by_month(), result.by_plan(), result.per_customer(), result.percentiles(),
                               result.top_movers(), result.switched_customers()))
    tornado, table = best_of(lambda: sensitivity(current, history, 10), repeats=1)

    print(f"catalog {current.id}: {args.customers:,} customers x {args.months} months = {rows:,} customer-months"
          f" (history built in {made:.2f} s)")
    print(f"backtest, two catalogs, every plan:  {elapsed:.2f} s  = {rows / elapsed:,.0f} customer-months/s"
          f" ({2 * rows / elapsed:,.0f} customer-month ratings/s across both catalogs)")
    print(f"cuts (month, plan, customer, p50/p95, movers, switches): {cuts:.2f} s")
    print(f"tornado, -/+10% on {len(table)} parameters: {tornado:.2f} s")
    print(f"revenue change {result.totals()['delta_minor']:,} minor units ({candidate.version})")


if __name__ == "__main__":
    main()
