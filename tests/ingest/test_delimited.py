from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from titans_finance import domain as d
from titans_finance.errors import InputFileError
from titans_finance.ingest.mapping import ColumnMapping
from titans_finance.ingest.readers.delimited import normalise_header, read_delimited
from titans_finance.ingest.validate import validate_frame

CANONICAL = [
    "Date",
    "Type",
    "Description",
    "Amount",
    "Category",
    "Payment Method",
    "Status",
    "Reference",
    "Receipt URL",
    "Account",
    "Currency",
]


def amounts(path: Path, **kwargs: object) -> list[Decimal]:
    return read_delimited(path, **kwargs).frame["Amount"].tolist()  # type: ignore[arg-type]


# --------------------------------------------------------------------------- golden layouts


@pytest.mark.parametrize(
    ("name", "expected_amounts", "first_date", "first_line"),
    [
        ("german_latin1.csv", ["-4.50", "2500.00", "-1234.56", "-7.90"], dt.date(2024, 1, 2), 5),
        ("utf8_bom.csv", ["-3.80", "1500.00"], dt.date(2024, 1, 5), 2),
        ("utf16_tab.csv", ["-42.10", "5.00"], dt.date(2024, 2, 1), 2),
        ("debit_credit.csv", ["1000.00", "-4.50", "-1020.00", "24.50"], dt.date(2024, 3, 1), 2),
        ("french.csv", ["-12.50", "2100.00", "-1234.56"], dt.date(2024, 2, 5), 2),
        ("dutch_afbij.csv", ["-23.45", "2750.00", "-1100.00"], dt.date(2024, 1, 10), 2),
        ("preamble.csv", ["-40.00", "2000.00", "-150.25"], dt.date(2024, 1, 3), 6),
        (
            "space_thousands.csv",
            ["38624.93", "-1234.50", "-2000.00", "12.50"],
            dt.date(2024, 1, 1),
            2,
        ),
        (
            "personal_style.csv",
            ["-11.11", "-1247.44", "2298.09", "2000.00"],
            dt.date(2018, 1, 1),
            2,
        ),
    ],
)
def test_golden_layouts(
    csv_dir: Path, name: str, expected_amounts: list[str], first_date: dt.date, first_line: int
) -> None:
    result = read_delimited(csv_dir / name)
    assert result.format == "csv"
    assert result.rejects == []
    frame = result.frame
    assert frame["Amount"].tolist() == [Decimal(a) for a in expected_amounts]
    assert all(isinstance(a, Decimal) for a in frame["Amount"])
    assert frame["Date"].iloc[0] == first_date
    assert frame["line"].iloc[0] == first_line
    assert set(CANONICAL) <= set(frame.columns)
    validated, invalid = validate_frame(frame)
    assert invalid == [] and len(validated) == len(frame)


def test_german_latin1_details(csv_dir: Path) -> None:
    frame = read_delimited(csv_dir / "german_latin1.csv").frame
    assert frame["Description"].iloc[0] == "Bäckerei Müller GmbH / Kartenzahlung 01.01"
    assert frame["Description"].iloc[3] == "Kontoführungsgebühr"
    assert frame["Currency"].tolist() == ["EUR"] * 4
    assert frame["Balance"].iloc[-1] == Decimal("2257.54")


def test_dutch_currency_from_header_and_account_column(csv_dir: Path) -> None:
    frame = read_delimited(csv_dir / "dutch_afbij.csv").frame
    assert frame["Currency"].unique().tolist() == ["EUR"]
    assert frame["Account"].unique().tolist() == ["NL01INGB0001234567"]


def test_personal_style_types_and_accounts(csv_dir: Path) -> None:
    frame, _ = validate_frame(read_delimited(csv_dir / "personal_style.csv").frame)
    assert frame["Type"].tolist() == ["Expense", "Expense", "Income", "Income"]
    assert frame["Account"].tolist() == ["Platinum Card", "Checking", "Platinum Card", "Checking"]
    assert frame["Category"].iloc[0] == "Shopping"


def test_mixed_dates(csv_dir: Path) -> None:
    frame = read_delimited(csv_dir / "mixed_dates.csv").frame
    assert frame["Date"].tolist() == [
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 1),
        dt.date(2024, 2, 15),
        dt.date(2024, 2, 3),
        dt.date(2024, 2, 20),
        dt.date(2024, 3, 1),
    ]


