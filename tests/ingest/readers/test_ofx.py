"""OFX 1.x SGML, OFX 2.x XML and QFX reader, including bank quirks and damaged files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from titans_finance import domain as d
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers.ofx import read_ofx


def test_sgml_bank_statement(golden: Path) -> None:
    result = read_ofx(golden / "ofx" / "bank_v1.ofx")
    frame = result.frame
    assert result.format == "ofx"
    assert result.rejects == []
    assert frame[d.REFERENCE].tolist() == [
        "2024010301",
        "2024010502",
        "2024011003",
        "2024011504",
        "2024012005",
        "2024013106",
    ]
    assert frame[d.AMOUNT].tolist() == [
        Decimal("-4.50"),
        Decimal("3200.00"),
        Decimal("-60.00"),
        Decimal("-1450.00"),
        Decimal("-500.00"),
        Decimal("-12.00"),
    ]
    assert frame[d.PAYMENT_METHOD].tolist() == [
        "Card",
        "Direct Deposit",
        "Cash",
        "Check",
        "Transfer",
        None,
    ]
    assert frame[d.TYPE].tolist() == ["Expense", "Income", *["Expense"] * 4]
    assert frame[d.DESCRIPTION].iloc[0] == "STARBUCKS #1234 - POS PURCHASE"
    assert frame[d.CATEGORY].iloc[5] == "Bank Fees"
    assert set(frame[d.ACCOUNT]) == {"000123456789"}
    assert set(frame[d.CURRENCY]) == {"USD"}
    # the bank's local posting date, not shifted to UTC
    assert frame[d.DATE].iloc[0] == date(2024, 1, 3)
    assert frame["line"].tolist() == [39, 47, 54, 62, 70, 77]


def test_xml_credit_card_and_bank_statements(golden: Path) -> None:
    frame = read_ofx(golden / "ofx" / "creditcard_v2.ofx").frame
    assert len(frame) == 4
    assert frame[d.ACCOUNT].tolist() == ["4111XXXXXXXX1111"] * 3 + ["FR7630003000"]
    assert set(frame[d.CURRENCY]) == {"EUR"}
    assert frame[d.PAYMENT_METHOD].tolist()[:2] == ["Card", "Card"]
    assert frame[d.DESCRIPTION].iloc[1] == "NETFLIX.COM - Subscription & streaming"
    assert frame[d.AMOUNT].iloc[2] == Decimal("250.00")
    assert frame[d.TYPE].iloc[2] == "Income"
    assert frame[d.CATEGORY].iloc[3] == "Interest"
    assert frame[d.DATE].tolist()[0] == date(2024, 2, 2)


def test_qfx_single_line_sgml(golden: Path) -> None:
    frame = read_ofx(golden / "ofx" / "statement.qfx").frame
    assert frame[d.REFERENCE].tolist() == ["Q1", "Q2", "Q3"]
    # MEMO repeating NAME is not appended twice; &amp; is unescaped
    assert frame[d.DESCRIPTION].tolist()[:2] == [
        "SHELL OIL 5744",
        "CITY POWER & LIGHT - ACCT 99812",
    ]
    assert frame[d.PAYMENT_METHOD].iloc[1] == "Direct Debit"
    assert frame["line"].tolist() == [13, 14, 15]


def test_quirks_lowercase_no_header_disorder(golden: Path) -> None:
    result = read_ofx(golden / "ofx" / "quirks_lowercase_noheader.ofx")
    assert result.rejects == []
    frame = result.frame
    assert frame[d.AMOUNT].tolist() == [Decimal("-3.20"), Decimal("-1250.00")]
    assert frame[d.DESCRIPTION].iloc[0] == "PRET A MANGER - CONTACTLESS"
    assert frame[d.PAYMENT_METHOD].tolist() == ["Card", "Standing Order"]
    assert set(frame[d.CURRENCY]) == {"GBP"}


def test_account_argument_overrides_acctid(golden: Path) -> None:
    frame = read_ofx(golden / "ofx" / "bank_v1.ofx", account="Checking").frame
    assert set(frame[d.ACCOUNT]) == {"Checking"}


def test_bad_transactions_rejected_rest_loads(golden: Path) -> None:
    result = read_ofx(golden / "ofx" / "bad_transactions.ofx")
    assert len(result.frame) == 4
    assert [(r.line, r.reason) for r in result.rejects] == [
        (54, "posting date '2024-13-45' is not an OFX date (YYYYMMDD[HHMMSS])"),
        (62, "amount 'twelve' is not a number"),
    ]
    assert "<FITID>2024011003</FITID>" in result.rejects[0].raw


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("truncated.ofx", "truncated"),
        ("no_root.ofx", "no <OFX> element"),
    ],
)
def test_unreadable_files(golden: Path, name: str, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        read_ofx(golden / "ofx" / name)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.ofx"
    path.write_bytes(b"\r\n")
    with pytest.raises(InputFileError, match="empty"):
        read_ofx(path)


def test_comments_empty_elements_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "comments.ofx"
    path.write_text(
        "<OFX>\n<!-- exported\nby a bank -->\n<BANKMSGSRSV1><STMTTRNRS><STMTRS>\n"
        "<CURDEF>CAD<BANKACCTFROM><BANKID>1<ACCTID>77<ACCTTYPE>SAVINGS</BANKACCTFROM>\n"
        "<BANKTRANLIST><MKTGINFO/>\n"
        "<STMTTRN><TRNTYPE>credit<DTPOSTED>20240601<TRNAMT>1.00<FITID>A</STMTTRN>\n"
        "<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240602<TRNAMT>-2.00</STMTTRN>\n"
        "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )
    result = read_ofx(path)
    assert result.frame["line"].tolist() == [7, 8]
    assert result.frame[d.TYPE].tolist() == ["Income", "Expense"]
    assert result.frame[d.DESCRIPTION].tolist() == ["", ""]  # no NAME/MEMO/PAYEE: empty
    assert result.frame[d.REFERENCE].tolist() == ["A", None]  # no FITID: no reference
    assert result.rejects == []


def _one_transaction(tmp_path: Path, inner: str) -> Path:
    path = tmp_path / "one.ofx"
    path.write_text(
        "OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR"
        "<BANKACCTFROM><BANKID>1<ACCTID>9<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST>\n"
        f"<STMTTRN>{inner}</STMTTRN>\n"
        "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )
    return path


@pytest.mark.parametrize(
    ("inner", "description"),
    [
        ("<NAME>SHOP<MEMO>CARD 12", "SHOP - CARD 12"),
        ("<MEMO>ONLY MEMO", "ONLY MEMO"),
        ("<PAYEE><NAME>PAYEE NAME<ADDR1>1 Road<CITY>X<STATE>Y<POSTALCODE>1</PAYEE>", "PAYEE NAME"),
        ("", ""),
    ],
    ids=["name+memo", "memo", "payee", "none"],
)
def test_description_falls_back_name_memo_payee_empty(
    tmp_path: Path, inner: str, description: str
) -> None:
    path = _one_transaction(
        tmp_path, f"<TRNTYPE>DEBIT<DTPOSTED>20240105<TRNAMT>-3.50<FITID>F1{inner}"
    )
    result = read_ofx(path)
    assert result.rejects == []
    assert result.frame[d.DESCRIPTION].tolist() == [description]


def test_no_fitid_and_unknown_type_still_load(tmp_path: Path) -> None:
    path = _one_transaction(tmp_path, "<TRNTYPE>CARD<DTPOSTED>20240105<TRNAMT>-3.50<NAME>X")
    result = read_ofx(path)
    assert result.rejects == []
    row = result.frame.iloc[0]
    assert (row[d.AMOUNT], row[d.REFERENCE], row[d.TYPE]) == (Decimal("-3.50"), None, "Expense")


def test_investment_only_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "invest.ofx"
    path.write_text(
        "<OFX><INVSTMTMSGSRSV1><INVSTMTTRNRS><INVSTMTRS><CURDEF>USD</INVSTMTRS>"
        "</INVSTMTTRNRS></INVSTMTMSGSRSV1></OFX>"
    )
    with pytest.raises(InputFileError, match="investment statements are not supported"):
        read_ofx(path)


def test_balance_counted_back_from_ledger_balance(golden: Path) -> None:
    frame = read_ofx(golden / "ofx" / "bank_v1.ofx").frame
    # LEDGERBAL 2173.50 as of 2024-01-31 is the balance after the last transaction
    assert frame[d.BALANCE].tolist() == [
        Decimal("995.50"),
        Decimal("4195.50"),
        Decimal("4135.50"),
        Decimal("2685.50"),
        Decimal("2185.50"),
        Decimal("2173.50"),
    ]


def test_no_balance_when_a_transaction_was_rejected(golden: Path) -> None:
    result = read_ofx(golden / "ofx" / "bad_transactions.ofx")
    assert result.rejects
    assert d.BALANCE not in result.frame


def test_no_balance_when_ledger_is_older_than_transactions(tmp_path: Path, golden: Path) -> None:
    text = (golden / "ofx" / "bank_v1.ofx").read_text(encoding="latin-1")
    stale = tmp_path / "stale.ofx"
    stale.write_text(text.replace("<DTASOF>20240131", "<DTASOF>20240115"), encoding="latin-1")
    assert d.BALANCE not in read_ofx(stale).frame
