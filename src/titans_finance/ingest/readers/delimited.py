"""Generic delimited-text (CSV) reader: any bank's export with a header row.

Detects the encoding, the delimiter and the header row (skipping preamble lines), recognises
column names in several languages, parses every value as a string with pandas' C parser and
converts the columns with the vectorised parsers of ``titans_finance.ingest.normalize``.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from charset_normalizer import from_bytes

from titans_finance import domain as d
from titans_finance.errors import InputFileError
from titans_finance.ingest.mapping import ColumnMapping, coerce_mapping
from titans_finance.ingest.normalize import parse_amounts, parse_dates
from titans_finance.ingest.readers.base import ReadResult, RejectedRow

logger = logging.getLogger(__name__)

DELIMITERS = (",", ";", "\t", "|")
_HEADER_SCAN_LINES = 40

# Canonical field -> header spellings (normalised: lower case, no accents, words split on
# punctuation), most specific first. Matching is exact; a second pass accepts a header that
# is a synonym followed by a currency (``Betrag (EUR)``, ``Amount in USD``).
_SYNONYM_TEXT: dict[str, str] = {
    "date": (
        "date|transaction date|trans date|posting date|posted date|booking date|"
        "trans date trans time|transaction time|datetime|timestamp|posted|datum|"
        "buchungstag|buchungsdatum|buchung|date d operation|date operation|"
        "date de l operation|date comptable|fecha|fecha operacion|fecha de operacion|"
        "fecha contable|data|data operazione|data contabile|data movimento|"
        "data do movimento|data lancamento|transactiedatum|boekdatum|datum provedeni|"
        "datum zauctovani|datum transakce|date de valeur|value date|valutadatum|"
        "valuta datum|wertstellung|fecha valor|data valuta|valuta|rentedatum"
    ),
    "amount": (
        "amount|amt|transaction amount|value|sum|betrag|umsatz|montant|importe|bedrag|"
        "importo|valor|castka|kwota|belopp|beloeb|amount eur|amount usd|net amount"
    ),
    "debit": (
        "debit|debits|withdrawal|withdrawals|money out|paid out|out|debit amount|soll|"
        "ausgang|belastung|debit euros|debit eur|debe|cargo|cargos|af|uscite|addebiti|"
        "dare|debito|saida|vydej|withdrawal amount"
    ),
    "credit": (
        "credit|credits|deposit|deposits|money in|paid in|in|credit amount|haben|eingang|"
        "gutschrift|credit euros|credit eur|haber|abono|abonos|bij|entrate|accrediti|"
        "avere|credito|entrada|prijem|deposit amount"
    ),
    "direction": ("af bij|debit credit|credit debit|dr cr|cr dr|soll haben|s h"),
    "description": (
        "description|transaction description|details|narrative|memo|text|verwendungszweck|"
        "beschreibung|buchungstext|libelle|libelle operation|libelle de l operation|"
        "concepto|descripcion|omschrijving|mededelingen|descrizione|causale|descricao|"
        "historico|popis|popis transakce|zprava pro prijemce|merchant|merchant name|"
        "reference text|particulars|transaction details|notes"
    ),
    "payee": (
        "payee|name|payee name|counterparty|counterparty name|"
        "beguenstigter zahlungspflichtiger|begunstigter zahlungspflichtiger|"
        "auftraggeber empfanger|empfanger|empfaenger|auftraggeber|zahlungsempfanger|"
        "naam omschrijving|naam|beneficiaire|tiers|beneficiario|nazev protiuctu|nazev|"
        "destinatario|ordenante"
    ),
    "category": ("category|categories|kategorie|categorie|categoria|kategorie"),
    "type": (
        "transaction type|type|typ|trans type|transaction kind|tipo|tipo de movimiento|"
        "type d operation|buchungsart|umsatzart|mutatiesoort|druh transakce|typ transakce"
    ),
    "account": (
        "account|account name|account number|konto|auftragskonto|kontonummer|compte|"
        "cuenta|rekening|rekeningnummer|conto|conta|ucet|cislo uctu|iban"
    ),
    "currency": (
        "currency|ccy|curr|wahrung|waehrung|devise|moneda|divisa|munt|valuta code|moeda|mena"
    ),
    "balance": (
        "balance|running balance|saldo|kontostand|solde|saldo contable|zustatek|"
        "balance eur|available balance|saldo na transactie"
    ),
    "reference": (
        "reference|ref|reference number|transaction id|transaction reference|trans num|"
        "fitid|id|referenz|reference de l operation|referencia|referentie|kenmerk|"
        "riferimento|variabilni symbol|bank reference"
    ),
    "payment_method": ("payment method|method|payment type|zahlungsart|mode de paiement"),
    "status": ("status|etat|estado|stato"),
    "receipt_url": ("receipt url|receipt|receipt link"),
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
}


def normalise_header(name: str) -> str:
    """No case, accents or punctuation (``Date d'opération`` -> ``date d operation``)."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _field_of(header: str) -> str | None:
    key = normalise_header(header)
    if key in _KNOWN:
        return _KNOWN[key]
    # "Betrag (EUR)", "Amount in USD", "Saldo EUR": a known name followed by a currency.
    head = re.sub(r" (?:in )?[a-z]{3}$", "", key)
    if head != key and head in _KNOWN:
        return _KNOWN[head]
    return None


# --------------------------------------------------------------------------- decoding


def _decode(raw: bytes, path: Path, encoding: str | None) -> str:
    if encoding:
        try:
            return raw.decode(encoding).lstrip("\ufeff")
        except (LookupError, UnicodeDecodeError) as exc:
            raise InputFileError(f"{path}: cannot decode as {encoding}: {exc}") from exc
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16").lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{path}: has a UTF-16 mark but is not valid UTF-16") from exc
    if b"\x00" in raw[:4096]:
        raise InputFileError(
            f"{path}: looks like a binary file, not a CSV/text export (it contains NUL bytes)"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw[: 1 << 20]).best()
    if best is None:
        raise InputFileError(
            f"{path}: cannot detect the text encoding; it may not be a CSV file "
            '(give the encoding in a mapping file: encoding = "cp1252")'
        )
    name = best.encoding
    # latin-1 and cp1252 differ only in 0x80-0x9f; cp1252 is what banks actually write.
    if name in ("latin_1", "iso8859_1", "ascii"):
        name = "cp1252"
    try:
        return raw.decode(name)
    except UnicodeDecodeError:
        return raw.decode("latin-1")


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
            cells = _split(line, delim)
            if len(cells) < 2:
                continue
            known = {f for f in (_field_of(c) for c in cells) if f}
            mapped = sum(1 for c in cells if normalise_header(c) in wanted)
            if len(known) < 2 and not mapped:
                continue
            score = (
                len(known)
                + 3 * mapped
                + ("date" in known)
                + bool({"amount", "debit", "credit"} & known)
            )
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