def test_malformed_rows_are_rejected_good_rows_load(csv_dir: Path) -> None:
    result = read_delimited(csv_dir / "malformed.csv")
    assert result.frame["Description"].tolist() == ["Good one", "Quoted, with comma", "Good two"]
    assert result.frame["line"].tolist() == [2, 7, 9]
    got = {r.line: r for r in result.rejects}
    assert sorted(got) == [3, 4, 6, 8]
    assert got[3].reason == "line 3: date '31/31/2024' is not a date (expected e.g. 2024-01-31)"
    assert got[3].raw == "31/31/2024,Bad date,-11.00"
    assert "amount 'twelve' is not a number" in got[4].reason
    assert "5 fields but the header has 3" in got[6].reason
    assert got[8].reason == "line 8: amount is missing"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("binary.csv", "binary"),
        ("empty.csv", "empty"),
        ("header_only.csv", "only a header row"),
        ("no_amount.csv", "no amount column found (columns: 'Date', 'Description', 'Category')"),
    ],
)
def test_unreadable_files(csv_dir: Path, name: str, message: str) -> None:
    with pytest.raises(InputFileError) as err:
        read_delimited(csv_dir / name)
    assert message in str(err.value)
    assert name in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read"):
        read_delimited(tmp_path / "missing.csv")


def test_no_date_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Description,Amount\nCoffee,1.00\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no date column found"):
        read_delimited(path)


def test_undecodable_bytes_fall_back_to_a_legacy_encoding(tmp_path: Path) -> None:
    path = tmp_path / "cp1252.csv"
    path.write_bytes(
        "Date;Description;Amount\n2024-01-01;Caf\xe9 \x80 sign;-1,00\n".encode("latin-1")
    )
    frame = read_delimited(path).frame
    assert frame["Description"].iloc[0] == "Café € sign"


# --------------------------------------------------------------------------- header languages


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("Datum;Verwendungszweck;Betrag;Kategorie;Währung", "31.01.2024;Miete;-12,50;Wohnen;EUR"),
        (
            "Buchungstag;Beschreibung;Umsatz;Kategorie;Waehrung",
            "31.01.2024;Miete;-12,50;Wohnen;EUR",
        ),
        ("Date d'opération;Libellé;Montant;Catégorie;Devise", "31/01/2024;Loyer;-12,50;Wohnen;EUR"),
        ("Fecha;Concepto;Importe;Categoría;Moneda", "31/01/2024;Alquiler;-12,50;Wohnen;EUR"),
        ("Datum;Omschrijving;Bedrag;Categorie;Munt", "31-01-2024;Huur;-12,50;Wohnen;EUR"),
        ("Data;Descrizione;Importo;Categoria;Divisa", "31/01/2024;Affitto;-12,50;Wohnen;EUR"),
        ("Data;Descrição;Valor;Categoria;Moeda", "31/01/2024;Aluguel;-12,50;Wohnen;EUR"),
        ("Datum;Popis;Částka;Kategorie;Měna", "31.01.2024;Nájem;-12,50;Wohnen;EUR"),
        ("Date,Description,Amount,Category,Currency", "2024-01-31,Rent,-12.50,Wohnen,EUR"),
    ],
)
def test_header_languages(tmp_path: Path, header: str, row: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    frame = read_delimited(path).frame
    assert frame["Date"].iloc[0] == dt.date(2024, 1, 31)
    assert frame["Amount"].iloc[0] == Decimal("-12.50")
    assert frame["Category"].iloc[0] == "Wohnen"
    assert frame["Currency"].iloc[0] == "EUR"
    assert frame["Description"].iloc[0]


@pytest.mark.parametrize(
    ("header", "row", "expected"),
    [
        ("Fecha;Concepto;Debe;Haber", "31/01/2024;Luz;12,50;", "-12.50"),
        ("Fecha;Concepto;Debe;Haber", "31/01/2024;Nómina;;1.000,00", "1000.00"),
        ("Datum;Text;Soll;Haben", "31.01.2024;Miete;12,50;", "-12.50"),
        ("Date;Libellé;Débit;Crédit", "31/01/2024;Loyer;-12,50;", "-12.50"),
        ("Datum;Omschrijving;Af Bij;Bedrag", "20240131;Huur;Af;12,50", "-12.50"),
        ("Date,Description,Amount,Type", "2024-01-31,Rent,12.50,DR", "-12.50"),
        ("Date,Description,Amount,Type", "2024-01-31,Pay,12.50,CR", "12.50"),
        ("Date,Description,Amount,Type", "2024-01-31,Rent,-12.50,POS", "-12.50"),
    ],
)
def test_amount_modes(tmp_path: Path, header: str, row: str, expected: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    assert amounts(path) == [Decimal(expected)]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Payment Method", "Payment Method"),
        ("Status", "Status"),
        ("Receipt URL", "Receipt URL"),
        ("Reference", "Reference"),
        ("Référence", "Reference"),
        ("Konto", "Account"),
        ("Compte", "Account"),
        ("Cuenta", "Account"),
        ("Saldo", "Balance"),
        ("Solde", "Balance"),
        ("Kontostand", "Balance"),
    ],
)
def test_other_columns(tmp_path: Path, header: str, field: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        f"Date,Description,Amount,{header}\n2024-01-31,Rent,-12.50,7\n", encoding="utf-8"
    )
    value = read_delimited(path).frame[field].iloc[0]
    assert value in ("7", Decimal("7"))


