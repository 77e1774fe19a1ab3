"""Merchant category codes (ISO 18245) as category evidence.

A file may carry the card network's MCC per row (ingest maps the header and stores the code
in ``transactions.mcc``).  The code names the kind of merchant (5411 "Grocery Stores,
Supermarkets") even for a merchant the user never labelled: the category model reads it as a
feature (:class:`MccHits`: the code itself and its default-taxonomy category), cold start
reads its taxonomy category, and both quote it in their explanations.  Descriptions come from
the ``iso18245`` package (MIT, offline).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from titans_finance import domain as d
from titans_finance.ingest.normalize import parse_mcc_codes

# (first, last, default-taxonomy category) of MCC ranges, checked in order (specific first).
# Names are those of models.cold_start.DEFAULT_TAXONOMY (a test checks it).
MCC_RANGES: tuple[tuple[int, int, str], ...] = (
    (3000, 3350, "Travel"),  # airlines
    (3351, 3500, "Travel"),  # car rental
    (3501, 3999, "Travel"),  # hotels
    (4011, 4131, "Transport"),  # railways, commuter transport, taxis, buses
    (4411, 4411, "Travel"),  # cruise lines
    (4457, 4468, "Transport"),  # boat rental, marinas
    (4511, 4582, "Travel"),  # airlines, airports
    (4722, 4722, "Travel"),  # travel agencies
    (4784, 4784, "Transport"),  # tolls
    (4789, 4789, "Transport"),
    (4812, 4821, "Utilities"),  # telecommunication
    (4829, 4829, "Transfers"),  # money transfer
    (4899, 4899, "Entertainment & Subscriptions"),  # cable, satellite, streaming
    (4900, 4900, "Utilities"),  # electric, gas, water
    (5411, 5499, "Groceries"),  # groceries, bakeries, convenience stores
    (5541, 5542, "Fuel"),  # service stations, fuel dispensers
    (5552, 5552, "Transport"),  # electric vehicle charging
    (5811, 5814, "Restaurants & Coffee"),  # caterers, restaurants, bars, fast food
    (5815, 5818, "Entertainment & Subscriptions"),  # digital goods, games
    (5912, 5912, "Health"),  # pharmacies
    (5960, 5960, "Insurance"),  # direct marketing insurance
    (5975, 5976, "Health"),  # hearing aids, orthopaedic goods
    (5983, 5983, "Fuel"),  # fuel dealers
    (6010, 6011, "Cash"),  # cash disbursements, ATMs
    (6012, 6012, "Transfers"),
    (6051, 6051, "Transfers"),
    (6300, 6399, "Insurance"),
    (6513, 6513, "Rent & Mortgage"),  # real estate agents and managers, rentals
    (7011, 7012, "Travel"),  # lodging, timeshares
    (7512, 7519, "Travel"),  # car and vehicle rental
    (7523, 7523, "Transport"),  # parking
    (7531, 7549, "Transport"),  # car repair, car washes, towing
    (7800, 7999, "Entertainment & Subscriptions"),  # cinemas, theatre, sport, recreation
    (8011, 8099, "Health"),  # doctors, dentists, hospitals
    (8211, 8299, "Education"),
    (9211, 9399, "Taxes"),  # courts, fines, tax payments, government services
    (5000, 5999, "Shopping"),  # the rest of retail
)


def mcc_category(code: str | None) -> str | None:
    """The default-taxonomy category of a four-digit MCC, or None."""
    if code is None or not code.isdigit():
        return None
    value = int(code)
    for first, last, category in MCC_RANGES:
        if first <= value <= last:
            return category
    return None


@lru_cache(maxsize=2048)
def describe_mcc(code: str) -> str | None:
    """The network's description of an MCC ("Grocery Stores, Supermarkets"), or None for a
    code ISO 18245 does not list."""
    import iso18245

    try:
        found = iso18245.get_mcc(code)
    except (iso18245.MCCNotFound, iso18245.InvalidMCC):
        return None
    for text in (
        found.stripe_description,
        found.usda_description,
        found.visa_description,
        found.iso_description,
    ):
        if text:
            return str(text)
    return None


def mcc_column(frame: pd.DataFrame) -> np.ndarray:
    """Each row's four-digit MCC, or None (object array; all None without an MCC column)."""
    if d.MCC not in frame:
        return np.full(len(frame), None, dtype=object)
    return parse_mcc_codes(frame[d.MCC]).to_numpy(dtype=object)


def mcc_explanations(codes: np.ndarray) -> np.ndarray:
    """Per row: "MCC 5411 Grocery Stores, Supermarkets" (the code alone when ISO 18245 does not
    describe it), or None without a code.  Built once per distinct code."""
    factor, uniques = pd.factorize(pd.Series(codes, dtype=object), sort=False)
    texts = [
        f"MCC {code} {describe_mcc(code)}" if describe_mcc(code) else f"MCC {code}"
        for code in uniques.tolist()
    ]
    table = np.asarray([*texts, None], dtype=object)
    return np.asarray(table[factor])


class MccHits(BaseEstimator, TransformerMixin):
    """The row's MCC as features: one-hot of the code (codes seen in training) and of its
    default-taxonomy category (which carries to codes training never saw).  All-zero rows
    without a code, so a history without MCCs costs nothing."""

    def fit(self, frame: pd.DataFrame, y: object = None) -> MccHits:
        """Learn the codes present in ``frame``; returns self."""
        codes = mcc_column(frame)
        self.codes_ = sorted({str(c) for c in codes if c is not None})
        self.categories_ = sorted({c for _, _, c in MCC_RANGES})
        self.n_features_out_ = len(self.codes_) + len(self.categories_)
        return self

    def transform(self, frame: pd.DataFrame) -> sp.csr_matrix:
        """Sparse 0/1 matrix, at most one code and one category per row."""
        codes = mcc_column(frame)
        code_index = {c: i for i, c in enumerate(self.codes_)}
        category_index = {c: len(self.codes_) + i for i, c in enumerate(self.categories_)}
        factor, uniques = pd.factorize(pd.Series(codes, dtype=object), sort=False)
        distinct = [str(u) for u in uniques.tolist()]
        rows, cols = [], []
        for column in (
            [code_index.get(u, -1) for u in distinct],
            [category_index.get(mcc_category(u) or "", -1) for u in distinct],
        ):
            lookup = np.asarray([*column, -1], dtype=np.int64)[factor]
            hit = np.flatnonzero(lookup >= 0)
            rows.append(hit)
            cols.append(lookup[hit])
        r, c = np.concatenate(rows), np.concatenate(cols)
        return sp.csr_matrix(
            (np.ones(len(r), dtype=np.float32), (r, c)),
            shape=(len(frame), self.n_features_out_),
        )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """``mcc=<code>`` then ``mcc_category=<category>``."""
        return np.asarray(
            [f"mcc={c}" for c in self.codes_] + [f"mcc_category={c}" for c in self.categories_],
            dtype=object,
        )


__all__ = [
    "MCC_RANGES",
    "MccHits",
    "describe_mcc",
    "mcc_category",
    "mcc_column",
    "mcc_explanations",
]
