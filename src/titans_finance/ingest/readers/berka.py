"""Reader for the Berka (PKDD'99 Czech bank) ``trans.asc`` transaction table.

The file is semicolon-separated with quoted strings, CRLF line ends, Latin-1, dates ``YYMMDD`` and
the columns ``trans_id;account_id;date;type;operation;amount;balance;k_symbol;bank;account``.
Amounts are unsigned; ``type`` gives the direction (PRIJEM = credit, VYDAJ and VYBER = debit).
The Czech codes are translated into English descriptions, categories and payment methods.

Parsing is vectorised: each column is factorised and only its distinct values are converted
(there are few distinct dates, amounts and code combinations), so a million rows parse in
seconds.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.domain import RejectedRow
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers._common import build_frame, read_bytes
from titans_finance.ingest.readers.base import ReadResult

logger = logging.getLogger(__name__)

FORMAT = "berka"
COLUMNS: tuple[str, ...] = (
    "trans_id",
    "account_id",
    "date",
    "type",
    "operation",
    "amount",
    "balance",
    "k_symbol",
    "bank",
    "account",
)
CURRENCY = "CZK"
DEFAULT_ACCOUNT_PREFIX = "berka"

TYPES: dict[str, str] = {
    "PRIJEM": d.TransactionType.INCOME.value,  # credit
    "VYDAJ": d.TransactionType.EXPENSE.value,  # debit
    "VYBER": d.TransactionType.EXPENSE.value,  # withdrawal (a debit)
}
OPERATIONS: dict[str, str] = {
    "VKLAD": "Cash deposit",
    "VYBER": "Cash withdrawal",
    "VYBER KARTOU": "Card withdrawal",
    "PREVOD Z UCTU": "Transfer from another bank",
    "PREVOD NA UCET": "Transfer to another bank",
}
OPERATION_CATEGORIES: dict[str, str] = {
    "VKLAD": "Cash",
    "VYBER": "Cash",
    "VYBER KARTOU": "Cash",
    "PREVOD Z UCTU": "Transfer",
    "PREVOD NA UCET": "Transfer",
}
PAYMENT_METHODS: dict[str, str] = {
    "VKLAD": "Cash",
    "VYBER": "Cash",
    "VYBER KARTOU": "Card",
    "PREVOD Z UCTU": "Transfer",
    "PREVOD NA UCET": "Transfer",
}
K_SYMBOLS: dict[str, str] = {
    "SIPO": "Household payment",
    "UVER": "Loan repayment",
    "UROK": "Interest credited",
    "SLUZBY": "Bank fees",
    "POJISTNE": "Insurance",
    "DUCHOD": "Pension",
    "SANKC. UROK": "Penalty interest",
}
K_SYMBOL_CATEGORIES: dict[str, str] = {
    "SIPO": "Household",
    "UVER": "Loan",
    "UROK": "Interest",
    "SLUZBY": "Bank Fees",
    "POJISTNE": "Insurance",
    "DUCHOD": "Pension",
    "SANKC. UROK": "Penalty Interest",
}
# Charges and interest the bank books itself: the operation adds nothing to their description.
_BANK_INTERNAL = frozenset({"UROK", "SLUZBY", "SANKC. UROK"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_YYMMDD = r"\d{6}"


def _describe(
    kind: str, operation: str, k_symbol: str, bank: str
) -> tuple[str, str | None, str | None]:
    """Description, category and payment method of one (type, operation, k_symbol, bank)."""
    incoming = TYPES.get(kind) == d.TransactionType.INCOME.value
    op_text = OPERATIONS.get(operation, operation.title() if operation else "")
    if k_symbol:
        text = K_SYMBOLS.get(k_symbol, k_symbol.title())
        category: str | None = K_SYMBOL_CATEGORIES.get(k_symbol, k_symbol.title())
        if bank:
            text += f" {'from' if incoming else 'to'} bank {bank}"
        elif op_text and k_symbol not in _BANK_INTERNAL:
            text += f" ({op_text.lower()})"
    else:
        category = OPERATION_CATEGORIES.get(operation)
        if operation.startswith("PREVOD") and bank:
            text = f"Transfer {'from' if incoming else 'to'} bank {bank}"
        elif op_text:
            text = op_text
        else:
            text = "Credit" if incoming else "Debit"
    method = None if k_symbol in _BANK_INTERNAL else PAYMENT_METHODS.get(operation)
    return text, category, method


def _per_category(column: pd.Series, convert: Callable[[str], Any]) -> np.ndarray:
    """``convert`` applied to each category of a categorical column, spread back to its rows."""
    categories = [convert(str(c).strip()) for c in column.cat.categories]
    table = np.array([*categories, convert("")], dtype=object)  # code -1 (missing) -> ""
    return table[column.cat.codes.to_numpy()]


def _code(value: Any, *, upper: bool = True) -> str:
    """A Czech code from a categorical cell: stripped, upper-case, "" when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip()
    return text.upper() if upper else text


