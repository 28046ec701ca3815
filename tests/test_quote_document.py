"""The sales quote: exact lines and term total, escaped names, assumptions, validity date, PDF if possible."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pricing.engine.catalog import load_catalog
from pricing.errors import CatalogError, PricingError, ReportError, UsageError
from pricing.reporting.invoice_document import Seller, parse_seller
from pricing.reporting.quote_document import build_quote, find_chromium, render_quote_html, write_quote_report
from pricing.engine.rating import RateOptions, rate_one

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
    assert "valid until <b class=\"valid-until\">Mar 31, 2026</b>" in page
    assert quote.money(quote.term_total_minor) in page
    for line in quote.invoice.lines:
        assert quote.money(line.amount_minor) in page


def seller(**extra: object) -> Seller:
    data = {"name": "Quasr Identity B.V.", "address": ["Keizersgracht 100", "1015 CV Amsterdam"],
            "tax_id": "NL123456789B01", "email": "sales@quasr.example", "payment_terms_days": 30,
            "quote_prefix": "QUO-", "locale": "en_US", **extra}
    return parse_seller(data)


def test_customer_copy_has_seller_number_separators_tax_and_no_internal_notes():
    usage = {"maa": "24000", "mac": "300000"}
    quote = build_quote("Acme", "quasr", usage, None, 12, None, ISSUED, tax_percent="21", seller=seller())
    page = render_quote_html(quote)
    lowered = page.lower()
    assert "seed:" not in lowered and "assumption" not in lowered and "source " not in lowered
    for text in ("Quasr Identity B.V.", "Keizersgracht 100", "1015 CV Amsterdam", "Tax ID: NL123456789B01",
                 "sales@quasr.example"):
        assert text in page
    assert quote.number.startswith("QUO-20260301-") and quote.number in page
    # amounts with thousands separators, in the seller's locale: startup 49 + 21,500 x 0.04 + 60,000 x 0.004
    assert "€1,149.00" in page  # subtotal
    assert "<td>Tax 21%</td><td class='amount'>€241.29</td>" in page
    assert "€1,390.29" in page and "€16,683.48" in page  # monthly and 12-month totals incl. tax
    assert quote.monthly_minor == rate_one(load_catalog("quasr"), "startup", usage,
                                           RateOptions(tax_percent=Decimal(21))).total_minor == 139029
    # no usage given for tenants: no "0 tenants used" line
    assert "Monthly Active Tenants" not in page.split("Other plans")[0] and "0 tenants" not in page


def test_locale_comes_from_the_seller_file():
    quote = build_quote("Acme", "quasr", {"maa": "24000"}, "payg", 12, None, ISSUED, seller=seller(locale="de_DE"))
    page = render_quote_html(quote)
    assert "1.195,00\xa0€" in page and "31.03.2026" in page


def test_internal_appendix_only_when_asked():
    quote = build_quote("Acme", "quasr", USAGE, "startup", 12, None, ISSUED)
    assert "Internal appendix" not in render_quote_html(quote)
    page = render_quote_html(quote, internal=True)
    assert "Internal appendix" in page
    assert "Source seed:000_aa273b3a7851da09.txt" in page  # the catalog's source notes
    assert "Assumption: Startup" in page  # the plan's assumption notes


def test_hidden_plans_only_when_asked():
    quote = build_quote("Acme", "quasr", USAGE, None, 12, None, ISSUED)
    assert "gravitate_and_save" not in [p for p, _, _ in quote.alternatives]
    assert "Gravitate" not in render_quote_html(quote)
    shown = build_quote("Acme", "quasr", USAGE, None, 12, None, ISSUED, include_hidden=True)
    assert "gravitate_and_save" in [p for p, _, _ in shown.alternatives]
    assert "Gravitate &amp; Save" in render_quote_html(shown)
    with pytest.raises(ReportError, match="hidden"):
        build_quote("Acme", "quasr", USAGE, "gravitate_and_save", 12, None, ISSUED)


def test_quote_number_is_stable_for_the_same_quote():
    a = build_quote("Acme", "quasr", USAGE, None, 12, None, ISSUED)
    b = build_quote("Acme", "quasr", USAGE, None, 12, None, ISSUED)
    c = build_quote("Acme", "quasr", {**USAGE, "maa": "2500"}, None, 12, None, ISSUED)
    assert a.number == b.number != c.number and a.number.startswith("Q-20260301-")


def test_report_quote_cli_with_seller_tax_and_internal(tmp_path, capsys):
    from pricing.apps.cli import main

    path = tmp_path / "seller.yaml"
    path.write_text('name: "Quasr Identity B.V."\naddress: ["Keizersgracht 100"]\npayment_terms_days: 30\n'
                    'email: "sales@quasr.example"\nlocale: "en_US"\n', encoding="utf-8")
    argv = ["report", "quote", "--prospect", "Acme", "--catalog", "quasr", "--usage", "maa=24000",
            "--usage", "mac=300000", "--seller", str(path), "--tax", "21", "--no-pdf", "--out", str(tmp_path)]
    assert main(argv) == 0
    [page] = [p for p in tmp_path.glob("quote-acme-*.html")]
    text = page.read_text(encoding="utf-8")
    assert "Quasr Identity B.V." in text and "Tax 21%" in text and "€1,390.29" in text
    assert "seed:" not in text and "assumption" not in text.lower() and "Gravitate" not in text
    assert main([*argv, "--internal", "--include-hidden"]) == 0
    internal = next(tmp_path.glob("quote-acme-*-internal.html")).read_text(encoding="utf-8")
    assert "seed:" in internal and "Gravitate &amp; Save" in internal
    assert page.read_text(encoding="utf-8") == text  # the prospect's copy is untouched
    capsys.readouterr()
    assert main([*argv[:-4], "--tax", "150", "--no-pdf", "--out", str(tmp_path)]) == 2
    assert "--tax" in capsys.readouterr().err


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
    [path] = paths
    assert path.name.startswith("quote-unicode-labs-q-20260301-") and path.suffix == ".html"
    assert "Ünïcode Labs" in path.read_text(encoding="utf-8")


def test_prospects_whose_names_slug_alike_get_their_own_files(tmp_path):
    """Issue 12: "Acme, Inc." and "ACME INC" overwrote each other's quote."""
    first = write_quote_report("Acme, Inc.", "logto", {"tokens": "250000"}, None, 12, None, tmp_path,
                               pdf=False, issued=ISSUED)
    second = write_quote_report("ACME INC", "logto", {"tokens": "250000"}, None, 12, None, tmp_path,
                                pdf=False, issued=ISSUED)
    assert first != second and len(list(tmp_path.glob("quote-acme-inc-*.html"))) == 2
    assert "Acme, Inc." in first[0].read_text(encoding="utf-8") and "ACME INC" in second[0].read_text(encoding="utf-8")


@pytest.mark.skipif(find_chromium() is None, reason="no local chromium to print a PDF")
def test_pdf_with_local_chromium(tmp_path):
    paths = write_quote_report("Acme", "quasr", USAGE, None, 12, None, tmp_path, issued=ISSUED)
    assert [p.suffix for p in paths] == [".html", ".pdf"]
    assert paths[1].read_bytes().startswith(b"%PDF-")
