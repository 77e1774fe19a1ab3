from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from titans_finance.frame import factorize_objects, factorize_text, missing_values


def test_factorize_objects_groups_shared_and_equal_objects() -> None:
    shared = Decimal("1.50")
    values = np.array(
        [shared, Decimal("1.50"), None, shared, Decimal("2"), float("nan"), Decimal("1.5")],
        dtype=object,
    )
    codes, uniques = factorize_objects(values[::1])
    assert codes.tolist() == [0, 0, -1, 0, 1, -1, 2]
    assert [str(u) for u in uniques] == ["1.50", "2", "1.5"]


def test_factorize_text_on_a_strided_column() -> None:
    # A column of a two-column object block is a strided view of the block.
    block = pd.DataFrame({"a": [" x", "y ", None, "x"], "b": ["p", "q", "r", "s"]}, dtype=object)
    codes, uniques = factorize_text(block.to_numpy()[:, 0])
    assert uniques[codes].tolist() == ["x", "y", "", "x"]


def test_missing_values_is_pd_isna_with_decimal_nan() -> None:
    values = [None, Decimal("1.5"), Decimal("NaN"), float("nan"), pd.NaT, "x", "", 0]
    assert missing_values(values).tolist() == [bool(pd.isna(v)) for v in values]
    assert missing_values(values).tolist() == [True, False, True, True, True, False, False, False]
    assert missing_values([]).tolist() == []
