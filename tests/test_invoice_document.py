"""The invoice a customer receives: parties, number and dates, every line, locale-formatted totals,
credit notes, no internal notes, escaping, the seller file's one-line errors, atomic files and the PDF."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pricing.errors import ReportError
from pricing.engine.invoice import Invoice, Line, LineType
from pricing.reporting.invoice_document import (
    Buyer,
    Seller,
    describe_line,
    load_seller,
    parse_seller,
    render_html,
    write_documents,
)
from pricing.reporting.notebook_runner import safe_name
from pricing.reporting.pdf import find_chromium

ROOT = Path(__file__).resolve().parents[1]
ISSUED = date(2026, 5, 1)
APRIL = (datetime(2026, 4, 1), datetime(2026, 5, 1))

# What must never reach a customer: line explanations and invoice notes name sources, assumptions, seeds.
INTERNAL = (
    "seed: sample_data/seeds/acme.yaml, rows 1-40",
    "assumption: 4 USD per resource from the sales deck",
    "Source quasr-pricing: https://example.com/pricing (2026-01)",
)


def line(item: str, kind: LineType, quantity: str, unit_price: str | None, minor: int, explanation: str = "",
         period: tuple[datetime, datetime] | None = None) -> Line:
    start, end = period or (None, None)
    return Line(item, kind, Decimal(quantity), None if unit_price is None else Decimal(unit_price), minor,
                Decimal(minor).scaleb(-2), explanation=explanation, service_start=start, service_end=end)


def usd_invoice(currency: str = "USD") -> Invoice:
    """Written out by hand: 1,200.00 + 2 x 4.00 + 1,000 x 0.0265 = 1,234.50; -10% = 1,111.05; +19% tax."""
    lines = (
        line("Business plan", LineType.RECURRING, "1", "1200.00", 120000, INTERNAL[2]),
        line("API resources", LineType.USAGE, "2", "4.00", 800, INTERNAL[1], APRIL),
        line("Monthly active users over 5,000", LineType.USAGE, "1000", "0.0265", 2650, INTERNAL[0],
             (datetime(2026, 4, 1), datetime(2026, 4, 16))),
        line("Discount 10%", LineType.DISCOUNT, "1", None, -12345, "10% of 1234.50, assumption: deal desk"),
        line("Sales tax 19%", LineType.TAX, "1", None, 21110, "19% of 1111.05 = 211.0995, rounded half up"),
    )
    return Invoice(catalog="quasr", plan="business", currency=currency, decimals=2, lines=lines,
                   period_start=APRIL[0], period_end=APRIL[1], customer_id="acme",
                   notes=("assumption: seats from the CRM export", "seed: timelines/acme.yaml"))


def seller(**changes: object) -> Seller:
    data: dict[str, object] = {
        "name": "Quasr Identity Inc.", "address": ["1 Market Street", "San Francisco, CA 94105"],
        "tax_id": "EIN 12-3456789", "email": "billing@quasr.example", "payment_terms_days": 30,
        "bank": "Bank: Example Bank\nIBAN: US00 0000 1111 2222", "invoice_prefix": "INV-2026-", "locale": "en_US",
    }
    data.update(changes)
    return parse_seller(data, "seller.yaml")


BUYER = Buyer.from_mapping({"id": "acme", "name": "Acme Corp", "billing_email": "ap@acme.example",
                            "address": "200 Broadway\nNew York, NY 10038", "tax_id": "US-987", "catalog": "quasr"})


def plain(text: str) -> str:
    """Babel's narrow, thin and no-break spaces as plain spaces, so tests read naturally."""
    return re.sub("[\u00a0\u2009\u202f]", " ", text)


