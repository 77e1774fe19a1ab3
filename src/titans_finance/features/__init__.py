"""Feature transformers (DataFrame in): time, amount, text, categorical, behavioural.

Each is an sklearn transformer composed inside a model's pipeline, so training and serving
compute features the same way.
"""

from titans_finance.features.amount import AMOUNT_FEATURES, AmountBins, AmountFeatures
from titans_finance.features.behavioural import (
    PROFILE_FEATURES,
    ROLLING_FEATURES,
    MerchantProfile,
    RollingBehaviour,
    rolling_frame,
)
from titans_finance.features.categorical import CategoricalOneHot, categorical_values
from titans_finance.features.text import (
    TextVectorizer,
    merchant_key,
    normalize_descriptors,
    normalize_text,
    transaction_text,
)
from titans_finance.features.time import TIME_FEATURES, CalendarOneHot, TimeFeatures

__all__ = [
    "AMOUNT_FEATURES",
    "PROFILE_FEATURES",
    "ROLLING_FEATURES",
    "TIME_FEATURES",
    "AmountBins",
    "AmountFeatures",
    "CalendarOneHot",
    "CategoricalOneHot",
    "MerchantProfile",
    "RollingBehaviour",
    "TextVectorizer",
    "TimeFeatures",
    "categorical_values",
    "merchant_key",
    "normalize_descriptors",
    "normalize_text",
    "rolling_frame",
    "transaction_text",
]
