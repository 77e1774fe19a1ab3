"""The upload page's preview in Streamlit's AppTest: layout shown, mapping corrected, then
imported with the correction (and nothing stored before)."""

from __future__ import annotations

from pathlib import Path

from tests.dashboard.conftest import no_exceptions, open_page

from titans_finance.config import Settings
from titans_finance.dashboard.app_pages.imports import NOT_USED, edited_mapping
from titans_finance.storage.db import get_engine
from titans_finance.storage.repository import count_transactions, load_transactions

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"


def test_edited_mapping_applies_fields_sign_and_date_order() -> None:
    base = {"date": "Date", "amount": "Amount", "dayfirst": False, "decimal": ".", "sign": "as_is"}
    out = edited_mapping(
        base,
        {"Date": "date", "Amount": "amount", "Memo": "description", "X": NOT_USED},
        "invert",
        "DMY",
    )
    assert out == {
        "decimal": ".",
        "date": "Date",
        "amount": "Amount",
        "description": "Memo",
        "sign": "invert",
        "dayfirst": True,
    }
    assert "dayfirst" not in edited_mapping(base, {}, "as_is", "YMD")


def test_preview_then_import_with_a_corrected_sign(dashboard_env: Settings) -> None:
    engine = get_engine(dashboard_env.database_url)
    before = count_transactions(engine)
    app = open_page("imports")
    content = (FORMATS / "amex_card.csv").read_bytes()
    app.get("file_uploader")[0].set_value(("amex.csv", content, "text/csv"))
    app.button[1].click().run()  # "Preview first"
    no_exceptions(app)
    assert count_transactions(engine) == before  # a preview stores nothing
    captions = " ".join(c.value for c in app.caption)
    assert "card statement" in captions and "MDY" in captions
    assert app.selectbox(key="map_sign").value == "invert"
    assert app.selectbox(key="map_col_1").value == "description"
    app.selectbox(key="map_sign").set_value("as_is").run()
    app.button(key="import_confirm").click().run()
    no_exceptions(app)
    assert count_transactions(engine) == before + 6
    stored = load_transactions(engine)
    uber = stored[stored["Description"] == "UBER TRIP HELP.UBER.COM"]
    assert uber["Amount"].astype(float).tolist() == [23.45]  # as is: positive, as chosen


def test_preview_shows_skipped_summary_lines(dashboard_env: Settings) -> None:
    app = open_page("imports")
    content = (FORMATS / "german_volksbank_sh.csv").read_bytes()
    app.get("file_uploader")[0].set_value(("vb.csv", content, "text/csv"))
    app.button[1].click().run()
    no_exceptions(app)
    text = " ".join(m.value for m in app.markdown)
    assert "2 summary lines skipped" in text and "Rows that will be skipped" in text
