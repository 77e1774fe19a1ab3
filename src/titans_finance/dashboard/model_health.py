"""The "Model health" panel: what monitoring knows about each serving model."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from titans_finance.dashboard.client import DashboardClient
from titans_finance.errors import TitansError

PSI_ALERT = 0.2


@st.cache_data(ttl=60, show_spinner=False)
def _report(source: str, _client: DashboardClient) -> dict[str, Any]:
    # one monitoring pass a minute per source: it scores what the models have not seen yet
    return _client.model_health()


def _share(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1%}"


def _money(value: Any) -> str:
    return "—" if value is None else f"{float(value):,.2f}"


def _quality(model: str, quality: dict[str, Any]) -> str:
    if model == "category":
        if not quality.get("labels"):
            return f"no reviews yet; estimated accuracy {_share(quality.get('estimated_accuracy'))}"
        return (
            f"labelled accuracy {_share(quality['labelled_accuracy'])} "
            f"(≥ {_share(quality['labelled_accuracy_lower_bound'])}, {quality['labels']} labels)"
        )
    if model == "amount":
        return f"MAE {_money(quality.get('mae'))} on {quality.get('rows', 0)} new transactions"
    if model == "cashflow":
        return f"daily MAE {_money(quality.get('mae'))} over {quality.get('days', 0)} passed days"
    if model == "anomaly":
        return (
            f"{_share(quality.get('flagged_share'))} flagged, precision "
            f"{_share(quality.get('precision'))} ({quality.get('marked_normal', 0)} marked normal)"
        )
    return ""


def health_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per serving model (version, age, the largest input drift, its own quality), then
    one per earlier version that served in the window (its quality)."""
    rows = []
    for model, entry in report.get("models", {}).items():
        drift = entry.get("drift") or {}
        features = drift.get("features") or {}
        worst = max(features.items(), key=lambda item: item[1]["psi"], default=None)
        age = entry.get("age_seconds")
        rows.append(
            {
                "model": model,
                "version": entry.get("version"),
                "age (days)": None if age is None else round(float(age) / 86400, 1),
                "max drift PSI": None if worst is None else round(float(worst[1]["psi"]), 3),
                "drifting feature": (
                    worst[0] if worst is not None and worst[1]["psi"] > PSI_ALERT else ""
                ),
                "serving": True,
                "quality": _quality(model, entry.get("quality") or {}),
            }
        )
        for version, quality in (entry.get("earlier_versions") or {}).items():
            rows.append(
                {
                    "model": model,
                    "version": version,
                    "age (days)": None,
                    "max drift PSI": None,
                    "drifting feature": "",
                    "serving": False,
                    "quality": _quality(model, quality or {}),
                }
            )
    return pd.DataFrame(rows)


def render_model_health(client: DashboardClient) -> None:
    """Category quality figures, then one row per model (drift, age, quality)."""
    st.subheader("Model health")
    try:
        report = _report(client.source, client)
    except TitansError as exc:
        st.warning(f"Model monitoring is not available: {exc.message}")
        return
    if not report.get("models"):
        st.info("No model is serving yet: train them with `titans train all`.")
        return
    category = (report["models"].get("category") or {}).get("quality") or {}
    cols = st.columns(4)
    cols[0].metric(
        "Labelled accuracy",
        _share(category.get("labelled_accuracy")),
        help="Share of reviewed predictions (confirmed or corrected) the model got right; "
        f"{category.get('labels', 0)} labels, Wilson lower bound "
        f"{_share(category.get('labelled_accuracy_lower_bound'))}",
    )
    cols[1].metric("Estimated accuracy", _share(category.get("estimated_accuracy")))
    cols[2].metric("Below MEDIUM confidence", _share(category.get("low_confidence_share")))
    cols[3].metric("Unseen merchants", _share(category.get("unseen_merchant_rate")))
    table = health_table(report)
    drifting = table[table["drifting feature"] != ""]
    if not drifting.empty:
        st.warning(
            "Input drift (PSI > 0.2) for "
            + ", ".join(
                f"{model} ({feature})"
                for model, feature in zip(
                    drifting["model"], drifting["drifting feature"], strict=True
                )
            )
            + ": the data moved away from what the model was trained on; consider retraining."
        )
    st.dataframe(table, hide_index=True, key="model_health_table")
    st.caption(
        f"Window: the last {report.get('window_days')} days "
        f"({report.get('window_rows', 0):,} transactions); "
        f"refreshed {str(report.get('generated_at', ''))[:19].replace('T', ' ')} UTC"
    )


__all__ = ["health_table", "render_model_health"]
