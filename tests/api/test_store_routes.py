"""Store-backed endpoints (SQLite and PostgreSQL): import, list, correct, rules, budgets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.api._models import PERSONAL_CSV
from tests.factories import SMALL_CSV

from titans_finance import insights


def _import(c: TestClient, content: bytes, name: str = "bank.csv", **form: str) -> dict:
    response = c.post("/transactions/import", files={"file": (name, content)}, data=form)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def loaded(store_client: TestClient) -> TestClient:
    _import(store_client, SMALL_CSV.encode())
    return store_client


def test_import_reports_inserted_and_rejected_rows(store_client: TestClient) -> None:
    body = _import(store_client, SMALL_CSV.encode())
    assert body["success"] is True
    assert body["file"] == "bank.csv"
    assert body["inserted"] == 6
    assert body["rejected"] == 1
    assert body["rejects"][0]["line"] == 8
    assert body["rejects"][0]["reason"]
    again = _import(store_client, SMALL_CSV.encode())
    assert again["inserted"] == 0 and again["duplicates"] == 6  # idempotent re-import


def test_import_of_the_real_export(store_client: TestClient, shared_data: Path) -> None:
    content = (shared_data / PERSONAL_CSV).read_bytes()
    body = _import(store_client, content, name="personal_transactions.csv")
    assert body["inserted"] == 808 and body["rejected"] == 0
    assert store_client.get("/transactions", params={"limit": 1}).json()["total"] == 808


@pytest.mark.parametrize(
    ("name", "content", "status", "needle"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", 415, "not a supported export"),
        ("bank.csv", b"\x00\x01\x02binary\x00", 415, "binary"),
        ("bank.csv", b"   ", 422, "empty"),
        ("../../etc/passwd.exe", b"root:x:0:0", 415, "passwd.exe"),
        ("bank.csv", b"just one line without structure", 422, ""),
    ],
)
def test_import_refuses_bad_files(
    store_client: TestClient, name: str, content: bytes, status: int, needle: str
) -> None:
    response = store_client.post("/transactions/import", files={"file": (name, content)})
    assert response.status_code == status, response.text
    assert response.json()["success"] is False
    assert needle in response.json()["detail"]


def test_import_over_the_upload_limit(store_client: TestClient) -> None:
    state = store_client.app.state.titans  # type: ignore[attr-defined]
    limit = 4096
    state.settings = state.settings.model_copy(update={"max_upload_bytes": limit})
    content = (SMALL_CSV * 100).encode()
    response = store_client.post("/transactions/import", files={"file": ("big.csv", content)})
    assert response.status_code == 413
    assert "maximum" in response.json()["detail"]


def test_list_filters_sort_and_paginate(loaded: TestClient) -> None:
    everything = loaded.get("/transactions").json()
    assert everything["total"] == 6
    first = everything["items"][0]
    assert {"id", "date", "description", "amount", "category", "account", "merchant"} <= set(first)
    assert everything["items"][0]["date"] >= everything["items"][-1]["date"]  # newest first

    income = loaded.get("/transactions", params={"type": "Income"}).json()
    assert income["total"] == 2 and all(i["amount"] > 0 for i in income["items"])

    netflix = loaded.get("/transactions", params={"q": "netflix"}).json()
    assert netflix["total"] == 2

    window = loaded.get(
        "/transactions", params={"date_from": "2024-01-03", "date_to": "2024-01-31"}
    ).json()
    assert window["total"] == 3

    big = loaded.get("/transactions", params={"min_amount": -50, "max_amount": -20}).json()
    assert {i["description"] for i in big["items"]} == {"SHELL OIL 5744"}

    page = loaded.get(
        "/transactions", params={"limit": 2, "offset": 2, "sort": "amount", "order": "asc"}
    ).json()
    assert page["total"] == 6 and len(page["items"]) == 2 and page["offset"] == 2
    amounts = [
        i["amount"] for i in loaded.get("/transactions?sort=amount&order=asc").json()["items"]
    ]
    assert amounts == sorted(amounts)
    assert [i["amount"] for i in page["items"]] == amounts[2:4]

    by_category = loaded.get("/transactions", params=[("category", "Subscriptions")]).json()
    assert by_category["total"] == 2


def test_patch_category_is_stored_as_feedback(loaded: TestClient) -> None:
    item = loaded.get("/transactions", params={"q": "shell"}).json()["items"][0]
    response = loaded.patch(f"/transactions/{item['id']}", json={"category": "Fuel"})
    assert response.status_code == 200, response.text
    assert response.json()["category"] == "Fuel"
    assert loaded.get(f"/transactions/{item['id']}").json()["category"] == "Fuel"


def test_mark_normal_stores_anomaly_feedback(loaded: TestClient) -> None:
    item = loaded.get("/transactions", params={"q": "payroll"}).json()["items"][0]
    response = loaded.post(f"/transactions/{item['id']}/normal", json={})
    assert response.status_code == 201, response.text
    assert response.json()["transaction_id"] == item["id"]
    service = loaded.app.state.titans.models  # type: ignore[attr-defined]
    assert service._feedback  # the anomaly model receives the mark at once


def test_rules_override_the_model(store_client: TestClient) -> None:
    seed = {"description": "Coffee shop purchase", "amount": -4.5}
    before = store_client.post("/predict/category", json=seed).json()
    created = store_client.post(
        "/rules", json={"kind": "contains", "pattern": "coffee", "category": "Caffeine"}
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["id"] > 0 and rule["kind"] == "contains"
    after = store_client.post("/predict/category", json=seed).json()
    assert after["prediction"] == "Caffeine" and after["source"] == "rule"
    assert after["confidence"] == 1.0
    listed = store_client.get("/rules").json()["rules"]
    assert [r["id"] for r in listed] == [rule["id"]]
    assert store_client.delete(f"/rules/{rule['id']}").status_code == 200
    assert store_client.get("/rules").json()["rules"] == []
    restored = store_client.post("/predict/category", json=seed).json()
    assert restored["prediction"] == before["prediction"]


def test_budgets_with_spending(loaded: TestClient) -> None:
    assert (
        loaded.put("/budgets", json={"category": "Subscriptions", "amount": 10}).status_code == 200
    )
    response = loaded.put(
        "/budgets", json={"category": "Groceries", "amount": 100, "month": "2024-01"}
    )
    assert response.status_code == 200
    assert len(response.json()["budgets"]) == 2
    january = {b["category"]: b for b in loaded.get("/budgets?month=2024-01").json()["budgets"]}
    assert january["Subscriptions"]["spent"] == pytest.approx(15.99)
    assert january["Subscriptions"]["remaining"] == pytest.approx(-5.99)
    assert january["Groceries"]["used"] == pytest.approx(0.621)
    february = {b["category"] for b in loaded.get("/budgets?month=2024-02").json()["budgets"]}
    assert february == {"Subscriptions"}  # the January-only budget does not apply


def test_insights_summary(loaded: TestClient) -> None:
    body = loaded.get("/insights/summary").json()
    assert body["income"] == pytest.approx(6400.0)
    assert body["expenses"] == pytest.approx(15.99 * 2 + 62.10 + 41.00)
    assert body["savings_rate"] == pytest.approx(body["net"] / body["income"], abs=0.01)
    assert [m["month"] for m in body["by_month"]] == ["2024-01", "2024-02"]
    assert body["by_category"][0]["category"] == "Groceries"
    narrowed = loaded.get(
        "/insights/summary", params={"date_from": "2024-02-01", "exclude_category": "Paycheck"}
    ).json()
    assert narrowed["income"] == 0 and narrowed["savings_rate"] is None


def test_insights_overview_carries_the_summary_of_its_groups(loaded: TestClient) -> None:
    body = loaded.get("/insights/overview").json()
    summary = insights.summary_of_groups(pd.DataFrame(body["groups"]))
    expected = loaded.get("/insights/summary").json()
    assert summary == {key: value for key, value in expected.items() if key != "success"}
    assert body["rows"] == sum(group["count"] for group in body["groups"])
    assert body["currency"] == "USD"
    assert body["recent"] and set(body["recent"][0]) == set(insights.RECENT_COLUMNS)
    assert {m["Category"] for m in body["merchants"]} >= {"Groceries"}
    assert body["balance"]["points"]


def test_recurring_streams(store_client: TestClient) -> None:
    body = store_client.get("/recurring", params={"upcoming_days": 30}).json()
    assert body["success"] is True and body["count"] == len(body["streams"]) > 0
    paycheck = [s for s in body["streams"] if s["category"] and "paycheck" in s["category"].lower()]
    assert paycheck and paycheck[0]["period"] == "biweekly"
    assert all({"date", "expected_amount"} <= set(u) for u in body["upcoming"])


def test_listed_transactions_carry_the_files_mcc(store_client: TestClient) -> None:
    csv = (
        "Date,Description,Amount,MCC\n2024-01-02,KROGER 55,-12.00,5411\n2024-01-03,RENT,-900.00,\n"
    )
    _import(store_client, csv.encode())
    items = store_client.get("/transactions").json()["items"]  # newest first
    assert [(item["description"], item["mcc"]) for item in items] == [
        ("RENT", None),
        ("KROGER 55", "5411"),
    ]
    one = store_client.get(f"/transactions/{items[1]['id']}").json()
    assert one["mcc"] == "5411"
