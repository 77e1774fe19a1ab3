"""The import preview over the API: layout, skipped rows, corrected mapping, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"


def _upload(name: str) -> dict:
    return {"file": (name, (FORMATS / name).read_bytes())}


def test_preview_shows_the_layout_and_stores_nothing(store_client: TestClient) -> None:
    response = store_client.post(
        "/transactions/import/preview", files=_upload("uk_value_column.csv")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows"], body["skipped"], body["rejected"]) == (4, 2, 0)
    assert body["layout"]["date_order"] == "DMY"
    assert body["layout"]["columns"]["Money Out"] == "debit"
    assert body["mapping"]["credit"] == "Money In"
    assert [r["line"] for r in body["skipped_rows"]] == [2, 7]
    assert body["preview"][0]["Description"] == "TESCO STORES 3321"
    assert body["preview"][0]["Amount"] == "-23.40"
    assert store_client.get("/imports").json()["total"] == 0


def test_import_with_a_corrected_mapping_then_remembered(store_client: TestClient) -> None:
    preview = store_client.post("/transactions/import/preview", files=_upload("amex_card.csv"))
    mapping = preview.json()["mapping"]
    assert mapping["sign"] == "invert"
    mapping["sign"] = "as_is"
    imported = store_client.post(
        "/transactions/import",
        files=_upload("amex_card.csv"),
        data={"mapping": json.dumps(mapping), "account": "Amex"},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["mapping_source"] == "given"
    again = store_client.post(
        "/transactions/import/preview", files=_upload("amex_card.csv"), data={"account": "Amex"}
    )
    body = again.json()
    assert body["mapping_source"] == "remembered"
    assert body["preview"][0]["Amount"] == "23.45"  # as_is, as the user chose


def test_import_reports_skipped_rows(store_client: TestClient) -> None:
    response = store_client.post("/transactions/import", files=_upload("german_volksbank_sh.csv"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["inserted"], body["skipped"], body["rejected"]) == (4, 2, 0)
    assert "balance line" in body["skipped_rows"][0]["reason"]
    listed = store_client.get("/imports").json()["items"][0]
    assert listed["rows_skipped"] == 2


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"sign": "sideways"}), "sign"),
        (json.dumps({"date": "Nope"}), "Nope"),
    ],
)
def test_bad_mapping_is_a_4xx(store_client: TestClient, mapping: str, message: str) -> None:
    response = store_client.post(
        "/transactions/import/preview", files=_upload("chase_card.csv"), data={"mapping": mapping}
    )
    assert 400 <= response.status_code < 500, response.text
    assert message in response.text


def test_preview_refuses_unreadable_and_unsupported_uploads(store_client: TestClient) -> None:
    empty = store_client.post("/transactions/import/preview", files={"file": ("a.csv", b"")})
    assert empty.status_code == 422
    wrong = store_client.post("/transactions/import/preview", files={"file": ("a.exe", b"MZ")})
    assert wrong.status_code == 415
    no_amount = store_client.post(
        "/transactions/import/preview",
        files={"file": ("a.csv", b"Date,Description\n2024-01-01,x\n")},
    )
    assert no_amount.status_code == 422 and "no amount column" in no_amount.text


def test_preview_needs_write_scope(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    response = client.post(
        "/transactions/import/preview", files=_upload("chase_card.csv"), headers={}
    )
    assert response.status_code in (401, 403)
