"""The dashboard's login gate against a real running API: asks, refuses a wrong password (and
shows the API's throttle), and once logged in reads every page with the user's bearer token."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from streamlit.proto.TextInput_pb2 import TextInput as TextInputProto
from streamlit.testing.v1 import AppTest
from tests.dashboard.conftest import SeededStore, no_exceptions, open_page
from tests.servers import serve_api

from titans_finance.auth import Role
from titans_finance.auth.store import add_user
from titans_finance.config import Settings, get_settings
from titans_finance.dashboard.client import login
from titans_finance.storage.db import get_engine

PASSWORD = "dashboard login password"


@pytest.fixture
def login_api(
    tmp_path: Path,
    seeded_store: SeededStore,
    empty_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """A real API with user alice (JWT login, no API keys); the dashboard on a network address."""
    folder = tmp_path / "api"
    folder.mkdir()
    shutil.copyfile(seeded_store.database, folder / "titans.db")
    shutil.copytree(seeded_store.models_dir, folder / "models")
    add_user(get_engine(f"sqlite:///{folder / 'titans.db'}"), "alice", PASSWORD, Role.MEMBER)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{folder / 'titans.db'}",
        models_dir=folder / "models",
        mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
        jwt_secret=SecretStr("j" * 40),
        auth_failure_burst=2,
        rate_limit=100_000,
        rate_limit_burst=10_000,
    )
    with serve_api(settings) as url:
        monkeypatch.setenv("TITANS_DASHBOARD_API_URL", url)
        monkeypatch.setenv("TITANS_DASHBOARD_ADDRESS", "0.0.0.0")
        get_settings.cache_clear()
        yield url


def _log_in(app: AppTest, username: str, password: str) -> AppTest:
    app.text_input(key="login_username").input(username)
    app.text_input(key="login_password").input(password)
    return app.button(key="login_submit").click().run()


def _errors(app: AppTest) -> str:
    return " ".join(e.value for e in app.error)


def test_a_wrong_password_is_refused_then_throttled(login_api: str) -> None:
    app = open_page("overview")
    no_exceptions(app)
    assert app.text_input(key="login_password").proto.type == TextInputProto.PASSWORD
    assert not app.metric  # no page before the login
    _log_in(app, "alice", "not the password at all")
    no_exceptions(app)
    assert "wrong username or password" in _errors(app)
    assert not app.metric
    for _ in range(2):  # the API allows 2 failures from this address, then answers 429
        _log_in(app, "alice", "not the password at all")
    no_exceptions(app)
    assert "too many failed authentications" in _errors(app)
    assert not app.metric


def test_the_right_password_shows_the_pages_with_the_users_token(
    login_api: str, seeded_store: SeededStore
) -> None:
    assert httpx.get(f"{login_api}/transactions").status_code == 401  # the API needs a token
    app = open_page("overview")
    _log_in(app, "alice", PASSWORD)
    no_exceptions(app)
    assert not app.error, _errors(app)
    assert [m.value for m in app.metric if m.label == "Transactions"] == [f"{seeded_store.rows:,}"]
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert "Logged in as **alice**" in captions and "as alice" in captions

    app.button(key="logout").click().run()
    no_exceptions(app)
    assert not app.metric
    assert app.text_input(key="login_username").value == ""


def test_loopback_without_users_stays_open_and_says_so(empty_env: Settings) -> None:
    app = open_page("overview")
    no_exceptions(app)
    assert "Open: loopback development" in " ".join(c.value for c in app.sidebar.caption)


def test_users_in_the_store_without_an_api_url_are_refused_on_the_page(
    empty_env: Settings,
) -> None:
    add_user(get_engine(empty_env.database_url), "bob", PASSWORD, Role.VIEWER)
    app = open_page("overview")
    no_exceptions(app)
    assert "TITANS_DASHBOARD_API_URL is not set" in _errors(app)
    assert not app.metric


def test_an_expired_access_token_is_renewed_with_the_refresh_token(login_api: str) -> None:
    client = login(login_api, "alice", PASSWORD)
    try:
        auth = client.token_auth
        assert auth is not None
        first_refresh = auth.refresh_token
        auth.access_token = "expired.or.forged"  # the API answers 401 to it
        assert client.store_version()  # renewed through POST /auth/refresh, then answered
        assert auth.access_token != "expired.or.forged"
        assert auth.refresh_token != first_refresh
    finally:
        client.close()
