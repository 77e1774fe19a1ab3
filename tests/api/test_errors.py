"""Bad input always gets a 4xx JSON answer naming the field; never a 500 or a stack trace."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import AUTH

from titans_finance.api.main import create_app
from titans_finance.config import Settings

JSON = {"Content-Type": "application/json"}

# (method, path, json body | raw bytes, expected status, text the message must contain)
CASES: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/predict/category", b"{not json", 422, "JSON"),
    ("POST", "/predict/category", b"", 422, "body"),
    ("POST", "/predict/category", [1, 2], 422, "body"),
    ("POST", "/predict/category", {}, 422, "description"),
    ("POST", "/predict/category", {"description": ""}, 422, "description"),
    ("POST", "/predict/category", {"description": 5}, 422, "description"),
    ("POST", "/predict/category", {"description": "x" * 501}, 422, "description"),
    ("POST", "/predict/category", {"description": "x", "amount": "abc"}, 422, "amount"),
    ("POST", "/predict/category", {"description": "x", "amount": 1e300}, 422, "amount"),
    ("POST", "/predict/category", {"description": "x", "date": "2024-02-30"}, 422, "date"),
    ("POST", "/predict/category", {"description": "x", "date": "1066-10-14"}, 422, "date"),
    ("POST", "/predict/category", {"description": "x", "date": "yesterday"}, 422, "date"),
    ("POST", "/predict/category", {"description": "x", "type": "bogus"}, 422, "type"),
    ("POST", "/predict/category", {"description": "x", "currency": "EURO"}, 422, "currency"),
    ("POST", "/predict/anomaly", {"description": "x"}, 422, "amount"),
    ("POST", "/predict/anomaly", {"amount": "NaN"}, 422, "amount"),
    ("POST", "/predict/cashflow", {"forecast_days": -1}, 422, "forecast_days"),
    ("POST", "/predict/cashflow", {"forecast_days": 0}, 422, "forecast_days"),
    ("POST", "/predict/cashflow", {"forecast_days": 100000}, 422, "forecast_days"),
    ("POST", "/predict/cashflow", {"forecast_days": 367}, 422, "forecast_days"),
    ("POST", "/predict/cashflow", {"forecast_days": "soon"}, 422, "forecast_days"),
    ("POST", "/predict/cashflow", {"forecast_days": 2.5}, 422, "forecast_days"),
    ("POST", "/predict/batch", {"transactions": []}, 422, "transactions"),
    ("POST", "/predict/batch", {"transactions": [{"amount": "x"}]}, 422, "transactions.0.amount"),
    ("POST", "/predict/batch", {"transactions": "all"}, 422, "transactions"),
    (
        "POST",
        "/predict/batch",
        {"transactions": [{"date": "1800-01-01"}]},
        422,
        "transactions.0.date",
    ),
    ("POST", "/predict/batch", {"transactions": [{"type": "gift"}]}, 422, "transactions.0.type"),
    ("GET", "/transactions?limit=0", None, 422, "limit"),
    ("GET", "/transactions?limit=100000", None, 422, "limit"),
    ("GET", "/transactions?offset=-1", None, 422, "offset"),
    ("GET", "/transactions?sort=password", None, 422, "sort"),
    ("GET", "/transactions?order=sideways", None, 422, "order"),
    ("GET", "/transactions?date_from=2024-13-01", None, 422, "date_from"),
    ("GET", "/transactions?type=Gift", None, 422, "type"),
    ("GET", "/transactions?min_amount=lots", None, 422, "min_amount"),
    ("GET", "/transactions?date_from=2024-05-01&date_to=2024-01-01", None, 422, "date_from"),
    ("GET", "/transactions/abc", None, 422, "transaction_id"),
    ("GET", "/transactions/0", None, 422, "transaction_id"),
    ("GET", "/transactions/99999", None, 404, "99999"),
    ("PATCH", "/transactions/1", {"category": ""}, 422, "category"),
    ("PATCH", "/transactions/1", {"category": "x" * 101}, 422, "category"),
    ("PATCH", "/transactions/1", {"category": "Food", "extra": 1}, 422, "extra"),
    ("PATCH", "/transactions/99999", {"category": "Food"}, 404, "99999"),
    ("POST", "/transactions/99999/normal", None, 404, "99999"),
    ("POST", "/transactions/1/normal", {"reason_code": "vibes"}, 422, "reason_code"),
    ("POST", "/rules", {"kind": "telepathy", "category": "x"}, 422, "kind"),
    ("POST", "/rules", {"kind": "regex", "pattern": "([", "category": "x"}, 422, "regex"),
    ("POST", "/rules", {"kind": "contains", "pattern": "", "category": "x"}, 422, "pattern"),
    ("DELETE", "/rules/424242", None, 404, "424242"),
    ("PUT", "/budgets", {"category": "Food", "amount": -5}, 422, "amount"),
    ("PUT", "/budgets", {"category": "Food", "amount": 5, "month": "2024-13"}, 422, "month"),
    ("GET", "/budgets?month=May", None, 422, "month"),
    ("GET", "/recurring?upcoming_days=-3", None, 422, "upcoming_days"),
    ("GET", "/insights/summary?date_to=never", None, 422, "date_to"),
    ("GET", "/no/such/endpoint", None, 404, "no such endpoint"),
    ("DELETE", "/predict/category", None, 405, "method not allowed"),
    ("POST", "/transactions/import", None, 422, "file"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected", "needle"),
    CASES,
    ids=[f"{m} {p} {i}" for i, (m, p, *_rest) in enumerate(CASES)],
)
def test_bad_input_gets_a_4xx_naming_the_problem(
    client: TestClient, method: str, path: str, body: Any, expected: int, needle: str
) -> None:
    if isinstance(body, bytes):
        response = client.request(method, path, content=body, headers=JSON)
    elif body is None:
        response = client.request(method, path)
    else:
        response = client.request(method, path, json=body)
    assert response.status_code == expected, response.text
    payload = response.json()
    assert payload["success"] is False
    assert needle.lower() in payload["detail"].lower()
    assert "Traceback" not in response.text


def test_validation_errors_list_fields(client: TestClient) -> None:
    response = client.post("/predict/category", json={"description": 1, "amount": "x"})
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"description", "amount"}


def test_body_over_the_limit_is_refused(make_client: Callable[..., TestClient]) -> None:
    c = make_client(max_body_bytes=2000)
    c.headers.update(AUTH)
    big = {"description": "x", "payment_method": "y" * 5000}
    response = c.post("/predict/category", json=big)
    assert response.status_code == 413
    assert response.json()["success"] is False


def test_streamed_body_over_the_limit_is_refused(make_client: Callable[..., TestClient]) -> None:
    c = make_client(max_body_bytes=2000)
    c.headers.update(AUTH)

    def chunks() -> Any:  # no Content-Length: the limit is enforced while reading
        payload = json.dumps({"transactions": [{"description": "x" * 100}] * 100}).encode()
        for i in range(0, len(payload), 512):
            yield payload[i : i + 512]

    response = c.post("/predict/batch", content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert "exceeds the limit of 2000 bytes" in response.json()["detail"]


def test_unexpected_errors_are_a_json_500_without_trace(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings())

    def explode() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/explode", headers=AUTH)
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error; it was logged", "success": False}
    assert "secret internal detail" not in response.text
