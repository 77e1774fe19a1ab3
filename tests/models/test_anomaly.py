"""AnomalyModel: contract, ranking of injected anomalies, reasons, feedback and persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score
from tests.factories import BERKA_CUT, berka_slice

from titans_finance import domain as d
from titans_finance.errors import TrainingDataError, ValidationError
from titans_finance.models.anomaly import REASON_CODES, AnomalyModel, inject_anomalies

SMALL = {"n_estimators": 30, "combiner_iter": 40}


def household(months: int = 8, account: str = "checking") -> pd.DataFrame:
    """A plain household account: salary, rent, a subscription, groceries and cash."""
    rng = np.random.default_rng(1)
    rows = []
    for month in range(months):
        start = pd.Timestamp("2024-01-01") + pd.DateOffset(months=month)
        rows += [
            (start + pd.Timedelta(days=0), "ACME PAYROLL", 3200.0, "Salary", "Transfer"),
            (start + pd.Timedelta(days=2), "CITY RENT", -1450.0, "Rent", "Transfer"),
            (start + pd.Timedelta(days=9), "NETFLIX.COM", -15.99, "Subscriptions", "Card"),
            (
                start + pd.Timedelta(days=15),
                "ATM WITHDRAWAL",
                -100.0 * rng.integers(1, 4),
                "Cash",
                "Cash",
            ),
        ]
        for day in range(1, 28, 4):
            rows.append(
                (
                    start + pd.Timedelta(days=day),
                    "GROCER",
                    -round(rng.uniform(20, 90), 2),
                    "Groceries",
                    "Card",
                )
            )
    frame = pd.DataFrame(
        rows, columns=[d.DATE, d.DESCRIPTION, d.AMOUNT, d.CATEGORY, d.PAYMENT_METHOD]
    )
    frame[d.TYPE] = np.where(frame[d.AMOUNT] > 0, "Income", "Expense")
    frame[d.ACCOUNT] = account
    return frame.sort_values(d.DATE).reset_index(drop=True)


def crafted_batch() -> pd.DataFrame:
    """Next month's rows: two identical grocery charges, a new jeweller, a pricier Netflix."""
    rows = [
        ("2024-09-03", "GROCER", -57.30, "Groceries", "Card"),
        ("2024-09-04", "GROCER", -57.30, "Groceries", "Card"),
        ("2024-09-05", "LUXURY JEWELS", -4800.0, "Shopping", "Card"),
        ("2024-09-10", "NETFLIX.COM", -22.99, "Subscriptions", "Card"),
        ("2024-09-12", "GROCER", -41.10, "Groceries", "Card"),
        ("2024-09-16", "ATM WITHDRAWAL", -200.0, "Cash", "Cash"),
    ]
    frame = pd.DataFrame(
        rows, columns=[d.DATE, d.DESCRIPTION, d.AMOUNT, d.CATEGORY, d.PAYMENT_METHOD]
    )
    frame[d.DATE] = pd.to_datetime(frame[d.DATE])
    frame[d.TYPE] = "Expense"
    frame[d.ACCOUNT] = "checking"
    frame.index = [f"t{i}" for i in range(len(frame))]
    return frame


@pytest.fixture(scope="module")
def berka() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = berka_slice(80)
    return frame[frame[d.DATE] < BERKA_CUT], frame[frame[d.DATE] >= BERKA_CUT]


@pytest.fixture(scope="module")
def berka_model(berka: tuple[pd.DataFrame, pd.DataFrame]) -> AnomalyModel:
    return AnomalyModel(**SMALL).fit(berka[0])


@pytest.fixture(scope="module")
def home_model() -> AnomalyModel:
    return AnomalyModel(**SMALL).fit(household())


