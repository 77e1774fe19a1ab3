"""Cold start: a default taxonomy from the brand database, keywords and well-known names.

Used before the user has labelled any history (``titans predict category --cold-start``).
A row whose file carried a merchant category code (:mod:`models.mcc`) takes its code's
taxonomy category (5411 -> Groceries); otherwise a descriptor naming a brand of the packaged
brand database (:mod:`models.brands`, OSM
name-suggestion-index) takes the taxonomy category of the brand's OSM tag (Sheetz ->
``amenity=fuel`` -> Fuel), unless it mentions a money-movement keyword (payroll, transfer,
fee...: :data:`FINANCIAL_CATEGORIES`); otherwise the first taxonomy category whose keywords it
mentions.
Confidences are deliberately capped low (LOW level), every row is marked
``source="cold_start"`` and says why in ``explanation``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from titans_finance import domain as d
from titans_finance.features.text import clean_descriptors
from titans_finance.frame import amount_column, per_distinct, text_column
from titans_finance.models.mcc import mcc_category, mcc_column, mcc_explanations

COLD_START_SOURCE = "cold_start"
MATCH_CONFIDENCE = 0.45
FALLBACK_CONFIDENCE = 0.15
OTHER = "Other"
# Categories whose keywords decide before a brand match ("PAYROLL ACME" is income).
FINANCIAL_CATEGORIES = frozenset(
    {"Fees & Charges", "Taxes", "Salary & Income", "Rent & Mortgage", "Transfers", "Cash"}
)

# Order matters: the first matching category wins (specific before generic).
DEFAULT_TAXONOMY: dict[str, tuple[str, ...]] = {
    "Fees & Charges": (
        "fee",
        "service charge",
        "overdraft",
        "interest charge",
        "late charge",
        "atm fee",
        "finance charge",
        "penalty",
        "nsf",
        "sluzby",
        "sankc",
    ),
    "Taxes": ("irs", "tax", "hmrc", "treasury", "finanzamt", "dmv"),
    "Salary & Income": (
        "payroll",
        "salary",
        "paycheck",
        "wage",
        "direct dep",
        "dir dep",
        "bonus",
        "pension",
        "duchod",
        "dividend",
        "interest paid",
        "interest earned",
        "urok",
        "refund",
    ),
    "Rent & Mortgage": ("rent", "mortgage", "landlord", "property mgmt", "hoa", "leasing"),
    "Transfers": (
        "transfer",
        "xfer",
        "zelle",
        "venmo",
        "wire",
        "credit card payment",
        "card payment",
        "autopay",
        "prevod",
        "savings",
        "deposit",
        "vklad",
    ),
    "Cash": ("atm", "cash withdrawal", "withdrawal", "vyber", "cash"),
    "Insurance": (
        "insurance",
        "geico",
        "allstate",
        "state farm",
        "progressive",
        "pojistne",
        "aetna",
        "metlife",
    ),
    "Utilities": (
        "electric",
        "energy",
        "power",
        "water",
        "gas co",
        "utility",
        "utilities",
        "pg&e",
        "comcast",
        "xfinity",
        "verizon",
        "at&t",
        "t-mobile",
        "tmobile",
        "sprint",
        "internet",
        "mobile",
        "phone",
        "wireless",
        "broadband",
        "sipo",
        "waste",
        "sewer",
    ),
    "Fuel": (
        "shell",
        "exxon",
        "mobil",
        "chevron",
        "bp",
        "texaco",
        "sunoco",
        "valero",
        "citgo",
        "marathon",
        "speedway",
        "fuel",
        "gas station",
        "petrol",
        "arco",
        "76",
        "wawa",
    ),
    "Groceries": (
        "grocery",
        "groceries",
        "supermarket",
        "market",
        "whole foods",
        "trader joe",
        "kroger",
        "safeway",
        "aldi",
        "lidl",
        "publix",
        "wegmans",
        "costco",
        "sam's club",
        "food lion",
        "tesco",
        "sainsbury",
        "albertsons",
        "h-e-b",
        "heb",
        "giant",
        "stop & shop",
    ),
    "Restaurants & Coffee": (
        "restaurant",
        "cafe",
        "coffee",
        "starbucks",
        "dunkin",
        "mcdonald",
        "burger",
        "pizza",
        "grill",
        "diner",
        "bistro",
        "kitchen",
        "taco",
        "chipotle",
        "subway",
        "wendy",
        "kfc",
        "doordash",
        "uber eats",
        "grubhub",
        "bar",
        "pub",
        "brewery",
        "sushi",
        "thai",
        "bakery",
        "chick-fil-a",
        "panera",
        "domino",
    ),
    "Transport": (
        "uber",
        "lyft",
        "taxi",
        "metro",
        "transit",
        "parking",
        "toll",
        "train",
        "bus",
        "mta",
        "amtrak",
        "railway",
        "cab",
    ),
    "Travel": (
        "airline",
        "airlines",
        "airways",
        "hotel",
        "motel",
        "airbnb",
        "expedia",
        "booking",
        "delta",
        "united",
        "american air",
        "southwest",
        "marriott",
        "hilton",
        "hertz",
        "avis",
        "travel",
    ),
    "Health": (
        "pharmacy",
        "cvs",
        "walgreens",
        "rite aid",
        "doctor",
        "dental",
        "dentist",
        "clinic",
        "hospital",
        "medical",
        "health",
        "optical",
        "vision",
        "lab",
        "gym",
        "fitness",
    ),
    "Education": (
        "school",
        "tuition",
        "university",
        "college",
        "course",
        "udemy",
        "coursera",
        "books",
        "textbook",
    ),
    "Entertainment & Subscriptions": (
        "netflix",
        "spotify",
        "hulu",
        "disney",
        "hbo",
        "apple music",
        "itunes",
        "youtube",
        "prime video",
        "cinema",
        "movie",
        "theater",
        "theatre",
        "cinemark",
        "amc",
        "steam",
        "playstation",
        "xbox",
        "nintendo",
        "subscription",
        "patreon",
        "music",
        "concert",
        "ticketmaster",
    ),
    "Shopping": (
        "amazon",
        "amzn",
        "walmart",
        "wal-mart",
        "target",
        "ebay",
        "etsy",
        "best buy",
        "ikea",
        "home depot",
        "lowe's",
        "lowes",
        "store",
        "shop",
        "mall",
        "clothing",
        "apparel",
        "nike",
        "barnes",
        "noble",
        "macy",
        "kohl",
        "outlet",
    ),
}


def _compile(taxonomy: dict[str, tuple[str, ...]]) -> dict[str, re.Pattern[str]]:
    return {
        category: re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keywords) + r")\b")
        for category, keywords in taxonomy.items()
    }


_PATTERNS = _compile(DEFAULT_TAXONOMY)


def _taxonomy_text(frame: pd.DataFrame) -> pd.Series:
    text = clean_descriptors(text_column(frame, d.DESCRIPTION))
    if d.MERCHANT in frame:
        text = text + " " + text_column(frame, d.MERCHANT).str.lower()
    return text


def taxonomy_hits(frame: pd.DataFrame, patterns: dict[str, re.Pattern[str]]) -> np.ndarray:
    """Which taxonomy categories' keywords each row's descriptor or merchant mentions
    (n_rows x n_categories, bool); each distinct text is matched once."""
    codes, uniques = pd.factorize(_taxonomy_text(frame), sort=False)
    unique_text = pd.Series(uniques, dtype=object)
    hits = np.zeros((len(unique_text), len(patterns)), dtype=bool)
    for j, pattern in enumerate(patterns.values()):
        hits[:, j] = unique_text.str.contains(pattern, regex=True).to_numpy(bool)
    return hits[codes] if len(codes) else np.zeros((0, len(patterns)), dtype=bool)


class TaxonomyHits(BaseEstimator, TransformerMixin):
    """The default taxonomy's keyword matches as features (one column per taxonomy category).

    They let a category model carry what it learnt about one merchant to an unseen merchant of
    the same kind (Shell and Chevron both mention fuel keywords) even when the user's category
    names differ from the taxonomy's.
    """

    def fit(self, frame: pd.DataFrame, y: object = None) -> TaxonomyHits:
        """Nothing to learn: the taxonomy is fixed; returns self."""
        self.categories_ = list(DEFAULT_TAXONOMY)
        return self

    def transform(self, frame: pd.DataFrame) -> sp.csr_matrix:
        """Sparse 0/1 matrix, one row per input row."""
        return sp.csr_matrix(taxonomy_hits(frame, _PATTERNS).astype(np.float32))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """``taxonomy=<category>`` per column."""
        return np.asarray([f"taxonomy={c}" for c in self.categories_], dtype=object)


def _explanations(
    frame: pd.DataFrame,
    patterns: dict[str, re.Pattern[str]],
    predicted: np.ndarray,
    brands: pd.DataFrame,
    by_brand: np.ndarray,
    by_code: np.ndarray,
    mcc: np.ndarray,
) -> np.ndarray:
    """Why each row got its cold-start category (built once per distinct text and MCC)."""
    text = _taxonomy_text(frame)
    mcc_text = mcc_explanations(mcc)
    key = text.to_numpy() + "\x00" + predicted.astype(str) + "\x00" + mcc.astype(str)
    codes, uniques = pd.factorize(key, sort=False)
    first = np.full(len(uniques), -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    out = []
    for row in first.tolist():
        category = str(predicted[row])
        if by_brand[row] and by_code[row]:
            out.append(f"{mcc_text[row]} -> {category}")
            continue
        if by_brand[row]:
            out.append(
                f"brand database: {brands['brand'].iat[row]} ({brands['tag'].iat[row]} -> "
                f"{category})"
            )
            continue
        pattern = patterns.get(category)
        found = pattern.search(str(text.iat[row])) if pattern is not None else None
        if found is not None:
            out.append(f"keyword '{found.group(0)}' of the default taxonomy ({category})")
        elif category == "Salary & Income":
            out.append("no brand or keyword matched; money in")
        else:
            out.append("no brand or keyword matched")
    return np.asarray(out, dtype=object)[codes] if len(codes) else np.asarray(out, dtype=object)


def cold_start_predict(
    frame: pd.DataFrame, taxonomy: dict[str, tuple[str, ...]] | None = None
) -> pd.DataFrame:
    """Default-taxonomy categories for a frame, with the category model's output columns.

    ``predicted_category``, ``confidence`` (<= 0.45, LOW), ``confidence_level``, ``alternatives``
    (up to 3 matching categories), ``source="cold_start"`` and ``explanation`` (the brand or
    keyword that decided); one row per input row.  A brand-database match decides first (only
    with the default taxonomy, whose category names the brand tags map onto).
    """
    from titans_finance.models.brands import brand_frame

    patterns = _compile(taxonomy) if taxonomy is not None else _PATTERNS
    categories = list(patterns)
    hits = taxonomy_hits(frame, patterns)
    names = np.asarray(categories, dtype=object)
    brands = brand_frame(clean_descriptors(text_column(frame, d.DESCRIPTION)))
    brand_category = brands["brand_category"].to_numpy(dtype=object)
    # the card network's merchant category code, when the file carries one, outranks a brand
    codes = mcc_column(frame)
    code_category = per_distinct(pd.Series(codes, dtype=object), mcc_category).to_numpy()
    by_code = pd.Series(code_category).isin(categories).to_numpy()
    brand_category = np.where(by_code, code_category, brand_category)
    by_brand = pd.Series(brand_category).isin(categories).to_numpy()
    # money-movement keywords (payroll, transfer, fee...) say more than a brand name in them
    financial = [i for i, c in enumerate(categories) if c in FINANCIAL_CATEGORIES]
    by_brand &= ~hits[:, financial].any(axis=1) if financial else True
    if len(frame) and by_brand.any():
        # the brand's category leads; keyword matches stay as alternatives
        index = {c: i for i, c in enumerate(categories)}
        rows = np.flatnonzero(by_brand)
        hits = hits.copy()
        hits[rows, [index[c] for c in brand_category[rows]]] = True
    matched = hits.any(axis=1)
    first = hits.argmax(axis=1)
    if len(frame) and by_brand.any():
        first[rows] = [index[c] for c in brand_category[rows]]
    predicted = np.where(matched, names[first] if len(first) else first, OTHER).astype(object)
    income = amount_column(frame) > 0
    income_fallback = ~matched & income
    predicted[income_fallback] = "Salary & Income"
    confidence = np.where(matched, MATCH_CONFIDENCE, FALLBACK_CONFIDENCE)
    # Later matches share the remaining probability, in taxonomy order.
    n_hits = hits.sum(axis=1)
    alternatives = []
    for row_hits, pred, conf, count in zip(hits, predicted, confidence, n_hits, strict=True):
        if count <= 1:
            alternatives.append([{"category": str(pred), "probability": float(conf)}])
            continue
        others = [str(pred), *[str(o) for o in names[row_hits] if o != pred][:2]]
        share = (1.0 - conf) / max(count, 2)
        alternatives.append(
            [{"category": others[0], "probability": float(conf)}]
            + [{"category": o, "probability": round(float(share), 4)} for o in others[1:]]
        )
    return pd.DataFrame(
        {
            "predicted_category": predicted,
            "confidence": confidence.astype(np.float64),
            "confidence_level": np.full(len(frame), d.ConfidenceLevel.LOW.value, dtype=object),
            "alternatives": alternatives,
            "source": np.full(len(frame), COLD_START_SOURCE, dtype=object),
            "explanation": _explanations(
                frame, patterns, predicted, brands, by_brand & matched, by_code, codes
            ),
        },
        index=frame.index,
    )


__all__ = [
    "COLD_START_SOURCE",
    "DEFAULT_TAXONOMY",
    "TaxonomyHits",
    "cold_start_predict",
    "taxonomy_hits",
]
