"""CategoryModel: quality on real data, output contract, calibration, bad input, feedback."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from tests.factories import PERSONAL, personal_frame, synthetic_frame

from titans_finance import domain as d
from titans_finance.errors import TrainingDataError
from titans_finance.models.category import (
    C_GRID,
    OUTPUT_COLUMNS,
    WEIGHT_PROFILES,
    CategoryModel,
    _fit_state_temperature,
    merchant_families,
    merchant_states,
    stratified_cap,
)


@pytest.fixture(scope="module")
def personal() -> pd.DataFrame:
    if not PERSONAL.is_file():
        pytest.skip(f"{PERSONAL} is not available")
    return personal_frame()


@pytest.fixture(scope="module")
def fitted_synthetic() -> CategoryModel:
    return CategoryModel().fit(synthetic_frame(240))


def test_time_split_quality_on_real_export(personal: pd.DataFrame) -> None:
    cut = int(len(personal) * 0.75)
    model = CategoryModel().fit(personal.iloc[:cut])
    metrics = model.evaluate(personal.iloc[cut:])
    assert metrics["rows"] == len(personal) - cut
    assert metrics["accuracy"] > 0.9
    assert metrics["macro_f1"] > 0.7
    assert metrics["ece"] < 0.1


def test_output_contract(fitted_synthetic: CategoryModel) -> None:
    frame = synthetic_frame(50, seed=3)
    frame.index = np.arange(1000, 1050)[::-1]
    result = fitted_synthetic.predict(frame)
    assert list(result.index) == list(frame.index)
    assert list(result.columns) == [*OUTPUT_COLUMNS, "model_version"]
    assert (result["model_version"] == fitted_synthetic.metadata_.version).all()
    conf = result["confidence"].to_numpy()
    assert ((conf >= 0) & (conf <= 1)).all()
    assert [d.confidence_level(c).value for c in conf] == result["confidence_level"].tolist()
    for alts, predicted, confidence in zip(
        result["alternatives"], result["predicted_category"], conf, strict=True
    ):
        assert len(alts) == 3
        assert alts[0] == {"category": predicted, "probability": confidence}
        probabilities = [a["probability"] for a in alts]
        assert probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) <= 1.0001
    assert (result["source"] == "model").all()


def test_unseen_store_numbers_and_prefixes_generalise(fitted_synthetic: CategoryModel) -> None:
    frame = pd.DataFrame(
        {
            d.DATE: pd.to_datetime(["2025-03-01", "2025-03-02", "2025-03-03"]),
            d.DESCRIPTION: [
                "TST* STARBUCKS STORE 88812 DENVER CO",
                "WHOLE FOODS MKT #55 MIAMI FL",
                "CHECKCARD 0303 SHELL OIL 57442231 RENO NV",
            ],
            d.AMOUNT: [Decimal("-4.75"), Decimal("-70.10"), Decimal("-45.00")],
        }
    )
    result = fitted_synthetic.predict(frame)
    assert result["predicted_category"].tolist() == ["Coffee", "Groceries", "Fuel"]


def test_single_example_class_and_missing_optional_columns() -> None:
    train = synthetic_frame(120)
    extra = pd.DataFrame(
        {
            d.DATE: [pd.Timestamp("2024-06-01")],
            d.DESCRIPTION: ["PETSMART #0451"],
            d.AMOUNT: [-80.0],
            d.CATEGORY: ["Pets"],
        }
    )
    frame = pd.concat([train, extra], ignore_index=True)
    model = CategoryModel().fit(frame)
    assert "Pets" in model.classes_
    minimal = pd.DataFrame({d.DESCRIPTION: ["PETSMART #0999"], d.AMOUNT: [-75.0]})
    result = model.predict(minimal)
    assert result["predicted_category"].iloc[0] == "Pets"


def test_empty_batch(fitted_synthetic: CategoryModel) -> None:
    result = fitted_synthetic.predict(synthetic_frame(5).iloc[:0])
    assert len(result) == 0
    assert "predicted_category" in result


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns=[d.CATEGORY]), "no Category column"),
        (lambda f: f.head(5), "only 5 labelled"),
        (lambda f: f.assign(**{d.CATEGORY: np.where(np.arange(len(f)) < 8, "A", None)}), "only 8"),
        (lambda f: f.assign(**{d.CATEGORY: "Coffee"}), "same category"),
    ],
)
def test_bad_training_input(mutate: object, message: str) -> None:
    frame = mutate(synthetic_frame(60))  # type: ignore[operator]
    with pytest.raises(TrainingDataError, match=message):
        CategoryModel().fit(frame)


def test_feedback_changes_the_next_model() -> None:
    frame = synthetic_frame(240)
    probe = pd.DataFrame(
        {d.DESCRIPTION: ["SPOTIFY USA #77 NEW YORK NY"], d.AMOUNT: [-9.99], d.DATE: ["2025-01-01"]}
    )
    before = CategoryModel().fit(frame).predict(probe)["predicted_category"].iloc[0]
    assert before == "Subscriptions"
    corrected = frame.copy()
    spotify = corrected[d.DESCRIPTION].str.contains("SPOTIFY")
    corrected.loc[spotify, d.CATEGORY] = "Music"  # the user's corrections, as the store applies
    after = CategoryModel().fit(corrected).predict(probe)["predicted_category"].iloc[0]
    assert after == "Music"


def test_unseen_merchants_get_a_softer_temperature(fitted_synthetic: CategoryModel) -> None:
    assert fitted_synthetic.temperature_unseen_ >= fitted_synthetic.temperature_ > 0
    rows = pd.DataFrame({d.DESCRIPTION: ["STARBUCKS STORE", "STARBUCKS ROASTERY"], d.AMOUNT: -5.0})
    proba = fitted_synthetic.predict_proba(rows)  # known merchant key vs a new one
    assert proba[0].max() >= proba[1].max()


def test_merchant_states_tell_seen_consistent_and_mixed_keys() -> None:
    keys = np.array(["shell", "shell", "amazon", "amazon", "amazon"], dtype=object)
    labels = np.array(["Fuel", "Fuel", "Shopping", "Books", "Shopping"], dtype=object)
    seen, consistent = merchant_states(keys, labels, np.array(["amazon", "new", "shell"]))
    assert seen.tolist() == [True, False, True]
    assert consistent.tolist() == [False, False, True]


def test_merchant_families_join_variants_of_a_key_without_chaining() -> None:
    keys = np.array(
        ["grocery store", "grocery store denver", "grocery store", "amazon", "amazon mktp",
         "shell oil", "", "", "store denver"],
        dtype=object,
    )  # fmt: skip
    family = merchant_families(keys)
    assert family[0] == family[1] == family[2]
    assert family[3] == family[4] != family[0]
    assert len({family[0], family[3], family[5], family[6]}) == 4
    assert family[6] == family[7]  # keys without trigrams are their own family
    # close to a member (0.76) but not to the leader (0.36): its own family, not chained in
    assert family[8] != family[0]
    assert merchant_families(np.array(["", ""], dtype=object)).tolist() == [0, 0]


def test_state_temperature_is_shrunk_towards_the_pool() -> None:
    rng = np.random.default_rng(0)
    target = np.tile(rng.integers(0, 4, 400), 2)
    scores = rng.normal(size=(800, 4))
    scores[np.arange(800), target] += 1.0  # the pool (first 400 rows): right about half the time
    scores[400 + np.arange(400), target[400:]] += 3.0  # the state's rows: all right, wide margins
    weights, pool = np.ones(800), np.arange(800) < 400
    pooled = _fit_state_temperature(scores, target, weights, pool, pool)
    few = (np.arange(800) >= 400) & (np.arange(800) < 403)  # 3 rows: kept near the pool's
    many = np.arange(800) >= 400  # 400 rows: they lead, towards a sharper temperature
    t_few = _fit_state_temperature(scores, target, weights, few, pool)
    t_many = _fit_state_temperature(scores, target, weights, many, pool)
    assert pooled is not None and t_few is not None and t_many is not None
    assert t_many < pooled / 2 < t_few <= pooled
    assert _fit_state_temperature(scores, target, weights, np.zeros(800, bool), pool) is None


def test_mixed_merchants_get_their_own_temperature_and_say_so() -> None:
    frame = synthetic_frame(240)
    starbucks = frame.index[frame[d.DESCRIPTION].str.contains("STARBUCKS")]
    frame.loc[starbucks[::3], d.CATEGORY] = "Restaurants"  # the user split this merchant
    model = CategoryModel().fit(frame)
    for temperature in (model.temperature_consistent_, model.temperature_mixed_):
        assert 0.01 <= temperature <= 100
    assert model.temperature_unseen_ >= model.temperature_
    params = model.metadata_.params
    assert params["temperature_mixed"] == round(model.temperature_mixed_, 5)
    rows = frame.loc[[starbucks[1], frame.index[frame[d.DESCRIPTION].str.contains("SHELL")][0]]]
    result = model.predict(rows)
    mixed, consistent = result["explanation"].tolist()
    assert "of them as" in mixed and "of them" not in consistent
    proba = model.predict_proba(rows)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    # the confidence is the calibrated probability of the predicted category
    np.testing.assert_allclose(result["confidence"], proba.max(axis=1), atol=1e-4)
    scores = model.decision_scores(rows)
    temperatures = [model.temperature_mixed_, model.temperature_consistent_]
    expected = np.exp(scores / np.asarray(temperatures)[:, None])
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, expected, rtol=1e-3, atol=1e-5)


def test_an_artefact_without_merchant_states_predicts_as_before() -> None:
    model = CategoryModel().fit(synthetic_frame(160))
    rows = synthetic_frame(20, seed=5)
    del model.temperature_consistent_, model.temperature_mixed_
    model.merchant_history_ = model.merchant_history_.drop(columns="total")
    scores = model.decision_scores(rows)
    seen = ~model.unseen_merchants(rows)
    temperature = np.where(seen, model.temperature_, model.temperature_unseen_)
    expected = np.exp(scores / temperature[:, None])
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(rows), expected, rtol=1e-3, atol=1e-5)
    assert model.predict(rows)["explanation"].notna().all()


def test_calibration_temperature_and_logreg_option() -> None:
    frame = synthetic_frame(150)
    model = CategoryModel(classifier="logreg", calibration_folds=0).fit(frame)
    assert model.temperature_ == model.temperature_unseen_ == 1.0
    assert model.temperature_consistent_ == model.temperature_mixed_ == 1.0
    proba = model.predict_proba(frame.head(4))
    assert proba.shape == (4, len(model.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="unknown classifier"):
        CategoryModel(classifier="tree").fit(frame)


def test_explanation_names_merchant_history_brand_and_evidence(
    fitted_synthetic: CategoryModel,
) -> None:
    train = synthetic_frame(240)
    shell = train.loc[train[d.DESCRIPTION].str.contains("SHELL"), d.DESCRIPTION].iloc[0]
    rows = pd.DataFrame(
        {
            d.DESCRIPTION: [shell, "SHEETZ 0042 ALTOONA PA"],
            d.AMOUNT: [-41.0, -38.0],
            d.DATE: pd.to_datetime(["2025-02-01", "2025-02-02"]),
        }
    )
    result = fitted_synthetic.predict(rows)
    known, unseen = result["explanation"].tolist()
    assert "merchant seen" in known and "as Fuel" in known
    assert "brand database: Shell (amenity=fuel)" in known
    assert "evidence: '" in known
    assert unseen.startswith("merchant not seen in training")
    assert "brand database: Sheetz (amenity=fuel)" in unseen


def test_rule_rows_say_a_rule_decided(fitted_synthetic: CategoryModel) -> None:
    rule = d.CategoryRule(d.RuleKind.CONTAINS, "Fun", pattern="netflix")
    rows = pd.DataFrame({d.DESCRIPTION: ["NETFLIX.COM", "SHELL OIL"], d.AMOUNT: [-15.99, -40.0]})
    result = fitted_synthetic.predict_with_rules(rows, [rule])
    assert result["explanation"].iloc[0] == "a user rule matched this transaction"
    assert result["explanation"].iloc[1].startswith("merchant seen")


def test_search_picks_from_the_grid_deterministically() -> None:
    frame = synthetic_frame(200)
    first, second = CategoryModel().fit(frame), CategoryModel().fit(frame)
    assert (first.C_, first.weight_profile_) == (second.C_, second.weight_profile_)
    assert first.search_scores_ == second.search_scores_
    grid = {f"C={c:g},weights={p}" for p in WEIGHT_PROFILES for c in C_GRID}
    assert set(first.search_scores_) == grid
    best = max(first.search_scores_.values())
    assert first.search_scores_[f"C={first.C_:g},weights={first.weight_profile_}"] == best
    pinned = CategoryModel(C=0.3, weight_profile="context").fit(frame)
    assert (pinned.C_, pinned.weight_profile_) == (0.3, "context")
    assert list(pinned.search_scores_) == ["C=0.3,weights=context"]
    with pytest.raises(ValueError, match="unknown weight_profile"):
        CategoryModel(weight_profile="loud").fit(frame)


def test_aggregating_identical_rows_gives_the_same_model() -> None:
    base = synthetic_frame(80)
    frame = pd.concat([base, base.iloc[:40], base.iloc[:40]], ignore_index=True)  # duplicates
    params = {"C": 0.5, "weight_profile": "default", "calibration_folds": 0}
    merged = CategoryModel(aggregate=True, **params).fit(frame)
    plain = CategoryModel(aggregate=False, **params).fit(frame)
    assert merged.n_distinct_rows_ < plain.n_distinct_rows_ == len(frame)
    probe = synthetic_frame(60, seed=5)
    np.testing.assert_allclose(
        merged.decision_scores(probe), plain.decision_scores(probe), atol=2e-3
    )
    assert merged.predict(probe)["predicted_category"].tolist() == (
        plain.predict(probe)["predicted_category"].tolist()
    )


def test_stratified_cap_keeps_every_class_and_its_share() -> None:
    target = np.array([0] * 900 + [1] * 90 + [2] * 10)
    weights = np.ones(len(target))
    rows, capped = stratified_cap(target, weights, cap=100, seed=0)
    assert len(rows) <= 100 and set(target[rows]) == {0, 1, 2}
    assert (target[rows] == 2).sum() == 10  # the rare class whole
    shares = np.bincount(target[rows], weights=capped) / capped.sum()
    np.testing.assert_allclose(shares, [0.9, 0.09, 0.01], rtol=1e-9)
    np.testing.assert_allclose(capped.mean(), 1.0)
    again, _ = stratified_cap(target, weights, cap=100, seed=0)
    np.testing.assert_array_equal(rows, again)
