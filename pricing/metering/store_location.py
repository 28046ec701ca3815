"""Where the workbook store lives when a command is given no ``--store``.

Its own module so that the command line can show the default without importing the store
(DuckDB, Ibis and pandas).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_STORE = Path("data/workbook.duckdb")
