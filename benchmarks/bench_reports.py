"""A month's reports at scale: the monthly report, the Excel register and every tenant page.

    .venv/bin/python benchmarks/bench_reports.py                    # 1,000 customers (~3,500 tenant pages)
    .venv/bin/python benchmarks/bench_reports.py --customers 100 --jobs 2 --keep /tmp/reports-100

Builds a billed store with the sample-data generator (``--months`` months of
events, every month metered and billed; timed apart as "setup"), then times what
``pricing report monthly`` and ``pricing report tenants`` do for the last month,
from a cold start (no page, no kernel): wall time, CPU time (this process and the
kernels it started), pages per second and the size of the month's folder. One
run, not a best-of: the cost is dominated by thousands of notebook runs, not noise.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from pricing.billing.billing_run import bill_month
from pricing.reporting.report_runs import build_monthly, build_tenants, failed_lines, month_dir, write_month_index
from pricing.metering.sample_data import generate_book, write_events
from pricing.metering.store import Store


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the kernels, once shut down)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--months", type=int, default=2, help="months of events, all billed (default 2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=None, help="warm kernels (default: CPU count, at most 4)")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it (default: a temp dir)")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-reports-"))
    root.mkdir(parents=True, exist_ok=True)
    store_path, out = root / "workbook.duckdb", root / "reports"
    for stale in (store_path, out):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    try:
        started = time.perf_counter()
        book = generate_book(args.customers, args.months, args.seed)
        paths = write_events(book, root / "events")
        with Store(store_path) as store:
            store.write_book(book)
            ingested = store.ingest(paths)
            for month in book.months:
                store.meter(month)
            for month in book.months:
                bill_month(store, month)
        month = book.months[-1]
        print(f"setup: {args.customers:,} customers x {args.months} months, {ingested.lines()[-1]}"
              f" ({time.perf_counter() - started:.1f} s)")

        wall0, cpu0 = time.perf_counter(), _cpu()
        monthly = build_monthly(store_path, month, out)
        wall1 = time.perf_counter()
        tenants = build_tenants(store_path, month, out, jobs=args.jobs, progress=False)
        wall2 = time.perf_counter()
        write_month_index(out, month, store_path)
        wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0

        written = sum(r.status == "rendered" for r in tenants)
        failed = failed_lines(tenants, out, month)
        size, files = _size(month_dir(out, month))
        pages = written + sum(r.status == "rendered" and r.path.suffix == ".html" for r in monthly)
        print(f"month {month}: {pages:,} pages ({written:,} tenant pages, {len(failed)} failed) on"
              f" {os.cpu_count()} CPUs")
        print(f"wall {wall:.1f} s (monthly report and register {wall1 - wall0:.1f} s,"
              f" tenant pages {wall2 - wall1:.1f} s, index {wall - (wall2 - wall0):.1f} s)")
        print(f"CPU {cpu:.1f} s (this process and its kernels), {cpu / wall:.2f} CPUs busy on average")
        print(f"{pages / wall:.2f} pages/s")
        print(f"folder {size / 1e6:.1f} MB in {files:,} files ({size / max(pages, 1) / 1e3:.1f} kB a page)")
        for line in failed:
            print(line)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
