"""The document a customer receives for one invoice (or credit note): an HTML page and its PDF.

It is rendered from the same :class:`pricing.engine.invoice.Invoice` objects as the
Excel register, plus three things the invoice does not carry: the seller
(a YAML file the user edits, see :func:`load_seller`), the buyer
(:class:`Buyer`, from a plain mapping) and the invoice number and issue date
given by whoever issues it.

What a customer sees and what stays inside:

* every charge line with its service period, quantity, unit price and amount,
  then subtotal, discounts, net, tax and gross; amounts formatted for the
  invoice's currency and the seller's locale by Babel (``1.234,50 €`` in
  ``de_DE``, ``¥1,235`` for yen);
* a short description of each line written here from its fields
  ("API resources, 2 x $4.00, Apr 1 – 30, 2026");
* never a line's ``explanation`` nor the invoice's ``notes``: they name
  catalog sources, assumptions and seed files, which are for us, not for them.

Every text from outside (seller file, buyer record, item names, the number)
is HTML-escaped by the page's template (``templates/invoice.html.j2``). The labels are English
whatever the locale; the locale governs numbers, currencies and dates.

Files are written atomically: both documents go to temporary files in the
output folder and are renamed into place only once both are complete, so a
failure (no browser, a print that times out) leaves no half-written file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator
from pydantic_core import ErrorDetails

from pricing.errors import ReportError, validation_line
from pricing.engine.invoice import Invoice, Line, LineType
from pricing.engine.formatting import LocaleFormat
from pricing.reporting.html_pages import render_page
from pricing.reporting.notebook_runner import safe_name
from pricing.reporting.pdf import find_chromium, print_pdf
from pricing.yaml_files import read_yaml

MAX_NUMBER_LENGTH = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- the seller file ---------------------------------------------------------------------


class Seller(BaseModel):
    """Who issues the invoice: the seller file, validated (unknown keys refused, text quoted)."""

    # NOTE: strict text and numbers: YAML reads `tax_id: 012345` as the int 12345 and
    # `locale: no` as False; refusing them beats printing a wrong tax id on every invoice.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: StrictStr = Field(min_length=1)
    address: tuple[StrictStr, ...] = Field(min_length=1)
    tax_id: StrictStr | None = Field(default=None, min_length=1)
    email: StrictStr | None = None
    payment_terms_days: StrictInt = Field(ge=0, le=365)
    bank: StrictStr | None = Field(default=None, min_length=1)
    invoice_prefix: StrictStr = Field(default="", max_length=20, pattern=r"^[A-Za-z0-9/_.-]*$")
    quote_prefix: StrictStr = Field(default="Q-", max_length=20, pattern=r"^[A-Za-z0-9/_.-]*$")
    locale: StrictStr = "en_US"

    @field_validator("address")
    @classmethod
    def _address_lines(cls, lines: tuple[str, ...]) -> tuple[str, ...]:
        if any(not line for line in lines):
            raise ValueError("an address line is empty")
        return lines

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        return str(_parse_locale(value))

    def due_date(self, issued: date) -> date:
        return issued + timedelta(days=self.payment_terms_days)

    def invoice_number(self, sequence: int, digits: int = 5) -> str:
        """The prefix and the sequence number zero-padded: ``INV-2026-`` and 12 -> ``INV-2026-00012``."""
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
            raise ReportError(f"invoice number: the sequence must be a whole number from 1, got {sequence!r}")
        return f"{self.invoice_prefix}{sequence:0{digits}d}"


def _parse_locale(value: str) -> Locale:
    try:
        return Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"unknown locale {value!r} (e.g. en_US, de_DE, nl_NL, ja_JP)") from None


def parse_seller(data: Any, origin: str = "<seller>") -> Seller:
    """Validate parsed YAML; an error is one line naming ``origin`` and the field."""
    if not isinstance(data, dict):
        raise ReportError(f"{origin}: expected a mapping of seller fields at the top level,"
                          f" got {type(data).__name__}")
    try:
        return Seller.model_validate(data)
    except ValidationError as exc:
        raise ReportError(_seller_error(origin, exc)) from None


def load_seller(path: str | Path) -> Seller:
    """Read and validate a seller file (see ``examples/seller.yaml``)."""
    return parse_seller(read_yaml(Path(path), ReportError, missing="no such seller file"), str(path))


def _seller_error(origin: str, error: ValidationError) -> str:
    return validation_line(origin, error, explain=_seller_problem)


def _seller_problem(problem: ErrorDetails) -> str | None:
    """A seller file's problems in the words of the file (None: pydantic's own message)."""
    kind = problem["type"]
    if kind == "extra_forbidden":
        return f"unknown field (a seller file has {', '.join(Seller.model_fields)})"
    if kind == "missing":
        return "missing"
    if kind == "string_type":
        return f"expected text, got {problem['input']!r} (quote it in the YAML)"
    if kind == "int_type":
        return f"expected a whole number of days, got {problem['input']!r}"
    return None


# --- the buyer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Buyer:
    """Who the invoice is addressed to."""

    name: str
    email: str | None = None
    address: tuple[str, ...] = ()
    tax_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ReportError("buyer: name: give the customer's name")
        if not isinstance(self.address, tuple) or not all(isinstance(a, str) for a in self.address):
            raise ReportError("buyer: address: expected a tuple of text lines")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str = "buyer") -> Buyer:
        """From a customer record: ``name``, ``billing_email`` (or ``email``), ``address`` (lines, or
        one text with a line per row) and ``tax_id``. Other keys are ignored: a customer record
        carries more than a document needs. Empty and missing values (None, NaN, "") are absent."""
        def text(*keys: str) -> str | None:
            for key in keys:
                value = data.get(key)
                if value is None or (isinstance(value, float) and value != value):  # NaN from a CSV
                    continue
                if isinstance(value, bool) or not isinstance(value, (str, int)):
                    raise ReportError(f"{origin}: {key}: expected text, got {type(value).__name__}")
                value = str(value).strip()
                if value:
                    return value
            return None

        name = text("name")
        if name is None:
            raise ReportError(f"{origin}: name: missing")
        raw_address = data.get("address", data.get("billing_address"))
        if raw_address is None or (isinstance(raw_address, float) and raw_address != raw_address):
            lines: tuple[str, ...] = ()
        elif isinstance(raw_address, str):
            lines = tuple(part.strip() for part in raw_address.splitlines() if part.strip())
        elif isinstance(raw_address, (list, tuple)) and all(isinstance(part, str) for part in raw_address):
            lines = tuple(part.strip() for part in raw_address if part.strip())
        else:
            raise ReportError(f"{origin}: address: expected text or a list of text lines")
        return cls(name=name, email=text("billing_email", "email"), address=lines, tax_id=text("tax_id"))


# --- the document --------------------------------------------------------------------------

_PER_KIND = {LineType.PRORATION: "prorated", LineType.CREDIT: "credit"}


def _line_period(line: Line, invoice: Invoice) -> tuple[datetime | None, datetime | None]:
    # A line without its own service window was rated for the invoice's period.
    if line.service_start is not None and line.service_end is not None:
        return line.service_start, line.service_end
    return invoice.period_start, invoice.period_end


def _invoice_period(invoice: Invoice) -> tuple[datetime | None, datetime | None]:
    if invoice.period_start is not None and invoice.period_end is not None:
        return invoice.period_start, invoice.period_end
    starts = [line.service_start for line in invoice.lines if line.service_start is not None]
    ends = [line.service_end for line in invoice.lines if line.service_end is not None]
    return (min(starts), max(ends)) if starts and ends else (None, None)


def describe_line(line: Line, invoice: Invoice, locale: str = "en_US") -> str:
    """What a customer reads about one line, from its fields alone (never its explanation):
    ``API resources, 2 x $4.00, Apr 1 – 30, 2026``."""
    try:
        fmt = LocaleFormat(str(_parse_locale(locale)), invoice.currency, invoice.decimals)
    except ValueError as exc:
        raise ReportError(f"locale: {exc}") from None
    return ", ".join([line.item, *line_details(line, invoice, fmt)])


def line_details(line: Line, invoice: Invoice, fmt: LocaleFormat) -> list[str]:
    """The parts of a line's description after its item: quantity x unit price, its kind, its period."""
    parts = []
    if line.unit_price is not None and line.quantity:
        parts.append(f"{fmt.quantity(line.quantity)} x {fmt.price(line.unit_price)}")
    if line.line_type in _PER_KIND:
        parts.append(_PER_KIND[line.line_type])
    period = fmt.period(*_line_period(line, invoice))
    if period:
        parts.append(period)
    return parts


