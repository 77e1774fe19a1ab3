"""Generic delimited-text (CSV) reader: any bank's export with a header row.

Detects the encoding, the delimiter and the header row (skipping preamble lines), recognises
column names in several languages, and parses every value as text: with pyarrow's parser when
each data line is one record (the common case), else record by record so that blank lines,
quoted line breaks and malformed rows keep their physical line numbers. Columns are then
converted on their distinct values with ``titans_finance.ingest.normalize``.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from titans_finance import domain as d
from titans_finance.domain import RejectedRow
from titans_finance.errors import InputFileError
from titans_finance.frame import expand, factorize_text, missing_values
from titans_finance.ingest.mapping import ColumnMapping, coerce_mapping, mapping_document
from titans_finance.ingest.normalize import (
    amount_table,
    arrow_strings,
    date_table,
    infer_decimal_separator,
)
from titans_finance.ingest.readers._common import decode_text_with_encoding
from titans_finance.ingest.readers.base import ReadResult
from titans_finance.ingest.readers.csv_rows import (
    card_column,
    charges_positive,
    continuation_parents,
    date_order,
    summary_kinds,
)

logger = logging.getLogger(__name__)

DELIMITERS = (",", ";", "\t", "|")
_HEADER_SCAN_LINES = 40
# Bounds checked before the table is parsed: a bank export has a few dozen columns, and a
# 1 MB file of 100k columns otherwise costs a gigabyte of parser memory.
MAX_COLUMNS = 200
MAX_CELLS = 50_000_000

# Canonical field -> header spellings (normalised: lower case, no accents, words split on
# punctuation), most specific first. Matching is exact; a second pass accepts a header that
# is a synonym followed by a currency (``Betrag (EUR)``, ``Amount in USD``).
_SYNONYM_TEXT: dict[str, str] = {
    "date": (
        "date|transaction date|trans date|posting date|posted date|booking date|"
        "trans date trans time|transaction time|datetime|timestamp|posted|datum|buchungstag|"
        "buchungsdatum|buchung|date d operation|date operation|date de l operation|"
        "date comptable|fecha|fecha operacion|fecha de operacion|fecha contable|data|"
        "data operazione|data contabile|data movimento|data do movimento|data lancamento|"
        "transactiedatum|boekdatum|datum provedeni|datum zauctovani|datum transakce|"
        "date de valeur|value date|valutadatum|valuta datum|wertstellung|fecha valor|"
        "data valuta|valuta|rentedatum|started date|completed date|date processed|"
        "processed date|date posted|transaction posted date|datum verrichting|datum boeking|"
        "boekingsdatum|uitvoeringsdatum|datum transactie|bokforingsdag|bokforingsdatum|"
        "transaktionsdag|transaktionsdatum|dato|bokfort dato|bogfort|bogforingsdato|"
        "rentedato|paivamaara|kirjauspaiva|maksupaiva|arvopaiva|tapahtumapaiva|datums|"
        "kuupaev|operacijos data|data operacji|data ksiegowania|data transakcji|data waluty|"
        "tranzakcio datuma|konyvelesi datum|konyveles datuma|erteknap|datum splatnosti|"
        "datum zpracovani|fecha de transaccion|data de movimento"
    ),
    "amount": (
        "amount|amt|transaction amount|value|sum|betrag|umsatz|montant|importe|bedrag|"
        "importo|valor|castka|kwota|belopp|beloeb|amount eur|amount usd|net amount|"
        "transaction amount eur|original amount|belob|belop|maara|summa|suma|suma operacji|"
        "kwota operacji|osszeg|tranzakcio osszege|castka v mene uctu|bedrag eur|"
        "buchungsbetrag|umsatz in eur"
    ),
    "debit": (
        "debit|debits|withdrawal|withdrawals|money out|paid out|out|debit amount|soll|"
        "ausgang|belastung|debit euros|debit eur|debe|cargo|cargos|af|uscite|addebiti|dare|"
        "debito|saida|vydej|withdrawal amount|charges|debet|obciazenia|terheles|deebet|uttag|"
        "nosto|vydaj|wyplata|wyplaty|uitgaven|uitgave|ausgaben|depenses|gastos|spese|utgifter|"
        "kiadas"
    ),
    "credit": (
        "credit|credits|deposit|deposits|money in|paid in|in|credit amount|haben|eingang|"
        "gutschrift|credit euros|credit eur|haber|abono|abonos|bij|entrate|accrediti|avere|"
        "credito|entrada|prijem|deposit amount|payments|uznania|jovairas|kreedit|insattning|"
        "pano|wplata|wplaty|inkomsten|inkomst|einnahmen|recettes|ingresos|inkomster|bevetel"
    ),
    "direction": (
        "af bij|debit credit|credit debit|dr cr|cr dr|soll haben|s h|d c|d k|c d|dc|dk|"
        "credit debet|creditdebet|debet credit|cd|credit debit indicator|"
        "debit credit indicator|cr dr indicator|deebet kreedit|obciazenie uznanie"
    ),
    "description": (
        "description|transaction description|details|narrative|memo|text|verwendungszweck|"
        "beschreibung|buchungstext|libelle|libelle operation|libelle de l operation|concepto|"
        "descripcion|omschrijving|mededelingen|descrizione|causale|descricao|historico|popis|"
        "popis transakce|zprava pro prijemce|merchant|merchant name|reference text|"
        "particulars|transaction details|notes|desc|omschrijving 1|omschrijving1|tekst|"
        "forklaring|meddelande|beskrivning|selite|viesti|apraksts|paskirtis|selgitus|opis|"
        "opis operacji|tytul|tytul operacji|kozlemeny|megjegyzes|poznamka|"
        "informace pro prijemce|zprava|verwendungszweck 1|buchungsdetails"
    ),
    "counter_account": (
        "tegenrekening|tegenrekening iban bban|counter account|counterparty account|gegenkonto|"
        "iban gegenkonto|kontonummer gegenkonto|compte contrepartie|rachunek kontrahenta|"
        "cislo protiuctu|protiucet"
    ),
    "payee": (
        "payee|name|payee name|counterparty|counterparty name|"
        "beguenstigter zahlungspflichtiger|begunstigter zahlungspflichtiger|"
        "auftraggeber empfanger|empfanger|empfaenger|auftraggeber|zahlungsempfanger|"
        "naam omschrijving|naam|beneficiaire|tiers|beneficiario|nazev protiuctu|nazev|"
        "destinatario|ordenante|mottagare|avsandare|mottaker|modtager|saaja maksaja|saaja|"
        "maksaja|sanemejs|maksatajs|gavejas|moketojas|gavejas moketojas|saaja maksja|"
        "saaja maksja nimi|odbiorca|nadawca|odbiorca nadawca|kontrahent|partner neve|partner|"
        "ellenoldali nev|protistrana|naam tegenpartij|tegenpartij|counter party"
    ),
    "category": (
        "category|categories|kategorie|categorie|categoria|kategorie|kategoria|kategori|luokka"
    ),
    "type": (
        "transaction type|type|typ|trans type|transaction kind|tipo|tipo de movimiento|"
        "type d operation|buchungsart|umsatzart|mutatiesoort|druh transakce|typ transakce|"
        "rodzaj operacji|typ operacji|tranzakcio tipusa|tehingu tuup"
    ),
    "account": (
        "account|account name|account number|konto|auftragskonto|kontonummer|compte|cuenta|"
        "rekening|rekeningnummer|conto|conta|ucet|cislo uctu|iban"
    ),
    "currency": (
        "currency|ccy|curr|wahrung|waehrung|devise|moneda|divisa|munt|valuta code|moeda|mena|"
        "waluta|penznem|deviza|valiuta"
    ),
    "balance": (
        "balance|running balance|saldo|kontostand|solde|saldo contable|zustatek|balance eur|"
        "available balance|saldo na transactie|saldo po operacji|egyenleg|konyvelt egyenleg|"
        "saldo efter|saldo na"
    ),
    "reference": (
        "reference|ref|reference number|transaction id|transaction reference|trans num|fitid|"
        "id|referenz|reference de l operation|referencia|referentie|kenmerk|riferimento|"
        "variabilni symbol|bank reference|arkistointitunnus|viitenumero|dokumendi number"
    ),
    "payment_method": ("payment method|method|payment type|zahlungsart|mode de paiement"),
    "status": ("status|etat|estado|stato"),
    "receipt_url": ("receipt url|receipt|receipt link"),
    "mcc": (
        "mcc|mcc code|merchant category code|merchant category|merchant code|category code|"
        "iso 18245|branchencode|code mcc|codigo mcc|kod mcc"
    ),
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    field: tuple(text.split("|")) for field, text in _SYNONYM_TEXT.items()
}
_CANONICAL_FOR_FIELD = {
    "date": d.DATE,
    "description": d.DESCRIPTION,
    "category": d.CATEGORY,
    "type": d.TYPE,
    "account": d.ACCOUNT,
    "currency": d.CURRENCY,
    "balance": d.BALANCE,
    "reference": d.REFERENCE,
    "payment_method": d.PAYMENT_METHOD,
    "status": d.STATUS,
    "receipt_url": d.RECEIPT_URL,
    "mcc": d.MCC,
}
_KNOWN = {name: field for field, names in SYNONYMS.items() for name in names}
# Direction values (for an unsigned amount column plus a debit/credit column).
_OUT_WORDS = {
    "debit",
    "dr",
    "d",
    "db",
    "af",
    "s",
    "soll",
    "out",
    "withdrawal",
    "expense",
    "debet",
    "debe",
    "cargo",
    "vydaj",
    "outgoing",
    "payment",
    "purchase",
    "deebet",
    "obciazenie",
    "terheles",
    "belastet",
}
_IN_WORDS = {
    "credit",
    "cr",
    "c",
    "bij",
    "h",
    "haben",
    "in",
    "deposit",
    "income",
    "credito",
    "haber",
    "abono",
    "prijem",
    "incoming",
    "refund",
    "k",
    "kredit",
    "krediet",
    "kreedit",
    "uznanie",
    "jovairas",
}


# Letters NFKD leaves whole, spelled as their languages' keyboards-without-them do.
_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D"}
)


def normalise_header(name: str) -> str:
    """No case, accents or punctuation (``Date d'opération`` -> ``date d operation``)."""
    text = unicodedata.normalize("NFKD", str(name).translate(_UNDECOMPOSED))
    text = text.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


# Compound-word suffixes are tried only for synonyms this long, so "in"/"af" never match inside
# a word ("Buchungsbetrag" -> "betrag", but "Main" is not "in").
_MIN_SUFFIX = 5


def _field_of(header: str) -> str | None:
    """The field a header names: exact synonym, then without a currency or a trailing number
    (``Betrag (EUR)``, ``Omschrijving-1``), then its last word (``Zaúčtovaná částka``), then a
    compound word ending in a synonym (``Buchungsbetrag``). One table, tried in that order.
    """
    key = normalise_header(header)
    if not key:
        return None
    candidates = [key]
    trimmed = re.sub(r"(?: (?:in )?[a-z]{3}| ?\d+)$", "", key)
    candidates.append(trimmed)
    words = trimmed.split()
    if len(words) > 1:
        candidates.append(words[-1])
    for candidate in candidates:
        if candidate in _KNOWN:
            return _KNOWN[candidate]
    joined = trimmed.replace(" ", "")
    for size in range(len(joined) - 1, _MIN_SUFFIX - 1, -1):
        if joined[-size:] in _KNOWN:
            return _KNOWN[joined[-size:]]
    return None


# --------------------------------------------------------------------------- decoding


def _physical_lines(text: str) -> list[str]:
    """Lines split on line ends only (``str.splitlines`` also splits on U+2028, NEL, ...)."""
    return re.split(r"\r?\n", text)


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t\f")
    return controls / len(sample) > 0.01


# --------------------------------------------------------------------------- header and dialect


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return []


def _header_score(cells: list[str], wanted: set[str]) -> float | None:
    """How much a row of cells looks like a header (None: not one). A header names at least
    two known fields or one column the mapping names; preamble rows ("Konto;123456") name at
    most one. ``wanted`` are the mapping's column names, normalised."""
    if len(cells) < 2:
        return None
    known = {f for f in (_field_of(c) for c in cells) if f}
    mapped = sum(1 for c in cells if normalise_header(c) in wanted)
    if len(known) < 2 and not mapped:
        return None
    return len(known) + 3 * mapped + ("date" in known) + bool({"amount", "debit", "credit"} & known)


def _find_header(
    lines: list[str], mapping: ColumnMapping, delimiter: str | None
) -> tuple[int, str]:
    """(index of the header line, delimiter) for the best-scoring line in the first lines."""
    wanted = {normalise_header(c) for c in mapping.columns().values()}
    delimiters = (delimiter,) if delimiter else DELIMITERS
    # The header is the first line naming at least two known fields (or a mapped column);
    # preamble lines ("Konto;123456", "Zeitraum;01.01.-31.01.") name at most one.
    best: tuple[float, int, str] | None = None
    for index, line in enumerate(lines[:_HEADER_SCAN_LINES]):
        if not line.strip():
            continue
        for delim in delimiters:
            if delim not in line and delimiter is None:
                continue
            score = _header_score(_split(line, delim), wanted)
            if score is None:
                continue
            if best is None or score > best[0]:
                best = (score, index, delim)
        if best is not None:
            break
    if best is not None:
        return best[1], best[2]
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    sample = "\n".join(lines[first : first + 20])
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(delimiters)).delimiter
    except csv.Error:
        sniffed = delimiter or ","
    return first, sniffed


