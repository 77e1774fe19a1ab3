"""Past imports over the API (SQLite and PostgreSQL): list, page, rejects, auth and bad input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import AUTH
from tests.factories import SMALL_CSV

from titans_finance.api.routes.imports import PREVIEW_RAW_CHARS, REJECT_PREVIEW

LONG_NOTE = "x" * 600
# Eight rejected rows (lines 3..10), one with a long raw text, among two good ones.
MESSY_CSV = "Date,Description,Amount,Transaction Type,Category,Account Name\n" + "".join(
    [
        "03/01/2024,SPOTIFY,9.99,debit,Subscriptions,Savings\n",
        *(f"bad date {i},BROKEN {i},abc,debit,Oops,Savings\n" for i in range(7)),
        f"still not a date,{LONG_NOTE},1.00,debit,Oops,Savings\n",
        "03/04/2024,TRADER JOES,45.10,debit,Groceries,Savings\n",
    ]
)


def _import(c: TestClient, content: str, name: str) -> dict:
    response = c.post("/transactions/import", files={"file": (name, content.encode())})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def imported(store_client: TestClient) -> tuple[TestClient, list[int]]:
    """Three real imports through the upload endpoint: small, the same again, a messy one."""
    ids = [
        _import(store_client, SMALL_CSV, "bank.csv")["import_id"],
        _import(store_client, SMALL_CSV, "bank-again.csv")["import_id"],
        _import(store_client, MESSY_CSV, "messy.csv")["import_id"],
    ]
    return store_client, ids


def test_imports_are_listed_newest_first_with_counts(
    imported: tuple[TestClient, list[int]],
) -> None:
    client, ids = imported
    response = client.get("/imports")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert (body["total"], body["limit"], body["offset"]) == (3, 50, 0)
    assert [item["id"] for item in body["items"]] == ids[::-1]
    messy, again, first = body["items"]
    assert messy["file_name"] == "messy.csv" and messy["format"] == "csv"
    assert (messy["rows_read"], messy["rows_inserted"], messy["rows_rejected"]) == (10, 2, 8)
    assert (first["rows_read"], first["rows_inserted"], first["rows_rejected"]) == (7, 6, 1)
    assert (again["rows_inserted"], again["rows_duplicate"]) == (0, 6)
    assert datetime.fromisoformat(first["created_at"]).tzinfo is not None
    assert first["rejects"] == [
        {"line": 8, "reason": first["rejects"][0]["reason"], "raw": first["rejects"][0]["raw"]}
    ]
    assert first["rejects"][0]["reason"] and "BROKEN ROW" in first["rejects"][0]["raw"]


def test_listed_rejects_are_the_first_few_with_short_raw_text(
    imported: tuple[TestClient, list[int]],
) -> None:
    client, _ = imported
    messy = client.get("/imports", params={"limit": 1}).json()["items"][0]
    assert [r["line"] for r in messy["rejects"]] == list(range(3, 3 + REJECT_PREVIEW))
    assert all(r["reason"] for r in messy["rejects"])
    everything = client.get(f"/imports/{messy['id']}/rejects").json()
    long_raw = next(r["raw"] for r in everything["items"] if LONG_NOTE in r["raw"])
    assert len(long_raw) > PREVIEW_RAW_CHARS  # the full row is kept ...
    preview = client.get("/imports", params={"limit": 1}).json()["items"][0]
    assert all(len(r["raw"]) <= PREVIEW_RAW_CHARS for r in preview["rejects"])  # ... cut here


def test_imports_pagination(imported: tuple[TestClient, list[int]]) -> None:
    client, ids = imported
    page = client.get("/imports", params={"limit": 1, "offset": 1}).json()
    assert [item["id"] for item in page["items"]] == [ids[1]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    tail = client.get("/imports", params={"limit": 2, "offset": 2}).json()
    assert [item["id"] for item in tail["items"]] == [ids[0]]
    assert client.get("/imports", params={"offset": 3}).json()["items"] == []


def test_every_reject_of_one_import_paged_by_line(
    imported: tuple[TestClient, list[int]],
) -> None:
    client, ids = imported
    messy_id = ids[2]
    body = client.get(f"/imports/{messy_id}/rejects").json()
    assert (body["import_id"], body["total"], body["limit"], body["offset"]) == (
        messy_id,
        8,
        100,
        0,
    )
    assert [r["line"] for r in body["items"]] == list(range(3, 11))
    assert all(r["reason"] and r["raw"] for r in body["items"])
    page = client.get(f"/imports/{messy_id}/rejects", params={"limit": 3, "offset": 6}).json()
    assert [r["line"] for r in page["items"]] == [9, 10] and page["total"] == 8
    again = client.get(f"/imports/{ids[1]}/rejects").json()
    assert again["total"] == 1 and [r["line"] for r in again["items"]] == [8]


def test_empty_store_lists_no_imports(store_client: TestClient) -> None:
    body = store_client.get("/imports").json()
    assert (body["items"], body["total"]) == ([], 0)


def test_unknown_import_is_404(store_client: TestClient) -> None:
    response = store_client.get("/imports/999999/rejects")
    assert response.status_code == 404
    assert response.json() == {"detail": "import 999999 does not exist", "success": False}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/imports", {"limit": 0}, "limit"),
        ("/imports", {"limit": 501}, "limit"),
        ("/imports", {"limit": "ten"}, "limit"),
        ("/imports", {"offset": -1}, "offset"),
        ("/imports/1/rejects", {"limit": 1000}, "limit"),
        ("/imports/0/rejects", {}, "import_id"),
        ("/imports/abc/rejects", {}, "import_id"),
        ("/imports/99999999999999999999999/rejects", {}, "import_id"),
    ],
)
def test_bad_paging_is_422_naming_the_field(
    client: TestClient, path: str, params: dict, field: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["success"] is False
    assert body["detail"].startswith(f"{field}: ")
    assert [e["field"] for e in body["errors"]] == [field]


@pytest.mark.parametrize("path", ["/imports", "/imports/1/rejects", "/store/version"])
def test_imports_need_a_key(make_client: Callable[..., TestClient], path: str) -> None:
    anonymous = make_client()
    assert anonymous.get(path).status_code == 401
    assert anonymous.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert anonymous.get(path, headers=AUTH).status_code in (200, 404)


def test_openapi_documents_the_import_listing(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    listing = schema["paths"]["/imports"]["get"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ImportPage"
    }
    assert {p["name"] for p in listing["parameters"]} == {"limit", "offset"}
    assert "/imports/{import_id}/rejects" in schema["paths"]
    assert {"ImportPublic", "RejectPage"} <= schema["components"]["schemas"].keys()


def test_store_version_changes_with_writes_only(store_client: TestClient) -> None:
    def version() -> str:
        response = store_client.get("/store/version")
        assert response.status_code == 200, response.text
        return str(response.json()["version"])

    empty = version()
    assert version() == empty  # reads change nothing
    _import(store_client, SMALL_CSV, "bank.csv")
    after_import = version()
    assert after_import != empty
    _import(store_client, SMALL_CSV, "bank-again.csv")  # adds no rows, but is an import
    assert version() != after_import
