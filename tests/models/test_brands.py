"""Brand database: packaged table, whole-token matching, tag -> taxonomy mapping, features."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from titans_finance.features.text import clean_descriptors
from titans_finance.models.brands import BrandHits, brand_frame, brand_table, tag_category
from titans_finance.models.cold_start import DEFAULT_TAXONOMY


def test_table_ships_as_package_data_with_its_licence() -> None:
    folder = resources.files("titans_finance.models").joinpath("data")
    assert folder.joinpath("brands.tsv.gz").is_file()
    licence = folder.joinpath("brands.LICENSE.md").read_text()
    assert "name-suggestion-index@8.0.20260918" in licence and "BSD 3-Clause" in licence
    assert len(brand_table().lookup) > 10_000


def test_whole_tokens_and_longest_alias() -> None:
    text = clean_descriptors(
        pd.Series(
            [
                "CHECKCARD 0412 SHELL OIL 57442231 RENO NV",
                "SHELLFISH SHACK",
                "TST* CHICK-FIL-A #01234",
                "BARNES &amp; NOBLE #2626",
                "zzqx nothing here",
            ]
        )
    )
    found = brand_frame(text)
    assert found["brand"].tolist()[0] == "Shell"
    assert found["tag"].tolist()[0] == "amenity=fuel"
    assert found["brand"].iloc[1] is None  # 'shell' inside a longer word is no match
    assert found["tag"].iloc[2] == "amenity=fast_food"
    assert found["brand"].iloc[3] == "Barnes & Noble"  # two-token alias
    assert found["brand_category"].iloc[4] is None


def test_every_mapped_category_is_in_the_default_taxonomy() -> None:
    categories = {c for c in brand_table().categories if c is not None}
    assert categories <= set(DEFAULT_TAXONOMY)
    assert tag_category("amenity=fuel") == "Fuel"
    assert tag_category("shop=anything_new") == "Shopping"  # key fallback
    assert tag_category("amenity=bank") is None


def test_brand_hits_features() -> None:
    frame = pd.DataFrame({"Description": ["SHEETZ 0042", "no brand", "STARBUCKS STORE 9"]})
    hits = BrandHits().fit(frame)
    matrix = hits.transform(frame)
    assert matrix.shape == (3, len(hits.get_feature_names_out()))
    assert np.asarray(matrix.sum(axis=1)).ravel().tolist() == [2.0, 0.0, 2.0]  # tag + category
    names = hits.get_feature_names_out()[matrix[0].indices]
    assert set(names) == {"brand_tag=amenity=fuel", "brand_category=Fuel"}
