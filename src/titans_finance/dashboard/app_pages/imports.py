"""Import & models: upload new export files, see past imports, model status, retraining and
model health."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from titans_finance import domain as d
from titans_finance.dashboard.model_health import render_model_health
from titans_finance.dashboard.palette import CATEGORICAL, style_figure
from titans_finance.dashboard.state import (
    errors_shown,
    get_client,
    invalidate,
    model_status,
    transactions,
)
from titans_finance.errors import TitansError
from titans_finance.ingest.readers import FORMAT_CHOICES, SUPPORTED_EXTENSIONS
from titans_finance.models.catalog import MODEL_NAMES

FORMATS = list(FORMAT_CHOICES)


def _show_summary(summary: dict[str, Any]) -> None:
    cols = st.columns(5)
    cols[0].metric("Rows read", f"{summary['read']:,}")
    cols[1].metric("Inserted", f"{summary['inserted']:,}")
    cols[2].metric("Duplicates skipped", f"{summary['duplicates']:,}")
    cols[3].metric("Rejected", f"{summary['rejected']:,}")
    cols[4].metric("Balance breaks", f"{len(summary.get('balance_breaks', [])):,}")
    if summary.get("rejects"):
        st.markdown("**Rejected rows** (first 20) — fix them in the file and import it again:")
        st.dataframe(pd.DataFrame(summary["rejects"]), hide_index=True, key="import_rejects")


def _uploader() -> None:
    st.subheader("Import an export file")
    with st.form("import_form", clear_on_submit=True, border=True):
        upload = st.file_uploader(
            "Bank export (CSV, OFX/QFX, QIF, CAMT XML, MT940, XLSX/XLS/ODS, PDF, Berka)",
            type=[ext.lstrip(".") for ext in sorted(SUPPORTED_EXTENSIONS)],
            key="import_file",
        )
        c1, c2 = st.columns(2)
        account = c1.text_input("Account name (optional)", key="import_account")
        file_format = c2.selectbox("Format", FORMATS, key="import_format")
        submitted = st.form_submit_button("Import", type="primary")
    if submitted:
        if upload is None:
            st.warning("Choose a file first.")
        else:
            with errors_shown(f"import of {upload.name}"), st.spinner(f"Importing {upload.name}…"):
                summary = get_client().import_file(
                    upload.name,
                    upload.getvalue(),
                    account=account.strip() or None,
                    file_format=file_format,
                )
                invalidate()
                st.session_state["last_import"] = summary
    if "last_import" in st.session_state:
        summary = st.session_state["last_import"]
        st.success(f"Imported {summary['file']} ({summary['format']}).", icon=":material/inbox:")
        _show_summary(summary)


def _history() -> None:
    st.subheader("Past imports")
    with errors_shown("imports"):
        imports = get_client().imports()
        if not imports:
            st.info("Nothing imported yet.")
            return
        table = pd.DataFrame(imports)
        columns = [
            c
            for c in (
                "id",
                "created_at",
                "file_name",
                "format",
                "rows_read",
                "rows_inserted",
                "rows_duplicate",
                "rows_rejected",
                "balance_breaks",
            )
            if c in table
        ]
        st.dataframe(table[columns], hide_index=True, key="imports_table")
        frame = transactions(get_client())
        if not frame.empty:
            per_month = (
                frame.groupby([frame[d.DATE].dt.to_period("M").astype(str), d.ACCOUNT])
                .size()
                .rename("transactions")
                .reset_index()
            )
            fig = px.bar(
                per_month,
                x=d.DATE,
                y="transactions",
                color=d.ACCOUNT,
                labels={d.DATE: "month"},
                color_discrete_sequence=CATEGORICAL,
            )
            fig.update_layout(title="Stored transactions per month and account (gaps show here)")
            st.plotly_chart(style_figure(fig, height=300), key="coverage_chart")


def status_table(status: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per model: trained, version, trained at, rows, main metrics or why not trained."""
    rows = []
    for entry in status:
        metrics = entry.get("metrics") or {}
        shown = ", ".join(
            f"{k} {v:.3f}" for k, v in list(metrics.items())[:4] if isinstance(v, int | float)
        )
        rows.append(
            {
                "model": entry.get("model_type"),
                "trained": bool(entry.get("trained")),
                "version": entry.get("version"),
                "trained at": str(entry.get("trained_at") or "")[:19].replace("T", " "),
                "training rows": entry.get("training_rows"),
                "metrics": shown or entry.get("error", ""),
            }
        )
    return pd.DataFrame(rows)


