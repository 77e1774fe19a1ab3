"""ISO 20022 CAMT.053 reader: entries, signs, references, balances, damaged XML."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from titans_finance import domain as d
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers.camt import read_camt


def test_statement(golden: Path) -> None:
    result = read_camt(golden / "camt" / "statement_053.xml")
    frame = result.frame
    assert result.format == "camt"
    assert result.rejects == []
    assert result.balance_breaks == []  # 1000.00 + entries == 2300.30 closing
    assert frame[d.AMOUNT].tolist() == [
        Decimal("3200.00"),
        Decimal("-1450.00"),
        Decimal("-62.10"),
        Decimal("-200.00"),
        Decimal("-187.60"),
    ]
    assert frame[d.TYPE].tolist() == ["Income", *["Expense"] * 4]
    assert frame[d.DATE].tolist() == [
        date(2024, 3, 1),
        date(2024, 3, 2),
        date(2024, 3, 9),  # booking date wins over value date
        date(2024, 3, 15),  # from DtTm
        date(2024, 3, 20),
    ]
    assert frame[d.DESCRIPTION].tolist() == [
        "ACME CORP - Salary March 2024",
        "CITY APARTMENTS - Rent March Flat 4B",
        "WHOLE FOODS MKT 10233",
        "ATM WITHDRAWAL HAUPTBAHNHOF",
        "STADTWERKE ENERGIE - Abschlag Strom 03/2024",
    ]
    assert frame[d.REFERENCE].tolist() == [
        "BANKREF-0001",
        "BANKREF-0002",
        "E2E-CARD-77",
        "BANKREF-0004",
        "BANKREF-0005",
    ]
    assert frame[d.PAYMENT_METHOD].tolist() == [
        "Transfer",
        "Transfer",
        "Card",
        "Cash",
        "Direct Debit",
    ]
    assert set(frame[d.ACCOUNT]) == {"DE89370400440532013000"}
    assert set(frame[d.CURRENCY]) == {"EUR"}
    assert set(frame[d.STATUS]) == {"posted"}
    assert frame["line"].tolist() == [27, 41, 55, 67, 76]


def test_closing_balance_mismatch_reported(golden: Path) -> None:
    result = read_camt(golden / "camt" / "balance_break_053.xml")
    assert len(result.frame) == 5
    assert [(b.expected, b.found) for b in result.balance_breaks] == [("2300.30", "2400.30")]


def test_bad_entry_rejected_rest_loads(golden: Path) -> None:
    result = read_camt(golden / "camt" / "bad_entry_053.xml", account="Girokonto")
    assert len(result.frame) == 4
    assert [(r.line, r.reason) for r in result.rejects] == [(55, "amount 'sixty' is not a number")]
    assert set(result.frame[d.ACCOUNT]) == {"Girokonto"}


def test_truncated_xml(golden: Path) -> None:
    with pytest.raises(InputFileError, match="truncated"):
        read_camt(golden / "camt" / "truncated_053.xml")


def test_other_versions_and_containers(tmp_path: Path) -> None:
    path = tmp_path / "camt052.xml"
    path.write_text(
        '<?xml version="1.0"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"><BkToCstmrAcctRpt>'
        "<Rpt><Acct><Id><Othr><Id>ACC-9</Id></Othr></Id></Acct>"
        '<Ntry><Amt Ccy="CHF">10.5</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        "<Sts><Cd>PDNG</Cd></Sts><ValDt><Dt>2024-05-06</Dt></ValDt>"
        "<NtryRef>R-1</NtryRef><AddtlNtryInf>Kiosk</AddtlNtryInf></Ntry>"
        "</Rpt></BkToCstmrAcctRpt></Document>"
    )
    frame = read_camt(path).frame
    row = frame.iloc[0]
    assert (row[d.AMOUNT], row[d.DATE], row[d.STATUS]) == (
        Decimal("-10.5"),
        date(2024, 5, 6),
        "pending",
    )
    assert (row[d.ACCOUNT], row[d.CURRENCY], row[d.REFERENCE]) == ("ACC-9", "CHF", "R-1")
    assert row[d.DESCRIPTION] == "Kiosk"


def test_not_camt_and_dtd_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text("<root><a>1</a></root>")
    with pytest.raises(InputFileError, match="not a CAMT statement"):
        read_camt(other)
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(InputFileError, match="DTD"):
        read_camt(bomb)
