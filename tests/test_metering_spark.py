"""The same Ibis metering on local PySpark gives exactly DuckDB's metrics."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.spark

if shutil.which("java") is None:
    pytest.skip("PySpark needs a Java runtime (no 'java' on PATH)", allow_module_level=True)
pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (bash scripts/setup.sh --dev)")

import ibis  # noqa: E402
import pyarrow as pa  # noqa: E402

from pricing.metering.meters import meter_events  # noqa: E402
from pricing.metering.sample_data import generate_book, month_events  # noqa: E402
from pricing.metering.store import Store  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("pricing-metering-test")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_duckdb_and_pyspark_give_identical_metrics(spark, tmp_path):
    book = generate_book(25, 2, seed=9)
    events = pa.concat_tables([t for i in range(2) for t in month_events(book, i)])
    mapping = dict(zip(book.customers["customer_id"], book.customers["catalog"]))

    with Store(tmp_path / "w.duckdb") as store:
        store.write_book(book)
        path = tmp_path / "events.parquet"
        import pyarrow.parquet as pq

        pq.write_table(events, path)
        store.ingest([path])
        expected = meter_events(store.ibis.table("events"), mapping)

    frame = events.to_pandas()
    frame["timestamp"] = frame["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
    spark.createDataFrame(frame).createOrReplaceTempView("events")
    con = ibis.pyspark.connect(spark)
    got = meter_events(con.table("events"), mapping)

    assert len(expected.tenants) > 100
    assert expected.months == got.months == list(book.months)
    for name in ("tenants", "customers"):
        a = getattr(expected, name).reset_index(drop=True)
        b = getattr(got, name).reset_index(drop=True)
        assert a.equals(b), name

    # one month, filtered on the backend, as the store meters it
    february = meter_events(con.table("events"), mapping, month="2026-02").to_json("2026-02")
    assert february == expected.to_json("2026-02")
    assert {"maa", "mac", "mat"} <= set(next(r for r in february["customers"] if r["catalog"] == "quasr"))
