"""Feature transformers (DataFrame in) composed by the category model: text, merchant
profile, categorical, amount bins and calendar one-hots.

Each is an sklearn transformer composed inside a model's pipeline, so training and serving
compute features the same way.  The history models (amount, anomaly, recurring, cash flow)
build their numeric working frame in ``models/_history.py`` from the same canonical-frame
helpers (:mod:`titans_finance.frame`) and the same merchant identity
(:mod:`titans_finance.merchants`); see docs/architecture.md.
"""

from titans_finance.features.amount import AmountBins
from titans_finance.features.behavioural import PROFILE_FEATURES, MerchantProfile
from titans_finance.features.categorical import CategoricalOneHot, categorical_values
from titans_finance.features.text import (
    TextVectorizer,
    clean_descriptor,
    clean_descriptors,
    merchant_key_of,
    transaction_text,
)
from titans_finance.features.time import CalendarOneHot

__all__ = [
    "PROFILE_FEATURES",
    "AmountBins",
    "CalendarOneHot",
    "CategoricalOneHot",
    "MerchantProfile",
    "TextVectorizer",
    "categorical_values",
    "clean_descriptor",
    "clean_descriptors",
    "merchant_key_of",
    "transaction_text",
]