def _check_width(lines: list[str], delimiter: str | None, path: Path) -> None:
    """InputFileError when a line near the top has more than MAX_COLUMNS fields (any
    candidate delimiter), before anything is split or parsed."""
    for line in lines:
        for delim in (delimiter,) if delimiter else DELIMITERS:
            if line.count(delim) >= MAX_COLUMNS:
                raise InputFileError(
                    f"{path}: a line near the top has more than {MAX_COLUMNS} "
                    f"{delim!r}-separated fields; a bank export has far fewer columns"
                )


def _without_truncated_tail(
    text: str, header: int, width: int, delimiter: str
) -> tuple[str, list[RejectedRow]]:
    """Cut a last row that stops mid-record (no final line end, fewer fields than the
    header): a truncated download must not load with its missing fields defaulted."""
    if text.endswith(("\n", "\r")):
        return text, []
    cut = text.rfind("\n") + 1
    last = text[cut:]
    line_no = text.count("\n") + 1
    if not last.strip() or line_no <= header + 1:
        return text, []
    fields = len(_split(last, delimiter))
    if fields >= width:
        return text, []
    reason = (
        f"line {line_no}: the file ends mid-row ({fields} of {width} fields); the export looks "
        "truncated: download it again"
    )
    return text[:cut], [RejectedRow(line_no, last, reason)]