def _terms(days: int) -> str:
    return "due on receipt" if days == 0 else f"{days} day{'s' if days != 1 else ''}"


def _check_number(number: str | int, seller: Seller, what: str) -> str:
    if isinstance(number, int) and not isinstance(number, bool):
        return seller.invoice_number(number)
    if not isinstance(number, str) or not number.strip():
        raise ReportError(f"{what}: give the invoice number as text (or a sequence number), got {number!r}")
    text = number.strip()
    if len(text) > MAX_NUMBER_LENGTH or _CONTROL.search(text):
        raise ReportError(f"{what}: {text[:MAX_NUMBER_LENGTH]!r} is not a usable invoice number"
                          f" (at most {MAX_NUMBER_LENGTH} printable characters)")
    return text


def _check(invoice: Invoice, number: str | int, issued: date, seller: Seller, buyer: Buyer,
           credit_note_for: str | int | None) -> tuple[str, date, str | None]:
    if not isinstance(invoice, Invoice):
        raise ReportError(f"invoice: expected a pricing.engine.invoice.Invoice, got {type(invoice).__name__}")
    if not isinstance(seller, Seller):
        raise ReportError("seller: expected a Seller (load_seller reads the seller file)")
    if not isinstance(buyer, Buyer):
        raise ReportError("buyer: expected a Buyer (Buyer.from_mapping reads a customer record)")
    text = _check_number(number, seller, "number")
    if not invoice.eligible:
        raise ReportError(f"invoice {text}: plan {invoice.plan!r} is not eligible for this usage; "
                          "an ineligible invoice cannot be issued")
    if isinstance(issued, datetime):
        issued = issued.date()
    if not isinstance(issued, date):
        raise ReportError(f"issued: expected a date, got {issued!r}")
    reference = None
    if credit_note_for is not None:
        reference = _check_number(credit_note_for, seller, "credit_note_for")
        if invoice.total_minor > 0:
            raise ReportError(f"credit note {text}: its total must be zero or negative, got"
                              f" {invoice.money(invoice.total_minor)}")
    return text, issued, reference


