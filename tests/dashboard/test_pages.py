"""Every dashboard page in Streamlit's AppTest: renders on real data and on an empty store,
filters change the numbers, and feedback lands in the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from tests.dashboard.conftest import PAGES, SeededStore, no_exceptions, open_page

from titans_finance import insights
from titans_finance.config import Settings
from titans_finance.storage.db import get_engine
from titans_finance.storage.repository import (
    TransactionFilter,
    count_transactions,
    list_anomaly_feedback,
    list_budgets,
    list_imports,
    list_rules,
    load_transactions,
)

TITLES = {
    "overview": "Overview",
    "transactions": "Transaction Analysis",
    "predictions": "ML Predictions",
    "anomalies": "Anomaly Detection",
    "insights": "Financial Insights",
    "imports": "Import & models",
}
CHART_PAGES = {"overview", "transactions", "anomalies", "insights"}


def _metric(app: AppTest, label: str) -> str:
    for metric in app.metric:
        if metric.label == label:
            return str(metric.value)
    raise AssertionError(f"no metric {label!r} in {[m.label for m in app.metric]}")


def _table_with(app: AppTest, *columns: str):
    """The first read-only table showing every one of ``columns``."""
    for table in app.dataframe:
        value = table.value
        if all(c in value.columns for c in columns):
            return value
    raise AssertionError(f"no table with columns {columns}")


def _charts(app: AppTest) -> int:
    return len(app.get("plotly_chart"))


def _engine(settings: Settings):
    return get_engine(settings.database_url)


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_on_real_data(
    dashboard_env: Settings, seeded_store: SeededStore, page: str
) -> None:
    if page == "anomalies":
        seeded_store.require("anomaly")
    app = open_page(page)
    no_exceptions(app)
    assert TITLES[page] in app.title[0].value
    assert not app.error, [e.value for e in app.error]
    if page in CHART_PAGES:
        assert _charts(app) >= 2


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_on_empty_store(empty_env: Settings, page: str) -> None:
    app = open_page(page)
    no_exceptions(app)
    assert TITLES[page] in app.title[0].value
    shown = " ".join(str(i.value) for i in app.info)
    if page == "imports":
        assert "Nothing imported yet" in shown
        assert not _table_with(app, "model", "trained")["trained"].any()
    else:
        assert "titans ingest" in shown, shown


def test_overview_figures_match_the_store(
    dashboard_env: Settings, seeded_store: SeededStore
) -> None:
    app = open_page("overview")
    assert _metric(app, "Transactions") == f"{seeded_store.rows:,}"
    income = float(_metric(app, "Income").replace("$", "").replace(",", ""))
    expenses = float(_metric(app, "Expenses").replace("$", "").replace(",", ""))
    assert income > 0 and expenses > 0
    assert _metric(app, "Net").startswith(("+", "-"))
    left_out = app.sidebar.multiselect[0].value
    expected = insights.summarize(
        load_transactions(_engine(dashboard_env)), exclude_categories=left_out
    )
    assert (income, expenses) == (
        pytest.approx(expected["income"], abs=0.01),
        pytest.approx(expected["expenses"], abs=0.01),
    )


def test_transaction_filters_change_the_numbers(dashboard_env: Settings) -> None:
    engine = _engine(dashboard_env)
    app = open_page("transactions")
    total = count_transactions(engine)
    assert _metric(app, "Matching transactions") == f"{total:,}"

    app.selectbox(key="tx_preset").set_value("Last 3 months").run()
    no_exceptions(app)
    last = load_transactions(engine)["Date"].max().date()
    expected = count_transactions(
        engine, TransactionFilter(date_from=last - timedelta(days=91), date_to=last)
    )
    assert 0 < expected < total
    assert _metric(app, "Matching transactions") == f"{expected:,}"

    app.text_input(key="tx_text").input("amazon").run()
    expected_text = count_transactions(
        engine,
        TransactionFilter(date_from=last - timedelta(days=91), date_to=last, text="amazon"),
    )
    assert 0 < expected_text < expected
    assert _metric(app, "Matching transactions") == f"{expected_text:,}"
    table = _table_with(app, "Description", "Payment Method")
    assert table["Description"].str.lower().str.contains("amazon").all()


def test_transaction_filter_with_no_match_says_so(dashboard_env: Settings) -> None:
    app = open_page("transactions")
    app.text_input(key="tx_text").input("no-such-merchant-xyz").run()
    no_exceptions(app)
    assert any("No transactions match" in w.value for w in app.warning)


def test_single_prediction_shows_category_amount_and_anomaly(
    dashboard_env: Settings, seeded_store: SeededStore
) -> None:
    seeded_store.require("anomaly")
    app = open_page("predictions")
    app.text_input(key="pf_description").input("Amazon")
    app.button[0].click().run()  # the form's submit button
    no_exceptions(app)
    labels = [m.label for m in app.metric]
    assert "Predicted category" in labels
    assert "Expected amount" in labels
    verdicts = [s.value for s in app.success] + [e.value for e in app.error]
    assert any("risk" in v for v in verdicts)
    assert _metric(app, "Predicted category") == "Shopping"


def test_review_queue_stores_feedback_and_rule(dashboard_env: Settings) -> None:
    engine = _engine(dashboard_env)
    app = open_page("predictions")
    queue = app.data_editor(key="review_editor").value
    assert len(queue) > 0
    first = int(queue.iloc[0]["id"])
    app.session_state["review_editor"] = {
        "edited_rows": {0: {"category": "Groceries", "save": True, "rule": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.button(key="review_save").click().run()
    no_exceptions(app)
    assert any("Saved 1 categories and 1 rules" in s.value for s in app.success)
    with engine.connect() as conn:
        feedback = conn.exec_driver_sql(
            "SELECT transaction_id, category FROM category_feedback"
        ).all()
    assert feedback == [(first, "Groceries")]
    assert (
        load_transactions(engine, TransactionFilter(categories=["Groceries"]))["id"].eq(first).any()
    )
    rules = list_rules(engine)
    assert [r.category for r in rules] == ["Groceries"]
    assert rules[0].kind.value == "merchant"
    # the reviewed row leaves the queue
    assert first not in set(app.data_editor(key="review_editor").value["id"])


def test_anomaly_page_marks_a_transaction_normal(
    dashboard_env: Settings, seeded_store: SeededStore
) -> None:
    seeded_store.require("anomaly")
    engine = _engine(dashboard_env)
    app = open_page("anomalies")
    flagged = int(_metric(app, "Flagged").replace(",", ""))
    assert flagged > 0
    chosen = app.selectbox(key="normal_pick").value
    app.button(key="normal_button").click().run()
    no_exceptions(app)
    assert any(f"Marked #{chosen} as normal" in s.value for s in app.success)
    assert int(_metric(app, "Flagged").replace(",", "")) < flagged  # feedback applied at once
    assert int(chosen) not in set(_table_with(app, "risk_level", "reasons")["id"])
    marks = list_anomaly_feedback(engine)
    assert len(marks) == 1
    row = load_transactions(engine, TransactionFilter()).set_index("id").loc[int(chosen)]
    assert marks[0]["merchant"] == row["merchant"]
    assert marks[0]["account"] == row["Account"]


def test_insights_forecast_and_budgets_are_stored(dashboard_env: Settings) -> None:
    engine = _engine(dashboard_env)
    app = open_page("insights")
    no_exceptions(app)
    assert "Chance of going below zero" in [m.label for m in app.metric]
    assert "Lowest projected balance" in [m.label for m in app.metric]
    editor = app.data_editor(key="budget_editor").value
    category = str(editor.iloc[0]["category"])
    app.session_state["budget_editor"] = {
        "edited_rows": {0: {"monthly budget": 123.45}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.button(key="budget_save").click().run()
    no_exceptions(app)
    budgets = list_budgets(engine)
    assert budgets.to_dict("records") == [{"category": category, "month": None, "amount": 123.45}]
    assert _charts(app) >= 4  # forecast, budget, weekday, month


def test_import_page_ingests_an_upload_and_shows_rejects(
    dashboard_env: Settings, tmp_path: Path
) -> None:
    engine = _engine(dashboard_env)
    before = count_transactions(engine)
    content = (
        b"Date,Description,Amount,Transaction Type,Category,Account Name\n"
        b"10/01/2019,Corner Bakery,12.50,debit,Restaurants,Checking\n"
        b"not-a-date,Broken Row,5.00,debit,Restaurants,Checking\n"
    )
    app = open_page("imports")
    app.get("file_uploader")[0].set_value(("new.csv", content, "text/csv"))
    app.button[0].click().run()
    no_exceptions(app)
    assert _metric(app, "Inserted") == "1"
    assert _metric(app, "Rejected") == "1"
    assert count_transactions(engine) == before + 1
    assert list_imports(engine)[0].file_name == "new.csv"


def test_retrain_button_trains_a_new_model_version(dashboard_env: Settings) -> None:
    app = open_page("imports")
    before = _table_with(app, "model", "trained").set_index("model")
    app.selectbox(key="train_which").set_value("recurring")
    app.button(key="train_button").click().run(timeout=120)
    no_exceptions(app)
    assert any("recurring: version" in s.value for s in app.success)
    after = _table_with(app, "model", "trained").set_index("model")
    assert after.loc["recurring", "version"] != before.loc["recurring", "version"]
    assert after.loc["cashflow", "version"] == before.loc["cashflow", "version"]


@pytest.mark.parametrize("page", ["predictions", "anomalies", "insights", "imports"])
def test_pages_without_any_trained_model_say_how_to_train(
    dashboard_env: Settings, page: str
) -> None:
    import shutil

    shutil.rmtree(dashboard_env.models_dir)
    app = open_page(page)
    no_exceptions(app)
    if page == "imports":
        assert not _table_with(app, "model", "trained")["trained"].any()
        return
    warnings = " ".join(w.value for w in app.warning)
    assert "titans train" in warnings, warnings
    assert not app.error, [e.value for e in app.error]


def test_missing_model_says_how_to_train_it(dashboard_env: Settings) -> None:
    (dashboard_env.models_dir / "amount" / "metadata.json").unlink()
    app = open_page("predictions")
    app.button[0].click().run()
    no_exceptions(app)
    warnings = " ".join(w.value for w in app.warning)
    assert "titans train amount" in warnings
    assert "Predicted category" in [m.label for m in app.metric]


def test_unreachable_database_says_how_to_fix_it(
    empty_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from titans_finance.config import get_settings

    monkeypatch.setenv("TITANS_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    app = open_page("overview")
    no_exceptions(app)
    errors = " ".join(e.value for e in app.error)
    assert "cannot reach the postgresql database" in errors
    assert "TITANS_DATABASE_URL" in errors


def test_unreachable_api_says_how_to_fix_it(
    empty_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from titans_finance.config import get_settings

    monkeypatch.setenv("TITANS_DASHBOARD_API_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    app = open_page("overview")
    no_exceptions(app)
    errors = " ".join(e.value for e in app.error)
    assert "API at http://127.0.0.1:9 is unreachable" in errors
    assert "titans serve" in errors