def _resolve(columns: list[str], mapping: ColumnMapping) -> dict[str, str]:
    """Canonical field -> source column."""
    resolved: dict[str, str] = {}
    by_norm = {normalise_header(c): c for c in columns}
    explicit = mapping.columns()
    for field, source in explicit.items():
        key = (
            field.removesuffix("_column")
            if field in ("account_column", "currency_column")
            else field
        )
        if field == "type_column":
            key = "direction"
        actual = source if source in columns else by_norm.get(normalise_header(source))
        if actual is None:
            raise InputFileError(
                f"mapping names column '{source}' for {field}, but the file's columns are: "
                + ", ".join(repr(c) for c in columns)
            )
        resolved[key] = actual
    ranked: dict[str, tuple[int, str]] = {}
    for column in columns:
        guess = _field_of(column)
        if guess is None or guess in resolved:
            continue
        names = SYNONYMS[guess]
        norm = normalise_header(column)
        rank = names.index(norm) if norm in names else len(names)
        if guess not in ranked or rank < ranked[guess][0]:
            ranked[guess] = (rank, column)
    for field, (_rank, column) in ranked.items():
        resolved.setdefault(field, column)
    if "amount" in resolved and not (set(explicit) & {"debit", "credit"}):
        # An amount column wins over debit/credit guesses ("Debit" headers on signed exports).
        for field in ("debit", "credit"):
            if field in resolved and field not in explicit:
                del resolved[field]
    if "type" in resolved and "direction" not in resolved:
        resolved["direction"] = resolved["type"]
    return resolved


# --------------------------------------------------------------------------- reading


@dataclass
class _Coded:
    """A text column as codes into its distinct stripped values (cheap on repetitive exports)."""

    codes: np.ndarray
    uniques: pd.Series

    @classmethod
    def of(cls, values: Any) -> _Coded:
        codes, uniques = factorize_text(values)
        return cls(codes, uniques)

    def values(self) -> pd.Series:
        """Per-row stripped strings, None where empty."""
        table = self.uniques.where(self.uniques != "", None).tolist()
        return expand(self.codes, table)

    def text(self, row: int) -> str:
        """The stripped text of one row (for messages)."""
        return str(self.uniques.iloc[self.codes[row]])


class _Table:
    """Parsed text columns, coded on first use, and the physical line of every row."""

    def __init__(
        self,
        columns: list[str],
        source: Any,
        lines: np.ndarray,
        rejects: list[RejectedRow],
    ) -> None:
        self.columns = columns
        self.lines = lines
        self.rejects = rejects
        self._source = source
        self._coded: dict[str, _Coded] = {}

    def __len__(self) -> int:
        return len(self.lines)

    def column(self, name: str) -> _Coded:
        if name not in self._coded:
            if not isinstance(self._source, pd.DataFrame):
                self._coded[name] = _code_arrow(self._source.column(name))
            else:
                self._coded[name] = _Coded.of(self._source[name].to_numpy(dtype=object))
        return self._coded[name]


def _code_arrow(column: Any) -> _Coded:
    combined = column.dictionary_encode().combine_chunks()
    indices = combined.indices.to_numpy(zero_copy_only=False).astype(np.intp)
    # Strip on the distinct values; stripping can merge spellings, so factorize them again.
    stripped = [v.strip() for v in combined.dictionary.to_pylist()]
    remap, uniques = pd.factorize(np.asarray([*stripped, ""], dtype=object))
    return _Coded(remap[indices].astype(np.intp), pd.Series(uniques, dtype=object))


def _unique_names(cells: list[str]) -> list[str]:
    """Header cells as pandas names them: blanks ``Unnamed: i``, repeats ``name.1``."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = cell.strip() or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


_ODD_QUOTES = re.compile(r'^[^"\n]*"(?:[^"\n]*"[^"\n]*")*[^"\n]*$', re.M)


def _read_fast(body: str, header_line: int, delimiter: str) -> _Table | None:
    """pyarrow's multi-threaded parser when every data line is exactly one record; else None."""
    if re.search(r"\n[ \t]*\r?\n(?!\Z)", body):
        return None  # blank lines: the pandas path keeps line numbers right
    if '"' in body and _ODD_QUOTES.search(body):
        return None  # a quoted value spans lines

    first_end = body.find("\n")
    header_text = body if first_end < 0 else body[:first_end]
    cells = _split(header_text.rstrip("\r"), delimiter)
    if len(cells) < 2:
        return None
    names = _unique_names(cells)
    expected = body.count("\n") - (1 if body.endswith("\n") else 0)
    if expected == 0:
        return None
    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=False, ignore_empty_lines=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException:
        return None
    if table.num_rows != expected:
        return None
    lines = np.arange(header_line + 2, header_line + 2 + expected)
    return _Table(names, table, lines, [])


def _read_table(text: str, header: int, delimiter: str, path: Path) -> _Table:
    """The table from the header line on, with the 1-based physical line of every row."""
    offset = 0
    for _ in range(header):
        offset = text.index("\n", offset) + 1
    body = text[offset:]
    fast = _read_fast(body, header, delimiter)
    if fast is not None:
        return fast
    lines = _physical_lines(text)
    frame, numbers, rejects = _frame_and_lines(lines, header, delimiter, path)
    frame.columns = [str(c) for c in frame.columns]
    return _Table(list(frame.columns), frame, numbers, rejects)


def _frame_and_lines(
    lines: list[str], header: int, delimiter: str, path: Path
) -> tuple[pd.DataFrame, np.ndarray, list[RejectedRow]]:
    """pandas' parser from the header on; (strings frame, 1-based line per row, rejects)."""
    body = "\n".join(lines[header:])
    try:
        frame = pd.read_csv(
            io.StringIO(body),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            index_col=False,
            skip_blank_lines=True,
            on_bad_lines="skip",
            engine="c",
        )
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(f"{path}: no header row found") from exc
    except pd.errors.ParserError as exc:
        raise InputFileError(f"{path}: not a readable delimited file: {exc}") from exc
    data_lines = lines[header + 1 :]
    n_lines = len(data_lines)
    blank = sum(1 for line in data_lines if not line.strip())
    if blank == 0 and len(frame) == n_lines:
        numbers = np.arange(header + 2, header + 2 + n_lines)
        return frame, numbers, []
    return _slow_parse(lines, header, delimiter, [str(c) for c in frame.columns])


def _slow_parse(
    lines: list[str], header: int, delimiter: str, columns: list[str]
) -> tuple[pd.DataFrame, np.ndarray, list[RejectedRow]]:
    """Record-by-record parse for files with blank lines, quoted newlines or malformed rows."""
    reader = csv.reader(io.StringIO("\n".join(lines[header + 1 :])), delimiter=delimiter)
    rows: list[list[str]] = []
    numbers: list[int] = []
    rejects: list[RejectedRow] = []
    width = len(columns)
    start = 1
    try:
        for record in reader:
            first_line = start
            start = reader.line_num + 1
            if not record or all(not c.strip() for c in record):
                continue
            line_no = header + 1 + first_line
            if len(record) > width and any(c.strip() for c in record[width:]):
                raw = "\n".join(lines[header + first_line : header + reader.line_num + 1])
                rejects.append(
                    RejectedRow(
                        line_no,
                        raw,
                        f"line {line_no}: {len(record)} fields but the header has {width}",
                    )
                )
                continue
            rows.append((record + [""] * width)[:width])
            numbers.append(line_no)
    except csv.Error as exc:
        line_no = header + 1 + start
        rejects.append(
            RejectedRow(line_no, lines[min(len(lines) - 1, line_no - 1)], f"line {line_no}: {exc}")
        )
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    return frame, np.asarray(numbers, dtype=np.int64), rejects


