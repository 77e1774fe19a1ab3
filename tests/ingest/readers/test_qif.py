"""QIF reader: registers, date forms, amounts, transfers, rejected records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from titans_finance import domain as d
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers import detect_format
from titans_finance.ingest.readers.qif import read_qif
from titans_finance.ingest.validate import validate_frame


def test_bank_file(golden: Path) -> None:
    result = read_qif(golden / "qif" / "bank.qif")
    frame = result.frame
    assert result.format == "qif"
    assert result.rejects == []
    assert frame[d.DATE].tolist() == [
        date(2024, 1, 2),
        date(2024, 1, 5),  # 1/5'24
        date(2024, 1, 15),  # 1/15/24
        date(2024, 1, 20),
        date(2024, 1, 25),
    ]
    assert frame[d.AMOUNT].tolist() == [
        Decimal("-4.50"),
        Decimal("3200.00"),
        Decimal("-1450.00"),
        Decimal("-500.00"),
        Decimal("-62.10"),  # the split lines do not change the total
    ]
    assert frame[d.TYPE].tolist() == ["Expense", "Income", "Expense", "Transfer", "Expense"]
    assert frame[d.CATEGORY].tolist() == [
        "Dining:Coffee",
        "Salary",
        "Housing:Rent",
        "Transfer",
        "Groceries",
    ]
    assert frame[d.DESCRIPTION].iloc[0] == "STARBUCKS #1234 - Coffee with client"
    assert frame[d.REFERENCE].tolist() == [None, "DEP", "1042", None, None]
    assert frame[d.PAYMENT_METHOD].iloc[2] == "Check"
    assert frame[d.PAYMENT_METHOD].iloc[3] == "Transfer"
    assert set(frame[d.ACCOUNT]) == {"Everyday Checking"}
    assert frame["line"].tolist() == [6, 12, 18, 26, 31]


def test_bad_date_rejected_rest_loads(golden: Path) -> None:
    result = read_qif(golden / "qif" / "bad_date.qif")
    assert len(result.frame) == 4
    assert len(result.rejects) == 1
    reject = result.rejects[0]
    assert reject.line == 18
    assert "13/45/24" in reject.reason
    assert reject.raw.startswith("D13/45/24")


def test_day_first_credit_card(golden: Path) -> None:
    frame = read_qif(golden / "qif" / "ccard_dayfirst.qif", account="Visa").frame
    assert frame[d.DATE].tolist() == [date(2024, 1, 25), date(2024, 2, 3)]
    assert frame[d.AMOUNT].tolist() == [Decimal("-15.99"), Decimal("250.00")]
    assert frame[d.PAYMENT_METHOD].tolist() == ["Card", "Transfer"]
    assert set(frame[d.ACCOUNT]) == {"Visa"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/2/98", date(1998, 1, 2)),
        ("1/ 2'03", date(2003, 1, 2)),
        ("12/31/2023", date(2023, 12, 31)),
        ("2024-03-04", date(2024, 3, 4)),
        ("3.4.2024", date(2024, 3, 4)),
    ],
)
def test_date_forms(tmp_path: Path, text: str, expected: date) -> None:
    path = tmp_path / "one.qif"
    path.write_text(f"!Type:Cash\nD{text}\nT-1,234.56\nPMarket\n^\n")
    frame = read_qif(path).frame
    assert frame[d.DATE].tolist() == [expected]
    assert frame[d.AMOUNT].tolist() == [Decimal("-1234.56")]
    assert frame[d.PAYMENT_METHOD].tolist() == ["Cash"]


def test_bad_amount_and_missing_fields(tmp_path: Path) -> None:
    path = tmp_path / "bad.qif"
    path.write_text("!Type:Bank\nD1/2/24\nTabc\n^\nPNo date\nT1.00\n^\nD1/3/24\nT5\n^\n")
    result = read_qif(path)
    assert len(result.frame) == 1
    assert [(r.line, r.reason) for r in result.rejects] == [
        (2, "amount 'abc' is not a number"),
        (5, "the record has no date (D line)"),
    ]


def test_lists_only_and_not_qif(tmp_path: Path) -> None:
    lists = tmp_path / "cats.qif"
    lists.write_text("!Type:Cat\nNFood\nE\n^\n")
    with pytest.raises(InputFileError, match="no bank, credit-card or cash register"):
        read_qif(lists)
    other = tmp_path / "x.qif"
    other.write_text("Date,Amount\n")
    with pytest.raises(InputFileError, match="not a QIF file"):
        read_qif(other)


def test_autoswitch_account_list_and_named_registers(tmp_path: Path) -> None:
    path = tmp_path / "multi.qif"
    path.write_text(
        "!Option:AutoSwitch\n!Account\nNChecking\nTBank\n^\nNVisa\nTCCard\n^\n!Clear:AutoSwitch\n"
        "!Account\nNChecking\nTBank\n^\n!Type:Bank\nD01/02/2024\nT-10.00\nPShop\n^\n"
        "!Account\nNVisa\nTCCard\n^\n!Type:CCard\nD01/03/2024\nT-20.00\nPCafe\n^\n"
        "!Type:Memorized\nKC\nT-1.00\nPIgnored\n^\n"
    )
    frame = read_qif(path).frame
    assert frame[d.ACCOUNT].tolist() == ["Checking", "Visa"]
    assert frame[d.PAYMENT_METHOD].tolist() == [None, "Card"]
    assert frame[d.DESCRIPTION].tolist() == ["Shop", "Cafe"]


def test_banner_comments_and_blank_lines_before_the_header(tmp_path: Path) -> None:
    path = tmp_path / "banner.qif"
    path.write_text(
        "Exported by Example Bank on 2024-02-01\n# comment\n; another\n\n"
        "!Type:Bank\nD02/01/2024\nT-9.99\nPShop\n^\n"
    )
    assert detect_format(path) == "qif"
    frame = read_qif(path).frame
    assert frame[d.AMOUNT].tolist() == [Decimal("-9.99")]


def test_records_without_payee_fall_back_to_memo_category_or_empty(tmp_path: Path) -> None:
    path = tmp_path / "nopayee.qif"
    path.write_text(
        "!Type:Bank\n"
        "D01/02/2024\nT-1.00\nMcard fee\n^\n"
        "D01/03/2024\nT-2.00\nLBank Charges\n^\n"
        "D01/04/2024\nT-3.00\n^\n"
        "D01/05/2024\nT-4.00\nLHousehold\nSFood\n$-1.50\nSGarden\n$-2.50\n^\n"
        "D01/06/2024\nSFood\n$-1.25\nSGarden\n$-2.75\n^\n"
    )
    result = read_qif(path)
    assert result.rejects == []
    frame = result.frame
    assert frame[d.DESCRIPTION].tolist() == ["card fee", "Bank Charges", "", "Household", ""]
    assert frame[d.AMOUNT].tolist() == [
        Decimal("-1.00"),
        Decimal("-2.00"),
        Decimal("-3.00"),
        Decimal("-4.00"),  # T, not the splits
        Decimal("-4.00"),  # no T: the splits' sum
    ]
    kept, rejects = validate_frame(frame)
    assert rejects == [] and len(kept) == 5
