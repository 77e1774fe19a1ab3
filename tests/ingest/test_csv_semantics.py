"""CSV semantics end to end: header and content votes, signs, summary and continuation lines,
description fallbacks, the layout a preview shows, and mappings remembered per layout."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from titans_finance import domain as d
from titans_finance.ingest.mapping import coerce_mapping, dump_mapping, load_mapping
from titans_finance.ingest.pipeline import ingest_file
from titans_finance.ingest.preview import preview_file
from titans_finance.ingest.readers.delimited import file_signature, read_delimited
from titans_finance.storage import repository as repo

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"


def _write(tmp_path: Path, text: str, name: str = "x.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_amount_header_over_dates_gives_way_to_the_values(tmp_path: Path) -> None:
    # "Amount" holds the booking dates; the content vote finds the real amounts.
    path = _write(
        tmp_path,
        "Posted,Amount,Memo,Sum\n2024-01-02,2024-01-02,Coffee,-3.50\n"
        "2024-01-03,2024-01-03,Salary,1000.00\n2024-01-04,2024-01-04,Rent,-700.00\n",
    )
    result = read_delimited(path)
    assert result.frame[d.AMOUNT].tolist() == [
        Decimal("-3.50"),
        Decimal("1000.00"),
        Decimal("-700.00"),
    ]
    assert any("'Amount'" in note for note in result.layout["notes"])


def test_a_running_balance_named_amount_swaps_with_the_real_amount(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Date;Text;Amount;Saldo\n"
        "01.02.2024;Start;100,00;-5,00\n02.02.2024;Shop;95,00;-5,00\n"
        "03.02.2024;Pay;1095,00;1000,00\n04.02.2024;Rent;395,00;-700,00\n",
    )
    result = read_delimited(path)
    assert result.frame[d.AMOUNT].tolist()[1:] == [
        Decimal("-5.00"),
        Decimal("1000.00"),
        Decimal("-700.00"),
    ]
    assert any("swapped" in note for note in result.layout["notes"])


def test_explicit_mapping_is_never_overruled_by_content(tmp_path: Path) -> None:
    path = _write(tmp_path, "Date,Note,Value\n2024-01-02,x,2024-01-02\n2024-01-03,y,2024-01-03\n")
    result = read_delimited(path, mapping={"date": "Date", "amount": "Value"})
    assert result.frame.empty and result.layout["notes"] == []
    assert all("is not a number" in r.reason for r in result.rejects)


@pytest.mark.parametrize(
    ("header", "out", "into"),
    [
        ("Soll;Haben", "12,50;", ";100,00"),
        ("Af;Bij", "12,50;", ";100,00"),
        ("Uitgaven;Inkomsten", "12,50;", ";100,00"),
        ("Wypłata;Wpłata", "12,50;", ";100,00"),
        ("Ausgang;Eingang", "12,50;", ";100,00"),
        ("Debit;Credit", "12,50;", ";100,00"),
    ],
)
def test_debit_and_credit_columns_in_real_spellings(
    tmp_path: Path, header: str, out: str, into: str
) -> None:
    path = _write(
        tmp_path, f"Datum;Text;{header}\n01.02.2024;Miete;{out}\n02.02.2024;Lohn;{into}\n"
    )
    result = read_delimited(path)
    assert result.frame[d.AMOUNT].tolist() == [Decimal("-12.50"), Decimal("100.00")]
    assert result.layout["sign"] == "separate debit and credit columns"


@pytest.mark.parametrize(
    ("header", "debit", "credit"),
    [
        ("D/C", "D", "C"),
        ("D/K", "D", "K"),
        ("S/H", "S", "H"),
        ("Af Bij", "Af", "Bij"),
        ("CreditDebet", "Debet", "Credit"),
        ("Soll/Haben", "Soll", "Haben"),
    ],
)
def test_indicator_columns(tmp_path: Path, header: str, debit: str, credit: str) -> None:
    path = _write(
        tmp_path,
        f"Datum;Text;Betrag;{header}\n01.02.2024;Miete;12,50;{debit}\n02.02.2024;Lohn;100,00;{credit}\n",
    )
    result = read_delimited(path)
    assert result.frame[d.AMOUNT].tolist() == [Decimal("-12.50"), Decimal("100.00")]
    assert "sign from column" in result.layout["sign"]


def test_card_statement_sign_and_the_mapping_setting(tmp_path: Path) -> None:
    path = FORMATS / "amex_card.csv"
    auto = read_delimited(path)
    assert auto.layout["mapping"]["sign"] == "invert"
    assert auto.frame[d.AMOUNT].iloc[0] == Decimal("-23.45")
    as_is = read_delimited(path, mapping={"sign": "as_is"})
    assert as_is.frame[d.AMOUNT].iloc[0] == Decimal("23.45")
    chase = read_delimited(FORMATS / "chase_card.csv")
    assert chase.layout["mapping"]["sign"] == "as_is"  # charges already negative
    inverted = read_delimited(FORMATS / "chase_card.csv", mapping={"sign": "invert"})
    assert inverted.frame[d.AMOUNT].iloc[0] == Decimal("6.45")


def test_summary_lines_are_skipped_with_reasons_and_a_merchant_called_total_is_kept(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path,
        "Date,Description,Amount,Balance\n"
        "2024-03-01,Opening balance,,100.00\n"
        "2024-03-02,TOTAL 1234 PARIS,-40.00,60.00\n"
        "2024-03-03,Saldo,60.00,60.00\n"
        ",Total,-40.00,\n",
    )
    result = read_delimited(path)
    assert result.frame[d.DESCRIPTION].tolist() == ["TOTAL 1234 PARIS"]
    assert [(r.line, r.reason) for r in result.skipped] == [
        (2, "line 2: balance line, not a transaction"),
        (4, "line 4: balance line, not a transaction"),
        (5, "line 5: total line, not a transaction"),
    ]
    assert result.rejects == []


def test_continuation_lines_join_and_descriptions_fall_back(tmp_path: Path) -> None:
    path = FORMATS / "polish_continuation.csv"
    result = read_delimited(path)
    described = result.frame[d.DESCRIPTION].tolist()
    assert described[0].endswith("WYNAGRODZENIE ZA LUTY")
    assert described[3] == "Przelewy"  # no description: the category
    assert result.layout["continuation_lines"] == 2
    memo = _write(
        tmp_path,
        "Date,Description,Memo,Amount\n2024-01-02,,Bus ticket,-2.00\n2024-01-03,,,-1.00\n",
    )
    frame = read_delimited(memo).frame
    assert frame[d.DESCRIPTION].tolist()[0] == "Bus ticket"
    assert len(frame) == 2  # a row with a date and an amount is never dropped for lacking text


def test_layout_mapping_round_trips_through_a_mapping_file(tmp_path: Path) -> None:
    for name in ("german_volksbank_sh.csv", "headerless_balance.csv", "uk_value_column.csv"):
        first = read_delimited(FORMATS / name)
        written = dump_mapping(coerce_mapping(first.layout["mapping"]), tmp_path / f"{name}.yaml")
        again = read_delimited(FORMATS / name, mapping=load_mapping(written))
        assert again.frame[d.AMOUNT].tolist() == first.frame[d.AMOUNT].tolist(), name
        assert len(again.skipped) == len(first.skipped)


def test_file_signature_is_the_layout_not_the_rows(tmp_path: Path) -> None:
    a = _write(tmp_path, "Date,Description,Amount\n2024-01-02,x,1.00\n", "a.csv")
    b = _write(tmp_path, "date;description;amount\n2024-02-02;y;2,00\n", "b.csv")
    c = _write(tmp_path, "DATE,Description,AMOUNT\n2024-03-02,z,3.00\n", "c.csv")
    assert file_signature(a) == file_signature(c) != file_signature(b)


def test_preview_stores_nothing_and_a_given_mapping_is_remembered(
    engine: Engine, tmp_path: Path
) -> None:
    path = FORMATS / "amex_card.csv"
    preview = preview_file(path, engine=engine, account="Amex")
    assert (preview.rows, preview.mapping_source) == (6, None)
    assert repo.count_transactions(engine) == 0
    mapping = {**preview.mapping, "sign": "as_is"}
    summary = ingest_file(engine, path, account="Amex", mapping=mapping)
    assert (summary.inserted, summary.mapping_source) == (6, "given")
    later = _write(
        tmp_path,
        "Date,Description,Card Member,Account #,Amount\n04/02/2024,UBER,J SMITH,-41005,9.99\n",
    )
    remembered = ingest_file(engine, later, account="Amex")
    assert remembered.mapping_source == "remembered"
    stored = repo.load_transactions(engine)
    assert float(stored.loc[stored[d.DESCRIPTION] == "UBER", d.AMOUNT].iloc[0]) == 9.99
    # Another account has no remembered mapping of its own but falls back to none: the
    # mapping was saved for "Amex" only.
    other = preview_file(later, engine=engine, account="Other")
    assert other.mapping_source is None


def test_corpus_reimport_adds_nothing(engine: Engine) -> None:
    for name in ("german_volksbank_sh.csv", "polish_continuation.csv", "uk_value_column.csv"):
        first = ingest_file(engine, FORMATS / name, account="bench")
        again = ingest_file(engine, FORMATS / name, account="bench")
        assert first.skipped == again.skipped > 0
        assert again.inserted == 0 and again.duplicates == first.inserted
    imports = repo.list_imports(engine)
    assert {i.rows_skipped for i in imports} == {2, 1}