def _shown(value: Any) -> str:
    """A source value quoted for a reject reason (numbers without numpy decoration)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(str(value))


def _account_name(prefix: str, account_id: Any) -> str | None:
    """``<prefix>-<account_id>``, or None when the id is blank."""
    if isinstance(account_id, float):
        if np.isnan(account_id):
            return None
        if account_id.is_integer():
            account_id = int(account_id)
    text = str(account_id).strip()
    return f"{prefix}-{text}" if text else None


def _decimal_of(value: Any) -> Decimal | None:
    """A distinct amount as Decimal with at least two decimals; None when blank; raises if bad."""
    if isinstance(value, float):
        if np.isnan(value):
            return None
        number = Decimal(repr(value))
    elif isinstance(value, int | np.integer):
        number = Decimal(int(value))
    else:
        text = str(value).strip()
        if not text:
            return None
        if not _NUMBER.fullmatch(text):
            raise ValueError(text)
        number = Decimal(text)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        number = number.quantize(d.CENT)
    return number


def _decimals(
    values: pd.Series, negate: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the Decimal (object array), whether it is blank, whether its text is not a number.

    Only distinct values are converted.  Rows flagged in ``negate`` get ``-abs(value)``.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    converted: list[Decimal | None] = []
    bad: list[bool] = []
    numeric = np.asarray(uniques)
    if numeric.dtype.kind in "fi" and len(numeric):
        # Clean numeric column: whole cents print exactly with %.2f; anything finer keeps repr.
        finite = np.isfinite(numeric)
        cents = np.round(numeric.astype(np.float64) * 100)
        whole = finite & (np.abs(numeric * 100 - cents) < 1e-6) & (np.abs(numeric) < 1e13)
        texts = np.char.mod("%.2f", np.where(whole, numeric, 0)).tolist()
        converted = [
            Decimal(t) if w else (_decimal_of(float(v)) if f else None)
            for t, w, f, v in zip(
                texts, whole.tolist(), finite.tolist(), numeric.tolist(), strict=True
            )
        ]
        bad = [False] * len(converted)
    else:
        for value in uniques:
            try:
                converted.append(_decimal_of(value))
                bad.append(False)
            except ValueError:
                converted.append(None)
                bad.append(True)
    table = np.array(converted, dtype=object)
    blank = np.array([v is None for v in converted]) & ~np.array(bad, dtype=bool)
    per_row = table[codes]
    if negate is not None and negate.any():
        negatives = np.array([None if v is None else -abs(v) for v in converted], dtype=object)
        per_row = np.where(negate, negatives[codes], per_row)
    return per_row, blank[codes], np.array(bad, dtype=bool)[codes]


def _dates(values: pd.Series) -> np.ndarray:
    """``datetime.date`` per row (None when not a valid YYMMDD); distinct values parsed once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    texts = pd.Series(
        [
            f"{int(u):06d}" if isinstance(u, int | np.integer | float) and u == u else str(u)
            for u in uniques
        ],
        dtype=object,
    ).str.strip()
    ok = texts.str.fullmatch(_YYMMDD)
    parsed = pd.to_datetime(texts.where(ok), format="%y%m%d", errors="coerce")
    table = np.array([ts.date() if pd.notna(ts) else None for ts in parsed], dtype=object)
    return table[codes]


def _read_table(data: bytes, path: Path) -> tuple[pd.DataFrame, np.ndarray, list[RejectedRow]]:
    """All rows, their 1-based line numbers and the rows with a wrong field count."""
    options: dict[str, Any] = {
        "sep": ";",
        "quotechar": '"',
        "dtype": {
            "trans_id": str,
            "type": "category",
            "operation": "category",
            "k_symbol": "category",
            "bank": "category",
            "account": "category",
        },
        "keep_default_na": False,
        "na_values": [""],
        "encoding": "latin-1",
        "skip_blank_lines": False,
        "low_memory": False,
        "names": list(COLUMNS),
    }
    try:
        frame = pd.read_csv(io.BytesIO(data), header=0, **options)
        return frame, np.arange(2, len(frame) + 2, dtype=np.int64), []
    except pd.errors.ParserError:
        logger.info("%s: rows with a wrong field count; checking line by line", path)
    # Slow path, only for damaged files: set aside the lines with the wrong field count first.
    raw_lines = pd.Series(data.decode("latin-1").splitlines()[1:], dtype=object)
    counts = raw_lines.str.count(";").to_numpy()
    good = counts == len(COLUMNS) - 1
    blank = raw_lines.str.strip().eq("").to_numpy()
    rejects = [
        RejectedRow(
            int(i) + 2,
            str(raw_lines.iat[int(i)]),
            f"expected {len(COLUMNS)} fields, found {counts[i] + 1}",
        )
        for i in np.flatnonzero(~good & ~blank)
    ]
    body = "\n".join(raw_lines[good].tolist()).encode("latin-1")
    frame = pd.read_csv(io.BytesIO(body), header=None, **options)
    return frame, np.flatnonzero(good).astype(np.int64) + 2, rejects


