"""Helpers shared by the non-CSV readers: file access, decoding, money text, the output frame."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.errors import InputFileError

LINE: str = "line"
_MONEY_CHARS = re.compile(r"[\s'\u00a0]")
_NUMBER = re.compile(r"\d+\.?\d*|\.\d+")


def read_bytes(path: Path, what: str) -> bytes:
    """The file's bytes; InputFileError when it is missing, unreadable or empty."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if not data or data.isspace():  # no copy of a large file
        raise InputFileError(f"{path}: the file is empty; expected {what}")
    return data


# Code pages banks actually write; a detector's guess outside this set is weak evidence, and
# Windows-1252 (a superset of Latin-1's printable range) is the better bet for such files.
_COMMON_ENCODINGS = frozenset(
    {
        "utf_8",
        "ascii",
        "cp1252",
        "latin_1",
        "iso8859_15",
        "cp1250",
        "iso8859_2",
        "cp1251",
        "koi8_r",
        "cp1257",
        "iso8859_13",
        "iso8859_4",
        "cp1253",
        "cp1254",
        "iso8859_9",
    }
)


def decode_text_with_encoding(
    data: bytes,
    encoding: str | None = None,
    *,
    source: Path | str | None = None,
    strict: bool = False,
) -> tuple[str, str]:
    """``decode_text`` and the name of the encoding it used (for import previews).

    Order: the declared ``encoding`` (a failure raises ``InputFileError`` when ``strict``, else
    falls through), a UTF-8 or UTF-16 byte-order mark, UTF-8, then charset detection. The
    detector's best candidate among the code pages banks use (Windows-125x, ISO-8859-x, KOI8-R)
    wins; rarer guesses (cp775, cp857, Mac code pages), which it makes on little evidence, are
    passed over, and with no candidate left the answer is Windows-1252,
    which with Latin-1 for its five undefined bytes decodes any byte string.
    NUL bytes without a UTF-16 mark mean a binary file: ``InputFileError``.
    """
    where = f"{source}: " if source is not None else ""
    if encoding:
        try:
            return data.decode(encoding).lstrip("\ufeff"), encoding
        except (LookupError, UnicodeDecodeError) as exc:
            if strict:
                raise InputFileError(f"{where}cannot decode as {encoding}: {exc}") from exc
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    # UTF-32-LE's mark starts with UTF-16-LE's, so it is tried first.
    for marks, codec in (
        ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32"),
        ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16"),
    ):
        if data.startswith(marks):
            try:
                return data.decode(codec).lstrip("\ufeff"), codec
            except UnicodeDecodeError as exc:
                name = codec.upper()
                raise InputFileError(f"{where}has a {name} mark but is not valid {name}") from exc
    if b"\x00" in data[:4096]:
        raise InputFileError(
            f"{where}looks like a binary file, not a text export (it contains NUL bytes)"
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # The detector's candidates come best first; take the best one banks use.
    guesses = [match.encoding for match in from_bytes(data[: 1 << 20])]
    name = next((g for g in guesses if g in _COMMON_ENCODINGS), "cp1252")
    if name in ("latin_1", "ascii"):
        name = "cp1252"  # they differ from cp1252 only in 0x80-0x9f, where banks mean cp1252
    try:
        return data.decode(name), name
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def decode_text(
    data: bytes,
    encoding: str | None = None,
    *,
    source: Path | str | None = None,
    strict: bool = False,
) -> str:
    """The one text decoder of every reader: bytes of an export to ``str`` without a BOM.

    See ``decode_text_with_encoding`` for the order in which encodings are tried.
    """
    return decode_text_with_encoding(data, encoding, source=source, strict=strict)[0]


def parse_money(text: str | None) -> Decimal | None:
    """A money amount written with optional thousands separators, or None when not a number.

    ``1,234.56``, ``1.234,56``, ``-1 234,5``, ``$12.00`` and ``(12.00)`` are understood; when only
    one separator kind occurs it is a decimal point unless exactly three digits follow it more
    than once or it is a comma followed by exactly three digits.
    """
    if text is None:
        return None
    s = _MONEY_CHARS.sub("", text.strip())
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s[:1] in "+-" and s:
        negative, s = (not negative if s[0] == "-" else negative), s[1:]
    s = s.lstrip("$€£¥")
    if s.endswith("-"):  # "12.00-" as some banks print debits
        negative, s = not negative, s[:-1]
    if not s:
        return None
    if "," in s and "." in s:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        s = s.replace(thousands, "").replace(decimal_sep, ".")
    elif "," in s:
        parts = s.split(",")
        thousands_only = len(parts) > 2 or len(parts[-1]) == 3
        s = s.replace(",", "") if thousands_only else s.replace(",", ".")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    if not _NUMBER.fullmatch(s):
        return None
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None
    return -value if negative else value


def build_frame(
    columns: Mapping[str, Sequence[Any] | np.ndarray | pd.Series],
    lines: Sequence[int] | np.ndarray,
    *,
    with_balance: bool = False,
) -> pd.DataFrame:
    """A reader's output: every canonical column (None when absent), optional Balance, line."""
    line_values = np.asarray(lines, dtype=np.int64)
    n = len(line_values)
    index = pd.RangeIndex(n)
    data: dict[str, np.ndarray] = {}
    wanted = [*d.CANONICAL_COLUMNS, *([d.BALANCE] if with_balance else [])]
    for name in wanted:
        values = columns.get(name)
        if values is None:
            array = np.full(n, None, dtype=object)
        elif isinstance(values, pd.Series):
            array = values.to_numpy(dtype=object)
        else:
            array = np.asarray(values, dtype=object) if len(values) else np.empty(0, object)
        data[name] = array
    data[LINE] = line_values
    # copy=False keeps one block per column instead of copying all into one 2-D object block
    return pd.DataFrame(data, index=index, copy=False)


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1
