"""Both dashboard clients over the same store give the same answers; the API client reads the
real FastAPI app (in-process transport), and explains unreachable or refused connections."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from tests.dashboard.conftest import SeededStore

from titans_finance import domain as d
from titans_finance import insights
from titans_finance.config import Settings
from titans_finance.dashboard.client import ApiClient, LocalClient, make_client
from titans_finance.domain import TransactionFilter
from titans_finance.errors import StorageError, ValidationError
from titans_finance.storage.db import get_engine
from titans_finance.storage.repository import list_budgets

KEY = "dashboard-test-key"


@pytest.fixture
def settings(tmp_path: Path, seeded_store: SeededStore) -> Settings:
    database = tmp_path / "titans.db"
    shutil.copyfile(seeded_store.database, database)
    models_dir = tmp_path / "models"
    shutil.copytree(seeded_store.models_dir, models_dir)
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{database}",
        models_dir=models_dir,
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        api_keys=[SecretStr(KEY)],
        rate_limit=100_000,
        rate_limit_burst=10_000,
    )


@pytest.fixture
def clients(settings: Settings) -> Iterator[tuple[ApiClient, LocalClient]]:
    from titans_finance.api.main import create_app

    with TestClient(create_app(settings)) as http:
        yield ApiClient("http://testserver", KEY, http=http), LocalClient(settings)


def test_both_clients_list_the_same_transactions(clients: tuple[ApiClient, LocalClient]) -> None:
    api, local = clients
    flt = TransactionFilter(
        date_from=date(2019, 1, 1), types=("Expense",), text="amazon", sort="id"
    )
    remote = api.transactions(flt)
    mine = local.transactions(flt)
    assert len(remote) == len(mine) > 0
    assert remote["id"].tolist() == mine["id"].tolist()
    assert remote[d.AMOUNT].round(2).tolist() == mine[d.AMOUNT].round(2).tolist()
    assert remote[d.DATE].tolist() == mine[d.DATE].tolist()
    assert len(api.transactions()) == len(local.transactions())  # pages beyond 1000 rows
    assert api.accounts() == local.accounts()


def test_both_clients_give_the_same_overview(clients: tuple[ApiClient, LocalClient]) -> None:
    api, local = clients
    remote, mine = api.overview(), local.overview()
    assert remote == mine
    frame = local.transactions()
    assert mine["rows"] == len(frame)
    summary = insights.summary_of_groups(pd.DataFrame(mine["groups"]))
    assert summary == insights.summarize(frame)
    assert mine["categories"] == sorted(str(c) for c in frame[d.CATEGORY].dropna().unique())


def test_api_writes_reach_the_store_and_change_the_version(
    clients: tuple[ApiClient, LocalClient], settings: Settings
) -> None:
    api, local = clients
    before = api.store_version()
    first = int(local.transactions(TransactionFilter(limit=1))["id"].iloc[0])
    api.set_category(first, "Groceries")
    assert api.store_version() != before
    engine = get_engine(settings.database_url)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT transaction_id, category FROM category_feedback"
        ).all()
    assert stored == [(first, "Groceries")]
    api.set_budget("Groceries", Decimal("250.00"))
    assert list_budgets(engine).to_dict("records") == [
        {"category": "Groceries", "month": None, "amount": 250.0}
    ]
    assert api.budgets().to_dict("records") == local.budgets().to_dict("records")
    rule = api.add_rule(
        d.CategoryRule(kind=d.RuleKind.CONTAINS, pattern="amazon", category="Shopping")
    )
    assert rule.id is not None
    assert [r.id for r in local.rules()] == [rule.id]
    # the API's token is the store's: a write by another client changes it too
    assert api.store_version() == local.store_version()
    seen = api.store_version()
    local.add_rule(d.CategoryRule(kind=d.RuleKind.CONTAINS, pattern="tesco", category="Groceries"))
    assert api.store_version() != seen


def test_both_clients_list_the_same_imports(clients: tuple[ApiClient, LocalClient]) -> None:
    api, local = clients
    content = (
        b"Date,Description,Amount,Transaction Type,Category,Account Name\n"
        b"10/01/2019,Corner Bakery,12.50,debit,Restaurants,Checking\n"
        b"not-a-date,Broken Row,5.00,debit,Restaurants,Checking\n"
    )
    api.import_file("new.csv", content)
    remote, mine = api.imports(), local.imports()
    assert [i["file_name"] for i in remote] == ["new.csv", "personal_transactions.csv"]
    assert remote == mine
    assert remote[0]["rejects"][0]["line"] == 3 and "Broken Row" in remote[0]["rejects"][0]["raw"]


def test_predictions_agree_between_api_and_local(clients: tuple[ApiClient, LocalClient]) -> None:
    api, local = clients
    sample = local.transactions(TransactionFilter(limit=40, sort="id"))
    remote = api.predict("category", sample)
    mine = local.predict("category", sample)
    assert remote["predicted_category"].tolist() == mine["predicted_category"].tolist()
    assert remote["confidence"].round(3).tolist() == mine["confidence"].round(3).tolist()
    one = api.predict("category", sample.head(1))
    assert one["alternatives"].iloc[0], "single predictions carry alternatives"
    amount = api.predict("amount", sample.head(1).assign(**{d.AMOUNT: None}))
    assert amount["lower"].iloc[0] <= amount["predicted_amount"].iloc[0] <= amount["upper"].iloc[0]


def test_forecast_and_recurring_agree(clients: tuple[ApiClient, LocalClient]) -> None:
    api, local = clients
    daily, summary = api.forecast(30)
    local_daily, local_summary = local.forecast(30)
    assert len(daily) == len(local_daily) == 30
    assert summary["lowest_balance"] == pytest.approx(local_summary["lowest_balance"])
    assert summary["probability_below_zero"] == pytest.approx(
        local_summary["probability_below_zero"]
    )
    assert daily["predicted_balance"].round(2).tolist() == (
        local_daily["predicted_balance"].round(2).tolist()
    )
    assert sorted(api.recurring()["merchant"]) == sorted(local.recurring()["merchant"])


def test_unreachable_api_names_the_fix() -> None:
    client = ApiClient("http://127.0.0.1:9", "k", timeout=2)
    with pytest.raises(StorageError, match="titans serve"):
        client.store_version()


def test_refused_key_names_the_setting(settings: Settings) -> None:
    from titans_finance.api.main import create_app

    with TestClient(create_app(settings)) as http:
        client = ApiClient("http://testserver", "wrong-key", http=http)
        with pytest.raises(ValidationError, match="TITANS_DASHBOARD_API_KEY"):
            client.transactions()


def test_make_client_picks_the_api_only_when_configured(settings: Settings) -> None:
    assert isinstance(make_client(settings), LocalClient)
    remote = settings.model_copy(
        update={"dashboard_api_url": "http://api:8000/", "dashboard_api_key": SecretStr("k")}
    )
    client = make_client(remote)
    assert isinstance(client, ApiClient)
    assert client.source == "API at http://api:8000"


def test_model_health_agrees_between_api_and_local(
    clients: tuple[ApiClient, LocalClient],
) -> None:
    from titans_finance.dashboard.model_health import health_table

    api, local = clients
    remote = api.model_health()
    mine = local.model_health()
    assert set(remote["models"]) == set(mine["models"]) and remote["models"]
    for name, entry in remote["models"].items():
        assert entry["version"] == mine["models"][name]["version"]
        features = mine["models"][name]["drift"]["features"]
        assert set(entry["drift"]["features"]) == set(features)
        for feature, figures in entry["drift"]["features"].items():
            assert figures == pytest.approx(features[feature])
    # the panel's table reads the API's body as it reads the local report
    table = health_table(remote)
    assert set(table["model"]) == set(remote["models"]) and table["serving"].all()
