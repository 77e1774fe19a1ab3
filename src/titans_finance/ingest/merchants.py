"""Merchant names from raw bank descriptions, and the normalised description used for fingerprints.

Everything runs as pandas ``.str`` operations on the distinct descriptions, then maps back.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

# Well-known descriptor spellings -> merchant (checked on the upper-cased description).
_ALIASES: tuple[tuple[str, str], ...] = (
    (r"\bAMZN\b|\bAMAZON\b|AMAZON\.COM|AMZ\*|\bAMZ\b", "Amazon"),
    (r"\bNETFLIX\b", "Netflix"),
    (r"\bSPOTIFY\b", "Spotify"),
    (r"\bUBER\s*\*?\s*EATS\b", "Uber Eats"),
    (r"\bUBER\b", "Uber"),
    (r"\bLYFT\b", "Lyft"),
    (r"\bSTARBUCKS\b", "Starbucks"),
    (r"\bMCDONALD'?S\b", "McDonald's"),
    (r"\bWAL-?MART\b|\bWM SUPERCENTER\b", "Walmart"),
    (r"\bAPPLE\.COM\b|\bITUNES\b", "Apple"),
    (r"\bGOOGLE\b", "Google"),
    (r"\bCOSTCO\b", "Costco"),
    (r"\bTARGET\b", "Target"),
    (r"\bSHELL\b", "Shell"),
)

# Payment-processor prefixes: "SQ *BLUE BOTTLE" -> "BLUE BOTTLE".
_PROCESSOR = re.compile(
    r"^(?:SQ|SQUARE|TST|PAYPAL|PP|SP|IZ|IZETTLE|SUMUP|ZETTLE|GOOGLE|CKO|PY|DD|FS|WPY|"
    r"STRIPE|SMP|PAY)\s*\*\s*",
    re.IGNORECASE,
)
_PREFIXES = re.compile(
    r"^(?:(?:POS|DEBIT|CREDIT|CARD|VISA|MASTERCARD|MC|PURCHASE|CHECKCARD|CHECK CARD|"
    r"RECURRING|ONLINE|CONTACTLESS|INTERNATIONAL|INTL|ACH|EFT|DIRECT DEBIT|SEPA|"
    r"LASTSCHRIFT|KARTENZAHLUNG|PAIEMENT|CB|PAGO|TRANSACTION|TXN|PMT|PAYMENT|WITHDRAWAL|"
    r"PREAUTHORIZED|PRE-AUTHORIZED|APPLE PAY|GOOGLE PAY|ECOM)\b[\s:.-]*)+",
    re.IGNORECASE,
)
_NOISE = (
    (r"^fraud_", " "),  # Sparkov's simulator marks every merchant this way
    (r"\((?:EFFEC|EFF)[^)]*\)", " "),
    (r"\bCARD\s*(?:NO\.?|NUMBER|#)?\s*[\dX*]*\b\.?", " "),
    (r"\b(?:X{2,}|\*{2,})\d{2,}\b|\b\d{4,}(?:[\s-]?[X*]{4,})+\d*\b|[X*]{4,}\d{4}", " "),
    (r"\b(?:REF|REFERENCE|TRANS|TRACE|AUTH|ID|NR|NO)[\s.:#]*[A-Z0-9-]*\d[A-Z0-9-]*", " "),
    (r"\b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b", " "),  # dates
    (r"\b\d{1,2}:\d{2}(?::\d{2})?\b", " "),  # times
    (r"#\s*\d+\w*", " "),  # store numbers
    (r"\*\s*[A-Z0-9]{4,}\b", " "),  # reference after an asterisk
    (r"\b[A-Z]*\d[A-Z0-9]{5,}\b", " "),  # reference-like tokens mixing digits and letters
    (r"\b\d+\b", " "),
    (r"(?:https?://)?(?:WWW\.)", " "),
)
_LEGAL = re.compile(
    r"\b(?:\(?PTY\)?|LTD|LIMITED|INC|INCORPORATED|LLC|L\.L\.C|LLP|CORP|CORPORATION|CO|GMBH|"
    r"AG|KG|SARL|SAS|S\.?A\.?S|S\.?A|S\.?L|S\.?R\.?L|S\.?P\.?A|B\.?V|N\.?V|PLC|OY|AB|AS|SPA|"
    r"SRL|SRO|S\.R\.O|A\.S|& CO)\b\.?",
    re.IGNORECASE,
)
# "NORKEM PARK ZA" style trailing locations are guessed only for the cases that are certain:
# a two-letter US state (optionally with a city word before it) or a country code at the end.
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    "NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
_TRAILING_STATE = re.compile(rf"\s+(?:{_US_STATES})(?:\s+USA?)?$")
_TRAILING_COUNTRY = re.compile(r"\s+(?:USA?|ZA|ZAF|GB|GBR|UK|DE|DEU|FR|FRA|NL|NLD|ES|ESP|IT)$")
_TRAILING_DANGLERS = re.compile(r"(?:\s+(?:AND|&|-|/|\.|,|THE|OF))+$")


def _clean_unique(text: pd.Series) -> pd.Series:
    """Merchant names for distinct raw descriptions."""
    raw = text.map(html.unescape, na_action="ignore").fillna("").astype(str)
    # Keep the payee when readers join "payee / memo".
    raw = raw.str.split(" / ", n=1).str[0]
    upper = raw.str.upper().str.replace(r"\s+", " ", regex=True).str.strip()
    cleaned = upper.str.replace(_PREFIXES, "", regex=True)
    cleaned = cleaned.str.replace(_PROCESSOR, "", regex=True)
    cleaned = cleaned.str.replace(_PREFIXES, "", regex=True)
    for pattern, replacement in _NOISE:
        cleaned = cleaned.str.replace(pattern, replacement, regex=True, flags=re.IGNORECASE)
    cleaned = cleaned.str.replace(_LEGAL, " ", regex=True)
    cleaned = cleaned.str.replace(r"[*_|;:\"]+|\(\s*\)", " ", regex=True)
    cleaned = cleaned.str.replace(r"\s+", " ", regex=True).str.strip(" .,-/&'")
    # Words after a legal suffix are usually the branch location ("... (PTY) LTD NORKEM").
    legal_tail = upper.str.extract(
        r"\b(?:\(?PTY\)?\s*LTD|LTD|LIMITED|INC|LLC|GMBH|PLC)\b\.?(.*)$", expand=False
    ).fillna("")
    tail = legal_tail.str.replace(_NOISE[2][0], " ", regex=True).str.strip(" .")
    tail = tail.str.replace(r"\s+", " ", regex=True)
    has_tail = tail.str.len() > 0
    cut = cleaned.where(
        ~has_tail,
        pd.Series(
            [
                c[: -len(t)] if t and c.endswith(t) else c
                for c, t in zip(cleaned, tail, strict=True)
            ],
            index=cleaned.index,
            dtype=object,
        ),
    )
    cleaned = cut.astype(str).str.strip(" .,-/&'")
    cleaned = cleaned.str.replace(_TRAILING_STATE, "", regex=True)
    cleaned = cleaned.str.replace(_TRAILING_COUNTRY, "", regex=True)
    cleaned = cleaned.str.replace(_TRAILING_DANGLERS, "", regex=True).str.strip()
    result = cleaned.str.title().str.replace(r"'S\b", "'s", regex=True)
    for pattern, name in reversed(_ALIASES):  # the first listed alias wins
        hit = upper.str.contains(pattern, regex=True)
        result = result.where(~hit, name)
    # Nothing left (a description of only numbers and noise): fall back to the tidied raw text.
    fallback = raw.str.replace(r"\s+", " ", regex=True).str.strip().str.title()
    result = result.where(result.str.len() > 0, fallback)
    return result.where(result.str.len() > 0, None)


def _map_unique(values: pd.Series, func: object) -> pd.Series:
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    done = func(pd.Series(uniques, dtype=object))  # type: ignore[operator]
    table = np.empty(len(uniques) + 1, dtype=object)
    table[: len(uniques)] = done.tolist()
    table[len(uniques)] = None
    return pd.Series(table[codes], index=values.index, dtype=object)


def normalize_merchants(descriptions: pd.Series) -> pd.Series:
    """Clean merchant names from raw descriptions (object dtype; None where nothing is left).

    Drops card/POS prefixes, payment-processor prefixes (``SQ *``, ``PAYPAL *``), card and store
    numbers, dates, reference codes, legal suffixes and recognisable trailing locations, unescapes
    HTML entities, title-cases, and maps well-known descriptors (``AMZN Mktp`` -> ``Amazon``).
    """
    return _map_unique(descriptions, _clean_unique)


def describe_distinct(text: pd.Series) -> pd.Series:
    """``normalize_descriptions`` on distinct descriptions (missing values become '')."""
    raw = text.map(html.unescape, na_action="ignore").fillna("").astype(str)
    out = raw.str.lower().str.replace(r"\d+", "#", regex=True)
    return out.str.replace(r"\s+", " ", regex=True).str.strip()


def normalize_descriptions(descriptions: pd.Series) -> pd.Series:
    """Descriptions lower-cased, HTML-unescaped, whitespace collapsed and digit runs as ``#``."""
    out = _map_unique(descriptions, describe_distinct)
    return out.fillna("")


__all__ = ["normalize_descriptions", "normalize_merchants"]
