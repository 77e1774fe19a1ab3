"""AmountModel: contract, calibrated intervals, persistence and input errors."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.factories import BERKA_CUT, berka_slice

from titans_finance import domain as d
from titans_finance.errors import TrainingDataError, ValidationError
from titans_finance.models.amount import AmountModel


@pytest.fixture(scope="module")
def berka() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = berka_slice(60)
    return frame[frame[d.DATE] < BERKA_CUT], frame[frame[d.DATE] >= BERKA_CUT]


@pytest.fixture(scope="module")
def fitted(berka: tuple[pd.DataFrame, pd.DataFrame]) -> AmountModel:
    return AmountModel(max_iter=60).fit(berka[0])


def test_one_row_per_input_row_in_order_with_index(
    fitted: AmountModel, berka: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    test = berka[1].iloc[::-1].copy()
    test.index = [f"row-{i}" for i in range(len(test))]
    out = fitted.predict(test)
    assert list(out.index) == list(test.index)
    assert {"predicted_amount", "lower", "upper", "model_version"} <= set(out.columns)
    assert out["model_version"].eq(fitted.metadata_.version).all()
    # a monthly fee is predicted as a small negative amount, a pension as a large credit
    fees = test[d.CATEGORY].eq("Bank Fees").to_numpy()
    assert (out.loc[fees, "predicted_amount"] < 0).all()
    assert out.loc[fees, "predicted_amount"].abs().median() < 100


def test_interval_contains_prediction_and_is_calibrated(
    fitted: AmountModel, berka: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    out = fitted.predict(berka[1])
    assert (out["lower"] <= out["predicted_amount"]).all()
    assert (out["predicted_amount"] <= out["upper"]).all()
    metrics = fitted.evaluate(berka[1])
    assert set(metrics) >= {"mae", "baseline_mae", "mae_ratio", "coverage", "mean_interval_width"}
    assert 0.75 <= metrics["coverage"] <= 0.99
    assert metrics["mae_ratio"] < 0.95


def test_growing_monthly_stream_is_extrapolated() -> None:
    """Interest that grows every month: the horizon-aware model follows the growth, where the
    all-history median of the pair lags far behind."""
    rng = np.random.default_rng(0)
    months = pd.date_range("2020-01-01", periods=18, freq="MS") + pd.Timedelta(days=4)
    base = rng.uniform(50, 500, size=(40, 1))
    growth = rng.uniform(0.01, 0.05, size=(40, 1))
    interest = base * (1 + growth) ** np.arange(len(months))
    cash = -rng.uniform(100, 1000, size=interest.shape)
    frames = [
        pd.DataFrame(
            {
                d.DATE: np.tile(months, 40),
                d.TYPE: kind,
                d.DESCRIPTION: description,
                d.AMOUNT: amounts.ravel(),
                d.ACCOUNT: np.repeat([f"acct-{i}" for i in range(40)], len(months)),
            }
        )
        for kind, description, amounts in (
            ("Income", "Interest", interest),
            ("Expense", "Cash withdrawal", cash),
        )
    ]
    frame = pd.concat(frames, ignore_index=True)
    cut = months[14]
    model = AmountModel(max_iter=60).fit(frame[frame[d.DATE] < cut])
    test = frame[(frame[d.DATE] >= cut) & frame[d.DESCRIPTION].eq("Interest")]
    assert model.evaluate(test)["mae_ratio"] < 0.5


def test_interval_widens_only_on_the_side_the_calibration_rows_miss() -> None:
    """Recent rows far below the usual level (a burst of small withdrawals in the calibration
    quarter) widen the interval downward; the upper bound keeps the usual spread."""
    rng = np.random.default_rng(1)
    months = pd.date_range("2020-01-01", periods=16, freq="MS") + pd.Timedelta(days=9)
    amounts = np.exp(rng.normal(np.log(1000.0), 0.2, size=(40, len(months))))
    small = rng.random(amounts.shape) < 0.35
    small[:, :-4] = False
    amounts = np.where(small, amounts / 10.0, amounts)
    accounts = [f"acct-{i}" for i in range(40)]
    frame = pd.DataFrame(
        {
            d.DATE: np.tile(months, 40),
            d.TYPE: "Expense",
            d.DESCRIPTION: "Cash withdrawal",
            d.AMOUNT: -amounts.ravel(),
            d.ACCOUNT: np.repeat(accounts, len(months)),
        }
    )
    model = AmountModel(max_iter=40).fit(frame)
    future = pd.DataFrame(
        {
            d.DATE: pd.Timestamp("2021-05-10"),
            d.TYPE: "Expense",
            d.DESCRIPTION: "Cash withdrawal",
            d.ACCOUNT: accounts,
        }
    )
    out = model.predict(future)
    # money out: "upper" is the smallest magnitude, "lower" the largest
    point, smallest, largest = (
        out[c].abs().to_numpy() for c in ("predicted_amount", "upper", "lower")
    )
    downward, upward = np.log(point / smallest), np.log(largest / point)
    assert (downward > 0).all() and (upward > 0).all()
    assert np.median(downward) > 3 * np.median(upward)


def test_model_saved_with_one_symmetric_correction_still_widens_both_sides(
    fitted: AmountModel, berka: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    """An artefact from before the two-sided corrections carries only a "global" one: both
    bounds use it."""
    legacy = copy.deepcopy(fitted)
    legacy.calibration_ = {"global": 0.0}
    narrow = legacy.predict(berka[1])
    legacy.calibration_ = {"global": 1.0}
    wide = legacy.predict(berka[1])
    assert ((wide["upper"] - wide["lower"]) > (narrow["upper"] - narrow["lower"])).mean() > 0.9


def test_model_saved_with_symmetric_bin_and_cell_corrections_still_uses_them(
    fitted: AmountModel, berka: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    """An older artefact's per-bin and per-cell corrections are unprefixed (``bin:2``): they
    still apply to both bounds, ahead of its "global" one."""
    legacy = copy.deepcopy(fitted)
    legacy.calibration_ = {"global": 0.0}
    narrow = legacy.predict(berka[1])
    legacy.calibration_ = {"global": 0.0, **{f"bin:{b}": 1.0 for b in range(10)}}
    wide = legacy.predict(berka[1])
    assert ((wide["upper"] - wide["lower"]) > (narrow["upper"] - narrow["lower"])).mean() > 0.9


def test_short_spans_still_fit(berka: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """All rows on one date, or a span shorter than the origin step: fit and predict work."""
    train, test = berka
    same_day = train.head(40).assign(**{d.DATE: pd.Timestamp("1993-05-01")})
    three_weeks = train[train[d.DATE].between("1993-06-01", "1993-06-20")]
    for frame in (same_day, three_weeks):
        out = AmountModel(max_iter=20).fit(frame).predict(test.head(50))
        assert out["predicted_amount"].notna().all()
        assert (out["lower"] <= out["upper"]).all()


def test_intervals_widen_with_coverage(berka: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = berka
    narrow = AmountModel(coverage=0.5, max_iter=60).fit(train).predict(test)
    wide = AmountModel(coverage=0.95, max_iter=60).fit(train).predict(test)
    assert (wide["upper"] - wide["lower"]).mean() > 1.5 * (narrow["upper"] - narrow["lower"]).mean()


def test_decimal_amounts_and_missing_optional_columns(
    berka: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train = berka[0].drop(columns=[d.CATEGORY, d.PAYMENT_METHOD]).copy()
    train[d.AMOUNT] = [Decimal(str(v)) for v in train[d.AMOUNT]]
    model = AmountModel(max_iter=30).fit(train)
    out = model.predict(berka[1].drop(columns=[d.AMOUNT]).head(20))
    assert len(out) == 20
    assert out["predicted_amount"].notna().all()


def test_save_load_round_trip(
    fitted: AmountModel, berka: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    fitted.save(tmp_path)
    loaded = AmountModel.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.predict(berka[1]), fitted.predict(berka[1]))


def test_bad_input_is_reported_clearly(berka: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    with pytest.raises(TrainingDataError, match="no transactions"):
        AmountModel().fit(berka[0].iloc[:0])
    with pytest.raises(TrainingDataError, match="Amount"):
        AmountModel().fit(berka[0].drop(columns=[d.AMOUNT]))
    with pytest.raises(TrainingDataError, match="at least"):
        AmountModel().fit(berka[0].head(5))
    model = AmountModel(max_iter=20).fit(berka[0])
    with pytest.raises(ValidationError, match="Date"):
        model.predict(berka[1].drop(columns=[d.DATE]))


def test_rows_with_only_date_account_description_and_type(
    fitted: AmountModel, berka: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    """The protocol's input: no amount, category or payment method; the type sets the sign."""
    rows = berka[1][[d.DATE, d.ACCOUNT, d.DESCRIPTION, d.TYPE]].head(60)
    out = fitted.predict(rows)
    assert list(out.index) == list(rows.index)
    assert out["model_version"].notna().all()
    expense = (rows[d.TYPE] == "Expense").to_numpy()
    assert (out["predicted_amount"].to_numpy()[expense] < 0).all()
    assert (out["predicted_amount"].to_numpy()[~expense] > 0).all()
    assert (out["lower"] <= out["predicted_amount"]).all()
    assert (out["predicted_amount"] <= out["upper"]).all()


def test_row_cap_learns_from_some_accounts_and_scores_every_account(
    berka: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """Past ``max_rows`` the boosting models learn from the whole histories of some accounts;
    the statistics every row is scored against still come from all of them."""
    train = berka[0]
    model = AmountModel(max_iter=20, max_rows=len(train) // 3).fit(train)
    accounts = set(model.history_.tables["am"]["_account"])
    assert accounts == set(train[d.ACCOUNT])
    out = model.predict(berka[1])
    assert out["predicted_amount"].notna().all()
    assert (out["lower"] <= out["upper"]).all()
    with pytest.raises(TrainingDataError, match="max_rows"):
        AmountModel(max_rows=10).fit(train)
