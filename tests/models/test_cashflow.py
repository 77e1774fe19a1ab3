"""CashflowModel: balances, intervals, summaries, predictions, evaluation and bad inputs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from tests.factories import berka_slice, household_frame, households

from titans_finance.errors import NotFoundError, TrainingDataError, ValidationError
from titans_finance.frame import to_float
from titans_finance.models.cashflow import DAILY_COLUMNS, CashflowModel, ForecastResult


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return households(3, months=12)


@pytest.fixture(scope="module")
def model(frame: pd.DataFrame) -> CashflowModel:
    return CashflowModel(n_simulations=200).fit(frame)


def _last_balances(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby("Account")["Balance"].last()


def test_total_forecast_shape_and_order(model: CashflowModel) -> None:
    result = model.forecast()
    assert isinstance(result, ForecastResult)
    daily = result.daily
    assert list(daily.columns) == DAILY_COLUMNS
    assert len(daily) == 30
    assert (daily["Account"] == "ALL").all()
    assert daily["date"].iloc[0] == pd.Timestamp("2025-01-01")
    assert daily["date"].is_monotonic_increasing
    assert (daily["lower"] <= daily["predicted_net"]).all()
    assert (daily["predicted_net"] <= daily["upper"]).all()
    assert (daily["balance_lower"] <= daily["predicted_balance"]).all()
    assert (daily["predicted_balance"] <= daily["balance_upper"]).all()
    width = daily["balance_upper"] - daily["balance_lower"]
    assert width.iloc[-1] > width.iloc[0]


def test_balances_start_at_last_balance(model: CashflowModel, frame: pd.DataFrame) -> None:
    last = _last_balances(frame)
    daily = model.forecast(5, by_account=True).daily
    first = daily[daily["date"] == daily["date"].min()].set_index("Account")
    expected = last + first["predicted_net"]
    assert np.allclose(first["predicted_balance"], expected.reindex(first.index), atol=0.02)
    summary = model.forecast(5).summary
    assert summary["start_balance"] == pytest.approx(last.sum(), abs=0.01)


def test_running_sum_when_no_balance_column() -> None:
    frame = household_frame(months=6, with_balance=False)
    model = CashflowModel(n_simulations=100).fit(frame)
    assert model.forecast(3).summary["start_balance"] == pytest.approx(frame["Amount"].sum())


def test_recurring_items_land_on_their_dates(model: CashflowModel) -> None:
    daily = model.forecast(31, by_account=True).daily.set_index(["date", "Account"])
    rent_day = daily.loc[(pd.Timestamp("2025-01-01"), "acct-0"), "predicted_net"]
    salary_day = daily.loc[(pd.Timestamp("2025-01-25"), "acct-0"), "predicted_net"]
    assert rent_day < -1400
    assert salary_day > 3000


def test_summary(model: CashflowModel) -> None:
    summary = model.forecast(45).summary
    assert summary["horizon_days"] == 45
    assert summary["total_inflow"] > 0 > summary["total_outflow"]
    assert summary["net"] == pytest.approx(
        summary["total_inflow"] + summary["total_outflow"], abs=0.05
    )
    assert 0.0 <= summary["probability_below_zero"] <= 1.0
    assert summary["lowest_balance"] <= summary["start_balance"] + summary["total_inflow"]
    pd.Timestamp(summary["lowest_balance_date"])


def test_probability_below_zero_for_a_thin_account() -> None:
    frame = household_frame(months=6, opening_balance=-9500.0)
    summary = CashflowModel(n_simulations=200).fit(frame).forecast(30).summary
    assert summary["start_balance"] < 0
    assert summary["probability_below_zero"] == 1.0


def test_one_account_and_unknown_account(model: CashflowModel) -> None:
    one = model.forecast(10, account="acct-1")
    assert (one.daily["Account"] == "acct-1").all()
    assert one.summary["accounts"] == 1
    with pytest.raises(NotFoundError, match="acct-0"):
        model.forecast(10, account="savings")


@pytest.mark.parametrize("days", [0, -3, 367, 2.5])
def test_bad_horizons(model: CashflowModel, days: object) -> None:
    with pytest.raises(ValidationError, match="horizon"):
        model.forecast(days)  # type: ignore[arg-type]


def test_forecast_is_reproducible(model: CashflowModel) -> None:
    pd.testing.assert_frame_equal(model.forecast(20).daily, model.forecast(20).daily)


def test_predict_rows(model: CashflowModel) -> None:
    rows = pd.DataFrame(
        {
            "Date": ["2025-01-01", "2025-01-25", "2025-01-01"],
            "Account": ["acct-0"] * 2 + ["acct-2"],
        },
        index=[10, 11, 12],
    )
    result = model.predict(rows)
    assert list(result.index) == [10, 11, 12]
    assert {"predicted_net", "lower", "upper", "predicted_balance"} <= set(result.columns)
    assert result["predicted_net"].notna().all()
    assert (result["lower"] <= result["upper"]).all()
    one = model.predict(rows.iloc[:2])  # one account: forecast only that account
    pd.testing.assert_frame_equal(
        one[["predicted_net", "predicted_balance"]],
        result.iloc[:2][["predicted_net", "predicted_balance"]],
    )
    total = model.predict(pd.DataFrame({"Date": ["2025-01-03"]}))
    assert total["predicted_balance"].iloc[0] > 0


@pytest.mark.parametrize("day", ["2024-12-31", "2026-01-02"])
def test_predict_dates_outside_range(model: CashflowModel, day: str) -> None:
    with pytest.raises(ValidationError, match="outside the forecast range"):
        model.predict(pd.DataFrame({"Date": [day]}))


def test_predict_unknown_account(model: CashflowModel) -> None:
    with pytest.raises(NotFoundError, match="known accounts"):
        model.predict(pd.DataFrame({"Date": ["2025-01-02"], "Account": ["nope"]}))


def test_short_history_is_refused() -> None:
    frame = household_frame(months=12)
    with pytest.raises(TrainingDataError, match="days of history"):
        CashflowModel().fit(frame[frame["Date"] < "2024-01-20"])
    with pytest.raises(TrainingDataError, match="transactions"):
        CashflowModel().fit(frame.iloc[[0, 50, 100, 200]])


def _with_future_rows() -> pd.DataFrame:
    today = datetime.now(UTC).date()
    frame = household_frame(months=3, start=today - timedelta(days=120))
    future = frame.iloc[:2].assign(Date=pd.Timestamp(today + timedelta(days=10)), Balance=np.nan)
    return pd.concat([frame, future])


def test_future_rows_are_refused() -> None:
    first = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    with pytest.raises(TrainingDataError, match=f"2 row.*after today.*first on {first}"):
        CashflowModel(n_simulations=100).fit(_with_future_rows())


def test_future_rows_can_be_dropped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        model = CashflowModel(n_simulations=100, drop_future_rows=True).fit(_with_future_rows())
    assert model.dropped_future_rows_ == 2
    assert "dated after today" in caplog.text
    assert model.history_end_ <= pd.Timestamp(datetime.now(UTC).date())


def test_empty_history_and_blank_account_are_refused() -> None:
    frame = household_frame(months=6)
    with pytest.raises((TrainingDataError, ValidationError)):
        CashflowModel().fit(frame.iloc[:0])
    model = CashflowModel(n_simulations=100).fit(frame)
    with pytest.raises(NotFoundError, match="no transactions"):
        model.forecast(10, account="")


@pytest.mark.parametrize("value", [{"drift_margin": 1.0}, {"drift_margin": -0.1}])
def test_bad_parameters(value: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        CashflowModel(**value).fit(household_frame(months=3))  # type: ignore[arg-type]


def test_evaluate_on_hold_out() -> None:
    frame = households(3, months=14)
    cut = pd.Timestamp("2025-01-01")
    model = CashflowModel(n_simulations=200).fit(frame[frame["Date"] < cut])
    metrics = model.evaluate(frame[frame["Date"] >= cut])
    assert set(metrics) >= {"mae_30d_net", "zero_change_mae", "mae_ratio", "end_balance_coverage"}
    assert metrics["mae_ratio"] < 0.3  # salary and rent are known: far better than no change
    assert 0.0 <= metrics["end_balance_coverage"] <= 1.0
    assert metrics["horizon_days"] == 30
    short = model.evaluate(frame[(frame["Date"] >= cut) & (frame["Date"] < "2025-01-11")])
    assert short["horizon_days"] == 10
    with pytest.raises(ValidationError, match="not after the history"):
        model.evaluate(frame[frame["Date"] < cut])


def test_real_berka_slice_and_save_load(tmp_path) -> None:
    frame = berka_slice(30)
    cut = pd.Timestamp("1994-01-31")
    model = CashflowModel(n_simulations=200).fit(frame[frame["Date"] <= cut])
    daily = model.forecast(30, by_account=True).daily
    assert daily["Account"].nunique() == len(model.accounts_)
    # Berka accounts open at zero, so the closing balance is the running sum of amounts; the
    # file lists month-end interest after the fee although the fee was booked last.
    history = frame[frame["Date"] <= cut]
    running = (
        pd.Series(to_float(history["Amount"]), index=history.index)
        .groupby(history["Account"])
        .sum()
    )
    close = np.isclose(model.start_balance_, running.reindex(model.accounts_).to_numpy(), atol=1)
    assert close.mean() > 0.9
    assert model.start_balance_[model.accounts_.index("berka-104")] == pytest.approx(14306.9)
    metrics = model.evaluate(frame[frame["Date"] > cut])
    assert np.isfinite(metrics["mae_30d_net"])
    assert model.correction_coef_ is None  # 28 accounts x 6 cut-offs < 300 samples
    model.save(tmp_path)
    loaded = CashflowModel.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.forecast(10).daily, model.forecast(10).daily)


def test_learned_correction_and_interval_scale_on_berka() -> None:
    frame = berka_slice(30)
    cut = pd.Timestamp("1994-01-31")
    model = CashflowModel(n_simulations=100, min_calibration_samples=100)
    model.fit(frame[frame["Date"] <= cut])
    assert model.calibration_samples_ >= 100
    assert model.correction_coef_ is not None and len(model.correction_coef_) == 7
    assert model.interval_factor_ > 0
    assert model.scale_coef_ is not None and np.isfinite(model.scale_coef_).all()
    assert model.width_floor_ > 0
    daily = model.forecast(30, by_account=True).daily
    assert (daily["balance_lower"] <= daily["predicted_balance"]).all()
    assert (daily["predicted_balance"] <= daily["balance_upper"]).all()
    metrics = model.evaluate(frame[frame["Date"] > cut])
    assert 0.0 <= metrics["end_balance_coverage"] <= 1.0
    assert metrics["mae_30d_net"] > 0
    assert model.boost_ is not None  # median-loss boosting of the linear correction
    assert not model.feature_mask_[-2:].any()  # too few cut-offs reach a year back
    for account in model.accounts_[:5]:
        probability = model.forecast(30, account=account).summary["probability_below_zero"]
        assert 0.0 <= probability <= 1.0


def test_year_ago_net_enters_the_correction_once_allowed() -> None:
    frame = berka_slice(30)
    model = CashflowModel(
        n_simulations=60, min_calibration_samples=100, min_seasonal_samples=0, boost_iterations=0
    ).fit(frame[frame["Date"] <= pd.Timestamp("1994-01-31")])
    assert model.feature_mask_.all()
    assert model.correction_coef_ is not None and len(model.correction_coef_) == 9
    assert model.boost_ is None
    daily = model.forecast(30, by_account=True).daily
    assert (daily["balance_lower"] <= daily["balance_upper"]).all()


def _staggered_households(bonus: float, n_accounts: int = 40) -> pd.DataFrame:
    """Steady household accounts opened a week apart, up to 2024-12-31, where every account's
    August and October 2024 salaries come with a one-off ``bonus`` (two of the eight months after
    the calibration cut-offs share a common shock)."""
    parts = []
    for i in range(n_accounts):
        part = household_frame(
            start=date(2023, 11, 1), months=14, account=f"acct-{i}", seed=i, with_balance=False
        )
        parts.append(part[part["Date"] >= pd.Timestamp("2023-11-01") + pd.Timedelta(weeks=i)])
    frame = pd.concat(parts, ignore_index=True)
    salary = frame[
        (frame["Description"] == "ACME CORP PAYROLL") & frame["Date"].dt.month.isin([8, 10])
    ]
    extra = salary.assign(Amount=bonus, Description="ANNUAL BONUS", merchant="Acme Bonus")
    return pd.concat([frame, extra], ignore_index=True).sort_values("Date", ignore_index=True)


def test_a_shock_common_to_some_cut_offs_does_not_bias_the_forecast() -> None:
    params = {"n_simulations": 60, "min_calibration_samples": 100}
    calm = CashflowModel(**params).fit(_staggered_households(0.0))  # type: ignore[arg-type]
    shocked = CashflowModel(**params).fit(_staggered_households(2000.0))  # type: ignore[arg-type]
    intercepts = shocked.cut_intercepts_
    assert intercepts is not None and len(intercepts) == shocked.calibration_origins
    assert shocked.correction_coef_ is not None
    assert shocked.correction_coef_[0] == pytest.approx(np.median(intercepts))
    # cut-offs 1..8 months back: the months after 09-30 and 07-31 got the bonus
    assert set(np.argsort(intercepts)[-2:]) == {2, 4}
    assert intercepts[[2, 4]].min() - np.delete(intercepts, [2, 4]).max() > 1000.0

    def nets(model: CashflowModel) -> pd.Series:
        return model.forecast(30, by_account=True).daily.groupby("Account")["predicted_net"].sum()

    # a steady account's next month is forecast as if the bonus months had not happened (a
    # correction pooled over the cut-offs with one intercept moved it by half the bonus)
    assert (nets(shocked) - nets(calm)).abs().max() < 0.25 * 2000.0


def _cut_design(drift: float, shock: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Six cut-offs of 60 accounts: the 30-day net follows the account's balance within a
    cut-off (slope 0.5); every balance moves by ``drift`` per cut-off while the nets' level does
    not, and two cut-offs share a common ``shock``."""
    rng = np.random.default_rng(0)
    which = np.repeat(np.arange(6), 60)
    own = rng.normal(0.0, 1000.0, len(which))
    balance = own + drift * which
    target = 0.5 * own + shock * np.isin(which, [2, 4]) + rng.normal(0.0, 50.0, len(which))
    features = np.column_stack([balance, rng.normal(0.0, 1.0, len(which))])
    return features, target, which


