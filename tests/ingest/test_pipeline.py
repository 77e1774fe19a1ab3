from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from titans_finance import domain as d
from titans_finance.errors import InputFileError
from titans_finance.export import export_csv
from titans_finance.ingest.pipeline import ingest_file, load_frame
from titans_finance.storage import repository as repo

PIPELINE = Path(__file__).resolve().parents[1] / "data" / "pipeline"


def _state(engine: Engine) -> tuple[int, int]:
    return repo.count_transactions(engine), len(repo.list_imports(engine))


def test_genuine_repeats_kept_bad_rows_rejected_and_reimport_adds_nothing(engine: Engine) -> None:
    path = PIPELINE / "repeats_and_bad_rows.csv"
    first = ingest_file(engine, path)
    assert (first.read, first.inserted, first.duplicates, first.rejected) == (7, 5, 0, 2)
    assert [r.line for r in first.rejects] == [6, 8]
    assert "date" in first.rejects[0].reason.lower()
    assert "amount" in first.rejects[1].reason.lower()
    frame = repo.load_transactions(engine)
    assert (frame[d.DESCRIPTION] == "STARBUCKS #1234").sum() == 2
    assert set(frame[d.MERCHANT]) >= {"Starbucks"}
    stored = repo.list_imports(engine)[0]
    assert stored.rows_rejected == 2 and stored.rejects[0]["line"] == 6
    again = ingest_file(engine, path)
    assert (again.inserted, again.duplicates) == (0, 5)
    assert repo.count_transactions(engine) == 5


def test_overlapping_export_adds_only_new_rows(engine: Engine) -> None:
    ingest_file(engine, PIPELINE / "repeats_and_bad_rows.csv")
    overlap = ingest_file(engine, PIPELINE / "overlap.csv")
    assert (overlap.inserted, overlap.duplicates) == (2, 1)
    exported = export_csv(repo.load_transactions(engine))
    assert "'=HYPERLINK" in exported


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"Date,Description\n2024-01-01,no amount column\n",
        b"\x00\x01\x02\x03binary\xff\xfe" * 50,
        b"<?xml version='1.0'?><Document><BkToCstmrStmt><Stmt>",
        b"OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><BANKMSGSRSV1>",
    ],
    ids=["empty", "no-amount", "binary", "truncated-camt", "truncated-ofx"],
)
def test_unreadable_file_is_refused_and_nothing_is_written(
    engine: Engine, tmp_path: Path, content: bytes
) -> None:
    ingest_file(engine, PIPELINE / "overlap.csv")
    before = _state(engine)
    bad = tmp_path / "bad.dat"
    bad.write_bytes(content)
    with pytest.raises(InputFileError) as info:
        ingest_file(engine, bad)
    assert info.value.message
    assert _state(engine) == before


def test_missing_file_is_refused(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        ingest_file(engine, tmp_path / "nope.csv")


def test_real_personal_transactions(engine: Engine, shared_data: Path) -> None:
    path = shared_data / "personal-transactions" / "personal_transactions.csv"
    summary = ingest_file(engine, path)
    assert (summary.read, summary.inserted, summary.rejected) == (808, 808, 0)
    assert ingest_file(engine, path).inserted == 0
    frame = repo.load_transactions(engine)
    assert set(frame[d.ACCOUNT]) == {"Checking", "Platinum Card", "Silver Card"}
    assert frame[d.CATEGORY].nunique() == 22
    mortgage = frame[frame[d.DESCRIPTION] == "Mortgage Payment"]
    assert (mortgage[d.AMOUNT] < 0).all()


def test_real_berka_sqlite_only(tmp_path: Path, shared_data: Path) -> None:
    from titans_finance.storage.db import create_db_engine, migrate

    engine = create_db_engine(f"sqlite:///{tmp_path / 'b.db'}")
    migrate(engine)
    summary = ingest_file(engine, shared_data / "berka" / "trans.asc")
    assert summary.format == "berka"
    assert summary.inserted == summary.read - summary.rejected
    assert summary.inserted == repo.count_transactions(engine) > 35_000
    assert ingest_file(engine, shared_data / "berka" / "trans.asc").inserted == 0


@pytest.mark.parametrize(
    ("relative", "expected_rows"),
    [("sparkov/fraudTrain.csv", 2001), ("sparkov/fraudTest.csv", 2001)],
)
def test_real_sparkov_files_load_as_frames(
    shared_data: Path, relative: str, expected_rows: int
) -> None:
    frame = load_frame(shared_data / relative)
    assert len(frame) == expected_rows
    assert frame[d.AMOUNT].lt(0).all()


@pytest.mark.parametrize(
    "relative", ["us-merchants/Datas.csv", "ulb-creditcard/creditcard_adjustedl.csv"]
)
def test_real_files_outside_the_transaction_schema_are_refused(
    shared_data: Path, relative: str
) -> None:
    with pytest.raises(InputFileError):
        load_frame(shared_data / relative)


def test_row_without_text_is_stored_with_empty_description(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "no_text.csv"
    path.write_text("Date,Description,Amount\n2024-01-02,,-12.50\n2024-01-03,Coffee,-3.00\n")
    first = ingest_file(engine, path)
    assert (first.inserted, first.rejected) == (2, 0)
    frame = repo.load_transactions(engine)
    assert sorted(frame[d.DESCRIPTION]) == ["", "Coffee"]
    assert ingest_file(engine, path).inserted == 0


def test_ofx_without_fitid_reimport_adds_nothing(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "nofitid.ofx"
    path.write_text(
        "OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR"
        "<BANKACCTFROM><BANKID>1<ACCTID>9<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST>\n"
        "<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240105<TRNAMT>-3.50<NAME>Coffee</STMTTRN>\n"
        "<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240105<TRNAMT>-3.50<NAME>Coffee</STMTTRN>\n"
        "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )
    first = ingest_file(engine, path)
    assert (first.inserted, first.rejected) == (2, 0)  # two coffees the same day are kept
    assert ingest_file(engine, path).inserted == 0


def test_merchant_category_codes_are_stored(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "mcc.csv"
    path.write_text(
        "Date,Description,Amount,MCC\n2024-01-02,KROGER 55,-12.00,5411\n2024-01-03,RENT,-900.00,\n",
        encoding="utf-8",
    )
    ingest_file(engine, path)
    frame = repo.load_transactions(engine).sort_values(d.DATE)
    assert frame[d.MCC].tolist() == ["5411", None]
