"""Billing speed: a month of subscription invoices for a whole customer book, from the store to stored invoices.

    .venv/bin/python benchmarks/bench_billing.py                                   # 100,000 customers, 3 months
    .venv/bin/python benchmarks/bench_billing.py --customers 10000 --months 24     # a vendor's spread

Setup (not timed): the sample generator's book of ``--customers`` customers
(subscription timelines and prepaid ledgers, as YAML in the store) whose
stories (sign-ups, upgrades, cancellations...) are spread over ``--months``
months ending with the billed month: with 3 months a third of the customers
change in the billed month, with 24 about one in 24, as in a vendor's book.
One hand-written event per month so the months exist, and each customer's
metered usage for the two months saved as metrics (the generator's usage
table, no events: metering has its own benchmark).

Timed, each in a process of its own (so its peak memory is its own), on a
copy of the same store:

* cold: ``pricing.billing.billing_run.bill_month(store, MONTH)`` with the
  settled-subscription cache empty (every timeline read, settled and cached);
* warm: the same after billing the previous month (which filled the cache):
  what a month-end run costs in steady state;
* the warm run's parts, once more: reading the cache, usage, the settled
  customers' drafts, the other customers' timelines read and replayed,
  pricing every draft, prepaid ledgers, comparing with the stored invoices;
* the floor: ``pricing.engine.rating.rate`` alone pricing every subscription
  customer's usage and holdings under their plan (one call per plan), no
  timelines, no proration, nothing stored.

Prints timelines per CPU-second, the ratio to ``rate`` alone, and each
billing process's peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pricing.billing.billing_run import (
    BillingRun, _Catalogs, _collector_paused, _price_many, _replayed_batches, _settled_batches, _statements,
    _subscriptions, bill_month, load_timelines, usage_by_month,
)
from pricing.engine.catalog import load_catalog
from pricing.engine.periods import previous_month
from pricing.metering.meters import MeterResult
from pricing.engine.rating import rate
from pricing.metering.sample_data import Book, generate_book, generate_usage_table
from pricing.metering.store import Store
from pricing.billing.subscriptions import state_at

MONTH = "2026-03"
MONTH_END = datetime(2026, 3, 31, 23, 59, tzinfo=UTC)


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _usage(book_customers: pd.DataFrame, month: str, seed: int) -> MeterResult:
    frames = []
    for catalog_id, group in book_customers.groupby("catalog"):
        catalog = load_catalog(str(catalog_id))
        table = generate_usage_table(catalog, len(group), seed)
        metered = [m for m in table.columns if catalog.metrics[m].meter is not None]
        table = table[metered].assign(customer_id=group["customer_id"].to_numpy(), catalog=catalog_id)
        frames.append(table.melt(id_vars=["customer_id", "catalog"], var_name="metric", value_name="value"))
    customers = pd.concat(frames, ignore_index=True).assign(month=month)
    tenants = customers.assign(tenant_id="prod")
    return MeterResult(tenants=tenants[["month", "customer_id", "tenant_id", "catalog", "metric", "value"]],
                       customers=customers[["month", "customer_id", "catalog", "metric", "value"]])


def write_store(path: Path, customers: int, months: int, seed: int) -> Book:
    """The generator's book in a store at ``path``, one hand-written event per month so the months
    exist, and each customer's metered usage of the last two months (no events: metering has its own
    benchmark). Returns the book."""
    book = generate_book(customers, months, seed, end_month=MONTH)
    with Store(path) as store:
        store.write_book(book)
        store.ingest(_events_file(path.parent, str(book.customers["customer_id"].iloc[0])))
        for offset, month in enumerate((previous_month(MONTH), MONTH)):
            store.save_metrics(month, _usage(book.customers, month, seed + offset))
    return book


def _events_file(folder: Path, customer: str) -> Path:
    path = folder / "events.csv"
    rows = ["timestamp,customer_id,tenant_id,account_id,account_kind,method,endpoint,status"]
    for month in (previous_month(MONTH), MONTH):
        rows.append(f"{month}-15T12:00:00Z,{customer},prod,u1,user,POST,factors/login,200")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _floor(store: Store, parsed: dict, catalogs: dict, month_usage: dict) -> tuple[float, int]:
    """``rate`` alone: each subscription customer's holdings and usage under their plan, one call per plan."""
    rows: dict[tuple[str, str], list[dict]] = {}
    for customer_id, timeline in parsed.items():
        catalog = catalogs[timeline.catalog]
        if timeline.events[0].at >= MONTH_END:
            continue  # starts after the month: nothing to rate
        held = state_at(catalog, timeline, MONTH_END)
        row = {**held.quantities, **held.commitments,
               **{m: v for m, v in month_usage.get(customer_id, {}).items() if m in catalog.metrics}}
        rows.setdefault((timeline.catalog, held.plan), []).append(row)
    frames = {key: pd.DataFrame(value).fillna(0) for key, value in rows.items()}
    r0 = time.process_time()
    for (catalog_id, plan_id), frame in frames.items():
        rate(catalogs[catalog_id], frame, [plan_id])
    return time.process_time() - r0, sum(len(f) for f in frames.values())


