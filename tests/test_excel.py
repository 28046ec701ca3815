"""invoices.xlsx read back with openpyxl: numbers with currency formats, sums matching the register."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
from _report_fixtures import MONTH, ReportStore, report_store  # noqa: F401

from pricing.reporting import report_tables
from pricing.reporting.excel import currency_format, write_register_xlsx
from pricing.metering.store import Store


def test_register_workbook_round_trip(report_store: ReportStore, tmp_path) -> None:
    with Store(report_store.path, read_only=True) as store:
        reg = report_tables.register(store, MONTH)
        lines = report_tables.register_lines(store, MONTH)
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


# --- issue 12: text stays text --------------------------------------------------------------

HOSTILE = [
    '=HYPERLINK("http://evil.example/","click")',
    "=cmd|' /C calc'!A0",
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


def _register(texts: list[str]):
    import pandas as pd

    reg = pd.DataFrame([{
        "invoice_id": f"2026-01-{i}", "kind": "invoice", "issued_at": None, "credit_for": None,
        "customer_id": text, "name": text, "catalog": "quasr", "plan": text,
        "currency": "EUR", "decimals": 2, "period_start": None, "period_end": None,
        "net": Decimal("1.00"), "discount": Decimal(0), "tax": Decimal(0), "gross": Decimal("1.00"),
    } for i, text in enumerate(texts)])
    lines = pd.DataFrame([{
        "invoice_id": f"2026-01-{i}", "line_no": 1, "customer_id": text, "item": text, "line_type": "usage",
        "category": text, "service_start": None, "service_end": None,
        "quantity": "1", "unit_price": "1", "currency": "EUR", "decimals": 2,
        "amount": Decimal("1.00"), "explanation": text,
    } for i, text in enumerate(texts)])
    return reg, lines


def test_formula_like_text_is_written_as_text(tmp_path) -> None:
    reg, lines = _register(HOSTILE + ["plain name", "Acme, Inc."])
    path = write_register_xlsx(reg, lines, tmp_path / "invoices.xlsx")
    book = openpyxl.load_workbook(path)
    seen = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    # NOTE: XML readers turn a raw CR into LF; the cell still carries the text mark
                    if cell.value in HOSTILE or cell.value.replace("\n", "\r") in HOSTILE:
                        seen += 1
                        assert cell.quotePrefix, (sheet.title, cell.coordinate)
                assert cell.data_type != "f"
    assert seen == len(HOSTILE) * (3 + 4)  # customer, name, plan; customer, item, category, explanation
    header = [c.value for c in book["Invoices"][1]]
    column = book["Invoices"].cell(row=1, column=header.index("Name") + 1).column_letter
    names = [c.value for c in book["Invoices"][column][1:len(HOSTILE) + 1]]
    assert names == [t.replace("\r", "\n") for t in HOSTILE]  # read back as written, no quote added


def test_sample_customers_csv_neutralises_formulas(tmp_path) -> None:
    import csv

    from pricing.metering.sample_data import generate_book, write_book_files

    book = generate_book(3, 1, seed=1)
    book.customers.loc[0, "name"] = '=HYPERLINK("http://evil.example/","click")'
    book.customers.loc[1, "name"] = "-1+2"
    write_book_files(book, tmp_path)
    with (tmp_path / "customers.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["name"] == "'=HYPERLINK(\"http://evil.example/\",\"click\")"
    assert rows[1]["name"] == "'-1+2"
    assert rows[2]["name"] == book.customers.loc[2, "name"]


def test_neutralise_rules() -> None:
    from pricing.spreadsheet_text import neutralise

    assert [neutralise(t) for t in HOSTILE] == ["'" + t for t in HOSTILE]
    assert neutralise("a=b") == "a=b" and neutralise(-5) == -5 and neutralise(None) is None


def test_one_table_workbook_keeps_text_as_text_and_formats_money_and_percent() -> None:
    import io

    import pandas as pd

    from pricing.reporting.excel import table_workbook_bytes

    frame = pd.DataFrame({"Name": ['=HYPERLINK("http://x")', "Plain"], "Bill (JPY)": [Decimal("1234567"), Decimal(0)],
                          "Change %": [Decimal("0.125"), None]})
    data = table_workbook_bytes(frame, "Customers", "JPY", 0, money=["Bill (JPY)"], percent=["Change %"])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == ["Name", "Bill (JPY)", "Change %"]
    name, bill, change = sheet[2]
    assert name.value == '=HYPERLINK("http://x")' and name.data_type == "s" and name.quotePrefix
    assert bill.value == 1234567 and bill.number_format == currency_format("JPY", 0)
    assert change.value == 0.125 and change.number_format == "0.00%"
    assert sheet.cell(row=3, column=3).value is None  # no change to show: empty, not NaN
