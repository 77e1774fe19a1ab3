"""Row semantics of delimited exports: summary lines, continuation lines, card statements."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from titans_finance.ingest.readers.csv_rows import (
    card_column,
    charges_positive,
    continuation_parents,
    date_order,
    summary_kind,
    summary_kinds,
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Anfangssaldo", "balance"),
        ("Endsaldo", "balance"),
        ("Saldo per 31.12.2023", "balance"),
        ("Opening balance", "balance"),
        ("Closing Balance on 31/03/2024", "balance"),
        ("Kontostand am 31.01.2024 EUR", "balance"),
        ("Saldo końcowe", "balance"),
        ("Počáteční zůstatek", "balance"),
        ("Nyitó egyenleg", "balance"),
        ("Solde initial", "balance"),
        ("Total", "total"),
        ("Totaal", "total"),
        ("Umsatz", "total"),
        ("Summe Umsätze", "total"),
        ("TOTAL 1234", "total"),  # a label only on a row without a date or amount
        ("TOTAL 1234 PARIS", None),
        ("Albert Heijn 1234", None),
        ("Soldes d'hiver Galeries", None),
        ("Saldo transfer to savings account John", None),
        ("", None),
    ],
)
def test_summary_labels_in_several_languages(text: str, kind: str | None) -> None:
    assert summary_kind(text) == kind


def test_summary_kinds_prefilters_distinct_values() -> None:
    uniques = pd.Series(["REWE", "Endsaldo", "Total", "", "Netflix"], dtype=object)
    assert summary_kinds(uniques) == [None, "balance", "total", None, None]


def test_continuation_rows_attach_to_the_transaction_above() -> None:
    continuation = np.array([False, True, True, False, True, True])
    kept = np.array([True, False, False, False, False, False])
    # Rows 1 and 2 continue row 0; row 3 was rejected, so rows 4 and 5 have no parent.
    assert continuation_parents(continuation, kept) == {1: 0, 2: 0}


def test_continuation_rows_at_the_top_or_after_a_new_transaction() -> None:
    continuation = np.array([True, False, True, False, True, True])
    kept = np.array([False, True, False, True, False, False])
    # Row 0 has nothing above it; row 2 continues row 1, rows 4 and 5 continue row 3.
    assert continuation_parents(continuation, kept) == {2: 1, 4: 3, 5: 3}
    assert continuation_parents(np.zeros(3, dtype=bool), np.ones(3, dtype=bool)) == {}


def test_card_statement_headers_and_majority_sign() -> None:
    assert card_column(["Date", "Description", "Card Member", "Amount"]) == "Card Member"
    assert card_column(["Card No.", "Debit"]) == "Card No."
    assert card_column(["Date", "Amount"]) is None
    values = [Decimal("23.45"), Decimal("-500.00"), Decimal("12.00")]
    assert charges_positive(values, np.array([1, 1, 1]))
    assert not charges_positive(values, np.array([1, 5, 1]))  # mostly negative: signed already


@pytest.mark.parametrize(
    ("values", "dayfirst", "order"),
    [
        (["2024-03-01", "2024-03-15"], None, "YMD"),
        (["01.03.2024", "02.03.2024"], None, "DMY"),
        (["15/03/2024", "01/03/2024"], None, "DMY"),
        (["03/15/2024", "03/01/2024"], None, "MDY"),
        (["03/01/2024"], True, "DMY"),
        (["yesterday"], None, "unknown"),
    ],
)
def test_date_order(values: list[str], dayfirst: bool | None, order: str) -> None:
    assert date_order(pd.Series(values, dtype=object), dayfirst) == order
