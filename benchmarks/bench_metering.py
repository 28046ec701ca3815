"""Benchmark: metering throughput and peak memory, the workbook against pandas.

Generates one month of sample events as Parquet (in chunks, so generating is
bounded in memory too), then meters it in separate processes, each reporting
its own wall time and peak RSS:

* ``workbook (parquet)``: the Ibis metering on DuckDB, reading the Parquet file
  directly (the same input pandas gets);
* ``workbook (store)``: ``Store.ingest`` (checks, rejects, de-duplication of
  events) then ``Store.meter``, the path the CLI takes; then the same events
  ingested again as a re-export (another file, same events: every one a
  duplicate), which measures what de-duplicating against a full store costs;
* ``pandas``: the same aggregation written with pandas on the same Parquet;
* ``floor``: the workbook's metering and the same month written by hand in
  DuckDB SQL (``metering_floor.sql``), alternately in one process on the same
  Parquet, in CPU seconds, and their ratio (the target: within 1.2x).

All of them must produce identical metrics. Usage::

    python benchmarks/bench_metering.py                       # 10 million events
    python benchmarks/bench_metering.py --events 100_000_000 --skip-pandas --skip-reexport
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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

MONTH = "2026-01"


def _peak_rss_mib() -> float:
    """This process's peak resident size.

    NOTE: VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a
    worker started by a driver that once held 1.8 GiB would report 1.8 GiB.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_seconds() -> float:
    """User + system CPU time of this process: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- workers (each in its own process) ---------------------------------------------


def _mapping(out: Path) -> dict[str, str]:
    return json.loads((out / "customers.json").read_text())


def _events_view(out: Path, memory_limit: str, threads: int) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the generated Parquet as the view ``events``, under the run's limits."""
    import duckdb  # in the worker, where its memory is measured

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {threads}")
    con.execute(f"SET temp_directory = '{out / 'spill'}'")
    # The Parquet timestamp is zoned (UTC): the metering reads it as it is.
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{out / 'events'}/*.parquet')")
    return con


def work_duckdb_parquet(out: Path, memory_limit: str, threads: int) -> dict:
    import ibis

    from pricing.metering.meters import meter_events

    mapping = _mapping(out)
    started = time.perf_counter()
    con = _events_view(out, memory_limit, threads)
    result = meter_events(ibis.duckdb.from_connection(con).table("events"), mapping, month=MONTH)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mib": _peak_rss_mib(), "json": result.to_json(MONTH)}


def work_store(out: Path, memory_limit: str, threads: int) -> dict:
    import pandas as pd

    from pricing.metering.store import Store

    db = out / "workbook.duckdb"
    for stale in (db, db.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    customers = pd.read_parquet(out / "customers.parquet")
    cpu = [_cpu_seconds()]
    started = time.perf_counter()
    with Store(db, memory_limit=memory_limit, threads=threads) as store:
        store.con.execute(f"SET temp_directory = '{out / 'spill'}'")
        store.con.register("_c", customers)
        store.con.execute("INSERT INTO customers BY NAME SELECT * FROM _c")
        store.con.unregister("_c")
        report = store.ingest([out / "events"])
        ingested = time.perf_counter()
        cpu.append(_cpu_seconds())
        result = store.meter(MONTH)
        done = time.perf_counter()
        cpu.append(_cpu_seconds())
        again = store.ingest([out / "reexport"]) if (out / "reexport").is_dir() else None
        reingested = time.perf_counter()
        cpu.append(_cpu_seconds())
    return {
        "seconds": done - started, "ingest_seconds": ingested - started, "meter_seconds": done - ingested,
        "reingest_seconds": reingested - done, "reingest_accepted": again.accepted if again else None,
        "ingest_cpu_seconds": cpu[1] - cpu[0], "reingest_cpu_seconds": cpu[3] - cpu[2],
        "reingest_duplicates": getattr(again, "duplicates", 0) if again else None,
        "peak_rss_mib": _peak_rss_mib(), "accepted": report.accepted, "rejected": report.rejected,
        "store_mib": db.stat().st_size / 2**20, "json": result.to_json(MONTH),
    }


def work_pandas(out: Path, memory_limit: str, threads: int) -> dict:
    """The same metrics in plain pandas: read, filter by catalog rules, group, count."""
    import pandas as pd

    from pricing.engine.catalog import load_catalog

    mapping = _mapping(out)
    started = time.perf_counter()
    frames = [pd.read_parquet(p) for p in sorted((out / "events").glob("*.parquet"))]
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    del frames
    ts = df["timestamp"].dt.tz_convert("UTC")
    df = df[(ts >= pd.Timestamp(f"{MONTH}-01", tz="UTC")) & (ts < pd.Timestamp(f"{MONTH}-01", tz="UTC") + pd.offsets.MonthBegin(1))]
    df = df.assign(catalog=df["customer_id"].map(mapping))
    keys = ["customer_id", "tenant_id"]
    tenants: list[dict] = []
    customers: list[dict] = []
    for catalog_id, sub in df.groupby("catalog", sort=True):
        catalog = load_catalog(str(catalog_id))
        metered = [m for m, spec in catalog.metrics.items() if spec.meter is not None]
        if not metered:
            continue
        table = sub.groupby(keys).size().rename("_n").to_frame()
        ok = sub["status"].between(200, 299)
        for name in metered:
            spec = catalog.metrics[name].meter
            if spec.aggregate == "active_tenants":
                table[name] = (table[list(spec.active_if)] > 0).any(axis=1).astype("int64")
                continue
            mask = pd.Series(False, index=sub.index)
            for call in spec.calls:
                mask |= (sub["method"] == call.method) & (sub["endpoint"] == call.endpoint) & sub[
                    "account_kind"].isin(call.account_kinds)
            if spec.success_only:
                mask &= ok
            hits = sub[mask].groupby(keys)["account_id"]
            values = hits.nunique() if spec.aggregate == "distinct_accounts" else hits.size()
            table[name] = values.reindex(table.index, fill_value=0).astype("int64")
        table = table.drop(columns="_n").reset_index()
        for row in table.itertuples(index=False):
            tenants.append({"customer_id": row.customer_id, "tenant_id": row.tenant_id, "catalog": catalog_id,
                            **{m: int(getattr(row, m)) for m in metered}})
        rolled = table.groupby("customer_id")[metered].sum().reset_index()
        for row in rolled.itertuples(index=False):
            customers.append({"customer_id": row.customer_id, "catalog": catalog_id,
                              **{m: int(getattr(row, m)) for m in metered}})
    seconds = time.perf_counter() - started
    result = {
        "month": MONTH,
        "tenants": sorted(tenants, key=lambda r: (r["customer_id"], r["tenant_id"])),
        "customers": sorted(customers, key=lambda r: r["customer_id"]),
    }
    return {"seconds": seconds, "peak_rss_mib": _peak_rss_mib(), "json": result}


FLOOR_SQL = Path(__file__).with_name("metering_floor.sql")


def floor_tenants(frame) -> list[dict]:  # type: ignore[no-untyped-def]
    """The floor's wide rows as the project's ``to_json()["tenants"]``: a key per metric of the tenant's catalog."""
    rows = []
    for record in frame.to_dict("records"):
        prefix = f"{record['catalog']}__"
        metrics = {k[len(prefix):]: int(v) for k, v in record.items() if k.startswith(prefix)}
        if metrics:  # a catalog that meters nothing has no tenant rows in the project's result
            rows.append({"customer_id": record["customer_id"], "tenant_id": record["tenant_id"],
                         "catalog": record["catalog"], **metrics})
    return sorted(rows, key=lambda r: (r["customer_id"], r["tenant_id"]))


def work_floor(out: Path, memory_limit: str, threads: int, repeat: int = 3) -> dict:
    """The project's metering and the hand-written SQL floor, alternately, on one connection.

    Both read the same Parquet through the same view and the same customer mapping. Each
    run's CPU seconds (all DuckDB threads of this process) are recorded; the project's
    include building and compiling the Ibis expression and its rollup to customers.
    """
    import ibis
    import pandas as pd

    from pricing.engine.periods import month_bounds
    from pricing.metering.meters import meter_events

    mapping = _mapping(out)
    con = _events_view(out, memory_limit, threads)
    frame = pd.DataFrame({"customer_id": list(mapping), "catalog": list(mapping.values())})
    con.execute("CREATE TABLE customers AS SELECT * FROM frame")
    start, end = month_bounds(MONTH)
    floor_sql = FLOOR_SQL.read_text()
    backend = ibis.duckdb.from_connection(con)
    cpu: dict[str, list[float]] = {"project": [], "floor": []}
    project = floor = None
    for _ in range(repeat):
        before = _cpu_seconds()
        project = meter_events(backend.table("events"), mapping, month=MONTH)
        cpu["project"].append(_cpu_seconds() - before)
        before = _cpu_seconds()
        floor = con.execute(floor_sql, {"start": start, "end": end}).df()
        cpu["floor"].append(_cpu_seconds() - before)
    assert project is not None and floor is not None
    return {"cpu": cpu, "same": project.to_json(MONTH)["tenants"] == floor_tenants(floor),
            "tenants": len(floor), "peak_rss_mib": _peak_rss_mib(), "seconds": 0.0}


WORKERS = {"duckdb_parquet": work_duckdb_parquet, "store": work_store, "pandas": work_pandas, "floor": work_floor}


# --- driver ------------------------------------------------------------------------


def generate(out: Path, events: int, seed: int, with_reexport: bool = True) -> tuple[int, float]:
    import pyarrow.parquet as pq

    from pricing.metering.sample_data import generate_book, write_events

    probe = generate_book(2_000, 1, seed, end_month=MONTH)
    per_customer = probe.expected_events() / 2_000
    customers = max(10, round(events / per_customer))
    started = time.perf_counter()
    book = generate_book(customers, 1, seed, end_month=MONTH)
    (out / "events").mkdir(parents=True, exist_ok=True)
    for old in (out / "events").glob("*"):
        old.unlink()
    paths = write_events(book, out / "events")
    seconds = time.perf_counter() - started
    mapping = dict(zip(book.customers["customer_id"], book.customers["catalog"]))
    (out / "customers.json").write_text(json.dumps(mapping))
    book.customers.to_parquet(out / "customers.parquet")
    rows = sum(pq.read_metadata(p).num_rows for p in paths)
    size = sum(p.stat().st_size for p in paths) / 2**20
    if with_reexport:
        reexport(out)
    print(f"generated {rows:,} events of {customers:,} customers in {seconds:.1f} s"
          f" ({rows / seconds / 1e6:.2f} M events/s); Parquet {size:,.0f} MiB")
    return rows, seconds


def reexport(out: Path) -> None:
    """The same events in other files (other row order inside row groups, other bytes): all duplicates."""
    import duckdb

    target = out / "reexport"
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*"):
        old.unlink()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '1GB'")
    for path in sorted((out / "events").glob("*.parquet")):
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{path}')) TO '{target / ('again-' + path.name)}'"
            " (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 250000)"
        )


def run_worker(name: str, out: Path, memory_limit: str, threads: int) -> dict:
    """Run one worker process, sampling its resident memory every 20 ms."""
    import psutil

    command = [sys.executable, __file__, "--worker", name, "--out", str(out),
               "--memory-limit", memory_limit, "--threads", str(threads)]
    # Output goes to files: a full pipe would block the worker while we sample it.
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True)
        watched = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.02)
        stdout.seek(0)
        stderr.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"worker {name} failed:\n{stderr.read()}")
        result = json.loads(stdout.read().splitlines()[-1])
    result["sampled_peak_rss_mib"] = peak / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-pandas", action="store_true", help="pandas needs the events in memory")
    parser.add_argument("--skip-store", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="reuse events already generated in --out")
    parser.add_argument("--skip-reexport", action="store_true",
                        help="do not write OUT/reexport (the store worker re-ingests it only when present)")
    parser.add_argument("--skip-floor", action="store_true",
                        help="do not time the metering against the hand-written SQL floor")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        result = WORKERS[args.worker](args.out, args.memory_limit, args.threads)
        print(json.dumps(result))
        return

    args.out.mkdir(parents=True, exist_ok=True)
    if args.reuse and (args.out / "customers.json").exists():
        import pyarrow.parquet as pq

        rows = sum(pq.read_metadata(p).num_rows for p in (args.out / "events").glob("*.parquet"))
        print(f"reusing {rows:,} events in {args.out / 'events'}")
        if not (args.out / "reexport").is_dir() and not args.skip_reexport:
            reexport(args.out)
    else:
        rows, _ = generate(args.out, args.events, args.seed, not args.skip_reexport)
    print(f"machine: {os.cpu_count()} CPUs; DuckDB memory_limit {args.memory_limit}, threads {args.threads}")

    names = ["duckdb_parquet"] + ([] if args.skip_store else ["store"]) + ([] if args.skip_pandas else ["pandas"])
    labels = {"duckdb_parquet": "workbook (Ibis on DuckDB, Parquet)", "store": "workbook (ingest + meter)",
              "pandas": "pandas (same aggregation)"}
    results = {name: run_worker(name, args.out, args.memory_limit, args.threads) for name in names}
    # peak RSS: the kernel's high-water mark (VmHWM) reported by the worker itself,
    # and the highest resident size the driver saw sampling it every 20 ms.
    print(f"\n{'engine':38} {'seconds':>9} {'M events/s':>11} {'peak RSS MiB':>13} {'(sampled)':>10}")
    for name in names:
        r = results[name]
        print(f"{labels[name]:38} {r['seconds']:9.1f} {rows / r['seconds'] / 1e6:11.2f}"
              f" {r['peak_rss_mib']:13.0f} {r['sampled_peak_rss_mib']:10.0f}")
    if "store" in results:
        s = results["store"]
        print(f"  store: ingest {s['ingest_seconds']:.1f} s, {s['ingest_cpu_seconds']:.1f} CPU-s"
              f" ({rows / s['ingest_seconds'] / 1e6:.2f} M events/s),"
              f" meter {s['meter_seconds']:.1f} s ({rows / s['meter_seconds'] / 1e6:.2f} M events/s),"
              f" {s['accepted']:,} accepted, {s['rejected']:,} rejected, file {s['store_mib']:,.0f} MiB")
        if s["reingest_accepted"] is None:
            print("  store: no re-export ingested (OUT/reexport absent)")
        else:
            print(f"  store: the same events again in other files: {s['reingest_seconds']:.1f} s,"
                  f" {s['reingest_cpu_seconds']:.1f} CPU-s"
                  f" ({rows / s['reingest_seconds'] / 1e6:.2f} M events/s), {s['reingest_accepted']:,} stored again,"
                  f" {s['reingest_duplicates']:,} skipped as duplicates")
    reference = results["duckdb_parquet"]["json"]
    for name in names[1:]:
        same = results[name]["json"] == reference
        print(f"  {labels[name]} metrics identical to the workbook's: {'yes' if same else 'NO'}")
    if "pandas" in results:
        speedup = results["pandas"]["seconds"] / results["duckdb_parquet"]["seconds"]
        print(f"  workbook vs pandas throughput: {speedup:.1f}x")
    if not args.skip_floor:
        f = run_worker("floor", args.out, args.memory_limit, args.threads)
        project, floor = min(f["cpu"]["project"]), min(f["cpu"]["floor"])
        print(f"\nfloor: the project's metering and the hand-written SQL ({FLOOR_SQL.name}),"
              f" alternately in one process, CPU-s of each of {len(f['cpu']['floor'])} runs:")
        print(f"  project (Ibis on DuckDB, Parquet) {', '.join(f'{c:.2f}' for c in f['cpu']['project'])}")
        print(f"  hand-written DuckDB SQL           {', '.join(f'{c:.2f}' for c in f['cpu']['floor'])}")
        print(f"  ratio of the fastest runs: {project / floor:.2f}x the floor (target <= 1.2x);"
              f" same {f['tenants']:,} tenant rows: {'yes' if f['same'] else 'NO'}")


if __name__ == "__main__":
    main()