def bill(store_path: Path, warm: bool) -> dict:
    """In its own process: bill the month (warm: after the previous month), then time the parts."""
    with Store(store_path) as store:
        if warm:
            bill_month(store, previous_month(MONTH))  # fills the settled-subscription cache
        start, cpu = time.perf_counter(), time.process_time()
        run = bill_month(store, MONTH)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak = peak_rss_mib()
        out = {"wall": wall, "cpu": cpu, "peak": peak, "invoices": len(run.invoices)}
        if not warm:
            return out

        # the parts of the warm run, once more (CPU seconds), the garbage collector paused as bill_month pauses it
        with _collector_paused():
            out |= _parts(store, run)
        parsed = load_timelines(store)
        catalogs = {c: load_catalog(c) for c in {t.catalog for t in parsed.values()}}
        usage = usage_by_month(store, [MONTH])
        out["floor"], out["rated"] = _floor(store, parsed, catalogs, usage[MONTH])
    return out


def _parts(store: Store, run: BillingRun) -> dict:
    """The parts of a warm run, once more (CPU seconds each)."""
    out: dict = {}
    clock = [time.process_time()]

    def lap() -> float:
        clock.append(time.process_time())
        return clock[-1] - clock[-2]

    catalogs = _Catalogs()
    known = _subscriptions(store, catalogs, remember=False)
    out["cache"] = lap()
    usage = usage_by_month(store, [previous_month(MONTH), MONTH])
    out["usage"] = lap()
    batches, replayed = _settled_batches(known, MONTH, usage, catalogs)
    out["settled"], out["settled_count"] = lap(), len(known.catalog_of) - len(replayed)
    _replayed_batches(store, known, replayed, MONTH, usage, catalogs, batches)
    out["replay"], out["replayed_count"] = lap(), len(replayed)
    invoices = [i for cid, batch in batches.items() for i in _price_many(catalogs[cid], batch)]
    out["price"], out["priced"] = lap(), len(invoices)
    statements = _statements(store, MONTH, catalogs)
    out["ledgers"], out["ledger_count"] = lap(), len(statements)
    store.issue_invoices(MONTH, run.invoices)  # all issued already: compares, writes nothing
    out["store"] = lap()
    return out


def _worker(store: Path, warm: bool) -> dict:
    flag = "--warm" if warm else "--cold"
    done = subprocess.run([sys.executable, __file__, flag, str(store)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=3, help="months the book's stories are spread over")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--cold", type=Path, help=argparse.SUPPRESS)  # the workers: bill this store
    parser.add_argument("--warm", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold is not None or args.warm is not None:
        print(json.dumps(bill(args.warm or args.cold, warm=args.warm is not None)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        made = time.perf_counter()
        book = write_store(folder / "bench.duckdb", args.customers, args.months, args.seed)
        shutil.copy(folder / "bench.duckdb", folder / "warm.duckdb")
        made = time.perf_counter() - made
        cold = _worker(folder / "bench.duckdb", warm=False)
        r = _worker(folder / "warm.duckdb", warm=True)

    timelines = len(book.timelines)
    print(f"book: {args.customers:,} customers, {timelines:,} subscription timelines, {len(book.ledgers):,} prepaid"
          f" ledgers, stories over {args.months} months; setup {made:.1f} s")
    for name, run in (("cold (cache empty)", cold), ("warm (previous month billed)", r)):
        print(f"bill_month {MONTH}, {name}: {run['wall']:.2f} s wall, {run['cpu']:.2f} s CPU ="
              f" {timelines / run['cpu']:,.0f} timelines per CPU-second; {run['invoices']:,} invoices;"
              f" peak RSS {run['peak']:,.0f} MiB")
    print(f"  warm parts, CPU: read the cache {r['cache']:.2f} s | usage {r['usage']:.2f} s |"
          f" settled drafts {r['settled']:.2f} s ({r['settled_count']:,}) | timelines read and replayed"
          f" {r['replay']:.2f} s ({r['replayed_count']:,}) | price drafts {r['price']:.2f} s ({r['priced']:,} invoices)"
          f" | prepaid ledgers {r['ledgers']:.2f} s ({r['ledger_count']:,}) | compare with stored invoices"
          f" {r['store']:.2f} s")
    subscriptions = r["cpu"] - r["ledgers"]
    parts = sum(r[k] for k in ("cache", "usage", "settled", "replay", "price", "store"))
    print(f"  warm without the prepaid ledgers: {subscriptions:.2f} CPU-s = {timelines / subscriptions:,.0f} timelines"
          f" per CPU-second (the subscription parts add up to {parts:.2f} s = {timelines / parts:,.0f} per CPU-second)")
    print(f"rate alone (holdings + usage of {r['rated']:,} customers, one call per plan): {r['floor']:.3f} CPU-s;"
          f" warm bill_month / rate = {r['cpu'] / r['floor']:.0f}x in CPU time"
          f" ({subscriptions / r['floor']:.0f}x without the ledgers)")


if __name__ == "__main__":
    main()
