"""Categorical one-hot features."""

from __future__ import annotations

import pandas as pd

from titans_finance import domain as d
from titans_finance.features.categorical import MERCHANT_KEY, CategoricalOneHot


def test_one_hot_ignores_unseen_and_fills_type_from_sign() -> None:
    train = pd.DataFrame(
        {d.TYPE: ["Expense", None], d.ACCOUNT: ["visa", "checking"], d.AMOUNT: [-1.0, 5.0]}
    )
    encoder = CategoricalOneHot((d.TYPE, d.ACCOUNT)).fit(train)
    names = list(encoder.get_feature_names_out())
    assert names == ["Type=expense", "Type=income", "Account=checking", "Account=visa"]
    test = pd.DataFrame({d.TYPE: ["expense"], d.ACCOUNT: ["savings"], d.AMOUNT: [-3.0]})
    assert encoder.transform(test).toarray().tolist() == [[1, 0, 0, 0]]


def test_missing_columns_and_min_count() -> None:
    train = pd.DataFrame({d.DESCRIPTION: ["Netflix", "Netflix", "Rare shop"]})
    encoder = CategoricalOneHot((MERCHANT_KEY, d.PAYMENT_METHOD), min_count=2).fit(train)
    assert list(encoder.get_feature_names_out()) == [
        "merchant_key=netflix",
        "Payment Method=",
    ]
    assert encoder.transform(train).shape == (3, 2)
