"""Brand database: which known brand (and what kind of place) a bank descriptor names.

The table ``models/data/brands.tsv.gz`` (about 44k aliases) is compacted from OpenStreetMap's
name-suggestion-index by ``scripts/build_brands.py`` (BSD-3-Clause, notice in
``models/data/brands.LICENSE.md``); it ships as package data, nothing downloads at run time.
Each alias carries an OSM tag (``amenity=fuel``, ``shop=supermarket``...); :data:`TAG_CATEGORIES`
maps tags onto the default taxonomy of :mod:`models.cold_start` (the one mapping table).

Matching is on whole tokens of the normalised descriptor: every token n-gram (longest first)
of each *distinct* descriptor is looked up in one dict, so the cost grows with the number of
distinct descriptors, never with the number of brands.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from titans_finance.features.text import clean_descriptors, normalized_description

MAX_ALIAS_TOKENS = 4
# Single-token aliases that are everyday words in bank descriptors or product names; a brand
# of that name would match far more rows than it names.
AMBIGUOUS_WORDS: frozenset[str] = frozenset(
    [
        "account",
        "air",
        "all",
        "amazon",
        "american",
        "apple",
        "auto",
        "bank",
        "basic",
        "best",
        "bill",
        "blue",
        "body",
        "box",
        "break",
        "budget",
        "card",
        "care",
        "cash",
        "central",
        "city",
        "classic",
        "clean",
        "club",
        "company",
        "core",
        "credit",
        "daily",
        "debit",
        "deposit",
        "direct",
        "east",
        "easy",
        "eat",
        "energy",
        "express",
        "family",
        "fast",
        "fee",
        "first",
        "fit",
        "fresh",
        "fun",
        "gas",
        "general",
        "gold",
        "good",
        "green",
        "health",
        "home",
        "house",
        "ideal",
        "interest",
        "internet",
        "joy",
        "kit",
        "life",
        "light",
        "line",
        "live",
        "loan",
        "local",
        "market",
        "max",
        "mobile",
        "more",
        "national",
        "natural",
        "net",
        "new",
        "next",
        "north",
        "now",
        "one",
        "online",
        "open",
        "pay",
        "payment",
        "people",
        "phone",
        "pizza",
        "plus",
        "power",
        "prime",
        "pro",
        "pure",
        "quick",
        "red",
        "rent",
        "service",
        "services",
        "shop",
        "smart",
        "south",
        "star",
        "state",
        "station",
        "store",
        "style",
        "sun",
        "super",
        "total",
        "transfer",
        "true",
        "union",
        "united",
        "value",
        "vision",
        "water",
        "way",
        "west",
        "wire",
        "world",
        "your",
    ]
)
# Brands kept although their names look like words above (they are unambiguous in a
# descriptor).
AMBIGUOUS_KEPT: frozenset[str] = frozenset({"amazon", "apple"})

# OSM tag -> default-taxonomy category (models.cold_start.DEFAULT_TAXONOMY).  ``key=*`` is the
# fallback for a whole key.  Tags absent here (amenity=bank, amenity=atm...) still feed the
# model as features; they just give no category on their own.
TAG_CATEGORIES: dict[str, str] = {
    "amenity=fuel": "Fuel",
    "shop=gas": "Fuel",
    "highway=services": "Fuel",
    "amenity=charging_station": "Transport",
    "shop=supermarket": "Groceries",
    "shop=convenience": "Groceries",
    "shop=greengrocer": "Groceries",
    "shop=butcher": "Groceries",
    "shop=bakery": "Groceries",
    "shop=deli": "Groceries",
    "shop=frozen_food": "Groceries",
    "shop=health_food": "Groceries",
    "shop=wholesale": "Groceries",
    "shop=seafood": "Groceries",
    "shop=dairy": "Groceries",
    "shop=cheese": "Groceries",
    "amenity=restaurant": "Restaurants & Coffee",
    "amenity=fast_food": "Restaurants & Coffee",
    "amenity=cafe": "Restaurants & Coffee",
    "amenity=bar": "Restaurants & Coffee",
    "amenity=pub": "Restaurants & Coffee",
    "amenity=ice_cream": "Restaurants & Coffee",
    "amenity=food_court": "Restaurants & Coffee",
    "shop=coffee": "Restaurants & Coffee",
    "shop=pastry": "Restaurants & Coffee",
    "shop=confectionery": "Restaurants & Coffee",
    "amenity=pharmacy": "Health",
    "shop=chemist": "Health",
    "shop=optician": "Health",
    "shop=hearing_aids": "Health",
    "shop=medical_supply": "Health",
    "amenity=doctors": "Health",
    "amenity=dentist": "Health",
    "amenity=clinic": "Health",
    "amenity=hospital": "Health",
    "amenity=veterinary": "Health",
    "healthcare=*": "Health",
    "leisure=fitness_centre": "Health",
    "leisure=sports_centre": "Health",
    "tourism=hotel": "Travel",
    "tourism=motel": "Travel",
    "tourism=hostel": "Travel",
    "tourism=guest_house": "Travel",
    "tourism=camp_site": "Travel",
    "tourism=caravan_site": "Travel",
    "amenity=car_rental": "Travel",
    "shop=travel_agency": "Travel",
    "aeroway=*": "Travel",
    "amenity=parking": "Transport",
    "amenity=car_sharing": "Transport",
    "amenity=bicycle_rental": "Transport",
    "amenity=taxi": "Transport",
    "amenity=car_wash": "Transport",
    "amenity=vehicle_inspection": "Transport",
    "shop=car_repair": "Transport",
    "shop=tyres": "Transport",
    "shop=car_parts": "Transport",
    "route=*": "Transport",
    "public_transport=*": "Transport",
    "railway=*": "Transport",
    "highway=toll_gantry": "Transport",
    "barrier=toll_booth": "Transport",
    "amenity=cinema": "Entertainment & Subscriptions",
    "amenity=theatre": "Entertainment & Subscriptions",
    "amenity=casino": "Entertainment & Subscriptions",
    "amenity=nightclub": "Entertainment & Subscriptions",
    "leisure=*": "Entertainment & Subscriptions",
    "tourism=theme_park": "Entertainment & Subscriptions",
    "tourism=museum": "Entertainment & Subscriptions",
    "shop=video_games": "Entertainment & Subscriptions",
    "shop=music": "Entertainment & Subscriptions",
    "shop=ticket": "Entertainment & Subscriptions",
    "shop=lottery": "Entertainment & Subscriptions",
    "shop=bookmaker": "Entertainment & Subscriptions",
    "amenity=gambling": "Entertainment & Subscriptions",
    "amenity=school": "Education",
    "amenity=university": "Education",
    "amenity=college": "Education",
    "amenity=kindergarten": "Education",
    "amenity=childcare": "Education",
    "amenity=driving_school": "Education",
    "amenity=language_school": "Education",
    "amenity=music_school": "Education",
    "amenity=prep_school": "Education",
    "amenity=training": "Education",
    "amenity=library": "Education",
    "office=insurance": "Insurance",
    "office=insurance_adjuster": "Insurance",
    "office=telecommunication": "Utilities",
    "office=energy_supplier": "Utilities",
    "office=water_utility": "Utilities",
    "power=*": "Utilities",
    "telecom=*": "Utilities",
    "internet_access=*": "Utilities",
    "office=tax_advisor": "Taxes",
    "office=government": "Taxes",
    "amenity=townhall": "Taxes",
    "office=estate_agent": "Rent & Mortgage",
    "office=mortgage": "Rent & Mortgage",
    "amenity=money_transfer": "Transfers",
    "amenity=payment_centre": "Transfers",
    "amenity=bureau_de_change": "Transfers",
    "amenity=post_office": "Shopping",
    "amenity=parcel_locker": "Shopping",
    "amenity=vending_machine": "Shopping",
    "shop=*": "Shopping",
}


def tag_category(tag: str) -> str | None:
    """The taxonomy category of an OSM tag (exact tag first, then ``key=*``), or None."""
    if tag in TAG_CATEGORIES:
        return TAG_CATEGORIES[tag]
    return TAG_CATEGORIES.get(tag.split("=", 1)[0] + "=*")


@dataclass(frozen=True)
class BrandTable:
    """The loaded brand table: normalised alias -> row of ``brands`` / ``tags``."""

    lookup: dict[str, int]
    brands: np.ndarray
    tags: np.ndarray
    categories: np.ndarray
    tag_names: tuple[str, ...]
    tag_codes: np.ndarray
    category_names: tuple[str, ...]
    category_codes: np.ndarray


@lru_cache(maxsize=1)
def brand_table() -> BrandTable:
    """Load the packaged brand table once per process (aliases normalised like descriptors)."""
    data = resources.files("titans_finance.models").joinpath("data/brands.tsv.gz")
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        table = pd.read_csv(text, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    alias = clean_descriptors(table["alias"])
    tokens = alias.str.count(" ") + 1
    # an alias the normaliser shortens ("241 pizza" -> "pizza") no longer names its brand
    same = alias.str.replace(r"[^a-z0-9]", "", regex=True).eq(
        table["alias"].str.replace(r"[^a-z0-9]", "", regex=True)
    )
    keep = same & (alias.str.len() >= 3) & (tokens <= MAX_ALIAS_TOKENS)
    keep &= ~alias.isin(AMBIGUOUS_WORDS - AMBIGUOUS_KEPT)
    table = table.assign(alias=alias)[keep].drop_duplicates("alias", keep="first")
    table = table.reset_index(drop=True)
    tag_codes, tag_names = pd.factorize(table["tag"], sort=True)
    categories = pd.Series([tag_category(t) for t in table["tag"]], dtype=object)
    category_codes, category_names = pd.factorize(categories, sort=True)
    return BrandTable(
        lookup=dict(zip(table["alias"].tolist(), range(len(table)), strict=True)),
        brands=table["brand"].to_numpy(dtype=object),
        tags=table["tag"].to_numpy(dtype=object),
        categories=categories.to_numpy(dtype=object),
        tag_names=tuple(str(t) for t in tag_names),
        tag_codes=tag_codes.astype(np.int64),
        category_names=tuple(str(c) for c in category_names),
        category_codes=category_codes.astype(np.int64),
    )


def _match_one(text: str, lookup: dict[str, int]) -> int:
    """Row of the longest (then leftmost) alias found as whole tokens in ``text``, or -1."""
    words = text.split()
    for size in range(min(MAX_ALIAS_TOKENS, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            hit = lookup.get(" ".join(words[start : start + size]))
            if hit is not None:
                return hit
    return -1


def match_brands(normalised: pd.Series) -> np.ndarray:
    """Brand-table row per descriptor (-1 where none); ``normalised`` as from
    :func:`titans_finance.features.text.clean_descriptors`.  Each distinct text is matched
    once."""
    table = brand_table()
    codes, uniques = pd.factorize(normalised, sort=False)
    rows = np.fromiter(
        (_match_one(str(u), table.lookup) for u in uniques), dtype=np.int64, count=len(uniques)
    )
    return np.append(rows, -1)[codes]  # code -1 (missing) -> no match


def brand_frame(normalised: pd.Series) -> pd.DataFrame:
    """Per descriptor: matched ``brand``, OSM ``tag`` and taxonomy ``brand_category`` (None
    where no brand matched)."""
    table = brand_table()
    rows = match_brands(normalised)
    hit = rows >= 0
    take = np.where(hit, rows, 0)

    def column(values: np.ndarray) -> np.ndarray:
        out = np.full(len(rows), None, dtype=object)
        if len(values):
            out[hit] = values[take[hit]]
        return out

    return pd.DataFrame(
        {
            "brand": column(table.brands),
            "tag": column(table.tags),
            "brand_category": column(table.categories),
        },
        index=normalised.index,
    )


class BrandHits(BaseEstimator, TransformerMixin):
    """The brand match as features: one-hot of its OSM tag and of its taxonomy category.

    The tag lets a model learn the user's name for "a fuel station" from Shell and apply it to
    a never-seen Sheetz; the category column carries coarser kinds (all shops) further.
    Reads the normalised descriptor (``prepare_text``'s column when present).
    """

    def fit(self, frame: pd.DataFrame, y: object = None) -> BrandHits:
        """Nothing to learn: the table is fixed; returns self."""
        table = brand_table()
        self.tags_ = table.tag_names
        self.categories_ = table.category_names
        self.n_features_out_ = len(self.tags_) + len(self.categories_)
        return self

    def transform(self, frame: pd.DataFrame) -> sp.csr_matrix:
        """Sparse 0/1 matrix (at most one tag and one category per row)."""
        table = brand_table()
        rows = match_brands(normalized_description(frame))
        hit = np.flatnonzero(rows >= 0)
        tag_col = table.tag_codes[rows[hit]]
        cat_col = table.category_codes[rows[hit]]
        has_cat = cat_col >= 0
        r = np.concatenate([hit, hit[has_cat]])
        c = np.concatenate([tag_col, len(self.tags_) + cat_col[has_cat]])
        return sp.csr_matrix(
            (np.ones(len(r), dtype=np.float32), (r, c)),
            shape=(len(frame), self.n_features_out_),
        )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """``brand_tag=<tag>`` then ``brand_category=<category>``."""
        return np.asarray(
            [f"brand_tag={t}" for t in self.tags_]
            + [f"brand_category={c}" for c in self.categories_],
            dtype=object,
        )


__all__ = [
    "TAG_CATEGORIES",
    "BrandHits",
    "BrandTable",
    "brand_frame",
    "brand_table",
    "match_brands",
    "tag_category",
]
