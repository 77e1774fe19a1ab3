"""Row semantics of delimited bank exports: which rows are summaries, which continue the row
above, and which sign convention a card statement uses.

Everything here is table-driven: the phrases banks print on opening/closing balance and total
lines, the headers that mark a card statement, and the words between a phrase and its date.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

import numpy as np
import pandas as pd

# Normalised phrase -> kind. A "balance" line (opening/closing balance, "Saldo") is never a
# transaction; a "total" line ("Total", "Umsatz") is skipped only when it lacks a date or an
# amount, because a merchant may be called TOTAL (the French fuel company) or SUMME.
_SUMMARY_TEXT: dict[str, str] = {
    "balance": (
        "opening balance|closing balance|balance brought forward|balance carried forward|"
        "brought forward|carried forward|starting balance|ending balance|beginning balance|"
        "previous balance|new balance|balance|available balance|"
        "saldo|anfangssaldo|endsaldo|saldo alt|saldo neu|alter saldo|neuer saldo|"
        "alter kontostand|neuer kontostand|kontostand|startsaldo|schlusssaldo|"
        "beginsaldo|eindsaldo|begin saldo|eind saldo|saldo begin|saldo eind|"
        "solde|solde initial|solde final|solde precedent|nouveau solde|ancien solde|"
        "solde de depart|solde de fin|saldo inicial|saldo final|saldo anterior|saldo actual|"
        "saldo iniziale|saldo finale|saldo precedente|"
        "pocatecni zustatek|konecny zustatek|zustatek|pocatecni stav|konecny stav|"
        "saldo poczatkowe|saldo koncowe|saldo otwarcia|saldo zamkniecia|"
        "nyito egyenleg|zaro egyenleg|nyitoegyenleg|zaroegyenleg|egyenleg|"
        "ingaende saldo|utgaende saldo|inngaende saldo|ingaaende saldo|"
        "alkusaldo|loppusaldo|sakuma atlikums|beigu atlikums|algsaldo|lopusaldo|"
        "pradinis likutis|galutinis likutis|likutis"
    ),
    "total": (
        "total|totals|total debits|total credits|total amount|grand total|subtotal|sub total|"
        "turnover|umsatz|umsatze|umsatze gesamt|summe|summe umsatze|gesamt|totaal|"
        "total des operations|total des debits|total des credits|totale|importe total|"
        "obrat|obraty|suma|obroty|razem|forgalom|osszesen|omsattning|summa|yhteensa|"
        "apyvarta|kaive|apgrozijums|sum"
    ),
}
_SUMMARY: dict[str, str] = {
    phrase: kind for kind, text in _SUMMARY_TEXT.items() for phrase in text.split("|")
}
# Words allowed between a summary phrase and the end of its cell ("Saldo per 31.12.2023",
# "Opening balance on 01/03/2024", "Kontostand am 31.01.2024 EUR").
_TAIL = re.compile(
    r"^(?:(?:\d+|per|am|au|du|le|on|at|as|of|to|zum|vom|van|op|al|del|de|ke|k|dne|na|dnia|"
    r"z|za|fur|for|period|periode|eur|usd|gbp|chf|czk|pln|huf|sek|nok|dkk)(?: |$))*$"
)
# Cheap pre-filter on raw cell text: only cells holding one of these roots are normalised.
_ROOTS = re.compile(
    r"(?i)saldo|balan|solde|stand|tota|umsatz|umsätz|summ|gesamt|zůstat|zustat|stav|obr|suma|"
    r"razem|egyenleg|forgalom|összes|osszes|omsättning|omsattning|yhteens|likut|apyvart|"
    r"atlikums|apgroz|kaive|forward|turnover|sum",
)

# A summary label is short ("Saldo per 31.12.2023 EUR"); longer cells are never one.
_MAX_LABEL = 60

_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D"}
)


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    folded = folded.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", " ", folded.lower()).strip()


def summary_kind(text: str) -> str | None:
    """``"balance"``/``"total"`` when a cell reads as a summary line's label, else None.

    The cell must start with a known phrase (longest first) and hold nothing after it but a
    date, a currency code or a linking word: "Anfangssaldo", "Saldo per 31.12.2023", "Total".
    """
    norm = _normalise(text)
    if not norm or len(norm) > _MAX_LABEL:
        return None
    words = norm.split()
    for size in range(min(4, len(words)), 0, -1):
        phrase = " ".join(words[:size])
        kind = _SUMMARY.get(phrase)
        if kind is not None and _TAIL.match(" ".join(words[size:])):
            return kind
    return None


def summary_kinds(uniques: pd.Series) -> list[str | None]:
    """``summary_kind`` of each distinct cell text, pre-filtered by a vectorised regex."""
    text = uniques.astype(str)
    short = np.flatnonzero((text.str.len() <= _MAX_LABEL).to_numpy(dtype=bool))
    out: list[str | None] = [None] * len(uniques)
    if not len(short):
        return out
    hits = text.iloc[short].str.contains(_ROOTS, regex=True).to_numpy(dtype=bool)
    for position in short[hits]:
        out[int(position)] = summary_kind(str(text.iloc[int(position)]))
    return out


# Normalised headers that mark a card statement (charges listed as positive amounts).
_CARD_TEXT = (
    "cc num|cc number|card number|card no|card nr|card|card member|cardmember|"
    "card holder|cardholder|card name|card last 4|last 4 digits|pan|kartennummer|"
    "karteninhaber|karte|numero de carte|carte|titulaire de la carte|kaartnummer|"
    "kaarthouder|numer karty|cislo karty|kartnummer|kortnummer|kortinnehavare|"
    "charge amount|purchase amount|charges and credits"
)
CARD_HEADERS = frozenset(_CARD_TEXT.split("|"))


def card_column(columns: list[str]) -> str | None:
    """The first header that marks a card statement, or None."""
    return next((c for c in columns if _normalise(c) in CARD_HEADERS), None)


def charges_positive(values: list[object], counts: np.ndarray) -> bool:
    """True when most non-zero amounts are positive: a card statement that lists charges as
    positive numbers (payments and refunds negative) rather than as money out.

    ``values`` are a column's distinct parsed amounts and ``counts`` how often each occurs.
    """
    positive = negative = 0
    for value, count in zip(values, counts, strict=False):
        if isinstance(value, Decimal) and value != 0:
            if value > 0:
                positive += int(count)
            else:
                negative += int(count)
    return positive > negative


def continuation_parents(continuation: np.ndarray, kept: np.ndarray) -> dict[int, int]:
    """Row -> the row it continues: the nearest earlier kept transaction row, passing over
    other continuation rows; rows with no transaction above are left out."""
    if not continuation.any():
        return {}
    rows = np.arange(len(continuation))
    # The latest row at or above each row that is not a continuation (-1: none).
    above = np.maximum.accumulate(np.where(continuation, -1, rows))
    joined = continuation & (above >= 0)
    joined[joined] = kept[above[joined]]
    return dict(zip(rows[joined].tolist(), above[joined].tolist(), strict=True))


def date_order(uniques: pd.Series, dayfirst: bool | None) -> str:
    """``YMD``, ``DMY`` or ``MDY``: how the date column writes its dates (for previews)."""
    text = uniques[uniques != ""].astype(str)
    if text.empty:
        return "unknown"
    if text.str.match(r"^\d{4}\D?\d{1,2}\D?\d{1,2}").mean() >= 0.5:
        return "YMD"
    parts = text.str.extract(r"^(\d{1,2})([./-])(\d{1,2})\2\d{2,4}")
    parts = parts[parts[0].notna()]
    if parts.empty:
        return "unknown"
    if dayfirst is not None:
        return "DMY" if dayfirst else "MDY"
    if (parts[1] == ".").mean() >= 0.5:
        return "DMY"
    first, second = pd.to_numeric(parts[0]), pd.to_numeric(parts[2])
    if bool((first > 12).any()) and not bool((second > 12).any()):
        return "DMY"
    return "MDY"


__all__ = [
    "CARD_HEADERS",
    "card_column",
    "charges_positive",
    "continuation_parents",
    "date_order",
    "summary_kind",
    "summary_kinds",
]
