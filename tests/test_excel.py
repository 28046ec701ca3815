"""invoices.xlsx read back with openpyxl: numbers with currency formats, sums matching the register."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
from _report_fixtures import MONTH, ReportStore, report_store  # noqa: F401

from pricing import reports as R
from pricing.excel import currency_format, write_register_xlsx
from pricing.store import Store


def test_register_workbook_round_trip(report_store: ReportStore, tmp_path) -> None:
    with Store(report_store.path, read_only=True) as store:
        reg = R.register(store, MONTH)
        lines = R.register_lines(store, MONTH)
    path = write_register_xlsx(reg, lines, tmp_path / "invoices.xlsx")
    assert [p.name for p in tmp_path.iterdir()] == ["invoices.xlsx"]  # no temp file left
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Invoices", "Lines"]
    sheet = book["Invoices"]
    header = [c.value for c in sheet[1]]
    gross_col = header.index("Gross") + 1
    cur_col = header.index("Currency") + 1
    rows = [r for r in sheet.iter_rows(min_row=2) if r[0].value and not str(r[0].value).startswith("Total")]
    assert len(rows) == len(reg)
    totals = {r[cur_col - 1].value: r for r in sheet.iter_rows(min_row=2) if str(r[0].value or "").startswith("Total")}
    for currency, group in reg.groupby("currency"):
        decimals = int(group["decimals"].iloc[0])
        mine = [r for r in rows if r[cur_col - 1].value == currency]
        cells = [r[gross_col - 1] for r in mine]
        assert all(isinstance(c.value, (int, float)) for c in cells)
        assert all(c.number_format == currency_format(currency, decimals) for c in cells)
        summed = sum((Decimal(str(c.value)) for c in cells), Decimal(0)).quantize(Decimal(1).scaleb(-decimals))
        assert summed == sum(group["gross"], Decimal(0))
        assert Decimal(str(totals[currency][gross_col - 1].value)).quantize(Decimal(1).scaleb(-decimals)) == summed
    detail = book["Lines"]
    head = [c.value for c in detail[1]]
    amount = head.index("Amount")
    invoice = head.index("Invoice")
    per_invoice: dict[str, Decimal] = {}
    for r in detail.iter_rows(min_row=2, values_only=True):
        per_invoice[r[invoice]] = per_invoice.get(r[invoice], Decimal(0)) + Decimal(str(r[amount]))
    for _, row in reg.iterrows():
        assert per_invoice.get(row["invoice_id"], Decimal(0)) == row["gross"]


def test_currency_formats() -> None:
    assert currency_format("JPY", 0) == '"JPY" #,##0;[Red]-"JPY" #,##0'
    assert currency_format("KWD", 3).startswith('"KWD" #,##0.000')
