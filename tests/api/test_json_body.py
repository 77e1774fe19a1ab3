"""`OnePassJSONRoute`: the body validated from its bytes, with exactly FastAPI's answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient

from titans_finance.api import schemas as s
from titans_finance.api.json_body import OnePassJSONRoute


def _app() -> TestClient:
    router = APIRouter()

    async def echo(body: s.BatchRequest, request: Request) -> dict[str, Any]:
        parsed = await request.json()
        return {"body": body.model_dump(mode="json"), "parsed_as": type(parsed).__name__}

    router.add_api_route("/plain", echo, methods=["POST"])
    router.add_api_route("/one-pass", echo, methods=["POST"], route_class_override=OnePassJSONRoute)
    app = FastAPI()
    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "body",
    [
        b'{"transactions": [{"description": "STARBUCKS", "amount": -4.5, "date": "2024-03-01"}]}',
        b'{"transactions": [{"date": "2024-03-01T00:00:00", "type": "debit"}], "x": 1}',
        b'{"transactions": []}',
        b'{"transactions": [{"amount": "x"}, {"amount": NaN}]}',
        b'{"transactions": "all"}',
        b'{"transactions": [{"description": "\\ud800"}]}',
        b'{"transactions": [',
        b"",
        b"[1, 2]",
    ],
)
def test_one_pass_answers_exactly_as_a_plain_route(body: bytes) -> None:
    c = _app()
    headers = {"Content-Type": "application/json"}
    plain = c.post("/plain", content=body, headers=headers)
    one_pass = c.post("/one-pass", content=body, headers=headers)
    assert one_pass.status_code == plain.status_code
    if plain.status_code != 200:  # 422, or 500 where the default handler cannot echo the input
        assert one_pass.content == plain.content
        return
    assert one_pass.json()["body"] == plain.json()["body"]
    assert plain.json()["parsed_as"] == "dict"
    assert one_pass.json()["parsed_as"] == "BatchRequest"  # validated in one pass
