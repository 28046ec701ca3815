"""The invoice register as an Excel workbook finance can open: ``invoices.xlsx``.

Two sheets: ``Invoices`` (one row per invoice: net, discount, tax, gross) and
``Lines`` (every invoice line). Amounts are numbers with the currency's number
format (``"EUR" #,##0.00``, ``"JPY" #,##0``), so Excel can sum them. They are
held as exact ``Decimal`` until the cell is written; Excel itself stores a
double, which is exact to the cent for any amount below 2^53 minor units. A
totals row per currency sits under the invoices, as a value (not a formula),
so a reader without a calculation engine sees the same number.

Text stays text: every string is written as a string cell, and one that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or CR: a customer named ``=HYPERLINK(...)``) also carries Excel's
``quotePrefix`` mark; see :mod:`pricing.spreadsheet_text`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from pricing.files import atomic_write_bytes
from pricing.spreadsheet_text import is_risky

INVOICE_COLUMNS = [
    ("Invoice", "invoice_id"), ("Kind", "kind"), ("Issued", "issued_at"), ("Credits", "credit_for"),
    ("Customer", "customer_id"), ("Name", "name"), ("Catalog", "catalog"),
    ("Plan", "plan"), ("Currency", "currency"), ("Period start", "period_start"), ("Period end", "period_end"),
    ("Net", "net"), ("Discount", "discount"), ("Tax", "tax"), ("Gross", "gross"),
]
# NOTE: each line keeps its own service period: a fee billed in advance covers the coming
# period, usage billed in arrears the one that ended, a proration the rest of a period
LINE_COLUMNS = [
    ("Invoice", "invoice_id"), ("Line", "line_no"), ("Customer", "customer_id"), ("Item", "item"),
    ("Type", "line_type"), ("Category", "category"), ("Service start", "service_start"),
    ("Service end", "service_end"), ("Quantity", "quantity"), ("Unit price", "unit_price"),
    ("Currency", "currency"), ("Amount", "amount"), ("Explanation", "explanation"),
]
MONEY = {"net", "discount", "tax", "gross", "amount"}


def currency_format(currency: str, decimals: int) -> str:
    """An Excel number format showing the currency code and exactly its minor-unit places."""
    places = "." + "0" * decimals if decimals else ""
    return f'"{currency}" #,##0{places};[Red]-"{currency}" #,##0{places}'


def _cell(value: Any) -> Any:
    """Decimal -> number at the last moment; pandas NaT/NaN -> empty; timestamps -> naive datetimes."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime().replace(tzinfo=None)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _quantity(text: Any) -> Any:
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    try:
        return _cell(Decimal(str(text)))
    except ArithmeticError:
        return str(text)


def _append(sheet: Any, values: list[Any]) -> list[Any]:
    """Append a row and return its cells; strings are string cells, never formulas (openpyxl reads a
    leading '=' as one).

    NOTE: the cells are made first and handed to ``append``, so formats go on them directly: finding
    the new row again with ``sheet.max_row`` scans every cell, which made a sheet quadratic in its rows
    (100,000 rows took over ten minutes).
    """
    from openpyxl.cell.cell import Cell

    # openpyxl's append() places a cell made without row and column; types-openpyxl requires them
    cells = [Cell(sheet, value=value) for value in values]  # type: ignore[call-arg]
    sheet.append(cells)
    for cell, value in zip(cells, values):
        if isinstance(value, str):
            cell.value = value
            cell.data_type = "s"
            if is_risky(value):
                cell.quotePrefix = True
    return cells


