"""The independent probe's findings (issue 15), each kept as a regression test against the real
API on SQLite and, where the finding was PostgreSQL's, on the real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.api.conftest import AUTH
from tests.factories import SMALL_CSV
from tests.storage.concurrent import ROWS, WRITERS, check_store, export_bytes

from titans_finance.config import Settings
from titans_finance.storage.db import create_db_engine, get_engine
from titans_finance.storage.tables import MAX_ID

TOO_BIG = MAX_ID + 1


def _upload(c: TestClient, content: bytes, name: str = "bank.csv") -> tuple[int, dict]:
    response = c.post("/transactions/import", files={"file": (name, content)})
    return response.status_code, response.json()


# -- finding 1: ReDoS ---------------------------------------------------------------------------
def test_catastrophic_regex_rule_does_not_block_predictions(client: TestClient) -> None:
    created = client.post(
        "/rules", json={"kind": "regex", "pattern": "^(a+)+$", "category": "Letters"}
    )
    assert created.status_code == 201, created.text
    response = client.post("/predict/category", json={"description": "a" * 400 + "!"})
    assert response.status_code == 200, response.text
    assert response.json()["source"] != "rule"
    matched = client.post("/predict/category", json={"description": "a" * 400})
    assert matched.json()["prediction"] == "Letters"
    assert matched.json()["source"] == "rule"


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=x)x", "(?<!a)b"])
def test_backtracking_only_regexes_are_refused(client: TestClient, pattern: str) -> None:
    response = client.post("/rules", json={"kind": "regex", "pattern": pattern, "category": "x"})
    assert response.status_code == 422
    assert "RE2" in response.json()["detail"]


# -- finding 2: upload bounds -------------------------------------------------------------------
def test_upload_with_too_many_columns_is_refused_before_parsing(client: TestClient) -> None:
    header = ",".join(f"c{i}" for i in range(100_000))
    status, body = _upload(client, (header + "\n" + "," * 99_999 + "\n").encode())
    assert status == 422
    assert "200" in body["detail"] and "fields" in body["detail"]


# -- finding 4: database loss -------------------------------------------------------------------
@pytest.fixture
def closed_database(make_client: Callable[..., TestClient]) -> TestClient:
    """An app whose PostgreSQL server does not answer (nothing listens on port 9)."""
    c = make_client(database_url="postgresql://secretuser:pw@127.0.0.1:9/secretdb")
    c.headers.update(AUTH)
    return c


def test_unreachable_database_is_503_with_retry_after_and_no_details(
    closed_database: TestClient,
) -> None:
    for path in ("/transactions", "/rules", "/imports"):
        response = closed_database.get(path)
        assert response.status_code == 503, response.text
        assert int(response.headers["Retry-After"]) > 0
        for secret in ("secretuser", "secretdb", "127.0.0.1", ":9"):
            assert secret not in response.text
    health = closed_database.get("/health").json()
    assert health["status"] == "degraded"
    assert "secretuser" not in json.dumps(health) and "127.0.0.1" not in json.dumps(health)


@pytest.mark.postgres
def test_connections_lost_while_serving_give_503(
    postgres_url: str, make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    c = make_client(database_url=postgres_url)
    c.headers.update(AUTH)
    assert c.get("/transactions").status_code == 200
    admin = create_db_engine(postgres_url.rsplit("/", 1)[0] + "/postgres")
    database = postgres_url.rsplit("/", 1)[1]
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        )
        try:
            response = c.get("/transactions")
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"]
        finally:
            conn.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
    admin.dispose()
    get_engine.cache_clear()


# -- finding 5: NUL characters and id ranges (PostgreSQL) --------------------------------------
NUL_CASES: list[tuple[str, str, object]] = [
    ("GET", "/transactions?q=a%00b", None),
    ("GET", "/transactions?account=a%00", None),
    ("GET", "/transactions?category=%00", None),
    ("POST", "/rules", {"kind": "contains", "pattern": "a\x00", "category": "x"}),
    ("POST", "/rules", {"kind": "contains", "pattern": "a", "category": "x\x00"}),
    ("PUT", "/budgets", {"category": "Food\x00", "amount": 5}),
    ("PATCH", "/transactions/1", {"category": "Food\x00"}),
    ("POST", "/predict/category", {"description": "coffee\x00"}),
]


@pytest.mark.parametrize(("method", "path", "body"), NUL_CASES)
def test_nul_characters_are_refused_with_422(
    store_client: TestClient, method: str, path: str, body: object
) -> None:
    response = store_client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]


def test_nul_in_an_uploaded_account_is_refused(store_client: TestClient) -> None:
    response = store_client.post(
        "/transactions/import",
        files={"file": ("bank.csv", b"Date,Description,Amount\n2024-01-02,TEA,-3.00\n")},
        data={"account": "Check\x00ing"},
    )
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/transactions/{TOO_BIG}"),
        ("PATCH", f"/transactions/{TOO_BIG}"),
        ("POST", f"/transactions/{TOO_BIG}/normal"),
        ("DELETE", f"/rules/{TOO_BIG}"),
        ("GET", f"/imports/{TOO_BIG}/rejects"),
    ],
)
def test_ids_beyond_the_column_range_are_422(
    store_client: TestClient, method: str, path: str
) -> None:
    body = {"category": "Food"} if method == "PATCH" else None
    response = store_client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    largest = store_client.request(method, path.replace(str(TOO_BIG), str(MAX_ID)), json=body)
    assert largest.status_code == 404, largest.text


# -- finding 8: UTF-16 with a byte-order mark ---------------------------------------------------
def test_utf16_upload_with_bom_is_imported(client: TestClient, test_data: Path) -> None:
    status, body = _upload(client, (test_data / "csv" / "utf16_tab.csv").read_bytes(), "u.csv")
    assert status == 201, body
    assert body["inserted"] > 0


# -- finding 10: no internals in error answers --------------------------------------------------
def test_upload_errors_name_the_file_not_the_temporary_folder(client: TestClient) -> None:
    status, body = _upload(client, b"Date,Description\n2024-01-01,coffee\n", "mine.csv")
    assert status == 422
    assert "mine.csv" in body["detail"]
    assert "titans-upload-" not in body["detail"] and "/tmp" not in body["detail"]


def test_model_errors_do_not_show_the_models_folder(
    make_client: Callable[..., TestClient], models_dir: Path
) -> None:
    artefact = models_dir / "amount" / "model.joblib"
    artefact.write_bytes(artefact.read_bytes()[:100])
    c = make_client()
    c.headers.update(AUTH)
    for response in (c.get("/models/status"), c.post("/predict/amount", json={"description": "x"})):
        assert str(models_dir) not in response.text
        assert "/tmp" not in response.text


# -- finding 13: /health and a model that failed its checksum -----------------------------------
def test_health_is_degraded_while_a_model_fails_its_checksum(
    make_client: Callable[..., TestClient], models_dir: Path
) -> None:
    artefact = models_dir / "anomaly" / "model.joblib"
    artefact.write_bytes(artefact.read_bytes() + b"tampered")
    c = make_client()
    c.headers.update(AUTH)
    health = c.get("/health").json()
    assert health["models"]["anomaly"] is False
    assert health["status"] == "degraded"


def test_health_is_ok_when_a_model_is_simply_not_trained(
    make_client: Callable[..., TestClient], models_dir: Path
) -> None:
    for path in (models_dir / "recurring").iterdir():
        path.unlink()
    c = make_client()
    c.headers.update(AUTH)
    assert c.get("/health").json()["status"] == "ok"


# -- finding 15: a truncated last row -----------------------------------------------------------
def test_truncated_last_row_is_rejected_not_defaulted(store_client: TestClient) -> None:
    content = SMALL_CSV.rstrip("\n").rsplit("\n", 1)[0] + "\n01/10/2024,SHELL OIL 5744,41.0"
    status, body = _upload(store_client, content.encode())
    assert status == 201, body
    reasons = [r["reason"] for r in body["rejects"]]
    assert any("ends mid-row" in r for r in reasons), reasons
    accounts = {t["account"] for t in store_client.get("/transactions").json()["items"]}
    assert accounts == {"Checking"}


# -- found by schemathesis after the fixes ------------------------------------------------------
@pytest.mark.parametrize("month", ["0000-01", "1066-10", "3000-01"])
def test_budget_month_outside_the_calendar_is_422(client: TestClient, month: str) -> None:
    assert client.get(f"/budgets?month={month}").status_code == 422
    put = client.put("/budgets", json={"category": "Food", "amount": 5, "month": month})
    assert put.status_code == 422


def test_unknown_forecast_account_is_a_documented_404(client: TestClient) -> None:
    response = client.post("/predict/cashflow", json={"forecast_days": 30, "account": "nobody"})
    assert response.status_code == 404, response.text
    documented = client.get("/openapi.json").json()["paths"]["/predict/cashflow"]["post"]
    assert "404" in documented["responses"]


# -- finding 16: OpenAPI documents the errors as they are ---------------------------------------
def test_openapi_documents_every_error_body(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in json.dumps(schema)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" in responses, (method, path)
            if path != "/livez":
                assert {"401", "429", "503"} <= responses.keys(), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
    unauthorised = TestClient(client.app).get("/transactions")
    assert unauthorised.status_code == 401
    assert set(unauthorised.json()) == {"detail", "success"}
    invalid = client.get("/transactions?limit=0").json()
    assert {"detail", "success", "errors"} == set(invalid)
    assert {"field", "location", "message", "type"} == set(invalid["errors"][0])


# -- finding 3: concurrent imports creating the same account -----------------------------------
def test_concurrent_api_uploads_create_the_account_once(
    store_client: TestClient, settings_env: Settings
) -> None:
    """Finding 3 through the API: concurrent uploads naming one new account."""

    def upload(i: int) -> int:
        response = store_client.post(
            "/transactions/import",
            files={"file": (f"export-{i}.csv", export_bytes(i))},
            data={"account": "Shared"},
            headers=AUTH,
        )
        assert response.status_code == 201, response.text
        return int(response.json()["inserted"])

    with ThreadPoolExecutor(WRITERS) as pool:
        inserted = list(pool.map(upload, range(WRITERS)))
    assert inserted == [ROWS] * WRITERS
    check_store(settings_env.database_url, {"Shared"})
