"""MT940/MT942 reader: signs, dates, :86: descriptions, references, balances, refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from titans_finance import domain as d
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers import detect_format, read_file
from titans_finance.ingest.readers.mt94x import read_mt940

FORMATS = Path(__file__).resolve().parents[2] / "data" / "formats"


def _write(tmp_path: Path, body: str, name: str = "s.sta") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def _statement(lines: str, opening: str = "C240102EUR1000,00", closing: str = "") -> str:
    return (
        ":20:REF1\n:25:DE44500105175407324931\n:28C:1/1\n"
        f":60F:{opening}\n{lines}" + (f":62F:{closing}\n" if closing else "") + "-\n"
    )


def test_structured_statement_file() -> None:
    result = read_mt940(FORMATS / "mt940_structured.sta")
    frame = result.frame
    assert result.rejects == [] and result.balance_breaks == []
    assert frame[d.AMOUNT].tolist() == [
        Decimal("-45.90"),
        Decimal("1850.00"),
        Decimal("-12.50"),
        Decimal("-1850.00"),  # RC: a reversed credit takes the money back out
        Decimal("1850.00"),
        Decimal("-80.00"),
    ]
    assert frame[d.DESCRIPTION].iloc[0] == "Stadtwerke Musterstadt GmbH - Strom Februar Abschlag"
    assert frame[d.REFERENCE].tolist()[:2] == ["POS0201A", "SAL0202B"]
    assert set(frame[d.ACCOUNT]) == {"50010517/0123456789"}
    assert set(frame[d.CURRENCY]) == {"EUR"}
    assert frame["line"].tolist() == [5, 9, 11, 19, 21, 23]
    assert frame[d.PAYMENT_METHOD].tolist()[:2] == ["Direct Debit", "Transfer"]
    assert frame[d.CATEGORY].iloc[2] == "Bank Fees"  # NCHG


def test_swift_envelope_and_intermediate_balances() -> None:
    result = read_mt940(FORMATS / "mt940_swift_blocks.940")
    assert len(result.frame) == 4
    assert result.balance_breaks == []
    assert result.frame[d.CURRENCY].tolist() == ["GBP"] * 4
    assert result.frame[d.DESCRIPTION].iloc[1] == "CHEQUE 000123 OFFICE SUPPLIES"


def test_mt942_with_dutch_slash_details() -> None:
    result = read_mt940(FORMATS / "mt942_interim.942")
    assert result.frame[d.DESCRIPTION].tolist() == [
        "J. JANSEN - HUUR MAART",
        "ENERGIE BV - TERMIJN MAART",
    ]
    assert result.frame[d.AMOUNT].tolist() == [Decimal("500.00"), Decimal("-42.10")]


@pytest.mark.parametrize(
    ("mark", "amount"),
    [("C", "12.00"), ("D", "-12.00"), ("RC", "-12.00"), ("RD", "12.00")],
)
def test_debit_credit_marks(tmp_path: Path, mark: str, amount: str) -> None:
    path = _write(tmp_path, _statement(f":61:240103{mark}12,00NTRFNONREF//B1\n:86:x\n"))
    assert read_mt940(path).frame[d.AMOUNT].tolist() == [Decimal(amount)]


def test_entry_date_wins_over_value_date_and_year_boundary(tmp_path: Path) -> None:
    body = _statement(
        ":61:2312310102D5,00NMSCNONREF//B1\n:86:a\n:61:240105C7,00NMSCNONREF//B2\n:86:b\n"
    )
    frame = read_mt940(_write(tmp_path, body)).frame
    assert frame[d.DATE].tolist() == [date(2024, 1, 2), date(2024, 1, 5)]


def test_balance_break_reported(tmp_path: Path) -> None:
    body = _statement(":61:240103D5,00NMSCNONREF//B1\n:86:a\n", closing="C240103EUR999,00")
    result = read_mt940(_write(tmp_path, body))
    assert [(b.expected, b.found) for b in result.balance_breaks] == [("995.00", "999.00")]


def test_no_text_and_shared_references(tmp_path: Path) -> None:
    body = _statement(
        ":61:240103D5,00NMSCNONREF//SAME\n:61:240104D6,00NMSCNONREF//SAME\n"
        ":61:240105D7,00NMSCNONREF\n"
    )
    frame = read_mt940(_write(tmp_path, body)).frame
    assert frame[d.DESCRIPTION].tolist() == ["", "", ""]
    # "SAME" names two different bookings: not a transaction id, so no reference is kept.
    assert frame[d.REFERENCE].tolist() == [None, None, None]


def test_account_argument_wins(tmp_path: Path) -> None:
    path = _write(tmp_path, _statement(":61:240103D5,00NMSCNONREF//B1\n:86:a\n"))
    assert read_file(path, account="Giro").frame[d.ACCOUNT].tolist() == ["Giro"]


@pytest.mark.parametrize("name", ["s.sta", "s.txt", "s.csv", "s"])
def test_sniffed_as_mt940_not_csv_whatever_the_extension(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, _statement(":61:240103D5,00NMSCNONREF//B1\n:86:a;b;c\n"), name)
    assert detect_format(path) == "mt940"


def test_broken_tag_refused_with_format_and_tag_no_mapping_hint(tmp_path: Path) -> None:
    path = _write(tmp_path, _statement(":61:2401XXD5,00NMSC\n:86:a\n"))
    with pytest.raises(InputFileError, match=r"MT940.*:61:.*line 5") as error:
        read_file(path)
    assert "--mapping" not in str(error.value)


def test_statement_without_transactions_reads_empty(tmp_path: Path) -> None:
    path = _write(tmp_path, _statement("", closing="C240102EUR1000,00"))
    result = read_mt940(path)
    assert result.frame.empty and result.balance_breaks == []


def test_not_mt940_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "Date,Amount\n2024-01-01,5\n")
    with pytest.raises(InputFileError, match="not an MT940/MT942 statement"):
        read_mt940(path)