def render_html(invoice: Invoice, number: str | int, issued: date, seller: Seller, buyer: Buyer,
                credit_note_for: str | int | None = None) -> str:
    """The document as one self-contained HTML page (no scripts, no external files).

    ``number`` is the invoice number as printed (an int is a sequence number, given the
    seller's prefix); ``credit_note_for`` makes the document a credit note referencing that
    invoice number (its total must not be positive). The due date is ``issued`` plus the
    seller's payment terms.
    """
    number, issued, reference = _check(invoice, number, issued, seller, buyer, credit_note_for)
    fmt = LocaleFormat(seller.locale, invoice.currency, invoice.decimals)
    credit = reference is not None
    title = "Credit note" if credit else "Invoice"

    facts = [(f"{title} number", number), ("Issue date", fmt.day(issued))]
    if not credit:
        facts.append(("Due date", fmt.day(seller.due_date(issued))))
    period = fmt.period(*_invoice_period(invoice))
    if period:
        facts.append(("Service period", period))

    charges = [line for line in invoice.lines if line.line_type not in (LineType.DISCOUNT, LineType.TAX)]
    lines = [{"item": line.item, "description": ", ".join(line_details(line, invoice, fmt)),
              "period": fmt.period(*_line_period(line, invoice)), "quantity": fmt.quantity(line.quantity),
              "unit_price": "" if line.unit_price is None else fmt.price(line.unit_price),
              "amount": fmt.money(line.amount_minor)} for line in charges]

    totals = [("subtotal", "Subtotal", invoice.subtotal_minor)]
    totals += [("discount", line.item, line.amount_minor) for line in invoice.lines
               if line.line_type is LineType.DISCOUNT]
    totals.append(("net", "Net", invoice.net_minor))
    taxes = [("tax", line.item, line.amount_minor) for line in invoice.lines if line.line_type is LineType.TAX]
    totals += taxes or [("tax", "Tax", 0)]
    totals.append(("gross", "Total credited" if credit else "Total", invoice.total_minor))

    # NOTE: a credit note asks for no payment; an invoice of zero or less has nothing to pay
    payment = None if credit else {
        "amount": fmt.money(invoice.total_minor) if invoice.total_minor > 0 else None,
        "due": fmt.day(seller.due_date(issued)), "terms": _terms(seller.payment_terms_days)}

    def extra(tax_id: str | None, email: str | None) -> list[str]:
        return ([f"Tax ID: {tax_id}"] if tax_id else []) + ([email] if email else [])

    return render_page(
        "invoice.html.j2", lang=seller.locale.replace("_", "-"), title=title, number=number, seller=seller,
        buyer=buyer, seller_extra=extra(seller.tax_id, seller.email), buyer_extra=extra(buyer.tax_id, buyer.email),
        facts=facts, credit_note_for=reference, currency=invoice.currency, lines=lines,
        totals=[(kind, label, fmt.money(minor)) for kind, label, minor in totals], payment=payment)