def totals(page: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for kind, label, amount in re.findall(r"<tr class='(\w+)'><td>([^<]*)</td><td class='num'>([^<]*)</td></tr>", page):
        found.setdefault(kind, []).append(plain(f"{label}: {amount}"))
    return found


# --- the document ---------------------------------------------------------------------------


def test_parties_number_and_dates():
    page = plain(render_html(usd_invoice(), 12, ISSUED, seller(), BUYER))
    for text in ("Quasr Identity Inc.", "1 Market Street", "San Francisco, CA 94105", "Tax ID: EIN 12-3456789",
                 "billing@quasr.example", "Acme Corp", "200 Broadway", "New York, NY 10038", "Tax ID: US-987",
                 "ap@acme.example", "IBAN: US00 0000 1111 2222"):
        assert text in page, text
    assert "<h1>Invoice</h1>" in page
    assert "<td class='invoice-number'>INV-2026-00012</td>" in page
    assert "<td class='issue-date'>May 1, 2026</td>" in page
    assert "<td class='due-date'>May 31, 2026</td>" in page  # 30 days' terms
    assert "<td class='service-period'>Apr 1 – 30, 2026</td>" in page
    assert "Please pay <b>$1,322.15</b> by <b>May 31, 2026</b> (30 days)" in page
    on_receipt = render_html(usd_invoice(), 12, ISSUED, seller(payment_terms_days=0), BUYER)
    assert "<td class='due-date'>May 1, 2026</td>" in on_receipt and "(due on receipt)" in on_receipt


def test_every_line_with_period_quantity_unit_price_and_amount():
    page = plain(render_html(usd_invoice(), "INV-7", ISSUED, seller(), BUYER))
    rows = re.findall(r"<tr class='line'>(.*?)</tr>", page)
    cells = [re.sub(r"<div class='description'>.*?</div>", "", r) for r in rows]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in cells]
    assert cells == [
        # a fee line without its own window was rated for the invoice's period
        ["Business plan", "Apr 1 – 30, 2026", "1", "$1,200.00", "$1,200.00"],
        ["API resources", "Apr 1 – 30, 2026", "2", "$4.00", "$8.00"],
        ["Monthly active users over 5,000", "Apr 1 – 15, 2026", "1,000", "$0.0265", "$26.50"],
    ]
    assert "2 x $4.00, Apr 1 – 30, 2026" in page


def test_totals_in_dollars():
    assert totals(render_html(usd_invoice(), "INV-7", ISSUED, seller(), BUYER)) == {
        "subtotal": ["Subtotal: $1,234.50"], "discount": ["Discount 10%: -$123.45"], "net": ["Net: $1,111.05"],
        "tax": ["Sales tax 19%: $211.10"], "gross": ["Total: $1,322.15"],
    }


def test_totals_in_euros_for_germany():
    page = render_html(usd_invoice("EUR"), "RE-7", ISSUED, seller(locale="de_DE"), BUYER)
    assert totals(page) == {
        "subtotal": ["Subtotal: 1.234,50 €"], "discount": ["Discount 10%: -123,45 €"], "net": ["Net: 1.111,05 €"],
        "tax": ["Sales tax 19%: 211,10 €"], "gross": ["Total: 1.322,15 €"],
    }
    assert "0,0265 €" in plain(page) and "<td class='issue-date'>01.05.2026</td>" in page
    assert '<html lang="de-DE">' in page


def test_yen_have_no_decimals():
    lines = (Line("Enterprise plan", LineType.RECURRING, Decimal(1), Decimal(1234567), 1234567, Decimal(1234567)),
             Line("Consumption tax 10%", LineType.TAX, Decimal(1), None, 123457, Decimal("123456.7")))
    invoice = Invoice("authjp", "enterprise", "JPY", 0, lines, period_start=APRIL[0], period_end=APRIL[1])
    assert totals(render_html(invoice, "J-1", ISSUED, seller(locale="en_US"), BUYER)) == {
        "subtotal": ["Subtotal: ¥1,234,567"], "net": ["Net: ¥1,234,567"], "tax": ["Consumption tax 10%: ¥123,457"],
        "gross": ["Total: ¥1,358,024"],
    }
    japanese = render_html(invoice, "J-1", ISSUED, seller(locale="ja_JP"), BUYER)
    assert totals(japanese)["gross"] == ["Total: ￥1,358,024"]
    assert "2026年4月1日～30日" in japanese and "2026/05/01" in japanese


def test_no_internal_notes_reach_the_customer():
    invoice = usd_invoice()
    page = render_html(invoice, "INV-7", ISSUED, seller(), BUYER)
    for text in ("seed", "assumption", "Assumption", "Source", ".yaml", "rounded half up", "CRM", "deal desk"):
        assert text not in page, text
    for internal in [l.explanation for l in invoice.lines] + list(invoice.notes):
        assert internal not in page


def test_describe_line_is_written_from_the_fields():
    invoice = usd_invoice()
    assert plain(describe_line(invoice.lines[1], invoice)) == "API resources, 2 x $4.00, Apr 1 – 30, 2026"
    assert plain(describe_line(invoice.lines[1], invoice, "nl_NL")) == "API resources, 2 x US$ 4,00, 1–30 apr 2026"
    credit = Line("Pro plan", LineType.CREDIT, Decimal("0.5"), Decimal("100"), -5000, Decimal(-50),
                  service_start=datetime(2026, 4, 16), service_end=datetime(2026, 5, 1))
    assert plain(describe_line(credit, invoice)) == "Pro plan, 0.5 x $100.00, credit, Apr 16 – 30, 2026"
    with pytest.raises(ReportError, match="locale: unknown locale 'xx'"):
        describe_line(credit, invoice, "xx")