def read_berka(
    path: Path,
    *,
    account: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> ReadResult:
    """Read a Berka ``trans.asc`` file into canonical rows.

    ``Account`` is ``berka-<account_id>``; when ``account`` is given it replaces the ``berka``
    prefix (the file holds many accounts, so one name cannot cover them all).  ``mapping`` is
    not used (the layout is fixed).  Raises ``InputFileError`` when the file is empty or its
    header is not the Berka one.
    """
    del mapping
    path = Path(path)
    data = read_bytes(path, "a Berka trans.asc file")
    first = data.split(b"\n", 1)[0].decode("latin-1").strip().lstrip("\ufeff")
    header = [f.strip().strip('"').strip().lower() for f in first.split(";")]
    if tuple(header) != COLUMNS:
        raise InputFileError(
            f"{path}: not a Berka trans.asc file: the header line is {first!r}; expected "
            f"{';'.join(COLUMNS)} (use --format to choose another reader)"
        )
    table, lines, rejects = _read_table(data, path)
    # skip_blank_lines=False keeps line numbers right; blank lines come back as empty rows
    present = table[["account_id", "date", "amount"]].notna().any(axis=1).to_numpy()
    if not present.all():
        table, lines = table[present].reset_index(drop=True), lines[present]
    n = len(table)

    kind = _per_category(table["type"], str.upper)
    types = _per_category(table["type"], lambda v: TYPES.get(v.upper()))
    account_codes, account_ids = pd.factorize(table["account_id"], use_na_sentinel=False)
    prefix = account or DEFAULT_ACCOUNT_PREFIX
    account_table = np.array([_account_name(prefix, a) for a in account_ids], dtype=object)
    accounts = account_table[account_codes]
    dates = _dates(table["date"])
    amounts, amount_blank, amount_bad = _decimals(table["amount"], negate=kind != "PRIJEM")
    balances, _, balance_bad = _decimals(table["balance"])

    # Descriptions, categories and payment methods depend only on the code combination.
    parts = [table[c] for c in ("type", "operation", "k_symbol", "bank")]
    key = np.zeros(n, dtype=np.int64)
    for part in parts:
        key = key * (len(part.cat.categories) + 1) + (part.cat.codes.to_numpy() + 1)
    combo_codes, _ = pd.factorize(key)
    firsts = pd.Series(np.arange(n)).groupby(combo_codes).first().to_numpy()
    texts = [part.astype(object).to_numpy()[firsts] for part in parts]
    described = [
        _describe(_code(t), _code(o), _code(k), _code(b, upper=False))
        for t, o, k, b in zip(*texts, strict=True)
    ]
    descriptions, categories, methods = (
        np.array([item[i] for item in described], dtype=object)[combo_codes] for i in range(3)
    )

    checks: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (
            types == None,  # noqa: E711 (element-wise)
            lambda i: (
                f"unknown transaction type {_shown(table['type'].iat[i])} "
                "(expected PRIJEM, VYDAJ or VYBER)"
            ),
        ),
        (accounts == None, lambda i: "account_id is missing"),  # noqa: E711
        (
            dates == None,  # noqa: E711
            lambda i: f"date {_shown(table['date'].iat[i])} is not a valid YYMMDD date",
        ),
        (amount_bad, lambda i: f"amount {_shown(table['amount'].iat[i])} is not a number"),
        (amount_blank, lambda i: "amount is missing"),
        (
            balance_bad,
            lambda i: f"balance {_shown(table['balance'].iat[i])} is not a number",
        ),
    ]
    failed = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    for mask, reason in checks:
        for i in np.flatnonzero(mask & ~failed):
            reasons[int(i)] = reason(int(i))
        failed |= mask
    ok = ~failed
    if reasons:
        raw_lines = data.decode("latin-1").splitlines()
        rejects.extend(
            RejectedRow(int(lines[i]), raw_lines[lines[i] - 1], reason)
            for i, reason in reasons.items()
        )
        rejects.sort(key=lambda r: r.line)
        logger.info("%s: %d rows rejected", path, len(rejects))

    references = table["trans_id"].to_numpy(dtype=object)
    missing_id = table["trans_id"].isna().to_numpy()
    if missing_id.any():
        references = references.copy()
        references[missing_id] = None
    kept = int(ok.sum())
    keep: slice | np.ndarray = slice(None) if ok.all() else ok  # no copies when all parse
    columns: dict[str, Any] = {
        d.DATE: dates[keep],
        d.TYPE: types[keep],
        d.DESCRIPTION: descriptions[keep],
        d.AMOUNT: amounts[keep],
        d.CATEGORY: categories[keep],
        d.PAYMENT_METHOD: methods[keep],
        d.STATUS: np.full(kept, "posted", dtype=object),
        d.REFERENCE: references[keep],
        d.ACCOUNT: accounts[keep],
        d.CURRENCY: np.full(kept, CURRENCY, dtype=object),
        d.BALANCE: balances[keep],
    }
    frame = build_frame(columns, lines[keep], with_balance=True)
    return ReadResult(frame=frame, rejects=rejects, format=FORMAT)


__all__ = ["read_berka"]