def _frame_and_lines(
    text: str, lines: list[str], header: int, delimiter: str, path: Path
) -> tuple[pd.DataFrame, np.ndarray, list[RejectedRow]]:
    """Parse the table from the header line on; (strings frame, 1-based line per row, rejects)."""
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
    blank = sum(1 for _ in re.finditer(r"^[ \t]*$", "\n".join(data_lines), re.M)) if n_lines else 0
    if blank == 0 and len(frame) == n_lines:
        numbers = np.arange(header + 2, header + 2 + n_lines)
        return frame, numbers, []
    return _slow_parse(lines, header, delimiter, list(frame.columns))


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


def _col(frame: pd.DataFrame, resolved: Mapping[str, str], field: str) -> pd.Series | None:
    name = resolved.get(field)
    if name is None:
        return None
    return frame[name].astype(str).str.strip()


def _direction_sign(values: pd.Series, mapping: ColumnMapping) -> pd.Series | None:
    """-1/+1/NaN per row from a debit/credit indicator column, or None if it is not one."""
    lowered = values.str.lower().str.strip()
    out_words = _OUT_WORDS | {v.lower() for v in mapping.debit_values}
    in_words = _IN_WORDS | {v.lower() for v in mapping.credit_values}
    known = lowered.isin(out_words | in_words) | (lowered == "")
    if not bool(known.all()) or not bool((lowered != "").any()):
        return None
    return pd.Series(
        np.where(lowered.isin(out_words), -1.0, np.where(lowered.isin(in_words), 1.0, np.nan)),
        index=values.index,
    )


