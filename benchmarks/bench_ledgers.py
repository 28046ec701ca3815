"""Prepaid ledgers: the skip-ahead engine against the day-by-day walk it replaced, in one run.

    .venv/bin/python benchmarks/bench_ledgers.py                     # the ledgers of 10,000 customers
    .venv/bin/python benchmarks/bench_ledgers.py --customers 100000

The sample generator's book (the ledgers ``bench_billing.py`` bills), every
ledger parsed once (not timed), then in CPU seconds (``time.process_time``):

* ``pricing.billing.balances.simulate_ledger`` through 2026-03-31 as the month-end run
  calls it (``runway=False``, holdings rated together by ``daily_prices``,
  which is timed with it), and again with the runway projected (the
  prepaid-balances report and ``pricing balance``);
* the baseline: the day-by-day walk kept in ``tests/ledger_reference.py``
  (the engine before issue 10's speed work) on the same ledgers, or on the
  first ``--reference`` of them when there are more;
* the parsing a run does per ledger (YAML text to validated ``Ledger``), for scale.

Every ledger the baseline ran is checked to give the same rows, notices,
suspensions and runway, so the ratio compares equal work. Best of
``--repeats`` for the fast engine (damps noise from other processes).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from pricing.billing.balances import daily_prices, parse_ledger, simulate_ledger
from pricing.engine.catalog import load_catalog
from pricing.errors import SubscriptionError
from pricing.metering.sample_data import generate_book
from pricing.yaml_files import parse_yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from ledger_reference import simulate_day_by_day  # noqa: E402  (the baseline lives beside the tests that use it)

UNTIL = date(2026, 3, 31)


def cpu(fn, repeats: int = 1):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--reference", type=int, default=2_000, help="ledgers the day-by-day baseline runs")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    book = generate_book(args.customers, 3, args.seed, end_month="2026-03")
    texts = list(book.ledgers.items())
    parse_cpu, ledgers = cpu(lambda: [parse_ledger(parse_yaml(text, cid, SubscriptionError), cid) for cid, text in texts])
    catalog = load_catalog("prepaid_auth")
    ledgers = [led for led in ledgers if led.start <= UNTIL]
    days = sum((UNTIL - led.start).days + 1 for led in ledgers)

    def month_end(runway: bool):
        prices = daily_prices(catalog, ledgers)
        return [simulate_ledger(catalog, led, UNTIL, runway, prices) for led in ledgers]

    fast_cpu, fast = cpu(lambda: month_end(False), args.repeats)
    runway_cpu, with_runway = cpu(lambda: month_end(True), args.repeats)
    sample = ledgers[: args.reference]
    slow_cpu, slow = cpu(lambda: [simulate_day_by_day(catalog, led, UNTIL, False) for led in sample])
    slow_runway_cpu, slow_runway = cpu(lambda: [simulate_day_by_day(catalog, led, UNTIL, True) for led in sample])
    for new, new_runway, old, old_runway in zip(fast, with_runway, slow, slow_runway, strict=False):
        assert new.rows == old.rows and (new.notices, new.suspensions) == (old.notices, old.suspensions)
        assert new_runway.rows == old_runway.rows and new_runway.runway == old_runway.runway
    n, m = len(ledgers), len(sample)
    per = lambda seconds, count: seconds / count * 1e6  # noqa: E731
    print(f"{n:,} prepaid ledgers of {args.customers:,} customers, {days:,} ledger-days through {UNTIL}"
          f" ({days / n:.0f} days a ledger); runs a ledger: {sum(len(r.runs) for r in fast) / n:.1f}")
    print(f"skip-ahead, month-end run (no runway): {fast_cpu:.3f} CPU-s = {per(fast_cpu, n):.0f} us a ledger,"
          f" {per(fast_cpu, days) * 30:.0f} us a ledger-month")
    print(f"skip-ahead, with the runway:           {runway_cpu:.3f} CPU-s = {per(runway_cpu, n):.0f} us a ledger")
    print(f"day by day (baseline, {m:,} ledgers):    {slow_cpu:.3f} CPU-s = {per(slow_cpu, m):.0f} us a ledger;"
          f" with the runway {per(slow_runway_cpu, m):.0f} us a ledger")
    print(f"speed-up: {per(slow_cpu, m) / per(fast_cpu, n):.0f}x month-end, {per(slow_runway_cpu, m) / per(runway_cpu, n):.0f}x"
          f" with the runway; identical results on the {m:,} ledgers compared")
    print(f"parsing (YAML text -> validated Ledger): {per(parse_cpu, len(texts)):.0f} us a ledger")


if __name__ == "__main__":
    main()
