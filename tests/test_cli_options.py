"""The options several commands share (pricing/apps/cli/options.py): checked values or one line."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

import pytest

from pricing.apps.cli import main
from pricing.apps.cli.options import decimal_option, parse_params, parse_usage, whole_quantity
from pricing.errors import PricingError, UsageError


@pytest.mark.parametrize(("raw", "maximum", "places", "expected"), [
    ("21", Decimal(100), 6, Decimal("21")),
    ("1_000.5", None, 6, Decimal("1000.5")),  # underscores group digits, as in Python
    ("0.000001", None, 6, Decimal("0.000001")),  # 6 places: the most allowed
    ("100", Decimal(100), 6, Decimal("100")),  # the bound itself is allowed
    (None, None, 6, None),
])
def test_decimal_option_accepts(raw: str | None, maximum: Decimal | None, places: int,
                                expected: Decimal | None) -> None:
    assert decimal_option("--tax", raw, maximum=maximum, places=places) == expected


@pytest.mark.parametrize(("raw", "maximum", "places", "message"), [
    ("x", None, 6, "--tax 'x' is not a number"),
    ("-1", None, 6, "--tax '-1' must be a non-negative number"),
    ("NaN", None, 6, "--tax 'NaN' must be a non-negative number"),
    ("100.5", Decimal(100), 6, "--tax '100.5' must be at most 100"),
    ("0.0000001", None, 6, "--tax '0.0000001' has more than 6 decimal places"),
    ("0.125", None, 2, "--tax '0.125' has more than 2 decimal places"),
    # 31 places: normalize() would round it to 28 digits (1.000...001 -> 1) before the places were counted
    ("1.0000000000000000000000000000009", None, 2,
     "--tax '1.0000000000000000000000000000009' has more than 2 decimal places"),
])
def test_decimal_option_refuses_in_one_line(raw: str, maximum: Decimal | None, places: int, message: str) -> None:
    with pytest.raises(UsageError) as refused:
        decimal_option("--tax", raw, maximum=maximum, places=places)
    assert str(refused.value) == message


def test_parse_usage_and_params() -> None:
    assert parse_usage([" maa = 50", "mat=3"]) == {"maa": "50", "mat": "3"}
    with pytest.raises(UsageError, match="'maa' given twice"):
        parse_usage(["maa=1", "maa=2"])
    with pytest.raises(UsageError, match="expected METRIC=QUANTITY"):
        parse_usage(["maa"])
    # a notebook parameter keeps its value as written (spaces included): the notebook checks it
    assert parse_params(["title= March "]) == {"title": " March "}
    with pytest.raises(PricingError, match="expected NAME=VALUE"):
        parse_params(["=x"])


@pytest.mark.parametrize(("raw", "expected"), [("10_000_000", 10_000_000), ("1,000", 1000), ("1", 1)])
def test_whole_quantity(raw: str, expected: int) -> None:
    assert whole_quantity(raw) == expected


@pytest.mark.parametrize("raw", ["0", "1.5", "-3", "lots", "1" + "0" * 40])
def test_whole_quantity_refuses(raw: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        whole_quantity(raw)


def test_report_quote_discount_is_checked_before_any_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "quotes"
    status = main(["report", "quote", "--prospect", "Acme", "--catalog", "quasr", "--usage", "maa=50",
                   "--discount", "101", "--no-pdf", "--out", str(out)])
    assert status == 2
    assert capsys.readouterr().err == "error: --discount '101' must be at most 100\n"
    assert not out.exists()