def _direction_sign(values: _Coded, mapping: ColumnMapping) -> np.ndarray | None:
    """-1/+1/0 per row from a debit/credit indicator column, or None if it is not one."""
    lowered = values.uniques.str.lower()
    out_words = _OUT_WORDS | {v.lower() for v in mapping.debit_values}
    in_words = _IN_WORDS | {v.lower() for v in mapping.credit_values}
    known = lowered.isin(out_words | in_words) | (lowered == "")
    if not bool(known.all()) or not bool((lowered != "").any()):
        return None
    sign = np.where(lowered.isin(out_words), -1, np.where(lowered.isin(in_words), 1, 0))
    signs: np.ndarray = np.asarray(sign)[values.codes]
    return signs


def _negated(table: np.ndarray) -> np.ndarray:
    return np.array([None if v is None else -v for v in table] or [], dtype=object)


def _absolute(table: np.ndarray) -> np.ndarray:
    return np.array([None if v is None else abs(v) for v in table] or [], dtype=object)


def _as_object(values: list[object]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _currency_from_header(header: str | None) -> str | None:
    """``EUR`` from an amount header such as ``Bedrag (EUR)`` or ``Amount in USD``."""
    if header is None:
        return None
    found = re.search(r"(?:\(|\bin\s+|\s)([A-Z]{3})\)?\s*$", header.strip())
    return found.group(1) if found else None


_SIGNED = r"^[-−(]|[-−)]$"


def _has_sign(column: _Coded) -> bool:
    found = arrow_strings(column.uniques).str.contains(_SIGNED, regex=True)
    return bool(found.fillna(False).any())


@dataclass
class _Amounts:
    """Signed amounts as codes into their distinct Decimals (None: not a number)."""

    values: np.ndarray
    codes: np.ndarray

    def rows(self) -> np.ndarray:
        return np.asarray(self.values[self.codes])

    def missing(self) -> np.ndarray:
        return np.asarray(missing_values(self.values)[self.codes])


def _amounts(
    table: _Table, resolved: Mapping[str, str], spec: ColumnMapping
) -> tuple[_Amounts, Callable[[int], str], str, bool]:
    """(signed Decimal amounts, raw text of row i for messages, the sign convention in words,
    whether signs were inverted)."""
    n = len(table)
    invert = spec.sign_setting == "invert"
    if "amount" in resolved:
        column = table.column(resolved["amount"])
        parsed = _as_object(amount_table(column.uniques, decimal=spec.decimal))
        values, codes = parsed, column.codes
        sign: np.ndarray | None = None
        convention = "signed amounts (negative = money out)"
        if "direction" in resolved:
            direction = _direction_sign(table.column(resolved["direction"]), spec)
            if direction is not None and ("type_column" in spec.columns() or not _has_sign(column)):
                sign = direction
                convention = f"unsigned amounts, sign from column {resolved['direction']!r}"
        card = card_column(table.columns) if sign is None and spec.sign_setting is None else None
        if card is not None and charges_positive(
            list(parsed), np.bincount(column.codes, minlength=len(parsed))
        ):
            # Card statements (Amex-like: "Card Member", Sparkov-like: "cc_num") list charges
            # as positive numbers and payments as negative ones.
            invert = True
            convention = f"card statement (column {card!r}): charges are positive, inverted"
        if sign is not None:
            absolute = _absolute(parsed)
            values = np.concatenate([absolute, _negated(absolute)])
            codes = np.where(sign == -1, codes + len(absolute), codes)
        raw_amount: Callable[[int], str] = column.text
    else:
        convention = "separate debit and credit columns"
        empty = _Coded(np.zeros(n, dtype=np.intp), pd.Series([""], dtype=object))
        debit_col = table.column(resolved["debit"]) if "debit" in resolved else empty
        credit_col = table.column(resolved["credit"]) if "credit" in resolved else empty
        debit_t = _absolute(_as_object(amount_table(debit_col.uniques, decimal=spec.decimal)))
        credit_t = _absolute(_as_object(amount_table(credit_col.uniques, decimal=spec.decimal)))
        zero = Decimal(0)
        debit_set = np.array([v is not None and v != zero for v in debit_t], dtype=bool)
        debit_any = np.array([v is not None for v in debit_t], dtype=bool)
        credit_any = np.array([v is not None for v in credit_t], dtype=bool)
        debit_bad = (debit_col.uniques != "").to_numpy() & ~debit_any
        credit_bad = (credit_col.uniques != "").to_numpy() & ~credit_any
        d_codes, c_codes = debit_col.codes, credit_col.codes
        # One table: debits, credits, negated debits, and None for a row with a bad value.
        n_debit, n_credit = len(debit_t), len(credit_t)
        values = np.concatenate([debit_t, credit_t, _negated(debit_t), _as_object([None])])
        codes = np.where(
            debit_set[d_codes],
            n_debit + n_credit + d_codes,
            np.where(credit_any[c_codes], n_debit + c_codes, d_codes),
        )
        codes = np.where(debit_bad[d_codes] | credit_bad[c_codes], len(values) - 1, codes)

        def raw_amount(row: int) -> str:
            return f"{debit_col.text(row)} / {credit_col.text(row)}".strip(" /")

    if invert:
        values = _negated(values)
        if spec.sign_setting == "invert":
            convention += "; inverted by the mapping (sign: invert)"
    return _Amounts(values, codes), raw_amount, convention, invert


# --------------------------------------------------------------------------- content votes

_CONTENT_SAMPLE = 500


def _tidy_dates(values: pd.Series) -> pd.Series:
    """Date spellings the parser does not know, rewritten: Hungarian ``2024.05.02.`` (trailing
    dot) and EXIF-style ``2012:03:01`` (colons)."""
    text = values.astype(str).str.strip()
    text = text.str.replace(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})\.$", r"\1-\2-\3", regex=True)
    return text.str.replace(r"^(\d{4}):(\d{2}):(\d{2})\b", r"\1-\2-\3", regex=True)


def _is_data_row(cells: list[str], spec: ColumnMapping) -> bool:
    """True when a would-be header line is a transaction: no cell names a field, and one cell
    is a date and another an amount (a headerless export)."""
    if len(cells) < 2 or any(_field_of(c) for c in cells):
        return False
    values = pd.Series([c.strip() for c in cells], dtype=object)
    dates = date_table(_tidy_dates(values), dayfirst=spec.dayfirst)
    amounts = amount_table(values, decimal=spec.decimal)
    is_date = [v is not None for v in dates]
    is_amount = [a is not None and not is_date[i] for i, a in enumerate(amounts)]
    return any(is_date) and any(is_amount)


