"""Merchant profiles."""

from __future__ import annotations

import pandas as pd

from titans_finance import domain as d
from titans_finance.features.behavioural import PROFILE_FEATURES, MerchantProfile


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
