"""The dashboard pages read through a real running API when TITANS_DASHBOARD_API_URL is set
(the dashboard's own store is left empty to prove it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.dashboard.conftest import SeededStore, no_exceptions, open_page
from tests.servers import serve_api

from titans_finance.config import Settings, get_settings
from titans_finance.storage.db import get_engine
from titans_finance.storage.repository import list_budgets

KEY = "dashboard-api-mode-key"


@pytest.fixture
def api_store(tmp_path: Path, seeded_store: SeededStore) -> Iterator[tuple[str, Settings]]:
    """A real uvicorn server with the API on a copy of the seeded store; yields (url, settings)."""
    folder = tmp_path / "api"
    folder.mkdir()
    shutil.copyfile(seeded_store.database, folder / "titans.db")
    shutil.copytree(seeded_store.models_dir, folder / "models")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{folder / 'titans.db'}",
        models_dir=folder / "models",
        mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
        api_keys=[SecretStr(KEY)],
        rate_limit=100_000,
        rate_limit_burst=10_000,
    )
    with serve_api(settings) as url:
        yield url, settings


@pytest.fixture
def api_env(
    empty_env: Settings, monkeypatch: pytest.MonkeyPatch, api_store: tuple[str, Settings]
) -> Settings:
    """Dashboard settings: an empty local store, reading the API."""
    url, api_settings = api_store
    monkeypatch.setenv("TITANS_DASHBOARD_API_URL", url)
    monkeypatch.setenv("TITANS_DASHBOARD_API_KEY", KEY)
    get_settings.cache_clear()
    return api_settings


def test_overview_and_filters_read_the_api(api_env: Settings, seeded_store: SeededStore) -> None:
    app = open_page("overview")
    no_exceptions(app)
    assert not app.error, [e.value for e in app.error]
    assert [m.value for m in app.metric if m.label == "Transactions"] == [f"{seeded_store.rows:,}"]
    assert "API at http://127.0.0.1" in " ".join(c.value for c in app.sidebar.caption)

    app = open_page("transactions")
    app.text_input(key="tx_text").input("amazon").run()
    no_exceptions(app)
    matching = next(m.value for m in app.metric if m.label == "Matching transactions")
    assert 0 < int(matching.replace(",", "")) < seeded_store.rows


def test_insights_forecast_and_budget_through_the_api(api_env: Settings) -> None:
    app = open_page("insights")
    no_exceptions(app)
    assert not app.error, [e.value for e in app.error]
    labels = [m.label for m in app.metric]
    assert "Chance of going below zero" in labels
    assert "Active streams" in labels
    category = str(app.data_editor(key="budget_editor").value.iloc[0]["category"])
    app.session_state["budget_editor"] = {
        "edited_rows": {0: {"monthly budget": 99.0}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.button(key="budget_save").click().run()
    no_exceptions(app)
    stored = list_budgets(get_engine(api_env.database_url))  # the API's store, not ours
    assert stored.to_dict("records") == [{"category": category, "month": None, "amount": 99.0}]


def test_review_queue_feedback_through_the_api(api_env: Settings) -> None:
    app = open_page("predictions")
    no_exceptions(app)
    first = int(app.data_editor(key="review_editor").value.iloc[0]["id"])
    app.session_state["review_editor"] = {
        "edited_rows": {0: {"category": "Shopping", "save": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.button(key="review_save").click().run()
    no_exceptions(app)
    with get_engine(api_env.database_url).connect() as conn:
        rows = conn.exec_driver_sql("SELECT transaction_id, category FROM category_feedback").all()
    assert rows == [(first, "Shopping")]


def test_import_page_lists_past_imports_through_the_api(
    api_env: Settings, seeded_store: SeededStore
) -> None:
    app = open_page("imports")
    no_exceptions(app)
    assert not app.error, [e.value for e in app.error]
    table = next(t.value for t in app.dataframe if "rows_inserted" in t.value.columns)
    assert table["file_name"].tolist() == ["personal_transactions.csv"]  # the API's store
    assert table["rows_inserted"].tolist() == [seeded_store.rows]