def _negate(values: pd.Series, mask: pd.Series) -> pd.Series:
    out = values.copy()
    idx = mask & out.notna()
    if idx.any():
        out[idx] = [-v for v in out[idx].tolist()]
    return out


def _abs(values: pd.Series) -> pd.Series:
    return values.map(abs, na_action="ignore")


def read_delimited(
    path: Path,
    *,
    account: str | None = None,
    mapping: Mapping[str, Any] | ColumnMapping | None = None,
) -> ReadResult:
    """Read a delimited bank export into canonical rows plus rejected rows (format ``csv``).

    Raises InputFileError when the file cannot be read at all: empty, binary, undecodable,
    header only, or without a recognisable date or amount column (the message lists the
    columns found and how to map them).
    """
    path = Path(path)
    spec = coerce_mapping(mapping)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise InputFileError(f"{path}: the file is empty")
    text = _decode(raw, path, spec.encoding)
    if _looks_binary(text):
        raise InputFileError(f"{path}: looks like a binary file, not a CSV/text export")
    lines = text.splitlines()
    skip = spec.skip_rows
    if skip >= len(lines):
        raise InputFileError(f"{path}: skip_rows={skip} but the file has only {len(lines)} lines")
    header_rel, delimiter = _find_header(lines[skip:], spec, spec.delimiter)
    header = skip + header_rel
    table, line_numbers, rejects = _frame_and_lines(text, lines, header, delimiter, path)
    columns = [str(c) for c in table.columns]
    resolved = _resolve(columns, spec)
    found = ", ".join(repr(c) for c in columns)
    hint = "; map the columns with --mapping FILE (see titans_finance.ingest.mapping)"
    if "date" not in resolved and not ({"amount", "debit", "credit"} & resolved.keys()):
        raise InputFileError(
            f"{path}: no date column and no amount column found (columns: {found}){hint}"
        )
    if "date" not in resolved:
        raise InputFileError(f"{path}: no date column found (columns: {found}){hint}")
    if not ({"amount", "debit", "credit"} & resolved.keys()):
        raise InputFileError(f"{path}: no amount column found (columns: {found}){hint}")
    if len(table) == 0 and not rejects:
        raise InputFileError(f"{path}: only a header row, no transactions")

    n = len(table)
    index = pd.RangeIndex(n)
    table.index = index
    out = pd.DataFrame(index=index)

    raw_dates = _col(table, resolved, "date")
    assert raw_dates is not None
    if spec.date_format:
        stamps = pd.to_datetime(raw_dates, format=spec.date_format, errors="coerce")
        dates = pd.Series(None, index=index, dtype=object)
        ok = stamps.notna()
        dates[ok] = stamps[ok].dt.date
    else:
        dates = parse_dates(raw_dates, dayfirst=spec.dayfirst)

    amount, raw_amount = _amounts(table, resolved, spec, index)
    description = _col(table, resolved, "description")
    payee = _col(table, resolved, "payee")
    if payee is not None:
        if description is None:
            description = payee
        else:
            # "payee / memo": the payee names the merchant, the memo keeps the detail.
            plain = description.eq("") | description.eq(payee)
            joined = payee.where(plain, payee + " / " + description)
            description = joined.where(payee != "", description)

    out[d.DATE] = dates
    out[d.TYPE] = _col(table, resolved, "type") if "type" in resolved else None
    out[d.DESCRIPTION] = description if description is not None else None
    out[d.AMOUNT] = amount
    for field in ("category", "payment_method", "status", "reference", "receipt_url", "currency"):
        values = _col(table, resolved, field)
        out[_CANONICAL_FOR_FIELD[field]] = (
            values.where(values != "", None) if values is not None else None
        )
    accounts = _col(table, resolved, "account")
    default_account = spec.account or account or d.DEFAULT_ACCOUNT
    out[d.ACCOUNT] = (
        accounts.where(accounts != "", default_account) if accounts is not None else default_account
    )
    currency = spec.currency or _currency_from_header(resolved.get("amount"))
    if currency:
        out[d.CURRENCY] = out[d.CURRENCY].fillna(currency)
    if "balance" in resolved:
        balance_text = _col(table, resolved, "balance")
        assert balance_text is not None
        out[d.BALANCE] = parse_amounts(balance_text, decimal=spec.decimal)
    out["line"] = line_numbers

    bad_date = dates.isna()
    bad_amount = amount.isna()
    bad = bad_date | bad_amount
    if bad.any():
        for i in np.flatnonzero(bad.to_numpy()):
            line_no = int(line_numbers[i])
            if bad_date.iloc[i]:
                value = raw_dates.iloc[i]
                reason = (
                    f"line {line_no}: date '{value}' is not a date (expected e.g. 2024-01-31)"
                    if value
                    else f"line {line_no}: date is missing"
                )
            else:
                value = raw_amount.iloc[i]
                reason = (
                    f"line {line_no}: amount '{value}' is not a number (expected e.g. -12.50)"
                    if value
                    else f"line {line_no}: amount is missing"
                )
            rejects.append(
                RejectedRow(line_no, lines[line_no - 1] if line_no <= len(lines) else "", reason)
            )
    frame = out.loc[~bad].reset_index(drop=True)
    rejects.sort(key=lambda r: r.line)
    logger.debug("%s: %d rows, %d rejected", path, len(frame), len(rejects))
    return ReadResult(frame=frame, rejects=rejects, format="csv")


