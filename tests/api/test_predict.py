"""Prediction endpoints with real trained models, using the original API's documented examples."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.factories import SEED_AMOUNT, SEED_ANOMALY, SEED_CATEGORY

from titans_finance import domain as d


def test_category_seed_example(client: TestClient) -> None:
    response = client.post("/predict/category", json=SEED_CATEGORY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert isinstance(body["prediction"], str) and body["prediction"]
    assert 0.0 <= body["confidence"] <= 1.0
    assert body["confidence_level"] in {"VERY_HIGH", "HIGH", "MEDIUM", "LOW"}
    assert body["alternatives"] and {"category", "probability"} <= set(body["alternatives"][0])
    assert body["model_used"] == "category"
    assert (
        body["model_version"]
        == client.get("/models/status").json()["models"]["category"]["version"]
    )


def test_category_learns_known_merchant(client: TestClient) -> None:
    # "Biweekly Paycheck" is always "Paycheck" in the real training data.
    body = client.post(
        "/predict/category",
        json={"description": "Biweekly Paycheck", "amount": 2000, "transaction_type": "credit"},
    ).json()
    assert body["prediction"] == "Paycheck"
    assert body["confidence"] > 0.5


def test_amount_seed_example(client: TestClient) -> None:
    response = client.post("/predict/amount", json=SEED_AMOUNT)
    assert response.status_code == 200, response.text
    body = response.json()
    lower, upper = body["confidence_interval"]
    assert lower <= body["predicted_amount"] <= upper
    assert body["model_used"] == "amount" and body["model_version"]


def test_amount_without_amount_or_type_takes_the_direction_from_history(
    client: TestClient,
) -> None:
    """No amount (it is what is predicted) and no type: the history says money in or out."""
    for description, sign in (("Biweekly Paycheck", 1), ("Mortgage Payment", -1)):
        response = client.post("/predict/amount", json={"description": description})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["predicted_amount"] * sign > 0, body
        lower, upper = body["confidence_interval"]
        assert lower <= body["predicted_amount"] <= upper
        assert body["model_version"]
    typed = client.post(
        "/predict/amount", json={"description": "Biweekly Paycheck", "type": "Expense"}
    ).json()
    assert typed["predicted_amount"] < 0  # a declared type wins over the history


def test_anomaly_seed_example(client: TestClient) -> None:
    response = client.post("/predict/anomaly", json=SEED_ANOMALY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["is_anomaly"], bool)
    assert 0.0 <= body["anomaly_score"] <= 1.0
    assert body["risk_level"] in {"low", "medium", "high", "critical"}
    assert body["explanation"].endswith(".")
    assert isinstance(body["reasons"], list)
    if body["is_anomaly"]:
        assert body["reasons"] and body["reasons"][0] in body["explanation"]


def test_cashflow_forecast(client: TestClient) -> None:
    response = client.post("/predict/cashflow", json={"forecast_days": 14})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["forecast"]) == 14
    day = body["forecast"][0]
    assert {"date", "predicted_amount", "lower", "upper", "balance"} <= set(day)
    assert day["lower"] <= day["predicted_amount"] <= day["upper"]
    summary = body["summary"]
    assert {"total_inflow", "total_outflow", "net_cashflow", "lowest_balance"} <= set(summary)
    assert 0.0 <= summary["probability_below_zero"] <= 1.0
    assert body["historical"] is None


def test_cashflow_forecasts_as_far_as_the_model_allows(client: TestClient) -> None:
    response = client.post("/predict/cashflow", json={"forecast_days": d.MAX_HORIZON_DAYS})
    assert response.status_code == 200, response.text
    assert len(response.json()["forecast"]) == d.MAX_HORIZON_DAYS


def test_cashflow_for_one_account_with_history(client: TestClient) -> None:
    body = client.post(
        "/predict/cashflow",
        json={"forecast_days": 3, "include_historical": True, "account": "Checking"},
    ).json()
    assert len(body["forecast"]) == 3
    assert body["historical"] == []  # the store of this app is empty


def test_cashflow_unknown_account_is_a_client_error(client: TestClient) -> None:
    response = client.post("/predict/cashflow", json={"forecast_days": 3, "account": "Nope"})
    assert 400 <= response.status_code < 500
    assert "Nope" in response.json()["detail"]


def test_batch_scores_every_row_in_order(client: TestClient) -> None:
    transactions = [
        {"description": "Biweekly Paycheck", "amount": 2000, "type": "Income"},
        {"description": "Amazon", "amount": 23.5, "date": "2019-06-01T10:30:00", "type": "debit"},
        {"description": "Mortgage Payment", "amount": -1247.44, "account": "Checking"},
    ]
    response = client.post(
        "/predict/batch",
        json={"transactions": transactions, "predict_amounts": True},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 3
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert body["results"][0]["category"] == "Paycheck"
    for row in body["results"]:
        assert row["amount_lower"] <= row["predicted_amount"] <= row["amount_upper"]
        assert 0 <= row["anomaly_score"] <= 1
    assert set(body["model_versions"]) == {"category", "anomaly", "amount"}


def test_batch_accepts_rows_without_an_amount(client: TestClient) -> None:
    """Rows without an amount get an amount prediction; the anomaly check, which needs an
    amount, answers for the rows that have one and leaves the others empty."""
    transactions = [
        {"description": "Biweekly Paycheck"},
        {"description": "Mortgage Payment", "date": "2019-06-01"},
        {"description": "Amazon", "amount": -23.5, "type": "Expense"},
        {"description": "Mortgage Payment", "type": "Expense"},
    ]
    response = client.post(
        "/predict/batch", json={"transactions": transactions, "predict_amounts": True}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert results[0]["predicted_amount"] > 0
    assert results[1]["predicted_amount"] < 0 and results[3]["predicted_amount"] < 0
    for row in results:
        assert row["amount_lower"] <= row["predicted_amount"] <= row["amount_upper"]
        assert row["category"]
    assert [r["anomaly_score"] is None for r in results] == [True, True, False, True]
    assert body["model_versions"]["amount"] and body["model_versions"]["anomaly"]


def test_batch_agrees_with_single_prediction(client: TestClient) -> None:
    single = client.post("/predict/category", json=SEED_CATEGORY).json()
    batch = client.post(
        "/predict/batch",
        json={"transactions": [SEED_CATEGORY], "detect_anomalies": False},
    ).json()
    assert batch["results"][0]["category"] == single["prediction"]
    assert abs(batch["results"][0]["confidence"] - single["confidence"]) < 1e-6


def test_batch_over_the_limit_is_refused(make_client: Callable[..., TestClient]) -> None:
    c = make_client(max_batch_size=2)
    rows = [{"description": f"shop {i}", "amount": -1.0} for i in range(3)]
    response = c.post(
        "/predict/batch",
        json={"transactions": rows},
        headers={"Authorization": "Bearer test-key-1"},
    )
    assert response.status_code == 413
    assert "transactions" in response.json()["detail"]
    assert "2" in response.json()["detail"]


def test_repeated_prediction_is_served_from_cache(client: TestClient) -> None:
    first = client.post("/predict/category", json=SEED_CATEGORY).json()
    # Whitespace differences normalise to the same cached request.
    second = client.post(
        "/predict/category", json={**SEED_CATEGORY, "description": " Coffee shop purchase "}
    ).json()
    assert first == second
    perf = client.get("/models/performance").json()["models"]["category"]
    assert perf["cache_hits"] >= 1
    assert perf["predictions_served"] >= 2


def test_missing_model_answers_503_with_the_reason(
    make_client: Callable[..., TestClient], tmp_path
) -> None:
    c = make_client(models_dir=tmp_path / "empty")
    response = c.post(
        "/predict/category", json=SEED_CATEGORY, headers={"Authorization": "Bearer test-key-1"}
    )
    assert response.status_code == 503
    assert "titans train category" in response.json()["detail"]
    assert response.json()["success"] is False