def test_hostile_texts_are_escaped():
    hostile = Buyer(name='<script>alert("x")</script> & Co', address=("<img src=x onerror=alert(1)>",),
                    email="a@b.example", tax_id="<b>1</b>")
    invoice = usd_invoice()
    invoice = Invoice(**{**invoice.__dict__, "lines": (
        line("<i>Widget</i>", LineType.USAGE, "1", "1", 100),) + invoice.lines[1:]})
    page = render_html(invoice, "INV-<1>", ISSUED, seller(name="Seller & <Sons>"), hostile)
    for raw in ("<script>", "<img", "<b>1", "<i>Widget", "INV-<1>", "<Sons>"):
        assert raw not in page, raw
    # MarkupSafe (Jinja2's autoescape) writes a double quote as &#34;
    for escaped in ("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co", "&lt;img src=x onerror=alert(1)&gt;",
                    "&lt;i&gt;Widget&lt;/i&gt;", "INV-&lt;1&gt;", "Seller &amp; &lt;Sons&gt;"):
        assert escaped in page, escaped


def test_credit_note_references_the_invoice():
    credit = Invoice("quasr", "business", "USD", 2, (
        line("Business plan", LineType.CREDIT, "1", "1200.00", -120000, "reversal of INV-2026-00012", APRIL),
        line("Sales tax 19%", LineType.TAX, "1", None, -22800)), period_start=APRIL[0], period_end=APRIL[1])
    page = plain(render_html(credit, 13, ISSUED, seller(), BUYER, credit_note_for="INV-2026-00012"))
    assert "<h1>Credit note</h1>" in page and "<td class='credit-note-number'>INV-2026-00013</td>" in page
    assert "Credit note for invoice <b class='credit-note-for'>INV-2026-00012</b>" in page
    assert "due-date" not in page and "Please pay" not in page and "IBAN" not in page
    assert totals(page)["gross"] == ["Total credited: -$1,428.00"]
    with pytest.raises(ReportError, match="credit note INV-2026-00014: its total must be zero or negative"):
        render_html(usd_invoice(), 14, ISSUED, seller(), BUYER, credit_note_for="INV-2026-00012")


@pytest.mark.parametrize("number, message", [
    ("", "number: give the invoice number"),
    ("INV\n1", "not a usable invoice number"),
    (0, "the sequence must be a whole number from 1"),
])
def test_bad_numbers(number, message):
    with pytest.raises(ReportError, match=message):
        render_html(usd_invoice(), number, ISSUED, seller(), BUYER)


def test_an_ineligible_invoice_cannot_be_issued():
    invoice = Invoice("quasr", "free", "USD", 2, (), eligible=False, reason="over the free tier's 1,000 users")
    with pytest.raises(ReportError, match="plan 'free' is not eligible"):
        render_html(invoice, "INV-1", ISSUED, seller(), BUYER)


# --- seller and buyer ---------------------------------------------------------------------------


def test_example_seller_file_loads():
    loaded = load_seller(ROOT / "examples" / "seller.yaml")
    assert loaded.payment_terms_days == 30 and loaded.locale == "nl_NL" and len(loaded.address) == 3
    assert loaded.invoice_number(7) == f"{loaded.invoice_prefix}00007"


@pytest.mark.parametrize("yaml_text, field, message", [
    ("iban: x\n", "iban", "unknown field (a seller file has name, address"),
    # YAML 1.1 reads 012345 as the octal number 5349: the tax id a customer would have seen
    ("tax_id: 012345\n", "tax_id", "expected text, got 5349 (quote it in the YAML)"),
    ("payment_terms_days: '30'\n", "payment_terms_days", "expected a whole number of days"),
    ("payment_terms_days: 30.5\n", "payment_terms_days", "expected a whole number of days"),
    ("payment_terms_days: -1\n", "payment_terms_days", "greater than or equal to 0"),
    ("locale: xx_YY\n", "locale", "unknown locale 'xx_YY'"),
    ("locale: no\n", "locale", "expected text, got False"),
    ("email: billing-at-quasr\n", "email", "'billing-at-quasr' is not an e-mail address"),
    ("invoice_prefix: 'INV 2026'\n", "invoice_prefix", "should match pattern"),
    ("address: []\n", "address", "at least 1 item"),
])
def test_bad_seller_files_give_one_line_naming_the_field(tmp_path, yaml_text, field, message):
    good = (ROOT / "examples" / "seller.yaml").read_text(encoding="utf-8")
    key = yaml_text.split(":")[0]
    kept = [l for l in good.splitlines(keepends=True) if not l.startswith(f"{key}:")]
    kept = [l for l in kept if not (key == "address" and l.startswith("  - "))]
    path = tmp_path / "seller.yaml"
    path.write_text("".join(kept) + yaml_text, encoding="utf-8")
    with pytest.raises(ReportError) as caught:
        load_seller(path)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: {field}: ") and message in text, text