def _currency_from_header(header: str | None) -> str | None:
    """``EUR`` from an amount header such as ``Bedrag (EUR)`` or ``Amount in USD``."""
    if header is None:
        return None
    found = re.search(r"(?:\(|\bin\s+|\s)([A-Z]{3})\)?\s*$", header.strip())
    return found.group(1) if found else None


_CARD_COLUMNS = {"cc num", "card number", "card no", "cc number", "pan"}


def _is_card_purchase_list(table: pd.DataFrame) -> bool:
    return any(normalise_header(str(c)) in _CARD_COLUMNS for c in table.columns)


def _amounts(
    table: pd.DataFrame, resolved: Mapping[str, str], spec: ColumnMapping, index: pd.Index
) -> tuple[pd.Series, pd.Series]:
    """(signed Decimal amounts, raw text shown in reasons)."""
    amount_text = _col(table, resolved, "amount")
    if amount_text is not None:
        amount = parse_amounts(amount_text, decimal=spec.decimal)
        raw = amount_text
        direction_col = _col(table, resolved, "direction")
        if direction_col is not None:
            sign = _direction_sign(direction_col, spec)
            unsigned = not bool(amount_text.str.contains(r"^\s*[-−(]|[-−)]\s*$", regex=True).any())
            if sign is not None and (unsigned or "type_column" in spec.columns()):
                amount = _negate(_abs(amount), sign == -1)
        elif _is_card_purchase_list(table):
            # Card-transaction logs (Sparkov-like: cc_num, merchant, amt) list purchases unsigned.
            unsigned = not bool(amount_text.str.contains(r"^\s*[-−(]|[-−)]\s*$", regex=True).any())
            if unsigned:
                amount = _negate(amount, pd.Series(True, index=index))
    else:
        debit_text = _col(table, resolved, "debit")
        credit_text = _col(table, resolved, "credit")
        empty = pd.Series("", index=index, dtype=object)
        debit_text = debit_text if debit_text is not None else empty
        credit_text = credit_text if credit_text is not None else empty
        debit = _abs(parse_amounts(debit_text, decimal=spec.decimal))
        credit = _abs(parse_amounts(credit_text, decimal=spec.decimal))
        zero = Decimal(0)
        nonzero = debit.map(lambda v: v != zero, na_action="ignore")
        has_debit = nonzero.astype(object).where(nonzero.notna(), False).astype(bool)
        amount = credit.where(~has_debit, None)
        amount = amount.where(amount.notna() | ~has_debit, _negate(debit, has_debit))
        amount = amount.where(amount.notna() | has_debit | credit.isna(), credit)
        # Only a zero debit and nothing else: an amount of zero.
        amount = amount.where(amount.notna(), debit.where(debit.notna(), None))
        # A filled cell that did not parse must not be hidden by an empty neighbour.
        bad_text = ((debit_text != "") & debit.isna()) | ((credit_text != "") & credit.isna())
        amount = amount.where(~bad_text, None)
        raw = (debit_text + " / " + credit_text).str.strip(" /")
    if spec.invert_sign:
        amount = _negate(amount, pd.Series(True, index=index))
    return amount.astype(object), raw


__all__ = ["DELIMITERS", "SYNONYMS", "normalise_header", "read_delimited"]
