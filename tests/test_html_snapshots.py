"""The pages a customer or a reader opens, pinned: the quote, an invoice, a credit note and a month's index,
rendered from fixed hand-made inputs (fixed dates, no timestamps, no random ids) and compared with the
snapshots committed in ``tests/__snapshots__/test_html_snapshots/`` (open them in a browser to review).

A change to a template or to the formatting shows up here as a diff; when it is intended, review the
new page and run ``pytest tests/test_html_snapshots.py --snapshot-update``. Every page also escapes a
hostile name instead of running it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from pricing.engine.invoice import Invoice, Line, LineType
from pricing.reporting.html_pages import heading, paragraphs, table
from pricing.reporting.invoice_document import Buyer, parse_seller, render_html
from pricing.reporting.quote_document import build_quote, render_quote_html
from pricing.reporting.report_index import Entry, render_index

CATALOG = str(Path(__file__).parent / "fixtures" / "documents" / "quote_catalog.yaml")
ISSUED = date(2026, 5, 1)
APRIL = (datetime(2026, 4, 1), datetime(2026, 5, 1))
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


class HTMLSnapshot(SingleFileSnapshotExtension):
    """One readable ``.html`` file per snapshot, rather than an entry in an ``.ambr`` file."""

    file_extension = "html"
    _write_mode = WriteMode.TEXT


@pytest.fixture
def html_snapshot(snapshot):
    return snapshot.use_extension(HTMLSnapshot)


SELLER = parse_seller({
    "name": "Snapshot Demo GmbH", "address": ["Hauptstrasse 1", "10115 Berlin"], "tax_id": "DE123456789",
    "email": "billing@snapshot.example", "payment_terms_days": 14, "bank": "Bank: Example Bank\nIBAN: DE00 1234",
    "invoice_prefix": "INV-2026-", "quote_prefix": "Q-", "locale": "en_US",
}, "seller.yaml")


def buyer(name: str = "Acme Corp") -> Buyer:
    return Buyer(name=name, email="ap@acme.example", address=("200 Broadway", "New York, NY 10038"), tax_id="US-987")


def line(item: str, kind: LineType, quantity: str, unit_price: str | None, minor: int) -> Line:
    return Line(item, kind, Decimal(quantity), None if unit_price is None else Decimal(unit_price), minor,
                Decimal(minor).scaleb(-2), explanation="assumption: never shown to the customer",
                service_start=APRIL[0], service_end=APRIL[1])


def april_invoice() -> Invoice:
    """By hand: 49.00 + 300 x 0.50 = 199.00; tax 19% = 37.81; total 236.81."""
    return Invoice(catalog="snapshot_demo", plan="starter", currency="EUR", decimals=2, lines=(
        line("Starter fee", LineType.RECURRING, "1", "49.00", 4900),
        line("Active users", LineType.USAGE, "300", "0.50", 15000),
        line("Tax 19%", LineType.TAX, "1", None, 3781),
    ), period_start=APRIL[0], period_end=APRIL[1], customer_id="acme")


def april_credit_note() -> Invoice:
    """By hand: the 300 users reversed, -150.00; tax 19% = -28.50; total -178.50."""
    return Invoice(catalog="snapshot_demo", plan="starter", currency="EUR", decimals=2, lines=(
        line("Active users", LineType.CREDIT, "300", "0.50", -15000),
        line("Tax 19%", LineType.TAX, "1", None, -2850),
    ), period_start=APRIL[0], period_end=APRIL[1], customer_id="acme")


def quote_page(prospect: str = "Acme Corp") -> str:
    # 49.00 + 300 x 0.50 + (25,000 - 10,000) x 0.0015 = 221.50; -10% = -22.15 -> 199.35;
    # tax 21% = 41.8635 -> 41.86; monthly 241.21, x 12 = 2,894.52
    quote = build_quote(prospect, CATALOG, {"users": "300", "calls": "25000"}, "starter", 12, "10",
                        date(2026, 3, 1), tax_percent="21", seller=SELLER)
    assert quote.monthly_minor == 24121 and quote.term_total_minor == 289452
    return render_quote_html(quote)


def index_page(customer: str = "Acme Corp") -> str:
    entries = [Entry("finance.html", "Monthly finance report", "Finance", "totals, MRR, top customers"),
               Entry("invoices/INV-2026-00001.html", f"Invoice INV-2026-00001 ({customer})", "Invoices"),
               Entry("tenants/acme-prod.html", f"{customer}: tenant prod", "Tenants", "usage by day")]
    return render_index("Reports for 2026-04", entries, ["Catalogs: snapshot_demo (Snapshot Demo) version 1"])


def test_quote_page(html_snapshot):
    page = quote_page()
    assert "€2,894.52" in page and "€241.21" in page
    assert page == html_snapshot


def test_invoice_page(html_snapshot):
    page = render_html(april_invoice(), 1, ISSUED, SELLER, buyer())
    assert "<td class='num'>€236.81</td>" in page and "assumption:" not in page
    assert page == html_snapshot


def test_credit_note_page(html_snapshot):
    page = render_html(april_credit_note(), 2, ISSUED, SELLER, buyer(), credit_note_for="INV-2026-00001")
    assert "<td class='num'>-€178.50</td>" in page and "Please pay" not in page
    assert page == html_snapshot


def test_month_index_page(html_snapshot):
    page = index_page()
    assert '<a href="invoices/INV-2026-00001.html">' in page
    assert page == html_snapshot


@pytest.mark.parametrize("render", [
    pytest.param(lambda: quote_page(HOSTILE), id="quote"),
    pytest.param(lambda: render_html(april_invoice(), 1, ISSUED, SELLER, buyer(HOSTILE)), id="invoice"),
    pytest.param(lambda: render_html(april_credit_note(), 2, ISSUED, SELLER, buyer(HOSTILE),
                                     credit_note_for="INV-2026-00001"), id="credit-note"),
    pytest.param(lambda: index_page(HOSTILE), id="index"),
    pytest.param(lambda: table(["Customer"], [[HOSTILE]]) + heading(HOSTILE) + paragraphs([HOSTILE]),
                 id="fragments"),
])
def test_a_hostile_name_comes_out_escaped(render):
    page = str(render())
    assert "<script>" not in page
    assert ESCAPED in page