def test_contract_one_row_per_input_row(
    berka_model: AnomalyModel, berka: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    test = berka[1].iloc[::-1].copy()
    test.index = np.arange(len(test)) * 10 + 7
    out = berka_model.predict(test)
    assert list(out.index) == list(test.index)
    assert out["anomaly_score"].between(0, 1).all()
    assert set(out["risk_level"]) <= {level.value for level in d.RiskLevel}
    assert out["is_anomaly"].dtype == bool
    flagged = out[out["is_anomaly"]]
    assert (flagged["reasons"].map(len) > 0).all(), "every flagged row needs a reason"
    assert all(set(codes) <= set(REASON_CODES) for codes in out["reason_codes"])
    assert (out.loc[~out["is_anomaly"], "risk_level"] == "low").all()


def test_repeated_rows_score_as_they_do_alone(
    berka_model: AnomalyModel, berka: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    """The learnt parts score each distinct row once and broadcast: three copies of some test
    rows (one per account and descriptor, each copy moved past the previous one's last date, so
    nothing repeats within the duplicate window) score in one batch as each row does alone."""
    test = berka[1].drop_duplicates([d.ACCOUNT, d.DESCRIPTION]).iloc[:20]
    gap = test[d.DATE].max() - test[d.DATE].min() + pd.Timedelta(days=10)
    batch = pd.concat([test.assign(**{d.DATE: test[d.DATE] + k * gap}) for k in range(3)])
    batch.index = np.arange(len(batch))
    alone = pd.concat([berka_model.predict(batch.iloc[[i]]) for i in range(len(batch))])
    pd.testing.assert_frame_equal(berka_model.predict(batch), alone)


def test_injected_anomalies_rank_above_normal_rows(
    berka_model: AnomalyModel, berka: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    injected, labels = inject_anomalies(berka[1], rate=0.04, seed=3)
    scores = berka_model.predict(injected)["anomaly_score"].to_numpy()
    ap = average_precision_score(labels, scores)
    assert ap > 0.4, ap
    assert np.median(scores[labels == 1]) > np.quantile(scores[labels == 0], 0.9)
    metrics = berka_model.evaluate(berka[1])
    assert metrics["reasons_coverage"] == 1.0
    assert metrics["flagged_rate_clean"] < 0.1
    assert metrics["average_precision"] > metrics["baseline_ap"] - 0.1


def test_crafted_reasons_fire(home_model: AnomalyModel) -> None:
    out = home_model.predict(crafted_batch())
    codes = out["reason_codes"]
    assert "possible_duplicate" in codes["t1"]
    assert "possible_duplicate" not in codes["t0"]
    assert "new_merchant_large" in codes["t2"] and out.loc["t2", "is_anomaly"]
    assert out.loc["t2", "risk_level"] != "low"
    assert "price_rise" in codes["t3"] and out.loc["t3", "is_anomaly"]
    assert not out.loc["t4", "is_anomaly"]
    assert any("Netflix" in text or "netflix" in text for text in out.loc["t3", "reasons"])


def test_outsized_cash_withdrawal(home_model: AnomalyModel) -> None:
    batch = crafted_batch().iloc[[5]].copy()
    batch[d.AMOUNT] = -3000.0
    out = home_model.predict(batch)
    assert out["is_anomaly"].iloc[0]
    assert "cash_outsized" in out["reason_codes"].iloc[0]


def test_feedback_suppresses_a_pattern(home_model: AnomalyModel) -> None:
    model = AnomalyModel(**SMALL).fit(household())
    before = model.predict(crafted_batch())
    assert before.loc["t3", "is_anomaly"]
    model.set_feedback(
        [{"account": "checking", "merchant": "netflix", "reason_code": "price_rise"}]
    )
    after = model.predict(crafted_batch())
    assert "price_rise" not in after.loc["t3", "reason_codes"]
    assert after.loc["t3", "anomaly_score"] < before.loc["t3", "anomaly_score"]
    assert after.loc["t2", "is_anomaly"], "other patterns stay flagged"
    with pytest.raises(ValidationError, match="reason_code"):
        model.set_feedback([{"reason_code": "nonsense"}])
    # a pattern naming nothing known must not silence everything
    model.set_feedback([{"id": 7, "note": "fine"}])
    assert model.predict(crafted_batch()).loc["t2", "is_anomaly"]


def test_missing_recurring_report(home_model: AnomalyModel) -> None:
    late = home_model.missing_recurring(as_of="2024-11-15")
    assert {"netflix", "city rent"} <= set(late["merchant"].str.lower()) or len(late) >= 2
    assert home_model.missing_recurring(as_of="2024-08-20").empty


def test_save_load_round_trip(home_model: AnomalyModel, tmp_path: Path) -> None:
    home_model.save(tmp_path)
    loaded = AnomalyModel.load(tmp_path)
    pd.testing.assert_frame_equal(
        loaded.predict(crafted_batch()), home_model.predict(crafted_batch())
    )


def test_bad_input_is_reported_clearly(home_model: AnomalyModel) -> None:
    with pytest.raises(TrainingDataError, match="no transactions"):
        AnomalyModel().fit(household().iloc[:0])
    with pytest.raises(TrainingDataError, match="Amount"):
        AnomalyModel().fit(household().drop(columns=[d.AMOUNT]))
    with pytest.raises(ValidationError, match="Amount"):
        home_model.predict(crafted_batch().drop(columns=[d.AMOUNT]))
    with pytest.raises(ValidationError, match="no transactions"):
        home_model.predict(crafted_batch().iloc[:0])


def test_rescoring_the_history_does_not_flag_rows_as_their_own_duplicates() -> None:
    history = household()
    history["id"] = np.arange(len(history)) + 100
    model = AnomalyModel(**SMALL).fit(history)
    out = model.predict(history.tail(30))
    assert not any("possible_duplicate" in codes for codes in out["reason_codes"])


_RISK_ORDER = {level.value: rank for rank, level in enumerate(d.RiskLevel)}
# (description, category, payment method, sign, account): a known merchant, a new merchant,
# cash, money in, and a row naming no account
_TEMPLATES = (
    ("GROCER", "Groceries", "Card", -1.0, "checking"),
    ("LUXURY JEWELS", "Shopping", "Card", -1.0, "checking"),
    ("ATM WITHDRAWAL", "Cash", "Cash", -1.0, "checking"),
    ("ACME PAYROLL", "Salary", "Transfer", 1.0, "checking"),
    ("NETFLIX.COM", "Subscriptions", "Card", -1.0, "checking"),
    ("NEW GADGET STORE", "Shopping", "Card", -1.0, None),
)


@settings(max_examples=40, deadline=None)
@given(
    template=st.sampled_from(_TEMPLATES),
    cents=st.lists(st.integers(1, 10_000_000), min_size=2, max_size=25, unique=True),
    day=st.integers(1, 28),
)
def test_score_and_risk_never_fall_as_the_amount_grows(
    home_model: AnomalyModel,
    template: tuple[str, str, str, float, str | None],
    cents: list[int],
    day: int,
) -> None:
    """All else equal, a larger |amount| never scores lower nor gets a lower risk level.
    (An amount repeating an earlier charge exactly is a possible duplicate: a point check, so
    the history's own amounts are left out.)"""
    description, category, method, sign, account = template
    seen = {round(abs(a) * 100) for a in household()[d.AMOUNT]}
    magnitudes = np.array(sorted(c for c in cents if c not in seen), dtype=float) / 100.0
    if len(magnitudes) < 2:
        return
    batch = pd.DataFrame(
        {
            d.DATE: pd.Timestamp("2024-09-01") + pd.Timedelta(days=day - 1),
            d.DESCRIPTION: description,
            d.AMOUNT: sign * magnitudes,
            d.CATEGORY: category,
            d.PAYMENT_METHOD: method,
            d.TYPE: "Income" if sign > 0 else "Expense",
            d.ACCOUNT: account if account is not None else d.DEFAULT_ACCOUNT,
        }
    )
    # one row per request: rows of one batch are also checked against each other (duplicates)
    out = pd.concat([home_model.predict(batch.iloc[[i]]) for i in range(len(batch))])
    scores = out["anomaly_score"].to_numpy()
    ranks = out["risk_level"].map(_RISK_ORDER).to_numpy()
    assert (np.diff(scores) >= 0).all(), list(zip(magnitudes, scores, strict=True))
    assert (np.diff(ranks) >= 0).all(), list(zip(magnitudes, out["risk_level"], strict=True))


def test_severity_grows_to_critical_at_ten_times_the_largest_amount(
    home_model: AnomalyModel,
) -> None:
    """A first-seen merchant at 10x the largest amount the account ever moved is critical,
    and the reason says how far beyond it the amount is."""
    largest = household()[d.AMOUNT].abs().max()
    batch = crafted_batch().iloc[[2, 2, 2]].copy()
    batch[d.AMOUNT] = [-2.0 * largest, -4.0 * largest, -10.0 * largest]
    batch.index = ["x2", "x4", "x10"]
    out = home_model.predict(batch)
    assert out["risk_level"].tolist()[2] == "critical"
    assert out["anomaly_score"].is_monotonic_increasing
    assert out.loc["x10", "reason_codes"] == ["new_merchant_large"]
    assert "10.0x the largest amount ever moved on this account" in out.loc["x10", "reasons"][0]


def test_a_row_without_an_account_is_compared_with_the_whole_history() -> None:
    """The request names no account: it is judged against all the user's accounts."""
    history = pd.concat([household(account="checking"), household(account="savings")])
    model = AnomalyModel(**SMALL).fit(history.sort_values(d.DATE).reset_index(drop=True))
    batch = crafted_batch().iloc[[2, 4]].copy()  # a new jeweller at -4,800; a usual grocery
    batch[d.ACCOUNT] = None
    batch[d.AMOUNT] = [-5000.0, -41.10]
    out = model.predict(batch)
    assert out["is_anomaly"].tolist() == [True, False]
    assert "any of your accounts" in out["reasons"].iloc[0][0]
    assert out["risk_level"].iloc[0] != "low"


def test_distinct_row_scoring_scores_each_distinct_row_once_and_all_rows_on_nan() -> None:
    """What both learnt parts (the combiner and the isolation forest) are scored through."""
    from titans_finance.models.anomaly import _on_distinct

    seen: list[int] = []

    def score(rows: pd.DataFrame) -> np.ndarray:
        seen.append(len(rows))
        return rows["a"].to_numpy() * 10.0 + rows["b"].to_numpy()

    rows = pd.DataFrame({"a": [1.0, 2.0, 1.0, 3.0, 2.0, 1.0], "b": [0.5, 0.0, 0.5, 1.0, 0.0, 0.5]})
    np.testing.assert_array_equal(_on_distinct(score, rows), score(rows))
    assert seen[0] == 3  # three distinct rows scored, broadcast to six
    seen.clear()
    with_nan = rows.assign(b=[np.nan, 0.0, np.nan, 1.0, 0.0, 0.5])
    out = _on_distinct(score, with_nan)
    assert seen[0] == 6  # NaN never equals itself: every row scored
    np.testing.assert_array_equal(out, score(with_nan))