def _read_headerless(text: str, header: int, delimiter: str, width: int, path: Path) -> _Table:
    """The table of a file without a header row: columns ``column_1``..; lines as in the file."""
    names = [f"column_{i + 1}" for i in range(width)]
    offset = 0
    for _ in range(header):
        offset = text.index("\n", offset) + 1
    synthetic = delimiter.join(names) + "\n"
    table = _read_table(text[:offset] + synthetic + text[offset:], header, delimiter, path)
    # The synthetic header shifted every line by one; give rows and rejects their own lines.
    table.lines = table.lines - 1
    table.rejects = [
        RejectedRow(r.line - 1, r.raw, re.sub(r"^line \d+", f"line {r.line - 1}", r.reason))
        for r in table.rejects
    ]
    return table


def _parsed_share(parsed: list[object], uniques: pd.Series) -> float:
    filled = [p for p, u in zip(parsed, uniques, strict=False) if u != ""]
    return sum(p is not None for p in filled) / len(filled) if filled else 0.0


def _running_balance(amount: list[object], balance: list[object]) -> bool:
    """True when ``balance`` moves by ``amount`` row to row (oldest or newest first)."""
    pairs = [
        (a, b)
        for a, b in zip(amount, balance, strict=False)
        if isinstance(a, Decimal) and isinstance(b, Decimal)
    ]
    if len(pairs) < 3:
        return False
    steps = list(itertools.pairwise(pairs))
    forward = sum(1 for (_, b0), (a1, b1) in steps if b0 + a1 == b1)
    backward = sum(1 for (a0, b0), (_, b1) in steps if b1 + a0 == b0)
    return max(forward, backward) >= 0.8 * (len(pairs) - 1)


@dataclass
class _Profile:
    """What one column's values look like (a sample of its first rows)."""

    date_share: float
    amount_share: float
    decimals: bool
    amounts: list[object]
    direction: bool
    distinct: int

    @property
    def is_date(self) -> bool:
        return self.date_share >= 0.8

    @property
    def is_money(self) -> bool:
        return self.amount_share >= 0.9 and not self.date_share >= 0.5


_MAX_DIRECTION_VALUES = 12


def _profiles(table: _Table, spec: ColumnMapping) -> dict[str, _Profile]:
    """Column -> profile of its non-empty sample values; empty columns are left out."""
    out: dict[str, _Profile] = {}
    for name in table.columns:
        coded = table.column(name)
        # The first rows only, looked up through the distinct values (no full expansion).
        sample = pd.Series(
            coded.uniques.to_numpy(dtype=object)[coded.codes[:_CONTENT_SAMPLE]], dtype=object
        )
        uniques = pd.Series(sample.unique(), dtype=object)
        if not (uniques != "").any():
            continue
        date_share = _parsed_share(
            date_table(_tidy_dates(uniques), dayfirst=spec.dayfirst), uniques
        )
        amounts = amount_table(sample, decimal=spec.decimal)
        # A D/C column has a handful of distinct marks; long text columns are not one.
        few = len(coded.uniques) <= _MAX_DIRECTION_VALUES
        out[name] = _Profile(
            date_share=date_share,
            amount_share=_parsed_share(amounts, sample),
            decimals=bool(sample.str.contains(r"[.,]\d", regex=True).any()),
            amounts=amounts,
            direction=few and _direction_sign(coded, spec) is not None,
            distinct=len(uniques),
        )
    return out


def _fields_by_content(profiles: Mapping[str, _Profile]) -> dict[str, str]:
    """Canonical field -> column, voted by what the values look like.

    A date column parses as dates; amounts parse as money (a column that another one's
    values accumulate into is the running balance); a column of D/C words is the direction;
    the text column with the most distinct values is the description.
    """
    numbers: dict[str, list[object]] = {}
    texts: dict[str, int] = {}
    resolved: dict[str, str] = {}
    for name, profile in profiles.items():
        if profile.is_date and "date" not in resolved:
            resolved["date"] = name
        elif profile.is_money and profile.decimals:
            numbers[name] = profile.amounts
        elif "direction" not in resolved and profile.direction:
            resolved["direction"] = name
        elif profile.amount_share < 0.5 and profile.date_share < 0.5:
            texts[name] = profile.distinct
    names = list(numbers)
    for amount_name in names:
        for balance_name in names:
            if amount_name != balance_name and _running_balance(
                numbers[amount_name], numbers[balance_name]
            ):
                resolved.setdefault("amount", amount_name)
                resolved.setdefault("balance", balance_name)
    if names and "amount" not in resolved:
        resolved["amount"] = names[0]
    if texts:
        resolved["description"] = max(texts, key=lambda n: texts[n])
    return resolved


# Field -> (what its values must look like, how to say it). The header vote is checked
# against the content vote with this one table: a field whose column fails its test takes
# the content vote's column for that field, or the mapping is reported ambiguous.
_CONTENT_TESTS: dict[str, tuple[Callable[[_Profile], bool], str]] = {
    "date": (lambda p: p.date_share >= 0.5, "dates"),
    "amount": (lambda p: p.is_money, "amounts"),
    "debit": (lambda p: p.amount_share >= 0.9 and p.date_share < 0.5, "amounts"),
    "credit": (lambda p: p.amount_share >= 0.9 and p.date_share < 0.5, "amounts"),
    "balance": (lambda p: p.is_money, "amounts"),
}


def _cross_check(
    resolved: dict[str, str], profiles: Mapping[str, _Profile], explicit: Collection[str]
) -> list[str]:
    """Correct header-voted fields (in place) whose values say otherwise; notes for the user.

    Explicitly mapped fields are never changed. A column named like an amount whose values
    accumulate into another amount column's is the running balance and the two swap.
    """
    notes: list[str] = []
    content = _fields_by_content(profiles)
    for field, (test, what) in _CONTENT_TESTS.items():
        column = resolved.get(field)
        if column is None or field in explicit or column not in profiles:
            continue
        if test(profiles[column]):
            continue
        if field == "amount":
            # Unsigned debit/credit columns the amount header had outvoted.
            pair = {
                f: c for c in profiles if c != column and (f := _field_of(c)) in ("debit", "credit")
            }
            if pair and all(_CONTENT_TESTS[f][0](profiles[c]) for f, c in pair.items()):
                del resolved["amount"]
                resolved.update(pair)
                notes.append(
                    f"column {column!r} is named like amount but holds no amounts; using "
                    + " and ".join(f"{c!r} as {f}" for f, c in pair.items())
                )
                continue
        other = content.get(field)
        if other is not None and other != column and other not in resolved.values():
            resolved[field] = other
            notes.append(
                f"column {column!r} is named like {field} but holds no {what}; "
                f"{other!r} does and is used"
            )
        else:
            notes.append(
                f"ambiguous: column {column!r} is named like {field} but its values are not "
                f"{what}; check the mapping"
            )
    direction = content.get("direction")
    if (
        "direction" not in resolved
        and direction is not None
        and direction not in resolved.values()
        and _field_of(direction) is None
    ):
        # An unnamed D/C column (Volksbank's last column holds S/H under an empty header).
        resolved["direction"] = direction
        notes.append(f"column {direction!r} holds debit/credit marks and gives the sign")
    amount, balance = resolved.get("amount"), content.get("balance")
    if (
        amount is not None
        and "amount" not in explicit
        and balance == amount
        and content.get("amount") not in (None, amount)
        and content["amount"] not in resolved.values()
    ):
        resolved["amount"] = content["amount"]
        resolved["balance"] = amount
        notes.append(
            f"column {amount!r} is a running balance of {content['amount']!r}: "
            f"{content['amount']!r} is the amount"
        )
    elif amount is not None and resolved.get("balance") and not set(explicit) & {"amount"}:
        bal = resolved["balance"]
        if (
            amount in profiles
            and bal in profiles
            and _running_balance(profiles[bal].amounts, profiles[amount].amounts)
            and not _running_balance(profiles[amount].amounts, profiles[bal].amounts)
        ):
            resolved["amount"], resolved["balance"] = bal, amount
            notes.append(f"columns {amount!r} and {bal!r} swapped: {amount!r} is the balance")
    return notes