def test_missing_field_and_bad_yaml_and_missing_file(tmp_path):
    path = tmp_path / "seller.yaml"
    path.write_text("address: [a]\npayment_terms_days: 14\n", encoding="utf-8")
    with pytest.raises(ReportError, match=rf"^{re.escape(str(path))}: name: missing$"):
        load_seller(path)
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ReportError, match="not valid YAML"):
        load_seller(path)
    with pytest.raises(ReportError, match="no such seller file"):
        load_seller(tmp_path / "absent.yaml")
    path.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ReportError, match="expected a mapping of seller fields"):
        load_seller(path)


def test_buyer_from_a_customer_record():
    buyer = Buyer.from_mapping({"name": " Acme ", "email": "x@acme.example", "billing_address": ["a", " ", "b"],
                                "tax_id": float("nan"), "anchor": 1})
    assert buyer == Buyer("Acme", "x@acme.example", ("a", "b"), None)
    with pytest.raises(ReportError, match="^buyer: name: missing$"):
        Buyer.from_mapping({"name": ""})
    with pytest.raises(ReportError, match="customers.csv row 3: address: expected text"):
        Buyer.from_mapping({"name": "A", "address": 5}, origin="customers.csv row 3")


# --- files ---------------------------------------------------------------------------------------


def test_html_alone_is_written_atomically(tmp_path):
    paths = write_documents(usd_invoice(), "INV/2026/7", ISSUED, seller(), BUYER, tmp_path / "out", pdf=False)
    assert [p.name for p in paths] == [f"{safe_name('INV/2026/7')}.html"] and paths[0].name.startswith("INV_2026_7-")
    assert paths[0].read_text(encoding="utf-8") == render_html(usd_invoice(), "INV/2026/7", ISSUED, seller(), BUYER)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [paths[0].name]  # no temporary file left


def test_a_failed_print_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    import pricing.reporting.invoice_document as module

    old = tmp_path / "INV-1.html"
    old.write_text("the earlier document", encoding="utf-8")
    monkeypatch.setattr(module, "find_chromium", lambda: "/usr/bin/true")
    monkeypatch.setattr(module, "print_pdf", lambda html, pdf, browser: None)
    with pytest.raises(ReportError, match="did not print a PDF"):
        write_documents(usd_invoice(), "INV-1", ISSUED, seller(), BUYER, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["INV-1.html"]
    assert old.read_text(encoding="utf-8") == "the earlier document"
    monkeypatch.setattr(module, "find_chromium", lambda: None)
    with pytest.raises(ReportError, match="no local Chromium"):
        write_documents(usd_invoice(), "INV-2", ISSUED, seller(), BUYER, tmp_path / "new")
    assert not (tmp_path / "new").exists()


@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no local chromium to print a PDF")
def test_pdf_text_has_the_invoice_and_nothing_internal(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    paths = write_documents(usd_invoice("EUR"), 12, ISSUED, seller(locale="de_DE"), BUYER, tmp_path)
    assert [p.name for p in paths] == ["INV-2026-00012.html", "INV-2026-00012.pdf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["INV-2026-00012.html", "INV-2026-00012.pdf"]
    text = plain("\n".join(page.extract_text() for page in pypdf.PdfReader(paths[1]).pages))
    for expected in ("Invoice", "INV-2026-00012", "Quasr Identity Inc.", "Acme Corp", "01.05.2026", "31.05.2026",
                     "Business plan", "API resources", "Monthly active users over 5,000", "1.200,00 €", "26,50 €",
                     "1.234,50 €", "-123,45 €", "1.111,05 €", "211,10 €", "1.322,15 €"):
        assert expected in text, expected
    for internal in ("seed", "assumption", "Source", ".yaml"):
        assert internal not in text
