"""The sales quote: exact lines and term total, escaped names, assumptions, validity date, PDF if possible."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pricing.catalog import load_catalog
from pricing.errors import CatalogError, PricingError, ReportError, UsageError
from pricing.quote_document import build_quote, find_chromium, render_quote_html, write_quote_report
from pricing.rating import rate_one

USAGE = {"maa": "2400", "mac": "30000", "mat": "3"}
ISSUED = date(2026, 3, 1)


def test_cheapest_plan_by_default_with_exact_term_total():
    quote = build_quote("Acme", "quasr", USAGE, None, 24, None, ISSUED)
    assert quote.invoice.plan == "startup"
    monthly = rate_one(load_catalog("quasr"), "startup", USAGE).total_minor
    assert quote.monthly_minor == monthly and quote.term_total_minor == 24 * monthly
    assert quote.valid_until == date(2026, 3, 31)


def test_discount_is_a_line_and_lowers_every_month():
    quote = build_quote("Acme", "quasr", USAGE, "payg", 12, Decimal("10"), ISSUED)
    items = [l.item for l in quote.invoice.lines]
    assert "Negotiated discount 10%" in items
    full = rate_one(load_catalog("quasr"), "payg", USAGE).total_minor
    assert quote.monthly_minor == full - round(full / 10)


def test_html_escapes_the_prospect_and_carries_lines_assumptions_validity():
    quote = build_quote('<script>alert("x")</script> & Co', "quasr", USAGE, "startup", 12, "5", ISSUED)
    page = render_quote_html(quote)
    assert "<script>" not in page and "&lt;script&gt;" in page and "&amp; Co" in page
    assert "valid until <b class=\"valid-until\">2026-03-31</b>" in page
    assert quote.money(quote.term_total_minor) in page
    for line in quote.invoice.lines:
        assert quote.money(line.amount_minor) in page
    assert "Source seed:000_aa273b3a7851da09.txt" in page  # the catalog's source notes
    assert "Assumption: Startup" in page  # the plan's assumption notes


@pytest.mark.parametrize("kwargs, error", [
    ({"usage": {"nope": "1"}}, ReportError),
    ({"usage": {"maa": "-1"}}, UsageError),
    ({"plan": "gold"}, CatalogError),
    ({"term_months": 0}, ReportError),
    ({"discount_percent": "150"}, ReportError),
    ({"prospect": "  "}, ReportError),
    ({"catalog": "nope"}, CatalogError),
])
def test_bad_parameters_raise_one_line(kwargs, error, tmp_path):
    args = {"prospect": "Acme", "catalog": "quasr", "usage": USAGE, "plan": None, "term_months": 12,
            "discount_percent": None, "out_dir": tmp_path, "pdf": False}
    args.update(kwargs)
    with pytest.raises(error) as info:
        write_quote_report(**args)
    assert isinstance(info.value, PricingError) and "\n" not in str(info.value)


def test_ineligible_plan_is_refused(tmp_path):
    with pytest.raises(ReportError, match="cannot be quoted"):
        write_quote_report("Acme", "prepaid_auth", {"users": "50000"}, "mini", 12, None, tmp_path, pdf=False)


def test_writes_html_without_pdf_when_asked(tmp_path):
    paths = write_quote_report("Ünïcode Labs", "logto", {"tokens": "250000"}, None, 12, None, tmp_path,
                               pdf=False, issued=ISSUED)
    assert [p.name for p in paths] == ["quote-unicode-labs-2026-03-01.html"]
    assert "Ünïcode Labs" in paths[0].read_text(encoding="utf-8")


@pytest.mark.skipif(find_chromium() is None, reason="no local chromium to print a PDF")
def test_pdf_with_local_chromium(tmp_path):
    paths = write_quote_report("Acme", "quasr", USAGE, None, 12, None, tmp_path, issued=ISSUED)
    assert [p.suffix for p in paths] == [".html", ".pdf"]
    assert paths[1].read_bytes().startswith(b"%PDF-")
