"""Anchors the category model is compared against, on the same splits.

* ``SeedAnchor``: the seed project's approach, a RandomForest on amount, type, day of week and
  month (the seed reported 13.6% accuracy).
* ``SmartImporterAnchor``: beancount/smart_importer's approach, word TF-IDF of the description
  + LinearSVC.
* ``TfidfLogRegAnchor``: the plain baseline of issue 12 that beat the model on a held-out bank
  export: char_wb 2-5 TF-IDF plus word TF-IDF of the raw description into a logistic
  regression (C=20).  The model must match or beat it on every development dataset.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

from titans_finance import domain as d


class SeedAnchor:
    """RandomForest on amount, type, day of week and month."""

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        amount = (
            pd.to_numeric(frame[d.AMOUNT], errors="coerce").fillna(0.0).to_numpy()
            if d.AMOUNT in frame
            else np.zeros(len(frame))
        )
        kind = (
            frame[d.TYPE].astype(str).eq("Income").to_numpy(float)
            if d.TYPE in frame
            else (amount > 0).astype(float)
        )
        if d.DATE in frame:
            dates = pd.to_datetime(frame[d.DATE], errors="coerce")
            dow = dates.dt.dayofweek.fillna(0).to_numpy()
            month = dates.dt.month.fillna(0).to_numpy()
        else:
            dow = month = np.zeros(len(frame))
        return np.column_stack([amount, kind, dow, month])

    def fit(self, frame: pd.DataFrame) -> Self:
        self.model_ = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)
        self.model_.fit(self._matrix(frame), frame[d.CATEGORY].astype(str))
        return self

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        proba = self.model_.predict_proba(self._matrix(frame))
        return self.model_.classes_[proba.argmax(axis=1)], proba.max(axis=1)


class SmartImporterAnchor:
    """Word TF-IDF of the raw description + LinearSVC (no probabilities)."""

    def fit(self, frame: pd.DataFrame) -> Self:
        self.model_ = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LinearSVC())
        self.model_.fit(frame[d.DESCRIPTION].astype(str), frame[d.CATEGORY].astype(str))
        return self

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        return self.model_.predict(frame[d.DESCRIPTION].astype(str)), None


class TfidfLogRegAnchor:
    """char_wb 2-5 + word TF-IDF of the raw description -> LogisticRegression(C=20)."""

    def fit(self, frame: pd.DataFrame) -> Self:
        features = make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            TfidfVectorizer(analyzer="word", sublinear_tf=True),
        )
        self.model_ = make_pipeline(features, LogisticRegression(C=20, max_iter=2000))
        self.model_.fit(frame[d.DESCRIPTION].astype(str), frame[d.CATEGORY].astype(str))
        return self

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        proba = self.model_.predict_proba(frame[d.DESCRIPTION].astype(str))
        return self.model_.classes_[proba.argmax(axis=1)], proba.max(axis=1)


ANCHORS = {
    "seed (RandomForest: amount/type/dow/month)": SeedAnchor,
    "smart_importer (word TF-IDF + LinearSVC)": SmartImporterAnchor,
    "TF-IDF char_wb 2-5 + word -> LogisticRegression(C=20)": TfidfLogRegAnchor,
}
