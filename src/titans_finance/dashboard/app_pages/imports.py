"""Import & models: upload new export files, see past imports, model status, retraining and
model health."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
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


NOT_USED = "(not used)"
# The mapping keys that name a column (``ColumnMapping.columns``), offered per column.
COLUMN_FIELDS = (
    "date",
    "description",
    "amount",
    "debit",
    "credit",
    "balance",
    "payee",
    "category",
    "type",
    "type_column",
    "reference",
    "account_column",
    "currency_column",
    "payment_method",
    "status",
    "receipt_url",
)
DATE_ORDERS = ("DMY", "MDY", "YMD")
SIGNS = ("as_is", "invert")


def edited_mapping(
    base: dict[str, Any], choices: dict[str, str], sign: str, date_order: str
) -> dict[str, Any]:
    """The preview's mapping with the user's corrections: a field per column (or not used),
    the sign convention and the date order (``dayfirst``)."""
    out = {k: v for k, v in base.items() if k not in COLUMN_FIELDS}
    for column, field in choices.items():
        if field and field != NOT_USED:
            out[field] = column
    out["sign"] = sign
    if date_order == "YMD":
        out.pop("dayfirst", None)
    else:
        out["dayfirst"] = date_order == "DMY"
    return out


def _show_summary(summary: dict[str, Any]) -> None:
    cols = st.columns(6)
    cols[0].metric("Rows read", f"{summary['read']:,}")
    cols[1].metric("Inserted", f"{summary['inserted']:,}")
    cols[2].metric("Duplicates skipped", f"{summary['duplicates']:,}")
    cols[3].metric("Rejected", f"{summary['rejected']:,}")
    cols[4].metric("Summary lines skipped", f"{summary.get('skipped', 0):,}")
    cols[5].metric("Balance breaks", f"{len(summary.get('balance_breaks', [])):,}")
    if summary.get("mapping_source") == "remembered":
        st.info("Read with the mapping remembered for this layout.", icon=":material/history:")
    for warning in summary.get("warnings", []):
        st.warning(warning)
    if summary.get("skipped_rows"):
        st.markdown("**Skipped rows** (balance and total lines, not transactions):")
        st.dataframe(pd.DataFrame(summary["skipped_rows"]), hide_index=True, key="import_skipped")
    if summary.get("rejects"):
        st.markdown("**Rejected rows** (first 20) — fix them in the file and import it again:")
        st.dataframe(pd.DataFrame(summary["rejects"]), hide_index=True, key="import_rejects")


def _import(pending: dict[str, Any], mapping: dict[str, Any] | None) -> bool:
    """Import the pending upload; False (the error shown) when it was refused."""
    done = False
    with errors_shown(f"import of {pending['name']}"), st.spinner(f"Importing {pending['name']}…"):
        summary = get_client().import_file(
            pending["name"],
            pending["content"],
            account=pending["account"],
            file_format=pending["format"],
            mapping=mapping,
        )
        invalidate()
        st.session_state["last_import"] = summary
        st.session_state.pop("import_preview", None)
        done = True
    return done


def _preview(pending: dict[str, Any], mapping: dict[str, Any] | None) -> bool:
    """Preview the pending upload; False (the error shown) when it was refused."""
    done = False
    with errors_shown(f"preview of {pending['name']}"):
        st.session_state["import_preview"] = get_client().preview_import(
            pending["name"],
            pending["content"],
            account=pending["account"],
            file_format=pending["format"],
            mapping=mapping,
        )
        st.session_state["import_pending"] = pending
        st.session_state.pop("last_import", None)
        done = True
    return done


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
        b1, b2 = st.columns(2)
        submitted = b1.form_submit_button("Import", type="primary")
        previewed = b2.form_submit_button(
            "Preview first", help="See how the file is read and correct the mapping"
        )
    if submitted or previewed:
        if upload is None:
            st.warning("Choose a file first.")
        else:
            pending = {
                "name": upload.name,
                "content": upload.getvalue(),
                "account": account.strip() or None,
                "format": file_format,
            }
            if previewed:
                for key in [k for k in st.session_state if str(k).startswith("map_")]:
                    del st.session_state[key]  # a new file: its own columns and choices
                _preview(pending, None)
            else:
                _import(pending, None)
    if "import_preview" in st.session_state and "import_pending" in st.session_state:
        _mapping_editor(st.session_state["import_preview"], st.session_state["import_pending"])
    if "last_import" in st.session_state:
        summary = st.session_state["last_import"]
        st.success(f"Imported {summary['file']} ({summary['format']}).", icon=":material/inbox:")
        _show_summary(summary)


def _mapping_editor(preview: dict[str, Any], pending: dict[str, Any]) -> None:
    """The preview: detected layout, first rows, skipped/rejected rows, and a mapping form."""
    st.markdown(
        f"**Preview of {preview['file']}** ({preview['format']}): {preview['rows']:,} "
        f"transactions, {preview['skipped']:,} summary lines skipped, "
        f"{preview['rejected']:,} rejected. Nothing is stored yet."
    )
    if preview.get("mapping_source") == "remembered":
        st.info("Read with the mapping remembered for this layout.", icon=":material/history:")
    for warning in preview.get("warnings", []):
        st.warning(warning)
    layout = preview.get("layout")
    if layout:
        st.caption(
            f"Sign: {layout['sign']} · date order {layout['date_order']} · decimal separator "
            f"'{layout['decimal']}' · encoding {layout['encoding']}"
        )
        for note in layout.get("notes", []):
            st.info(note)
    st.dataframe(pd.DataFrame(preview["preview"]), hide_index=True, key="import_preview_rows")
    if preview.get("skipped_rows"):
        st.markdown("**Rows that will be skipped**")
        st.dataframe(pd.DataFrame(preview["skipped_rows"]), hide_index=True, key="preview_skipped")
    if preview.get("rejects"):
        st.markdown("**Rows that will be rejected**")
        st.dataframe(pd.DataFrame(preview["rejects"]), hide_index=True, key="preview_rejects")
    mapping: dict[str, Any] | None = None
    if layout and preview.get("mapping") is not None:
        st.markdown("**Correct the mapping** (a field per column, the sign and the date order)")
        options = [NOT_USED, *COLUMN_FIELDS]
        grid = st.columns(3)
        choices: dict[str, str] = {}
        for i, (column, field) in enumerate(layout["columns"].items()):
            choices[column] = grid[i % 3].selectbox(
                column,
                options,
                index=options.index(field) if field in options else 0,
                key=f"map_col_{i}",
            )
        c1, c2 = st.columns(2)
        current_sign = preview["mapping"].get("sign", "as_is")
        sign = c1.selectbox(
            "Sign",
            SIGNS,
            index=SIGNS.index(current_sign) if current_sign in SIGNS else 0,
            key="map_sign",
            help="invert: the file lists money out as positive (card statements)",
        )
        order = layout["date_order"] if layout["date_order"] in DATE_ORDERS else "YMD"
        date_order = c2.selectbox(
            "Date order", DATE_ORDERS, index=DATE_ORDERS.index(order), key="map_date_order"
        )
        mapping = edited_mapping(preview["mapping"], choices, sign, date_order)
    b1, b2 = st.columns(2)
    if b1.button("Preview again with this mapping", key="import_repreview") and _preview(
        pending, mapping
    ):
        st.rerun()
    if b2.button("Import with this mapping", key="import_confirm", type="primary") and _import(
        pending, mapping
    ):
        st.rerun()


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
                "rows_skipped",
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
            fig = go.Figure(
                [
                    go.Bar(
                        x=rows[d.DATE],
                        y=rows["transactions"],
                        name=str(account),
                        marker_color=CATEGORICAL[i % len(CATEGORICAL)],
                    )
                    for i, (account, rows) in enumerate(per_month.groupby(d.ACCOUNT, sort=False))
                ]
            )
            fig.update_layout(
                title="Stored transactions per month and account (gaps show here)",
                barmode="relative",
                xaxis_title="month",
                yaxis_title="transactions",
                legend_title_text=d.ACCOUNT,
            )
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
