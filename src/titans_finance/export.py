"""Spreadsheet-safe CSV: every CSV the project writes escapes formula-looking cells.

`escape_cell` is the one rule (for ``csv.writer`` rows and anything else written cell by cell);
`escape_formulas` applies it to a frame once per distinct value, `export_csv` writes a frame and
`write_rows` streams rows (no pandas: a small command stays fast).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import pandas as pd

# A cell that a spreadsheet would read as a formula (or as a hidden control prefix).
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")


def _is_number(text: str) -> bool:
    try:
        return not math.isnan(float(text)) and "_" not in text
    except ValueError:
        return False


def escape_cell(value: Any) -> Any:
    """``value`` with a leading quote when its text starts with = + - @ (or tab/CR) and is not a
    number; anything else (numbers, None, safe text) is returned unchanged."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return value
    text = value if isinstance(value, str) else str(value)
    if _FORMULA_START.match(text) and not _is_number(text):
        return "'" + text
    return value


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with `escape_cell` applied to every text (object) cell."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype != object:
            continue
        codes, uniques = pd.factorize(out[column], use_na_sentinel=True)
        escaped = [escape_cell(u) for u in uniques]
        if any(e is not u for e, u in zip(escaped, uniques, strict=True)):
            table = pd.Series([*escaped, None], dtype=object).to_numpy()
            out[column] = pd.Series(table[codes], index=out.index, dtype=object).where(
                out[column].notna(), out[column]
            )
    return out


def export_csv(frame: pd.DataFrame) -> str:
    """CSV text of a frame with every cell escaped against spreadsheet formula injection."""
    buffer = io.StringIO()
    escape_formulas(frame).to_csv(buffer, index=False)
    return buffer.getvalue()


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` (folder created) as CSV, formula cells escaped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    escape_formulas(frame).to_csv(path, index=False)


def write_rows(header: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO) -> int:
    """Stream ``rows`` as CSV under ``header``, every cell through `escape_cell`, cells as
    `export_csv` writes them (None -> empty, money as a float); returns the row count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([escape_cell(float(v) if isinstance(v, Decimal) else v) for v in row])
        count += 1
    return count


__all__ = ["escape_cell", "escape_formulas", "export_csv", "write_csv", "write_rows"]
