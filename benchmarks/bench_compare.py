"""``compare`` for one usage: CPU time per call against a plain-Decimal function, in one run.

    .venv/bin/python benchmarks/bench_compare.py
    .venv/bin/python benchmarks/bench_compare.py --calls 5000 --experiment-cached-constants

On Quasr (four plans: per-unit, commitments, a graduated tier, a fee and a minimum
spend) and a few hundred random usages, measures in CPU seconds (time.process_time):

- ``compare``: every plan's invoice with lines and explanations, ordered (the API the
  CLI, the quote and the app use);
- ``rate`` alone for the one row (totals, no invoice assembly);
- the baseline: a hand-written ``Decimal`` function of the same four totals (each line
  rounded half-up to the cent). It is here only to be measured against; the two are
  checked to agree on every usage before anything is timed.

``--experiment-cached-constants`` also times ``rate`` with the catalog's constants
(price scales, scaled prices, fixed fees) memoised and per-row constants built with
``np.full`` instead of ``np.broadcast_to``, by patching the engine in this process only:
a measurement of how far caching alone could go, not a code path of the package.
"""

from __future__ import annotations

import argparse
import functools
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

import numpy as np

CENT = Decimal("0.01")


def _line(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def quasr_totals_decimal(maa: int, mac: int, mat: int) -> dict[str, Decimal]:
    """Quasr's four plans at their default commitments, by hand (the baseline to beat)."""
    calls_over = max(mac - max(10 * maa, 1000), 0)
    calls = _line(calls_over * Decimal("0.004"))
    billable_maa = max(maa - 100, 0)
    billable_mat = max(mat - 3, 0)
    payg = _line(billable_maa * Decimal("0.05")) + _line(billable_mat * Decimal("5.00")) + calls
    gravitate = (_line(1000 * Decimal("0.035")) + _line(max(billable_maa - 1000, 0) * Decimal("0.05"))
                 + _line(0 * Decimal("3.50")) + _line(billable_mat * Decimal("5.00")) + calls)
    startup = (Decimal("49.00") + _line(max(maa - 2500, 0) * Decimal("0.04")) + _line(max(mat - 5, 0) * Decimal("4.00"))
               + calls)
    over = max(billable_maa - 50000, 0)
    graduated = min(over, 100000) * Decimal("0.035") + max(over - 100000, 0) * Decimal("0.03")
    enterprise = (Decimal("990.00") + _line(50000 * Decimal("0.025")) + _line(graduated)
                  + _line(10 * Decimal("3.00")) + _line(max(billable_mat - 10, 0) * Decimal("4.00")) + calls)
    enterprise += max(Decimal("2000.00") - enterprise, Decimal(0))
    return {"payg": payg, "gravitate_and_save": gravitate, "startup": startup, "enterprise": enterprise}


def cpu_per_call(fn: Callable[[Any], Any], inputs: list[Any], repeats: int) -> float:
    """Best of ``repeats`` passes over ``inputs``: CPU seconds per call."""
    for item in inputs[:50]:
        fn(item)  # warm caches and imports
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for item in inputs:
            fn(item)
        best = min(best, (time.process_time() - start) / len(inputs))
    return best


def _patch_cached_constants() -> None:
    """The experiment: memoise catalog constants inside the engine (this process only)."""
    import pricing.engine.rating as rating

    rating.scaled_int = functools.lru_cache(None)(rating.scaled_int)  # type: ignore[assignment]
    rating.decimal_places = functools.lru_cache(None)(rating.decimal_places)  # type: ignore[assignment]
    rating.to_minor = functools.lru_cache(None)(rating.to_minor)  # type: ignore[assignment]
    original = rating.model_in
    models: dict[tuple[int, int], Any] = {}

    def model_in(catalog: Any, charge: Any) -> Any:
        key = (id(catalog), id(charge))
        if key not in models:
            model = original(catalog, charge)
            scale = model.price_scale()
            model.price_scale = lambda scale=scale: scale
            models[key] = model
        return models[key]

    rating.model_in = model_in  # type: ignore[assignment]
    rating._constant = lambda value, n: np.full(n, value, dtype=np.int64)  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="usages per timed pass")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--experiment-cached-constants", action="store_true")
    args = parser.parse_args()

    from pricing.engine.catalog import load_catalog
    from pricing.analysis.comparison import compare
    from pricing.engine.money import to_minor
    from pricing.engine.rating import rate

    catalog = load_catalog("quasr")
    rng = np.random.default_rng(args.seed)
    maa = rng.integers(0, 400_000, args.calls)
    usages = [{"maa": int(a), "mac": int(a * rng.integers(0, 30)), "mat": int(rng.integers(0, 40))} for a in maa]

    for usage in usages:  # the baseline must be right before it is a baseline
        expected = {p: to_minor(v, 2) for p, v in quasr_totals_decimal(**usage).items()}
        got = {inv.plan: inv.total_minor for inv in compare(catalog, usage).invoices}
        assert got == expected, (usage, got, expected)

    baseline = cpu_per_call(lambda u: quasr_totals_decimal(**u), usages, args.repeats)
    full = cpu_per_call(lambda u: compare(catalog, u), usages, args.repeats)
    def totals_only(usage: dict[str, int]) -> list[int]:
        return [int(r.total_minor[0]) for r in rate(catalog, usage).plans.values()]

    totals = cpu_per_call(totals_only, usages, args.repeats)
    rows = [("plain Decimal function, 4 totals (baseline)", baseline),
            ("compare: 4 invoices with lines and explanations", full),
            ("rate, one row, 4 plans (no invoice assembly)", totals)]
    if args.experiment_cached_constants:
        _patch_cached_constants()
        rows.append(("experiment: rate with catalog constants cached", cpu_per_call(
            totals_only, usages, args.repeats)))
    print(f"quasr, {len(usages):,} random usages, best of {args.repeats}, CPU time per call:")
    for label, seconds in rows:
        print(f"  {label:<50} {seconds * 1e3:8.3f} ms  {seconds / baseline:6.1f}x the baseline")
    print(f"target for compare: 0.250 ms; measured {full * 1e3:.3f} ms ({full / 0.00025:.1f}x the target)")


if __name__ == "__main__":
    main()