def test_normalise_header() -> None:
    assert normalise_header(" Date d'Opération ") == "date d operation"
    assert normalise_header("Bedrag (EUR)") == "bedrag eur"


# --------------------------------------------------------------------------- arguments


def test_account_argument_and_default(csv_dir: Path) -> None:
    assert read_delimited(csv_dir / "utf8_bom.csv", account="Visa").frame["Account"].tolist() == [
        "Visa",
        "Visa",
    ]
    assert read_delimited(csv_dir / "utf8_bom.csv").frame["Account"].iloc[0] == "default"
    # An explicit account wins over the file's own account column, with a warning naming
    # the accounts it overrides; without one the file's column is kept.
    result = read_delimited(csv_dir / "personal_style.csv", account="Visa")
    assert set(result.frame["Account"]) == {"Visa"}
    assert "'Platinum Card'" in result.warnings[0] and "'Visa'" in result.warnings[0]
    own = read_delimited(csv_dir / "personal_style.csv")
    assert "Platinum Card" in set(own.frame["Account"]) and not own.warnings


def test_mapping_for_unknown_headers(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        "Bank export v2\nWhen|What|Out|In|Who\n2024-31-01|x|12,50||Shop\n2024-02-13|y||3,00|Boss\n",
        encoding="utf-8",
    )
    mapping = {
        "date": "When",
        "description": "Who",
        "debit": "Out",
        "credit": "In",
        "date_format": "%Y-%d-%m",
        "decimal": ",",
        "delimiter": "|",
        "skip_rows": 1,
        "account": "Giro",
        "currency": "EUR",
    }
    result = read_delimited(path, mapping=mapping)
    frame = result.frame
    assert frame["Date"].tolist() == [dt.date(2024, 1, 31)]
    assert frame["Amount"].tolist() == [Decimal("-12.50")]
    assert (frame["Account"].iloc[0], frame["Currency"].iloc[0]) == ("Giro", "EUR")
    assert frame["Description"].iloc[0] == "Shop"
    # Month 13 under %Y-%d-%m: rejected with its physical line number.
    assert [r.line for r in result.rejects] == [4]
    assert "date '2024-02-13' is not a date" in result.rejects[0].reason


def test_mapping_object_invert_sign_and_type_column(tmp_path: Path) -> None:
    path = tmp_path / "sh.csv"
    path.write_text(
        "Tag;Text;Wert;S/H\n01.02.2024;Miete;12,50;S\n02.02.2024;Lohn;100,00;H\n", "utf-8"
    )
    mapping = ColumnMapping(
        date="Tag", description="Text", amount="Wert", type_column="S/H", decimal=","
    )
    assert amounts(path, mapping=mapping) == [Decimal("-12.50"), Decimal("100.00")]
    inverted = mapping.model_copy(update={"invert_sign": True})
    assert amounts(path, mapping=inverted) == [Decimal("12.50"), Decimal("-100.00")]


def test_mapping_naming_a_missing_column(csv_dir: Path) -> None:
    with pytest.raises(InputFileError, match="mapping names column 'Wert'"):
        read_delimited(csv_dir / "utf8_bom.csv", mapping={"amount": "Wert"})


def test_quoted_newlines_keep_physical_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        'Date,Description,Amount\n2024-01-01,"two\nlines",1.00\n2024-01-02,next,bad\n', "utf-8"
    )
    result = read_delimited(path)
    assert result.frame["Description"].iloc[0] == "two\nlines"
    assert result.frame["line"].tolist() == [2]
    assert [r.line for r in result.rejects] == [4]


# --------------------------------------------------------------------------- real data


def test_real_personal_transactions(real_data: Path) -> None:
    result = read_delimited(real_data / "personal-transactions" / "personal_transactions.csv")
    assert len(result.frame) == 808
    assert result.rejects == []
    frame, invalid = validate_frame(result.frame)
    assert invalid == []
    # Sign convention: 'debit' rows are money out (negative), 'credit' rows money in.
    assert (frame.loc[frame["Type"] == "Expense", "Amount"] < 0).all()
    assert (frame.loc[frame["Type"] == "Income", "Amount"] > 0).all()
    assert set(frame["Account"]) == {"Platinum Card", "Checking", "Silver Card"}
    assert frame["Date"].min() == dt.date(2018, 1, 1)
    first = frame.iloc[0]
    assert (first["Description"], first["Amount"], first["Category"]) == (
        "Amazon",
        Decimal("-11.11"),
        "Shopping",
    )


