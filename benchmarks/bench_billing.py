"""Billing speed: a month of subscription invoices for a whole customer book, from the store to stored invoices.

    .venv/bin/python benchmarks/bench_billing.py                       # 100,000 customers
    .venv/bin/python benchmarks/bench_billing.py --customers 10000

Setup (not timed): the sample generator's book of ``--customers`` customers
(subscription timelines and prepaid ledgers, as YAML in the store), one
hand-written event per month so the months exist, and each customer's
metered usage for the two months saved as metrics (the generator's usage
table, no events: metering has its own benchmark).

Timed, in the same run:

* ``bill_month``: ``pricing.billing_run.bill_month(store, MONTH)``, the
  whole path ``pricing invoices``/the demo take: timelines parsed, replayed
  into drafts, every draft priced by the rating engine, the month's invoices
  stored;
* its parts: parsing the stored timelines, replaying them into drafts,
  pricing the drafts, storing the invoices;
* the floor: ``pricing.rating.rate`` alone pricing every subscription
  customer's usage and holdings under their plan (one call per plan), no
  timelines, no proration, nothing stored.

Prints timelines per second, the ratio to ``rate`` alone, and this process's
peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pricing.billing_run import (
    _price_many, bill_month, ledger_results, load_timelines, previous_month, timeline_drafts, usage_by_month,
)
from pricing.catalog import load_catalog
from pricing.metering import MeterResult
from pricing.rating import rate
from pricing.sample_data import generate_book, generate_usage_table
from pricing.store import Store
from pricing.subscriptions import state_at

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


def _events_file(folder: Path, customer: str) -> Path:
    path = folder / "events.csv"
    rows = ["timestamp,customer_id,tenant_id,account_id,account_kind,method,endpoint,status"]
    for month in (previous_month(MONTH), MONTH):
        rows.append(f"{month}-15T12:00:00Z,{customer},prod,u1,user,POST,factors/login,200")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def bill(store_path: Path) -> dict:
    """In its own process (so its peak memory is its own): bill the month, then time the parts."""
    with Store(store_path) as store:
        start, cpu = time.perf_counter(), time.process_time()
        run = bill_month(store, MONTH)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak = peak_rss_mib()

        # the parts, once more, to see where the time goes (CPU seconds)
        t0 = time.process_time()
        parsed = load_timelines(store)
        t1 = time.process_time()
        usage = usage_by_month(store, [previous_month(MONTH), MONTH])
        catalogs = {c: load_catalog(c) for c in {t.catalog for t in parsed.values()}}
        batches: dict[str, list] = {}
        for timeline in parsed.values():
            batches.setdefault(timeline.catalog, []).append(
                timeline_drafts(catalogs[timeline.catalog], timeline, MONTH, usage))
        t2 = time.process_time()
        invoices = [inv for cid, batch in batches.items() for inv in _price_many(catalogs[cid], batch)]
        t3 = time.process_time()
        store.issue_invoices(MONTH, run.invoices)  # all issued already: compares, writes nothing
        t4 = time.process_time()
        ledgers = ledger_results(store, MONTH, runway=False)
        t5 = time.process_time()

        # the floor: rate alone, each subscription customer's holdings and usage under their plan
        month_usage = usage[MONTH]
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
        floor = time.process_time() - r0
    return {"wall": wall, "cpu": cpu, "peak": peak, "invoices": len(run.invoices), "parse": t1 - t0,
            "replay": t2 - t1, "price": t3 - t2, "priced": len(invoices), "store": t4 - t3, "ledgers": t5 - t4,
            "ledger_count": len(ledgers), "floor": floor, "rated": sum(len(f) for f in frames.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--bill", type=Path, help=argparse.SUPPRESS)  # the worker: bill this store
    args = parser.parse_args()
    if args.bill is not None:
        print(json.dumps(bill(args.bill)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        made = time.perf_counter()
        book = generate_book(args.customers, 3, args.seed, end_month=MONTH)
        with Store(folder / "bench.duckdb") as store:
            store.write_book(book)
            store.ingest(_events_file(folder, str(book.customers["customer_id"].iloc[0])))
            for offset, month in enumerate((previous_month(MONTH), MONTH)):
                store.save_metrics(month, _usage(book.customers, month, args.seed + offset))
        made = time.perf_counter() - made
        worker = subprocess.run([sys.executable, __file__, "--bill", str(folder / "bench.duckdb")],
                                capture_output=True, text=True, check=False)
        if worker.returncode != 0:
            raise SystemExit(worker.stderr)
        r = json.loads(worker.stdout.strip().splitlines()[-1])

    timelines = len(book.timelines)
    print(f"book: {args.customers:,} customers, {timelines:,} subscription timelines, {len(book.ledgers):,} prepaid"
          f" ledgers; setup {made:.1f} s")
    print(f"bill_month {MONTH}: {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU = {timelines / r['cpu']:,.0f} timelines"
          f" per CPU-second; {r['invoices']:,} invoices; peak RSS (VmHWM) of the billing process {r['peak']:,.0f} MiB")
    print(f"  CPU: parse stored timelines {r['parse']:.2f} s | replay into drafts {r['replay']:.2f} s |"
          f" price drafts {r['price']:.2f} s ({r['priced']:,} invoices) | prepaid ledgers {r['ledgers']:.2f} s"
          f" ({r['ledger_count']:,}) | compare with stored invoices {r['store']:.2f} s")
    print(f"rate alone (holdings + usage of {r['rated']:,} customers, one call per plan): {r['floor']:.3f} CPU-s;"
          f" bill_month / rate = {r['cpu'] / r['floor']:.0f}x in CPU time")


if __name__ == "__main__":
    main()