def workbook_bytes(reg: pd.DataFrame, lines: pd.DataFrame, title: str = "") -> bytes:
    """The register workbook as bytes (see the module docstring for its shape)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet), "a new workbook opens on one worksheet"
    sheet.title = "Invoices"
    bold = Font(bold=True)
    sheet.append([label for label, _ in INVOICE_COLUMNS])
    for cell in sheet[1]:
        cell.font = bold
    for _, row in reg.iterrows():
        cells = _append(sheet, [_cell(row[key]) for _, key in INVOICE_COLUMNS])
        fmt = currency_format(str(row["currency"]), int(row["decimals"]))
        for cell, (_, key) in zip(cells, INVOICE_COLUMNS):
            if key in MONEY:
                cell.number_format = fmt
            elif key.startswith("period") or key == "issued_at":
                cell.number_format = "yyyy-mm-dd hh:mm"
    # one totals row per currency: sums of the rows above, exact
    sheet.append([])
    for currency, group in reg.groupby("currency", sort=True):
        decimals = int(group["decimals"].iloc[0])
        values = {key: sum(group[key], Decimal(0)) for key in ("net", "discount", "tax", "gross")}
        totals: dict[str, Any] = {"invoice_id": f"Total {currency}", "customer_id": f"{len(group)} invoices",
                                  "currency": currency, **{k: _cell(v) for k, v in values.items()}}
        cells = _append(sheet, [totals.get(key) for _, key in INVOICE_COLUMNS])
        for cell, (_, key) in zip(cells, INVOICE_COLUMNS):
            cell.font = bold
            if key in MONEY:
                cell.number_format = currency_format(str(currency), decimals)
    sheet.freeze_panes = "A2"

    detail = book.create_sheet("Lines")
    detail.append([label for label, _ in LINE_COLUMNS])
    for cell in detail[1]:
        cell.font = bold
    for _, row in lines.iterrows():
        line_values = [_quantity(row[key]) if key in {"quantity", "unit_price"} else _cell(row[key])
                       for _, key in LINE_COLUMNS]
        cells = _append(detail, line_values)
        fmt = currency_format(str(row["currency"]), int(row["decimals"]))
        keys = [k for _, k in LINE_COLUMNS]
        cells[keys.index("amount")].number_format = fmt
        for key in ("service_start", "service_end"):
            cells[keys.index(key)].number_format = "yyyy-mm-dd hh:mm"
    detail.freeze_panes = "A2"

    for ws, columns in ((sheet, INVOICE_COLUMNS), (detail, LINE_COLUMNS)):
        for index, (label, key) in enumerate(columns, start=1):
            width = 48 if key == "explanation" else max(12, len(label) + 4)
            ws.column_dimensions[get_column_letter(index)].width = width
    if title:
        book.properties.title = title
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class TableSheet:
    """One sheet of a table workbook: ``frame``'s column names are the headers (no index).

    ``money`` columns hold exact amounts in currency units (``Decimal``) and get the currency's
    number format; ``percent`` columns hold ratios (0.125 for 12.5 %) shown as percents, empty
    where there is none.
    """

    name: str
    frame: pd.DataFrame
    currency: str
    decimals: int
    money: Sequence[str] = ()
    percent: Sequence[str] = ()


def tables_workbook_bytes(sheets: Sequence[TableSheet], title: str = "") -> bytes:
    """Several table sheets as workbook bytes. Text is written as text, as in the register (see :func:`_append`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    book = Workbook()
    first = book.active
    assert isinstance(first, Worksheet), "a new workbook opens on one worksheet"
    book.remove(first)
    for table in sheets:
        sheet = book.create_sheet(table.name[:31])  # Excel's limit on sheet names
        frame = table.frame
        _append(sheet, [str(c) for c in frame.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        columns = list(frame.columns)
        money_at = [columns.index(c) + 1 for c in table.money]
        percent_at = [columns.index(c) + 1 for c in table.percent]
        fmt = currency_format(table.currency, table.decimals)
        for row in frame.itertuples(index=False, name=None):
            cells = _append(sheet, [_cell(v) for v in row])
            for index in money_at:
                cells[index - 1].number_format = fmt
            for index in percent_at:
                cells[index - 1].number_format = "0.00%"
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(12, len(str(column)) + 4)
        sheet.freeze_panes = "A2"
    if title:
        book.properties.title = title
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def table_workbook_bytes(frame: pd.DataFrame, sheet_name: str, currency: str, decimals: int,
                         money: Sequence[str] = (), percent: Sequence[str] = (), title: str = "") -> bytes:
    """One sheet of ``frame`` as workbook bytes (see :class:`TableSheet`)."""
    return tables_workbook_bytes([TableSheet(sheet_name, frame, currency, decimals, money, percent)], title)


def write_register_xlsx(reg: pd.DataFrame, lines: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Write ``invoices.xlsx`` atomically."""
    return atomic_write_bytes(Path(path), workbook_bytes(reg, lines, title))


__all__ = ["TableSheet", "currency_format", "table_workbook_bytes", "tables_workbook_bytes", "workbook_bytes",
           "write_register_xlsx"]