def test_real_sparkov(real_data: Path) -> None:
    result = read_delimited(real_data / "sparkov" / "fraudTrain.csv")
    # SOURCES.md says 2,000 rows; the file holds 2,001 (1,001 legitimate + 1,000 fraud).
    assert len(result.frame) == 2001
    assert result.rejects == []
    frame = result.frame
    assert frame["Date"].iloc[0] == dt.date(2019, 1, 1)
    assert frame["Description"].iloc[0] == "fraud_Rippin, Kub and Mann"
    assert frame["Category"].iloc[0] == "misc_net"
    assert frame["Amount"].iloc[0] == Decimal("-4.97")  # card purchases are money out
    assert frame["Reference"].is_unique


def test_real_us_merchants_refused(real_data: Path) -> None:
    with pytest.raises(InputFileError) as err:
        read_delimited(real_data / "us-merchants" / "Datas.csv")
    message = str(err.value)
    assert "no date column and no amount column" in message
    assert "'Description'" in message and "'Category'" in message


@pytest.mark.parametrize("name", ["personal_style.csv", "dutch_afbij.csv", "german_latin1.csv"])
def test_fast_and_fallback_parsers_agree(csv_dir: Path, tmp_path: Path, name: str) -> None:
    """A trailing blank line inside the table forces the record-by-record path."""
    fast = read_delimited(csv_dir / name)
    raw = (csv_dir / name).read_bytes()
    sep = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.rstrip(sep).split(sep)
    slow_path = tmp_path / name
    slow_path.write_bytes(sep.join([*lines[:-1], b"", lines[-1]]) + sep)
    slow = read_delimited(slow_path)
    assert slow.rejects == fast.rejects == []
    fast_frame = fast.frame.drop(columns="line")
    slow_frame = slow.frame.drop(columns="line")
    assert fast_frame.equals(slow_frame)
    assert slow.frame["line"].iloc[-1] == fast.frame["line"].iloc[-1] + 1


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_other_line_endings(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "crlf.csv"
    rows = [
        "Date;Description;Amount",
        "2024-01-01;A;-1,50",
        "2024-01-02;B;bad",
        "2024-01-03;C;2,00",
    ]
    path.write_bytes(newline.join(rows).encode("utf-8") + newline.encode())
    result = read_delimited(path)
    assert result.frame["Amount"].tolist() == [Decimal("-1.50"), Decimal("2.00")]
    assert result.frame["line"].tolist() == [2, 4]
    assert [(r.line, r.raw) for r in result.rejects] == [(3, "2024-01-02;B;bad")]


def test_currency_decorated_amounts(tmp_path: Path) -> None:
    path = tmp_path / "cur.csv"
    path.write_text(
        'Date,Description,Amount\n2024-01-01,A,"$1,234.50"\n2024-01-02,B,(12.00)\n'
        "2024-01-03,C,USD 7\n2024-01-04,D,5.00 DR\n",
        encoding="utf-8",
    )
    assert amounts(path) == [Decimal("1234.50"), Decimal("-12.00"), Decimal("7"), Decimal("-5.00")]


def test_excel_sep_line_and_unicode_line_separator_in_a_value(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(
        "sep=;\nDate;Description;Amount\n2024-01-01;odd\u2028text;-1,00\n2024-01-02;x;oops\n",
        encoding="utf-8",
    )
    result = read_delimited(path)
    assert result.frame["Description"].tolist() == ["odd\u2028text"]
    assert result.frame["line"].tolist() == [3]
    assert [(r.line, r.raw) for r in result.rejects] == [(4, "2024-01-02;x;oops")]


def test_merchant_category_code_column_is_read_and_normalised(tmp_path: Path) -> None:
    path = tmp_path / "mcc.csv"
    path.write_text(
        "Date,Description,Amount,Merchant Category Code\n"
        "2024-01-02,KROGER 55,-12.00,5411\n"
        "2024-01-03,VET,-40.00,742\n"
        "2024-01-04,SOMETHING,-1.00,n/a\n",
        encoding="utf-8",
    )
    frame, rejects = validate_frame(read_delimited(path).frame)
    assert not rejects
    assert frame[d.MCC].tolist() == ["5411", "0742", None]