@dataclass
class _Head:
    """Where the table starts: its header line (or first data line when headerless)."""

    header: int
    delimiter: str
    cells: list[str]
    headerless: bool
    lines: list[str]


def _locate(text: str, spec: ColumnMapping, path: Path) -> _Head:
    """The header line, delimiter and header cells of a decoded export (InputFileError when
    ``skip_rows`` skips everything or a line is absurdly wide)."""
    head = _physical_lines(text[: 1 << 16])[: _HEADER_SCAN_LINES + spec.skip_rows + 1]
    skip = spec.skip_rows
    if skip >= len(head):
        raise InputFileError(f"{path}: skip_rows={skip} but the file has only {len(head)} lines")
    forced = spec.delimiter
    excel_hint = re.fullmatch(r"(?i)sep=(.)", head[skip].strip("\ufeff \t"))
    if excel_hint:  # Excel's "sep=;" first line
        forced = forced or excel_hint.group(1)
        skip += 1
    _check_width(head[skip:], forced, path)
    header_rel, delimiter = _find_header(head[skip:], spec, forced)
    header = skip + header_rel
    if spec.headerless:
        header = next((i for i in range(skip, len(head)) if head[i].strip()), skip)
        return _Head(header, delimiter, _split(head[header], delimiter), True, head)
    header_cells = _split(head[header], delimiter) if header < len(head) else []
    if not spec.columns() and header < len(head):
        for delim in (delimiter,) if forced else (delimiter, *DELIMITERS):
            candidate = _split(head[header], delim)
            if _is_data_row(candidate, spec):
                return _Head(header, delim, candidate, True, head)
    return _Head(header, delimiter, header_cells, False, head)


def _signature(head: _Head) -> str:
    """A short hash of the layout: normalised header cells (or the width of a headerless file)
    and the delimiter; files of one bank's export share it."""
    import hashlib

    if head.headerless:
        key = f"headerless|{len(head.cells)}|{head.delimiter}"
    else:
        key = head.delimiter + "|" + "|".join(normalise_header(c) for c in head.cells)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def file_signature(path: Path, mapping: Mapping[str, Any] | ColumnMapping | None = None) -> str:
    """The layout signature of a delimited export (its header row's normalised cells), read
    from the first 64 KiB only; InputFileError when the file cannot be read."""
    spec = coerce_mapping(mapping)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(1 << 16)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    text, _encoding = decode_text_with_encoding(raw, spec.encoding, source=path)
    return _signature(_locate(text.replace("\r\n", "\n"), spec, Path(path)))


# Resolved field -> the ColumnMapping key that names its column.
_MAPPING_KEY = {
    "direction": "type_column",
    "account": "account_column",
    "currency": "currency_column",
}


def _row_text(table: _Table, columns: list[str], rows: np.ndarray) -> dict[int, str]:
    """Row -> its non-empty cells of ``columns`` joined by spaces."""
    parts: dict[int, list[str]] = {int(r): [] for r in rows}
    for name in columns:
        coded = table.column(name)
        for r in parts:
            value = coded.text(r)
            if value:
                parts[r].append(value)
    return {r: " ".join(p) for r, p in parts.items()}


def read_delimited(
    path: Path,
    *,
    account: str | None = None,
    mapping: Mapping[str, Any] | ColumnMapping | None = None,
    require_amount: bool = True,
) -> ReadResult:
    """Read a delimited bank export into canonical rows plus rejected rows (format ``csv``).

    Opening/closing balance and total lines are skipped (``ReadResult.skipped``, with the
    reason); a line with text but no date and no amount continues the description of the
    transaction above it. ``account`` (the caller's ``--account``) wins over the file's own
    account column, with a warning when that column names other accounts.

    Raises InputFileError when the file cannot be read at all: empty, binary, undecodable,
    header only, or without a recognisable date or amount column (the message lists the
    columns found and how to map them).  With ``require_amount=False`` a file without an
    amount column is read with every Amount missing (rows whose amount is to be predicted).
    """
    path = Path(path)
    spec = coerce_mapping(mapping)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise InputFileError(f"{path}: the file is empty")
    text, encoding = decode_text_with_encoding(raw, spec.encoding, source=path, strict=True)
    if _looks_binary(text):
        raise InputFileError(f"{path}: looks like a binary file, not a CSV/text export")
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    located = _locate(text, spec, path)
    header, delimiter, headerless = located.header, located.delimiter, located.headerless
    width = len(located.cells)
    cells = width * (text.count("\n") + 1 - header)
    if cells > MAX_CELLS:
        raise InputFileError(
            f"{path}: about {cells:,} cells ({width} columns); at most {MAX_CELLS:,} are read "
            "in one file: split the export"
        )
    text, truncated = _without_truncated_tail(text, header, width, delimiter)
    if headerless:
        table = _read_headerless(text, header, delimiter, width, path)
    else:
        table = _read_table(text, header, delimiter, path)
    result = rows_from_table(
        table,
        spec,
        path=path,
        account=account,
        headerless=headerless,
        text=text,
        extra=truncated,
        require_amount=require_amount,
    )
    assert result.layout is not None
    file_part = _file_layout(located, encoding)
    for key, value in file_part.pop("mapping").items():
        result.layout["mapping"].setdefault(key, value)
    result.layout.update(file_part)
    return result


def _file_layout(head: _Head, encoding: str) -> dict[str, Any]:
    """The file-level part of a delimited export's layout: delimiter, encoding, header line,
    signature, and the mapping keys that reproduce them."""
    mapping: dict[str, Any] = {"delimiter": head.delimiter, "encoding": encoding}
    if head.headerless:
        mapping["headerless"] = True
    return {
        "encoding": encoding,
        "delimiter": head.delimiter,
        "header_line": None if head.headerless else head.header + 1,
        "headerless": head.headerless,
        "signature": _signature(head),
        "mapping": mapping,
    }


