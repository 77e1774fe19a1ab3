"""Scopes and account restriction on every route of the app's route table.

Each route needs a case below: a route added without a declared scope fails
``test_every_route_declares_a_scope``; a route without a case here fails
``test_route_scope_and_accounts`` until its expected scope and its account behaviour are
written down and checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from tests.api._models import copy_models
from tests.api.conftest import AUTH

from titans_finance.api.deps import api_routes, declared_scope
from titans_finance.api.main import create_app
from titans_finance.auth.scopes import Scope
from titans_finance.config import Settings

OWN = "Alpha"  # the restricted caller's account
OTHER = "Beta Savings"  # an account it must never see or change
# Accounts of the data the served models were trained on: not the restricted caller's either.
TRAINING_ACCOUNTS = ('"Checking"', "Silver Card", "Platinum Card")
PASSWORD = "correct horse battery staple"
OWN_ROWS = 3  # valid rows of OWN_CSV

HEADER = "Date,Description,Amount,Transaction Type,Category,Account Name\n"
OWN_CSV = HEADER + (
    "01/02/2024,NETFLIX.COM,15.99,debit,Subscriptions,Alpha\n"
    "01/05/2024,ACME CORP PAYROLL,3200.00,credit,Paycheck,Alpha\n"
    "01/09/2024,SHELL OIL 5744,41.00,debit,Gas & Fuel,Alpha\n"
    "not a date,BROKEN ROW,abc,debit,Oops,Alpha\n"
)
OTHER_CSV = HEADER + (
    "01/03/2024,WHOLE FOODS MKT 10233,62.10,debit,Groceries,Beta Savings\n"
    "01/04/2024,SECRET CLINIC,900.00,debit,Doctor,Beta Savings\n"
    "bad,BROKEN ROW,abc,debit,Oops,Beta Savings\n"
)


def _route_table() -> list[tuple[str, str]]:
    app = create_app(Settings(_env_file=None, api_keys=[SecretStr("x" * 32)]))  # type: ignore[call-arg]
    return sorted(
        (method, str(route.path_format))
        for route in api_routes(app)
        for method in route.methods or ()
        if method != "HEAD"
    )


ROUTES = _route_table()


@dataclass
class World:
    """A store with one import per account, rules, keys and a viewer user."""

    client: TestClient
    credentials: dict[str, str]
    ids: dict[str, Any] = field(default_factory=dict)

    def call(self, who: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.credentials[who]}"} if who else {}
        return self.client.request(method, url, headers=headers, **kwargs)


def _post(c: TestClient, url: str, **kwargs: Any) -> dict[str, Any]:
    response = c.post(url, headers=AUTH, **kwargs)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def world(
    trained: tuple[Path, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One app for the whole table (each case only changes records made for it)."""
    root = tmp_path_factory.mktemp("access")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="development",
        database_url=f"sqlite:///{root / 'api.db'}",
        models_dir=copy_models(trained[0], root / "models"),
        api_keys=[SecretStr(AUTH["Authorization"].split()[1])],
        redis_url=None,
        rate_limit=100_000,
        rate_limit_burst=10_000,
        jwt_secret=SecretStr("s" * 40),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield _seed(c)


def _seed(c: TestClient) -> World:
    ids: dict[str, Any] = {}
    ids["own_import"] = _post(
        c, "/transactions/import", files={"file": ("own.csv", OWN_CSV.encode())}
    )["import_id"]
    ids["other_import"] = _post(
        c, "/transactions/import", files={"file": ("other.csv", OTHER_CSV.encode())}
    )["import_id"]
    rows = c.get("/transactions", headers=AUTH, params={"limit": 100}).json()["items"]
    ids["own_tx"] = next(r["id"] for r in rows if r["account"] == OWN)
    ids["other_tx"] = next(r["id"] for r in rows if r["account"] == OTHER)
    for who, account in (("own_rule", OWN), ("other_rule", OTHER)):
        rule = {"kind": "contains", "pattern": "ZZTOP", "category": "Music", "account": account}
        ids[who] = _post(c, "/rules", json=rule)["id"]
    ids["global_rule"] = _post(
        c, "/rules", json={"kind": "contains", "pattern": "QQQ", "category": "Misc"}
    )["id"]
    credentials = {"admin": AUTH["Authorization"].split()[1]}
    for name, scope, accounts in (
        ("reader", "read", None),
        ("writer", "write", None),
        ("restricted", "write", [OWN]),
        ("spare", "read", None),
    ):
        body = {"name": name, "scope": scope, "accounts": accounts}
        created = _post(c, "/keys", json=body)
        credentials[name] = created["key"]
        ids[f"{name}_key"] = created["record"]["key_id"]
    for username, role, accounts in (("vera", "viewer", None), ("otto", "member", [OWN])):
        _post(
            c,
            "/users",
            json={"username": username, "password": PASSWORD, "role": role, "accounts": accounts},
        )
    _post(c, "/users", json={"username": "spare", "password": PASSWORD, "role": "viewer"})
    for username in ("vera", "otto"):
        token = c.post("/auth/token", json={"username": username, "password": PASSWORD})
        assert token.status_code == 200, token.text
        credentials[username] = token.json()["access_token"]
        credentials[f"{username}_refresh"] = token.json()["refresh_token"]
    return World(c, credentials, ids)


