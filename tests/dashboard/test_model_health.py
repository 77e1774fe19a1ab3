"""The "Model health" panel on the Import & models page, on the real seeded store."""

from __future__ import annotations

from tests.dashboard.conftest import SeededStore, no_exceptions, open_page

from titans_finance.config import Settings
from titans_finance.dashboard.model_health import health_table
from titans_finance.storage.db import get_engine
from titans_finance.storage.predictions import load_predictions


def test_imports_page_shows_model_health(
    dashboard_env: Settings, seeded_store: SeededStore
) -> None:
    app = open_page("imports")
    no_exceptions(app)
    assert "Model health" in [h.value for h in app.subheader]
    table = next(t.value for t in app.dataframe if "max drift PSI" in t.value.columns)
    trained = {"category", "amount", "anomaly", "recurring", "cashflow"} - set(
        seeded_store.untrained
    )
    assert set(table["model"]) == trained
    # the models were trained on the whole store: no feature drifted
    assert (table["max drift PSI"] < 0.2).all()
    labels = [m.label for m in app.metric]
    assert {"Labelled accuracy", "Estimated accuracy", "Below MEDIUM confidence"} <= set(labels)
    # rendering the panel ran a monitoring pass, which logged the serving models' predictions
    logged = load_predictions(get_engine(dashboard_env.database_url), "category")
    assert len(logged) > 0


def test_health_table_names_the_drifting_feature() -> None:
    report = {
        "models": {
            "amount": {
                "version": "v1",
                "age_seconds": 86400 * 3,
                "drift": {
                    "available": True,
                    "features": {
                        "amount": {"psi": 0.84, "ks": 0.4},
                        "category": {"psi": 0.05, "ks": 0.02},
                    },
                },
                "quality": {"rows": 12, "mae": 31.5},
            },
            "category": {
                "version": "v2",
                "age_seconds": None,
                "drift": {"available": False, "reason": "retrain"},
                "quality": {
                    "labels": 8,
                    "labelled_accuracy": 0.75,
                    "labelled_accuracy_lower_bound": 0.41,
                },
            },
        }
    }
    table = health_table(report).set_index("model")
    assert table.loc["amount", "drifting feature"] == "amount"
    assert table.loc["amount", "max drift PSI"] == 0.84
    assert table.loc["amount", "age (days)"] == 3.0
    assert "31.50" in table.loc["amount", "quality"]
    assert table.loc["category", "drifting feature"] == ""
    assert (
        "75.0%" in table.loc["category", "quality"]
        and "8 labels" in table.loc["category", "quality"]
    )


def test_health_table_lists_earlier_versions_after_the_serving_one() -> None:
    report = {
        "models": {
            "category": {
                "version": "v2",
                "age_seconds": 86400.0,
                "drift": {"available": False, "reason": "retrain"},
                "quality": {"labels": 0, "estimated_accuracy": 0.9},
                "earlier_versions": {
                    "v1": {
                        "labels": 10,
                        "labelled_accuracy": 0.6,
                        "labelled_accuracy_lower_bound": 0.31,
                    }
                },
            }
        }
    }
    table = health_table(report)
    assert list(table["version"]) == ["v2", "v1"]
    assert list(table["serving"]) == [True, False]
    assert "10 labels" in table.loc[1, "quality"] and "60.0%" in table.loc[1, "quality"]
    assert table.loc[1, "max drift PSI"] is None