def _models() -> None:
    client = get_client()
    st.subheader("Models")
    try:
        status = model_status(client)
    except TitansError as exc:
        st.error(exc.message)
        return
    for ok, line in st.session_state.pop("train_results", []):
        (st.success if ok else st.error)(line)
    st.dataframe(status_table(status), hide_index=True, key="models_table")
    c1, c2 = st.columns([1, 3])
    which = c1.selectbox("Model", ["all", *MODEL_NAMES], key="train_which")
    c2.write("")
    if c2.button(
        "Retrain on the stored transactions", key="train_button", help="Takes up to a few minutes"
    ):
        with errors_shown("training"), st.spinner(f"Training {which}…"):
            results = client.train(which)
            st.session_state["train_results"] = [
                (
                    True,
                    f"{r.get('model_type')}: version {r.get('version')} trained on "
                    f"{r.get('training_rows')} rows.",
                )
                if r.get("ok", True)
                else (False, f"{r.get('model_type')}: {r.get('error')}")
                for r in results
            ]
            invalidate()
            st.rerun()


def runs_table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per pipeline run: when, status, counts, retrain reason, promotions, error."""
    rows = []
    for run in runs:
        decisions = run.get("decisions") or []
        rows.append(
            {
                "run": run.get("id"),
                "started": str(run.get("started_at") or "")[:19].replace("T", " "),
                "status": run.get("status"),
                "files imported": run.get("files_ingested"),
                "files rejected": run.get("files_rejected"),
                "new rows": run.get("rows_inserted"),
                "retrain": run.get("retrain_reason") if run.get("retrained") else "no",
                "promoted": ", ".join(
                    d["model_type"] for d in decisions if d.get("status") == "promoted"
                )
                or "-",
                "kept as challenger": ", ".join(
                    d["model_type"] for d in decisions if d.get("status") == "challenger"
                )
                or "-",
                "error": run.get("error") or "",
            }
        )
    return pd.DataFrame(rows)


def _pipeline() -> None:
    st.subheader("Pipeline runs")
    st.caption(
        "`titans pipeline run` (or the Airflow DAG) imports the inbox, retrains when enough "
        "changed and promotes a candidate only when it beats the champion by the margin."
    )
    with errors_shown("pipeline runs"):
        runs = get_client().pipeline_runs()
        if not runs:
            st.info("No pipeline runs yet.")
            return
        st.dataframe(runs_table(runs), hide_index=True, key="pipeline_runs_table")
        decisions = [
            {
                "run": d["run_id"],
                "model": d["model_type"],
                "status": d["status"],
                "metric": d["metric"],
                "candidate": d["candidate_value"],
                "champion": d["champion_value"],
                "why": d["reason"],
            }
            for run in runs[:5]
            for d in run.get("decisions") or []
        ]
        if decisions:
            st.markdown("**Decisions of the last runs**")
            st.dataframe(pd.DataFrame(decisions), hide_index=True, key="pipeline_decisions")


def main() -> None:
    """Render the import and model page."""
    st.title(":material/upload_file: Import & models")
    _uploader()
    _history()
    st.divider()
    _models()
    st.divider()
    render_model_health(get_client())
    st.divider()
    _pipeline()


if __name__ == "__main__":  # Streamlit runs pages as __main__; imports stay inert
    main()