# --- files ---------------------------------------------------------------------------------


def write_documents(invoice: Invoice, number: str | int, issued: date, seller: Seller, buyer: Buyer,
                    out_dir: str | Path, credit_note_for: str | int | None = None,
                    pdf: bool = True) -> list[Path]:
    """Write ``<number>.html`` and ``<number>.pdf`` into ``out_dir``; return their paths.

    The file name is the number made safe as every report's names are
    (:func:`pricing.reporting.notebook_runner.safe_name`: ``INV-2026-00012`` stays, ``INV/7`` gets a hash).

    Both are written to temporary files in ``out_dir`` first and renamed into place only when
    both are complete: a failure leaves the folder as it was. ``pdf=False`` writes the HTML
    alone; otherwise a missing browser or a failed print is a :class:`ReportError`.
    """
    page = render_html(invoice, number, issued, seller, buyer, credit_note_for)
    stem = safe_name(_check_number(number, seller, "number"))
    browser = None
    if pdf:
        browser = find_chromium()
        if browser is None:
            raise ReportError("no local Chromium to print the PDF (install Debian's chromium or set"
                              " PRICING_CHROMIUM; pdf=False writes the HTML alone)")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{out}: cannot create the output directory: {exc.strerror}") from None
    targets = [out / f"{stem}.html"] + ([out / f"{stem}.pdf"] if pdf else [])
    temporary: list[Path] = []
    try:
        # NOTE: the temporary HTML keeps its .html suffix: Chromium prints a file:// page by its suffix.
        html_tmp = _temporary(out, stem, ".html", temporary)
        _write_synced(html_tmp, page.encode("utf-8"))
        if pdf:
            pdf_tmp = _temporary(out, stem, ".pdf", temporary)
            if print_pdf(html_tmp, pdf_tmp, browser) is None:
                raise ReportError(f"{targets[1]}: {browser} did not print a PDF (timed out or failed)")
            _sync(pdf_tmp)
        for tmp, target in reversed(list(zip(temporary, targets))):  # the PDF first, the HTML last
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; a document is for reading
            os.replace(tmp, target)
    finally:
        for tmp in temporary:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
    return targets


def _temporary(folder: Path, stem: str, suffix: str, made: list[Path]) -> Path:
    try:
        fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".partial{suffix}", dir=folder)
    except OSError as exc:
        raise ReportError(f"{folder}: cannot write: {exc.strerror}") from None
    os.close(fd)
    made.append(Path(name))
    return Path(name)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


__all__ = ["Buyer", "Seller", "describe_line", "line_details", "load_seller", "parse_seller", "render_html",
           "write_documents"]