def rows_from_table(
    table: _Table,
    spec: ColumnMapping,
    *,
    path: Path,
    account: str | None,
    headerless: bool,
    text: str,
    extra: list[RejectedRow] | None = None,
    require_amount: bool = True,
) -> ReadResult:
    """The one table -> mapping -> rows step of every tabular format (CSV, spreadsheet, PDF):
    columns recognised by header (cross-checked by content) or, when ``headerless``, by
    content; values parsed and signed; summary lines skipped, continuation lines joined, bad
    rows rejected with their line.

    ``text`` gives each row's raw line (its line ``n`` is ``text``'s line ``n``); ``extra`` are
    rejects found before (a truncated last row). The layout it returns has no file-level
    parts (encoding, delimiter): the caller adds them. Raises InputFileError when no date or
    amount column is found or the table has no rows.
    """
    truncated = list(extra or [])
    columns = table.columns
    explicit = spec.columns()
    profiles = _profiles(table, spec) if len(table) else {}
    notes: list[str] = []
    if headerless and not explicit:
        resolved = _fields_by_content(profiles)
    else:
        resolved = _resolve(columns, spec)
        explicit_fields = {_MAPPING_KEY_INV.get(k, k) for k in explicit}
        notes = _cross_check(resolved, profiles, explicit_fields)
    found = ", ".join(repr(c) for c in columns)
    hint = "; map the columns with --mapping FILE (see titans_finance.ingest.mapping)"
    has_amount = bool({"amount", "debit", "credit"} & resolved.keys())
    if "date" not in resolved and not has_amount:
        raise InputFileError(
            f"{path}: no date column and no amount column found (columns: {found}){hint}"
        )
    if "date" not in resolved:
        raise InputFileError(f"{path}: no date column found (columns: {found}){hint}")
    if not has_amount and require_amount:
        raise InputFileError(f"{path}: no amount column found (columns: {found}){hint}")
    if len(table) == 0 and not table.rejects:
        raise InputFileError(f"{path}: only a header row, no transactions")

    n = len(table)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    date_col = table.column(resolved["date"])
    if spec.date_format:
        stamps = pd.to_datetime(date_col.uniques, format=spec.date_format, errors="coerce")
        date_values: list[object] = [None if pd.isna(t) else t.date() for t in stamps]
    else:
        date_values = date_table(_tidy_dates(date_col.uniques), dayfirst=spec.dayfirst)
    date_t = _as_object(date_values)
    dates = date_t[date_col.codes]
    if has_amount:
        signed, raw_amount, convention, inverted = _amounts(table, resolved, spec)
        amount, bad_amount = signed.rows(), signed.missing()
    else:
        amount, raw_amount = np.full(n, None, dtype=object), (lambda _row: "")
        bad_amount = np.zeros(n, dtype=bool)
        convention, inverted = "no amount column (amounts to be predicted)", False

    def text_of(field: str) -> pd.Series | None:
        return table.column(resolved[field]).values() if field in resolved else None

    description = text_of("description")
    payee = text_of("payee")
    if payee is not None:
        if description is None:
            description = payee
        else:
            # "payee / memo": the payee names the merchant, the memo keeps the detail.
            both = payee.notna() & description.notna() & (payee != description)
            joined = payee.where(~both, payee + " / " + description)
            description = joined.where(payee.notna(), description)
    # No transaction is dropped for lacking text: fall back to the other text columns.
    for fallback in _description_fallbacks(columns, resolved):
        values = table.column(fallback).values()
        description = values if description is None else description.fillna(values)

    out[d.DATE] = dates
    out[d.TYPE] = text_of("type")
    out[d.DESCRIPTION] = description
    out[d.AMOUNT] = amount
    for field in ("category", "payment_method", "status", "reference", "receipt_url", "currency"):
        out[_CANONICAL_FOR_FIELD[field]] = text_of(field)
    warnings: list[str] = []
    accounts = text_of("account")
    chosen = account or spec.account
    if chosen and accounts is not None:
        named = sorted({str(v) for v in accounts.dropna().unique()} - {chosen})
        if named:
            shown = ", ".join(repr(v) for v in named[:5]) + (" ..." if len(named) > 5 else "")
            warnings.append(
                f"the file's account column {resolved['account']!r} names {shown}; every row "
                f"is stored in account {chosen!r} as asked (leave out --account to keep the "
                "file's accounts)"
            )
    if chosen:
        out[d.ACCOUNT] = chosen
    elif accounts is not None:
        out[d.ACCOUNT] = accounts.fillna(d.DEFAULT_ACCOUNT)
    else:
        out[d.ACCOUNT] = d.DEFAULT_ACCOUNT
    currency = spec.currency or _currency_from_header(resolved.get("amount"))
    if currency:
        out[d.CURRENCY] = out[d.CURRENCY].fillna(currency)
    if "mcc" in resolved:
        out[d.MCC] = text_of("mcc")
    if "balance" in resolved:
        balance = table.column(resolved["balance"])
        out[d.BALANCE] = _as_object(amount_table(balance.uniques, decimal=spec.decimal))[
            balance.codes
        ]
    out["line"] = table.lines

    bad_date = np.array([v is None for v in date_values], dtype=bool)[date_col.codes]
    no_date = (date_col.uniques == "").to_numpy()[date_col.codes]
    no_amount = np.ones(n, dtype=bool)
    for field in ("amount", "debit", "credit"):
        if field in resolved:
            col = table.column(resolved[field])
            no_amount &= (col.uniques == "").to_numpy()[col.codes]
    money = {resolved[f] for f in ("amount", "debit", "credit", "balance") if f in resolved}
    text_columns = [c for c in columns if c not in money and c != resolved["date"]]
    has_text = np.zeros(n, dtype=bool)
    summary = np.full(n, None, dtype=object)
    for name in [c for c in columns if c not in money]:
        col = table.column(name)
        if name != resolved["date"]:
            has_text |= (col.uniques != "").to_numpy()[col.codes]
        kinds = summary_kinds(col.uniques)
        if any(kinds):
            per_row = _as_object(list(kinds))[col.codes]
            summary = np.where(pd.isna(summary), per_row, summary)
    # A balance line is never a transaction; a total line only when it lacks a date or amount.
    is_summary = (summary == "balance") | ((summary == "total") & (bad_date | bad_amount))
    continuation = no_date & no_amount & has_text & ~is_summary
    parents = continuation_parents(continuation, ~(bad_date | bad_amount | is_summary))
    if parents:
        extras = _row_text(table, text_columns, np.fromiter(parents, dtype=np.intp))
        described = out[d.DESCRIPTION].astype(object).to_numpy()
        for row, parent in parents.items():
            current = described[parent]
            described[parent] = (
                extras[row] if current is None or current != current else f"{current} {extras[row]}"
            )
        out[d.DESCRIPTION] = described
    joined_rows = np.zeros(n, dtype=bool)
    joined_rows[list(parents)] = True
    bad = (bad_date | bad_amount) & ~is_summary & ~joined_rows
    dropped = bad | is_summary | joined_rows
    rejects = list(table.rejects) + truncated
    lines: list[str] | None = None
    if bad.any() or is_summary.any():
        lines = _physical_lines(text)
    skipped: list[RejectedRow] = []
    for i in np.flatnonzero(is_summary):
        row = int(i)
        line_no = int(table.lines[row])
        raw_line = lines[line_no - 1] if lines and line_no <= len(lines) else ""
        label = "balance" if summary[row] == "balance" else "total"
        skipped.append(
            RejectedRow(line_no, raw_line, f"line {line_no}: {label} line, not a transaction")
        )
    if bad.any():
        assert lines is not None
        for i in np.flatnonzero(bad):
            row = int(i)
            line_no = int(table.lines[row])
            if bad_date[row]:
                value = date_col.text(row)
                what = (
                    f"date '{value}' is not a date (expected e.g. 2024-01-31)"
                    if value
                    else "date is missing"
                )
            else:
                value = raw_amount(row)
                what = (
                    f"amount '{value}' is not a number (expected e.g. -12.50)"
                    if value
                    else "amount is missing"
                )
            raw_line = lines[line_no - 1] if line_no <= len(lines) else ""
            rejects.append(RejectedRow(line_no, raw_line, f"line {line_no}: {what}"))
    frame = out.loc[~dropped].reset_index(drop=True) if dropped.any() else out
    rejects.sort(key=lambda r: r.line)
    logger.debug(
        "%s: %d rows, %d rejected, %d skipped", path, len(frame), len(rejects), len(skipped)
    )
    for message in warnings:
        logger.info("%s: %s", path, message)

    def source_rows() -> pd.DataFrame:
        own = pd.DataFrame({name: table.column(name).values() for name in columns})
        own.index = pd.Index(table.lines, name="line")
        return own

    layout = _layout(
        headerless,
        table,
        resolved,
        spec,
        convention=convention,
        inverted=inverted,
        notes=notes,
        joined=len(parents),
    )
    return ReadResult(
        frame=frame,
        rejects=rejects,
        format="csv",
        source_rows=source_rows,
        skipped=skipped,
        warnings=warnings,
        layout=layout,
    )