Request = Callable[[World, str], httpx.Response]
Check = Callable[[World, str], None]


def _req(method: str, url: str, **kwargs: Any) -> Request:
    def send(w: World, who: str) -> httpx.Response:
        return w.call(who, method, url.format(**w.ids), **kwargs)

    return send


def _no_leak(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    for name in (OTHER, *TRAINING_ACCOUNTS):
        assert name not in response.text, f"{name} leaked: {response.text[:300]}"


def _error_only(response: httpx.Response) -> None:
    """A refusal carries an error message (which may echo the caller's input), no data."""
    assert set(response.json()) == {"detail", "success"}, response.text


def _allowed(request: Request) -> Check:
    """The restricted caller may use the route; the answer names no other account."""

    def check(w: World, who: str) -> None:
        response = request(w, who)
        assert response.status_code not in (401, 403), response.text
        _no_leak(response)

    return check


def _own_rows_only(request: Request, field: str) -> Check:
    """The restricted caller's figures count its own account's rows only (the three valid
    rows of OWN_CSV): an aggregate that ignored its accounts would count the others too."""

    def check(w: World, who: str) -> None:
        response = request(w, who)
        assert response.status_code == 200, response.text
        assert response.json()[field] == OWN_ROWS, response.text

    return check


def _refused(request: Request, status: int = 403) -> Check:
    """The restricted caller is refused (403, or the 404 of a record it may not see)."""

    def check(w: World, who: str) -> None:
        response = request(w, who)
        assert response.status_code == status, response.text
        _error_only(response)

    return check


def _both(*checks: Check) -> Check:
    def check(w: World, who: str) -> None:
        for one in checks:
            one(w, who)

    return check


def _without_use_times(value: Any) -> Any:
    """``value`` without last_used_at fields (every authenticated call may move them)."""
    if isinstance(value, dict):
        return {k: _without_use_times(v) for k, v in value.items() if k != "last_used_at"}
    if isinstance(value, list):
        return [_without_use_times(v) for v in value]
    return value


def _unchanged(request: Request, probe: Request) -> Check:
    """Refused, and what ``probe`` shows (with the admin key) did not change."""

    def check(w: World, who: str) -> None:
        before = _without_use_times(probe(w, "admin").json())
        response = request(w, who)
        assert response.status_code in (403, 404), response.text
        _error_only(response)
        assert _without_use_times(probe(w, "admin").json()) == before

    return check


@dataclass(frozen=True)
class Case:
    """What a route needs, a request that exercises it, and what a restricted caller gets."""

    scope: Scope | None
    request: Request
    restricted: Check
    open_in_development: bool = False  # /docs, /openapi.json (the tests run in development)


TX = {"description": "NETFLIX.COM", "amount": -15.99, "date": "2024-03-02"}
OWN_TX = {**TX, "account": OWN}
OTHER_TX = {**TX, "account": OTHER}
RULE = {"kind": "contains", "pattern": "SPOTIFY", "category": "Music"}
ALL_TX = _req("GET", "/transactions", params={"limit": 1000})
OWN_IMPORT = HEADER + "03/03/2024,SPOTIFY,9.99,debit,Music,Alpha\n"
OTHER_IMPORT = HEADER + "03/03/2024,SPOTIFY,9.99,debit,Music,Beta Savings\n"

CASES: dict[tuple[str, str], Case] = {
    ("GET", "/livez"): Case(None, _req("GET", "/livez"), _allowed(_req("GET", "/livez"))),
    ("GET", "/health"): Case(Scope.READ, _req("GET", "/health"), _allowed(_req("GET", "/health"))),
    ("GET", "/metrics"): Case(
        Scope.READ, _req("GET", "/metrics"), _allowed(_req("GET", "/metrics"))
    ),
    ("GET", "/openapi.json"): Case(
        Scope.READ,
        _req("GET", "/openapi.json"),
        _allowed(_req("GET", "/openapi.json")),
        open_in_development=True,
    ),
    ("GET", "/docs"): Case(
        Scope.READ, _req("GET", "/docs"), _allowed(_req("GET", "/docs")), open_in_development=True
    ),
    **{
        ("POST", f"/predict/{kind}"): Case(
            Scope.READ,
            _req("POST", f"/predict/{kind}", json=TX),
            _both(
                _allowed(_req("POST", f"/predict/{kind}", json=OWN_TX)),
                _refused(_req("POST", f"/predict/{kind}", json=OTHER_TX)),
            ),
        )
        for kind in ("category", "amount", "anomaly")
    },
    ("POST", "/predict/cashflow"): Case(
        Scope.READ,
        _req("POST", "/predict/cashflow", json={"forecast_days": 7}),
        _both(
            _refused(_req("POST", "/predict/cashflow", json={"forecast_days": 7})),
            _refused(
                _req("POST", "/predict/cashflow", json={"forecast_days": 7, "account": OTHER})
            ),
            _allowed(_req("POST", "/predict/cashflow", json={"forecast_days": 7, "account": OWN})),
        ),
    ),
    ("POST", "/predict/batch"): Case(
        Scope.READ,
        _req("POST", "/predict/batch", json={"transactions": [TX]}),
        _both(
            _allowed(_req("POST", "/predict/batch", json={"transactions": [OWN_TX, TX]})),
            _refused(_req("POST", "/predict/batch", json={"transactions": [OWN_TX, OTHER_TX]})),
        ),
    ),
    ("GET", "/models/status"): Case(
        Scope.READ, _req("GET", "/models/status"), _allowed(_req("GET", "/models/status"))
    ),
    ("GET", "/models/performance"): Case(
        Scope.READ,
        _req("GET", "/models/performance"),
        _allowed(_req("GET", "/models/performance")),
    ),
    ("GET", "/models/health"): Case(
        Scope.READ, _req("GET", "/models/health"), _allowed(_req("GET", "/models/health"))
    ),
    ("GET", "/pipeline/runs"): Case(
        Scope.READ, _req("GET", "/pipeline/runs"), _refused(_req("GET", "/pipeline/runs"))
    ),
    ("GET", "/pipeline/runs/{run_id}"): Case(
        Scope.READ, _req("GET", "/pipeline/runs/1"), _refused(_req("GET", "/pipeline/runs/1"))
    ),
    ("POST", "/models/reload-all"): Case(
        Scope.ADMIN,
        _req("POST", "/models/reload-all"),
        _refused(_req("POST", "/models/reload-all")),
    ),
    ("POST", "/models/clear-cache"): Case(
        Scope.ADMIN,
        _req("POST", "/models/clear-cache"),
        _refused(_req("POST", "/models/clear-cache")),
    ),
    ("GET", "/recurring"): Case(
        Scope.READ,
        _req("GET", "/recurring", params={"upcoming_days": 60}),
        _allowed(_req("GET", "/recurring", params={"upcoming_days": 60})),
    ),
    ("GET", "/insights/summary"): Case(
        Scope.READ,
        _req("GET", "/insights/summary"),
        _both(
            _allowed(_req("GET", "/insights/summary")),
            _own_rows_only(_req("GET", "/insights/summary"), "transactions"),
            _refused(_req("GET", "/insights/summary", params={"account": OTHER})),
        ),
    ),
    ("GET", "/insights/overview"): Case(
        Scope.READ,
        _req("GET", "/insights/overview"),
        _both(
            _allowed(_req("GET", "/insights/overview")),
            _own_rows_only(_req("GET", "/insights/overview"), "rows"),
            _refused(_req("GET", "/insights/overview", params={"account": OTHER})),
        ),
    ),
    ("GET", "/rules"): Case(Scope.READ, _req("GET", "/rules"), _allowed(_req("GET", "/rules"))),
    ("POST", "/rules"): Case(
        Scope.WRITE,
        _req("POST", "/rules", json=RULE),
        _both(
            _unchanged(_req("POST", "/rules", json=RULE), _req("GET", "/rules")),
            _unchanged(
                _req("POST", "/rules", json={**RULE, "account": OTHER}), _req("GET", "/rules")
            ),
            _allowed(_req("POST", "/rules", json={**RULE, "account": OWN})),
        ),
    ),
    ("DELETE", "/rules/{rule_id}"): Case(
        Scope.WRITE,
        _req("DELETE", "/rules/{global_rule}"),
        _both(
            _unchanged(_req("DELETE", "/rules/{other_rule}"), _req("GET", "/rules")),
            _unchanged(_req("DELETE", "/rules/{global_rule}"), _req("GET", "/rules")),
            _allowed(_req("DELETE", "/rules/{own_rule}")),
        ),
    ),
    ("GET", "/budgets"): Case(
        Scope.READ,
        _req("GET", "/budgets", params={"month": "2024-01"}),
        _allowed(_req("GET", "/budgets", params={"month": "2024-01"})),
    ),
    ("PUT", "/budgets"): Case(
        Scope.WRITE,
        _req("PUT", "/budgets", json={"category": "Groceries", "amount": 100}),
        _unchanged(
            _req("PUT", "/budgets", json={"category": "Groceries", "amount": 5}),
            _req("GET", "/budgets"),
        ),
    ),
    ("GET", "/imports"): Case(
        Scope.READ, _req("GET", "/imports"), _allowed(_req("GET", "/imports"))
    ),
    ("GET", "/imports/{import_id}/rejects"): Case(
        Scope.READ,
        _req("GET", "/imports/{other_import}/rejects"),
        _both(
            _refused(_req("GET", "/imports/{other_import}/rejects"), 404),
            _allowed(_req("GET", "/imports/{own_import}/rejects")),
        ),
    ),
    ("GET", "/store/version"): Case(
        Scope.READ, _req("GET", "/store/version"), _allowed(_req("GET", "/store/version"))
    ),
    ("POST", "/transactions/import"): Case(
        Scope.WRITE,
        _req("POST", "/transactions/import", files={"file": ("n.csv", OWN_IMPORT.encode())}),
        _both(
            _unchanged(
                _req(
                    "POST", "/transactions/import", files={"file": ("o.csv", OTHER_IMPORT.encode())}
                ),
                ALL_TX,
            ),
            _unchanged(
                _req(
                    "POST",
                    "/transactions/import",
                    files={"file": ("o.csv", OWN_IMPORT.encode())},
                    data={"account": OTHER},
                ),
                ALL_TX,
            ),
            _allowed(
                _req("POST", "/transactions/import", files={"file": ("n.csv", OWN_IMPORT.encode())})
            ),
        ),
    ),
    ("POST", "/transactions/import/preview"): Case(
        Scope.WRITE,
        _req(
            "POST", "/transactions/import/preview", files={"file": ("n.csv", OWN_IMPORT.encode())}
        ),
        _both(
            _refused(
                _req(
                    "POST",
                    "/transactions/import/preview",
                    files={"file": ("o.csv", OTHER_IMPORT.encode())},
                )
            ),
            _refused(
                _req(
                    "POST",
                    "/transactions/import/preview",
                    files={"file": ("o.csv", OWN_IMPORT.encode())},
                    data={"account": OTHER},
                )
            ),
            _allowed(
                _req(
                    "POST",
                    "/transactions/import/preview",
                    files={"file": ("n.csv", OWN_IMPORT.encode())},
                )
            ),
        ),
    ),
    ("GET", "/transactions"): Case(
        Scope.READ,
        ALL_TX,
        _both(
            _allowed(ALL_TX),
            _refused(_req("GET", "/transactions", params={"account": OTHER})),
            _refused(_req("GET", "/transactions", params={"account": [OWN, OTHER]})),
        ),
    ),
    ("GET", "/transactions/{transaction_id}"): Case(
        Scope.READ,
        _req("GET", "/transactions/{other_tx}"),
        _both(
            _refused(_req("GET", "/transactions/{other_tx}"), 404),
            _allowed(_req("GET", "/transactions/{own_tx}")),
        ),
    ),
    ("PATCH", "/transactions/{transaction_id}"): Case(
        Scope.WRITE,
        _req("PATCH", "/transactions/{other_tx}", json={"category": "Music"}),
        _both(
            _unchanged(_req("PATCH", "/transactions/{other_tx}", json={"category": "X"}), ALL_TX),
            _allowed(_req("PATCH", "/transactions/{own_tx}", json={"category": "Music"})),
        ),
    ),
    ("POST", "/transactions/{transaction_id}/normal"): Case(
        Scope.WRITE,
        _req("POST", "/transactions/{other_tx}/normal"),
        _both(
            _unchanged(_req("POST", "/transactions/{other_tx}/normal"), _req("GET", "/audit")),
            _allowed(_req("POST", "/transactions/{own_tx}/normal")),
        ),
    ),
    ("POST", "/auth/token"): Case(
        None,
        _req("POST", "/auth/token", json={"username": "vera", "password": PASSWORD}),
        _allowed(_req("POST", "/auth/token", json={"username": "otto", "password": PASSWORD})),
    ),
    ("POST", "/auth/refresh"): Case(
        None,
        lambda w, who: w.call(
            who, "POST", "/auth/refresh", json={"refresh_token": w.credentials["vera_refresh"]}
        ),
        lambda w, who: _no_leak(
            w.call(
                who, "POST", "/auth/refresh", json={"refresh_token": w.credentials["otto_refresh"]}
            )
        ),
    ),
    ("GET", "/auth/me"): Case(
        Scope.READ, _req("GET", "/auth/me"), _allowed(_req("GET", "/auth/me"))
    ),
    ("GET", "/audit"): Case(Scope.ADMIN, _req("GET", "/audit"), _refused(_req("GET", "/audit"))),
    ("GET", "/keys"): Case(Scope.ADMIN, _req("GET", "/keys"), _refused(_req("GET", "/keys"))),
    ("POST", "/keys"): Case(
        Scope.ADMIN,
        _req("POST", "/keys", json={"name": "new", "scope": "read"}),
        _unchanged(
            _req("POST", "/keys", json={"name": "x", "scope": "admin"}), _req("GET", "/keys")
        ),
    ),
    ("DELETE", "/keys/{key}"): Case(
        Scope.ADMIN,
        _req("DELETE", "/keys/{spare_key}"),
        _unchanged(_req("DELETE", "/keys/{spare_key}"), _req("GET", "/keys")),
    ),
    ("GET", "/users"): Case(Scope.ADMIN, _req("GET", "/users"), _refused(_req("GET", "/users"))),
    ("POST", "/users"): Case(
        Scope.ADMIN,
        _req("POST", "/users", json={"username": "neo", "password": PASSWORD, "role": "viewer"}),
        _unchanged(
            _req("POST", "/users", json={"username": "x", "password": PASSWORD, "role": "owner"}),
            _req("GET", "/users"),
        ),
    ),
    ("DELETE", "/users/{username}"): Case(
        Scope.ADMIN,
        _req("DELETE", "/users/spare"),
        _unchanged(_req("DELETE", "/users/spare"), _req("GET", "/users")),
    ),
}

# Callers of every scope: a viewer's token, stored keys, the environment (admin) key.
CALLERS = {"vera": Scope.READ, "reader": Scope.READ, "writer": Scope.WRITE, "admin": Scope.ADMIN}


def test_every_route_declares_a_scope() -> None:
    app = create_app(Settings(_env_file=None, api_keys=[SecretStr("x" * 32)]))  # type: ignore[call-arg]
    routes = api_routes(app)
    assert len(routes) > 30
    for route in routes:
        declared_scope(route)  # raises MissingScope


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_route_scope_and_accounts(world: World, method: str, path: str) -> None:
    case = CASES.get((method, path))
    assert case is not None, f"{method} {path}: add a Case (scope and account behaviour)"
    route = next(
        r
        for r in api_routes(world.client.app)  # type: ignore[arg-type]
        if r.path_format == path and method in (r.methods or ())
    )
    assert declared_scope(route) == case.scope
    if case.scope is not None and not case.open_in_development:
        assert case.request(world, "").status_code == 401
    for who, scope in CALLERS.items():
        response = case.request(world, who)
        assert response.status_code < 500, (who, response.text)
        if case.scope is not None and not scope.allows(case.scope):
            assert response.status_code == 403, (who, response.text)
            assert case.scope.value in response.json()["detail"]
        else:
            assert response.status_code not in (401, 403), (who, response.text)
    # The same account rules hold for a restricted key and a restricted user's token.
    for who in ("restricted", "otto"):
        case.restricted(world, who)


def test_the_route_table_has_no_stale_cases() -> None:
    assert sorted(CASES) == ROUTES
