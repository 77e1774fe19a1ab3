"""Merchant profiles and within-batch rolling history."""

from __future__ import annotations

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.features.behavioural import (
    PROFILE_FEATURES,
    ROLLING_FEATURES,
    MerchantProfile,
    rolling_frame,
)


def _history() -> pd.DataFrame:
    monthly = pd.DataFrame(
        {
            d.DATE: pd.date_range("2024-01-01", periods=6, freq="MS"),
            d.DESCRIPTION: "NETFLIX.COM",
            d.AMOUNT: -15.99,
            d.ACCOUNT: "visa",
        }
    )
    coffee = pd.DataFrame(
        {
            d.DATE: pd.to_datetime(["2024-01-03", "2024-01-04", "2024-02-20"]),
            d.DESCRIPTION: "Blue Bottle",
            d.AMOUNT: [-4.0, -6.0, -5.0],
            d.ACCOUNT: "checking",
        }
    )
    return pd.concat([monthly, coffee], ignore_index=True)


def test_merchant_profile_learns_recurrence() -> None:
    history = _history()
    profile = MerchantProfile().fit(history)
    out = profile.transform(history)
    assert list(out.columns) == list(PROFILE_FEATURES)
    assert (out.loc[:5, "merchant_is_monthly"] == 1).all()
    assert (out.loc[6:, "merchant_is_monthly"] == 0).all()
    unseen = profile.transform(pd.DataFrame({d.DESCRIPTION: ["New place"], d.AMOUNT: [-3.0]}))
    assert (unseen.to_numpy() == 0).all()


def test_rolling_frame_sees_only_earlier_rows_and_keeps_order() -> None:
    history = _history().sample(frac=1.0, random_state=3)
    out = rolling_frame(history)
    assert list(out.columns) == list(ROLLING_FEATURES)
    assert list(out.index) == list(history.index)
    first_netflix = history.index[history[d.DATE].eq(pd.Timestamp("2024-01-01"))][0]
    assert out.loc[first_netflix, "merchant_prev_count"] == 0
    assert out.loc[first_netflix, "merchant_days_since_prev"] == -1
    last_netflix = history.index[history[d.DATE].eq(pd.Timestamp("2024-06-01"))][0]
    assert out.loc[last_netflix, "merchant_prev_count"] == 5
    assert out.loc[last_netflix, "merchant_days_since_prev"] == 31
    assert out.loc[last_netflix, "merchant_rolling_mean_abs"] == np.float64(15.99)
    second_coffee = history.index[history[d.DATE].eq(pd.Timestamp("2024-01-04"))][0]
    assert out.loc[second_coffee, "account_count_30d"] == 1
    assert out.loc[second_coffee, "account_outflow_30d"] == 4.0