def grid_header(rows: list[tuple[int, list[str]]], spec: ColumnMapping) -> int | None:
    """Index of the header row among a grid's first rows, as CSV's header detection finds it:
    the first row naming two known fields (or a column the mapping names); None if none."""
    wanted = {normalise_header(c) for c in spec.columns().values()}
    return next(
        (
            index
            for index, (_line, cells) in enumerate(rows[:_HEADER_SCAN_LINES])
            if _header_score(cells, wanted) is not None
        ),
        None,
    )


def header_field(name: str) -> str | None:
    """The field a column header names (``date``, ``amount``, ...), by the synonym table."""
    return _field_of(name)


def is_transaction_row(cells: list[str], spec: ColumnMapping) -> bool:
    """Whether a row of cells is a transaction (a date and an amount, no header words)."""
    return _is_data_row(cells, spec)


def read_grid(
    grid: list[tuple[int, list[str]]],
    *,
    path: Path,
    account: str | None = None,
    mapping: Mapping[str, Any] | ColumnMapping | None = None,
    what: str = "table",
) -> ReadResult:
    """Canonical rows from a grid of text cells (a spreadsheet sheet, a PDF's table rows).

    ``grid`` is ``(line, cells)`` per non-empty source row, ``line`` being what a reject
    reports (the sheet's row number). The header is the first row, within the first rows,
    that names known fields (title rows above it are skipped); a grid whose first row is
    already a transaction maps its columns by content. Then the same column recognition and
    row parsing as CSV (``rows_from_table``). Raises InputFileError when no header and no
    transaction row is found.
    """
    spec = coerce_mapping(mapping)
    rows = grid[spec.skip_rows :]
    header = grid_header(rows, spec)
    headerless = False
    if header is None:
        first = next(
            (
                i
                for i, (_, cells) in enumerate(rows[:_HEADER_SCAN_LINES])
                if _is_data_row(cells, spec)
            ),
            None,
        )
        if first is None or spec.columns():
            found = rows[0][1] if rows else []
            raise InputFileError(
                f"{path}: {what}: no header row naming a date and an amount column, and no "
                f"row that is a transaction (first row: {', '.join(map(repr, found[:12]))}); "
                "map the columns with --mapping FILE (see titans_finance.ingest.mapping)"
            )
        header, headerless = first - 1, True
    width = max(len(cells) for _, cells in rows[header + 1 :] or [(0, [""])])
    if headerless:
        names = [f"column_{i + 1}" for i in range(width)]
    else:
        head = rows[header][1]
        width = max(width, len(head))
        names = _unique_names([*head, *[""] * (width - len(head))])
    body = rows[header + 1 :]
    if not headerless:
        # A header repeated on every page (PDF) or sheet block is not a transaction.
        repeated = [c.strip().lower() for c in rows[header][1]]
        body = [(n, cells) for n, cells in body if [c.strip().lower() for c in cells] != repeated]
    frame = pd.DataFrame(
        [[*cells, *[""] * (width - len(cells))][:width] for _, cells in body],
        columns=names,
        dtype=object,
    )
    lines = np.asarray([line for line, _ in body], dtype=np.int64)
    last = int(grid[-1][0]) if grid else 0
    by_line = dict(grid)
    text = "\n".join(",".join(by_line.get(n, [])) for n in range(1, last + 1))
    table = _Table(names, frame, lines, [])
    return rows_from_table(
        table, spec, path=path, account=account, headerless=headerless, text=text
    )


# Fields recognised (so that no other field claims the column) but not stored.
_UNSTORED = frozenset({"counter_account"})
_MAPPING_KEY_INV = {
    "type_column": "direction",
    "account_column": "account",
    "currency_column": "currency",
}
# Text columns a description falls back to, in order, when the description and payee are
# empty (or missing): a second memo/description column, then reference, category, type.
_FALLBACK_FIELDS = ("description", "payee", "reference", "category", "type")


def _description_fallbacks(columns: list[str], resolved: Mapping[str, str]) -> list[str]:
    """Columns to fill an empty description from: unused description-like columns first
    (a second memo), then the resolved reference, category and type columns."""
    used = set(resolved.values())
    spare = [c for c in columns if c not in used and _field_of(c) in ("description", "payee")]
    chosen = [resolved[f] for f in _FALLBACK_FIELDS[2:] if f in resolved]
    return [*spare, *chosen]


def _layout(
    headerless: bool,
    table: _Table,
    resolved: Mapping[str, str],
    spec: ColumnMapping,
    *,
    convention: str,
    inverted: bool,
    notes: list[str],
    joined: int,
) -> dict[str, Any]:
    """What was detected in the table, for previews, and the mapping that reproduces it."""
    by_column = {column: field for field, column in resolved.items()}
    date_uniques = table.column(resolved["date"]).uniques
    order = date_order(date_uniques, spec.dayfirst)
    amount_column = resolved.get("amount") or resolved.get("debit") or resolved.get("credit")
    decimal = spec.decimal
    if decimal is None and amount_column is not None:
        # A sample of distinct values says it (the parse itself decides per value).
        sample = table.column(amount_column).uniques.head(_CONTENT_SAMPLE)
        decimal = infer_decimal_separator(sample) or "."
    keys = {_MAPPING_KEY.get(f, f): c for f, c in resolved.items() if f not in _UNSTORED}
    if "type" in resolved and resolved.get("direction") == resolved["type"]:
        keys.pop("type_column", None)
    document: dict[str, Any] = {**mapping_document(spec), **keys}
    document.pop("invert_sign", None)
    if spec.sign_setting is None:
        document["sign"] = "invert" if inverted else "as_is"
    if order in ("DMY", "MDY") and spec.dayfirst is None and not spec.date_format:
        document["dayfirst"] = order == "DMY"
    if decimal and "decimal" not in document:
        document["decimal"] = decimal
    if headerless:
        document["headerless"] = True
    return {
        "columns": {
            c: _MAPPING_KEY.get(by_column[c], by_column[c])
            if c in by_column and by_column[c] not in _UNSTORED
            else None
            for c in table.columns
        },
        "sign": convention,
        "date_order": order,
        "decimal": decimal,
        "encoding": None,
        "delimiter": None,
        "header_line": None,
        "headerless": headerless,
        "signature": None,
        "notes": notes,
        "continuation_lines": joined,
        "mapping": document,
    }


__all__ = [
    "DELIMITERS",
    "SYNONYMS",
    "file_signature",
    "grid_header",
    "header_field",
    "is_transaction_row",
    "normalise_header",
    "read_delimited",
    "read_grid",
    "rows_from_table",
]
