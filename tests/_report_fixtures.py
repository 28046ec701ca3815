"""One small billed store for the report tests (12 customers x 2 months), built once per session.

Customer c0001 gets a name full of HTML and its production tenant an id full of
path characters, so every report must escape and sanitise them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from pricing.billing.billing_run import bill_month
from pricing.metering.sample_data import generate_book, write_events
from pricing.metering.store import Store

HOSTILE_NAME = '<script>alert("x")</script> & Sons'
HOSTILE_TENANT = "c0001/../prod <b>"
MONTH = "2026-03"
PREVIOUS = "2026-02"


@dataclass(frozen=True)
class ReportStore:
    path: Path
    month: str
    previous: str


@pytest.fixture(scope="session")
def report_store(tmp_path_factory: pytest.TempPathFactory) -> ReportStore:
    root = tmp_path_factory.mktemp("report_store")
    book = generate_book(12, 2, 7)
    customers = book.customers.copy()
    customers.loc[customers["customer_id"] == "c0001", "name"] = HOSTILE_NAME
    book = replace(book, customers=customers)
    paths = write_events(book, root / "events")
    path = root / "workbook.duckdb"
    with Store(path) as store:
        store.write_book(book)
        store.ingest(paths)
        store.con.execute("UPDATE events SET tenant_id = ? WHERE tenant_id = 'c0001-prod'", [HOSTILE_TENANT])
        for month in book.months:
            store.meter(month)
        for month in (PREVIOUS, MONTH):
            bill_month(store, month)
    return ReportStore(path, MONTH, PREVIOUS)