def test_per_cut_intercepts_are_kept_only_where_a_left_out_cut_off_says_they_pay() -> None:
    from titans_finance.models.cashflow import _per_cut_pays

    # a shock common to some cut-offs, balances steady: per-cut intercepts predict better
    assert _per_cut_pays(*_cut_design(drift=0.0, shock=2000.0))
    # balances drifting the same way on every account (no Balance column, balances summed from
    # zero): the intercepts trade off against the balance slope and the median intercept
    # misses a new cut-off, so one pooled intercept is kept
    assert not _per_cut_pays(*_cut_design(drift=5000.0, shock=0.0))


def _yearly_bills(n_old: int = 36, n_young: int = 12) -> pd.DataFrame:
    """Household accounts up to 2025-01-31: ``n_old`` of 25 months, each paying a yearly
    insurance bill of 2,500 on the 10th of its own month (account i: month i % 12 + 1); those
    due in February 2025 have paid it twice, too few for a recurring stream; ``n_young`` opened
    in September 2024, with no bill."""
    parts = []
    for i in range(n_old):
        part = household_frame(
            start=date(2023, 1, 1), months=25, account=f"old-{i}", seed=i, with_balance=False
        )
        bills = pd.DataFrame(
            {
                "Date": [pd.Timestamp(year, i % 12 + 1, 10) for year in (2023, 2024, 2025)],
                "Description": "CITY INSURANCE ANNUAL",
                "merchant": "City Insurance",
                "Category": "Insurance",
                "Amount": -2500.0,
                "Account": f"old-{i}",
            }
        )
        parts += [part, bills[bills["Date"] <= pd.Timestamp("2025-01-31")]]
    for i in range(n_young):
        parts.append(
            household_frame(
                start=date(2024, 9, 1),
                months=5,
                account=f"young-{i}",
                seed=100 + i,
                with_balance=False,
            )
        )
    return pd.concat(parts, ignore_index=True).sort_values("Date", ignore_index=True)


