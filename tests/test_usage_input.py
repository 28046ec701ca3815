"""Usage quantities from tables and text: exact scaled integers, or one clear error, never a wrap (issue 12)."""

from __future__ import annotations

import re
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from conftest import make_catalog

from pricing.errors import UsageError
from pricing.engine.money import MAX_SCALED_QUANTITY
from pricing.engine.rating import _column_to_scaled, parse_quantity, usage_columns


@pytest.mark.parametrize(
    ("column", "decimals", "message"),
    [
        (pd.Series([1, 10**13], dtype="int64"), 6, "usage row 1: q=10000000000000 is too large"),
        (pd.Series([0.0, 1e19]), 0, "usage row 1: q=1e+19 is too large"),
        (pd.Series([2**64 - 1], dtype="uint64"), 0, "usage row 0: q=18446744073709551615 is too large"),
        (pd.Series([1e18]), 3, "is too large"),
        (pd.Series(["1", str(2**63)]), 0, "usage row 1: q=9223372036854775808 is too large"),
        (pd.Series([Decimal("1e400")], dtype=object), 0, "is too large"),
        (pd.Series([1, None], dtype="Int64"), 0, "usage row 1: q='<NA>' is not a number"),
        (pd.Series([-1], dtype="int64"), 0, "is negative"),
        (pd.Series([float("inf")]), 0, "is missing or not a number"),
    ],
)
def test_columns_beyond_exact_are_refused(column, decimals, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warning on the way
        with pytest.raises(UsageError, match=re.escape(message)):
            _column_to_scaled("q", column, decimals)


@pytest.mark.parametrize(
    ("column", "decimals", "expected"),
    [
        (pd.Series([0, 9 * 10**12], dtype="int64"), 6, [0, 9 * 10**18]),
        (pd.Series([10**18 - 1], dtype="int64"), 0, [10**18 - 1]),
        (pd.Series([10**18 - 1], dtype="uint64"), 0, [10**18 - 1]),
        (pd.Series([1.5, 2.25]), 2, [150, 225]),
        (pd.Series([2**63 - 1], dtype="int64"), 0, [MAX_SCALED_QUANTITY]),
        (pd.Series(["9223372036854.775807"]), 6, [MAX_SCALED_QUANTITY]),
        (pd.Series([Decimal("12.5")], dtype=object), 1, [125]),
    ],
)
def test_columns_up_to_the_bound_are_exact(column, decimals, expected):
    values = _column_to_scaled("q", column, decimals)
    assert values.dtype == np.int64 and values.tolist() == expected


@pytest.mark.parametrize(
    ("raw", "decimals", "expected"),
    [("0", 0, 0), ("0e-999", 0, 0), ("1e3", 0, 1000), ("1.50", 1, 15), ("1_000", 0, 1000),
     ("999999999999999999", 0, 10**18 - 1), (Decimal("0.000001"), 6, 1)],
)
def test_parse_quantity_exact(raw, decimals, expected):
    assert parse_quantity("q", raw, decimals) == expected


@pytest.mark.parametrize(
    ("raw", "decimals", "message"),
    [
        ("9223372036854775808", 0, "is too large (at most 9,223,372,036,854,775,807)"),
        ("1e19", 0, "is too large"),
        ("1e99999999", 0, "is too large"),
        ("10000000000000", 6, "is too large (at most 9,223,372,036,854.775807)"),
        ("1e-99999999", 0, "must be a whole number"),
        ("1.000000000000000000000000000000000001", 0, "must be a whole number"),
        ("0.0000001", 6, "must be at most 6 decimal places"),
        ("1" * 5000, 0, "is too large"),
        ("abc", 0, "is not a number"),
        ("sNaN", 0, "is not a number"),
        (True, 0, "is not a number"),
    ],
)
def test_parse_quantity_refusals_are_one_line(raw, decimals, message):
    with pytest.raises(UsageError) as error:
        parse_quantity("q", raw, decimals)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert len(str(error.value)) < 200  # a 5,000-digit input is shortened in the message


def test_a_table_with_an_overflowing_column_is_refused_before_rating():
    catalog = make_catalog("- {metric: q, model: per_unit, unit_price: \"1\", source: \"assumption: t\"}",
                           metrics="  q: {name: Q, decimals: 6}\n")
    with pytest.raises(UsageError, match="too large"):
        usage_columns(catalog, pd.DataFrame({"q": np.array([10**13], dtype=np.int64)}))
