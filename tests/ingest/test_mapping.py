from __future__ import annotations

from pathlib import Path

import pytest

from titans_finance.errors import InputFileError
from titans_finance.ingest.mapping import ColumnMapping, coerce_mapping, load_mapping

TOML = """
date = "Buchung"
description = "Text"
amount = "Umsatz"
decimal = ","
delimiter = ";"
encoding = "cp1252"
skip_rows = 2
account = "Giro"
currency = "eur"
invert_sign = true
"""

YAML = """
date: Booked
debit: Out
credit: In
type_column: Direction
debit_values: [S]
credit_values: [H]
delimiter: "\\t"
"""


def test_load_toml(tmp_path: Path) -> None:
    path = tmp_path / "bank.toml"
    path.write_text(TOML, encoding="utf-8")
    mapping = load_mapping(path)
    assert mapping.columns() == {"date": "Buchung", "description": "Text", "amount": "Umsatz"}
    assert (mapping.decimal, mapping.delimiter, mapping.skip_rows) == (",", ";", 2)
    assert (mapping.account, mapping.currency, mapping.invert_sign) == ("Giro", "EUR", True)


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_load_yaml(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"bank{suffix}"
    path.write_text(YAML, encoding="utf-8")
    mapping = load_mapping(path)
    assert mapping.debit == "Out" and mapping.credit == "In"
    assert mapping.delimiter == "\t"
    assert mapping.debit_values == ["S"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.toml", "date = ", "not valid TOML/YAML"),
        ("bad.yaml", "date: [unclosed", "not valid TOML/YAML"),
        ("list.yaml", "- a\n- b\n", "key = value pairs"),
        ("unknown.toml", 'colour = "red"', "colour"),
        ("both.toml", 'amount = "A"\ndebit = "D"', "either 'amount' or 'debit'/'credit'"),
        ("delim.toml", 'delimiter = ";;"', "single character"),
        ("currency.toml", 'currency = "EURO"', "3-letter"),
        ("skip.toml", "skip_rows = -1", "skip_rows"),
        ("decimal.toml", 'decimal = ";"', "decimal"),
    ],
)
def test_bad_mapping_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        InputFileError, match=r"bad|list|unknown|both|delim|currency|skip|decimal"
    ) as err:
        load_mapping(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        load_mapping(tmp_path / "nope.toml")


def test_empty_yaml_is_an_empty_mapping(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_mapping(path) == ColumnMapping()


def test_coerce_mapping() -> None:
    assert coerce_mapping(None) == ColumnMapping()
    assert coerce_mapping({"amount": "Betrag"}).amount == "Betrag"
    same = ColumnMapping(date="D")
    assert coerce_mapping(same) is same
    with pytest.raises(InputFileError, match="invalid column mapping"):
        coerce_mapping({"skip_rows": "many"})