def test_a_yearly_bill_is_learnt_once_the_history_holds_it_and_short_histories_keep_theirs() -> (
    None
):
    frame = _yearly_bills()
    params = {"n_simulations": 60, "min_calibration_samples": 100}
    seasonal = CashflowModel(**params).fit(frame)  # type: ignore[arg-type]
    without = CashflowModel(**params, min_seasonal_samples=10**9).fit(frame)  # type: ignore[arg-type]
    assert seasonal.seasonal_samples_ >= seasonal.min_seasonal_samples
    assert seasonal.feature_mask_.all() and not without.feature_mask_[-2:].any()

    def nets(model: CashflowModel) -> pd.Series:
        return model.forecast(30, by_account=True).daily.groupby("Account")["predicted_net"].sum()

    with_year, plain = nets(seasonal), nets(without)
    # February 2025: the accounts whose bill fell in February 2024 (i % 12 == 1) expect it again,
    # the others do not; without the year-ago net every old account is forecast alike
    due = [f"old-{i}" for i in range(36) if i % 12 == 1]
    not_due = [f"old-{i}" for i in range(36) if i % 12 not in (0, 1, 2)]
    assert with_year[not_due].median() - with_year[due].max() > 0.8 * 2500.0
    assert abs(plain[not_due].median() - plain[due].median()) < 0.1 * 2500.0
    # accounts without a year of history get no made-up year-ago net (0 with the flag off):
    # their forecast moves only with the refitted intercept and slopes
    young = [f"young-{i}" for i in range(12)]
    assert (with_year[young] - plain[young]).abs().max() < 0.15 * 2500.0


