"""Drift statistics: PSI and KS against a training reference, in numpy/scipy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from titans_finance import domain as d
from titans_finance.models.drift import OTHER, PSI_ALERT, build_reference, drift, psi


def _frame(
    n: int, seed: int, *, scale: float = 1.0, categories: tuple[str, ...] = ()
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = categories or ("Groceries", "Rent", "Fuel", "Coffee", "Salary")
    return pd.DataFrame(
        {
            d.DATE: pd.date_range("2024-01-01", periods=n, freq="6h"),
            d.AMOUNT: -np.round(rng.lognormal(3.0, 1.0, n) * scale, 2),
            d.CATEGORY: rng.choice(names, n, p=None),
            d.ACCOUNT: rng.choice(["checking", "card"], n, p=[0.7, 0.3]),
        }
    )


def test_psi_is_zero_for_equal_shares_and_known_for_a_shift() -> None:
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == pytest.approx(0.0)
    # (0.8-0.5)ln(0.8/0.5) + (0.2-0.5)ln(0.2/0.5) = 0.1410 + 0.2749
    assert psi(np.array([0.5, 0.5]), np.array([0.8, 0.2])) == pytest.approx(0.4159, abs=1e-4)
    assert np.isfinite(psi(np.array([0.5, 0.5]), np.array([1.0, 0.0])))


def test_same_distribution_stays_below_the_alert_threshold() -> None:
    reference = build_reference(_frame(5000, 1))
    report = drift(reference, _frame(400, 2))
    assert set(report) == {"amount", "category", "account"}
    for feature, figures in report.items():
        assert figures["psi"] < 0.1, feature
        assert 0.0 <= figures["ks"] < 0.1, feature


def test_amounts_times_three_push_psi_over_the_threshold() -> None:
    reference = build_reference(_frame(5000, 1))
    shifted = _frame(400, 2, scale=3.0)
    report = drift(reference, shifted)
    assert report["amount"]["psi"] > PSI_ALERT
    # the KS statistic against the stored quantile grid is close to the exact two-sample one
    exact = stats.ks_2samp(_frame(5000, 1)[d.AMOUNT], shifted[d.AMOUNT]).statistic
    assert report["amount"]["ks"] == pytest.approx(exact, abs=0.02)
    assert report["category"]["psi"] < 0.1  # only the amounts moved


def test_a_new_category_mix_pushes_category_psi_over_the_threshold() -> None:
    reference = build_reference(_frame(5000, 1))
    mix = _frame(400, 2, categories=("Travel", "Hotels", "Groceries"))
    report = drift(reference, mix)
    assert report["category"]["psi"] > PSI_ALERT
    assert report["category"]["ks"] > 0.2


def test_reference_is_small_and_holds_no_transaction() -> None:
    frame = _frame(20_000, 3)
    frame[d.CATEGORY] = [f"c{i % 400}" for i in range(len(frame))]  # many levels pool into OTHER
    reference = build_reference(frame)
    text = json.dumps(reference)
    assert len(text) < 20_000
    shares = reference["features"]["category"]["shares"]
    assert len(shares) <= 11 and OTHER in shares
    assert sum(shares.values()) == pytest.approx(1.0)
    assert reference["rows"] == 20_000
    assert reference["date_min"] == "2024-01-01"


def test_empty_window_has_no_drift_figures() -> None:
    reference = build_reference(_frame(100, 1))
    assert drift(reference, _frame(0, 1)) == {}
    assert drift({}, _frame(10, 1)) == {}
