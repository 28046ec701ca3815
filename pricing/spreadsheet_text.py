"""Text that stays text in spreadsheets: neutralising formula injection (OWASP "CSV injection").

A spreadsheet reads a cell starting with ``=``, ``+``, ``-`` or ``@`` as a
formula, and a leading tab or carriage return hides such a start from naive
checks. A customer named ``=HYPERLINK("http://evil.example/","click")`` must
reach finance as that text, never as a live link or command.

Two outputs, two remedies, as OWASP recommends:

* CSV has no cell types, so a risky value gets a leading single quote
  (``'=1+2``), which spreadsheets show as text; the CSV writer quotes fields.
* Excel cells have types: a risky value is written as a string cell with the
  ``quotePrefix`` style (Excel's own "text, not formula" mark), so the value
  read back is exactly the original text.
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

FORMULA_STARTS: Final[tuple[str, ...]] = ("=", "+", "-", "@", "\t", "\r")


def is_risky(value: object) -> bool:
    """Whether a spreadsheet could read this string as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def neutralise(value: Any) -> Any:
    """A CSV field: risky strings get a leading ``'``; anything else is unchanged."""
    return "'" + value if is_risky(value) else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and column names) are safe to write as CSV."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


__all__ = ["FORMULA_STARTS", "is_risky", "neutralise", "neutralise_frame"]