def test_below_zero_is_calibrated_when_no_cut_off_saw_an_account_go_below_zero() -> None:
    frame = _staggered_households(0.0)
    first = frame.groupby("Account", as_index=False)["Date"].min()
    deposits = first.assign(Amount=20000.0, Description="OPENING DEPOSIT", merchant="Deposit")
    frame = pd.concat([deposits, frame], ignore_index=True).sort_values("Date", kind="stable")
    model = CashflowModel(n_simulations=60, min_calibration_samples=100).fit(frame)
    assert model.calibration_samples_ >= 100 and model.below_zero_events_ == 0
    # half a pseudo-event at the riskiest sample: a fitted curve that says "rare", not the raw
    # share of simulated paths
    assert model.below_zero_coef_ is not None
    probabilities = [
        model.forecast(30, account=account).summary["probability_below_zero"]
        for account in model.accounts_
    ]
    assert max(probabilities) < 0.05


def test_median_regressions_survive_balances_in_the_hundreds_of_millions() -> None:
    # both HiGHS solvers gave up on this scale ("numerical difficulties") and scikit-learn
    # then raised a TypeError; a LAD fit is scale-equivariant, so the answer is the small
    # problem's, scaled
    from titans_finance.models.cashflow import _cut_effects_regression, _pooled_regression

    rng = np.random.default_rng(2)
    features, target = rng.normal(size=(400, 8)), rng.normal(size=400)
    which = np.repeat(np.arange(8), 50)
    big = 6e8
    intercept, coef = _pooled_regression(features * big, target * big)
    small_intercept, small_coef = _pooled_regression(features, target)
    assert intercept == pytest.approx(small_intercept * big, rel=1e-4, abs=1e-2)
    np.testing.assert_allclose(coef, small_coef, rtol=1e-4, atol=1e-8)
    intercepts, slopes = _cut_effects_regression(features * big, target * big, which)
    small_intercepts, small_slopes = _cut_effects_regression(features, target, which)
    np.testing.assert_allclose(intercepts, small_intercepts * big, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(slopes, small_slopes, rtol=1e-4, atol=1e-8)
