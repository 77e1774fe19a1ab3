"""Transaction categorisation that learns the user's own taxonomy from labelled history.

Sparse features (TF-IDF char_wb and word n-grams of the normalised descriptor and merchant,
merchant identity, type/account/payment method, signed log-amount bins, calendar buckets and
the merchant's recurrence profile) feed a linear classifier.  Probabilities are calibrated by
temperature scaling fitted on out-of-fold scores, which copes with classes that have a single
example.  User rules always take precedence (:meth:`CategoryModel.predict_with_rules`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import MaxAbsScaler
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from titans_finance import domain as d
from titans_finance.errors import TrainingDataError
from titans_finance.features.amount import AmountBins
from titans_finance.features.behavioural import MerchantProfile
from titans_finance.features.categorical import (
    DEFAULT_CATEGORICALS,
    MERCHANT_KEY,
    CategoricalOneHot,
)
from titans_finance.features.text import (
    MERCHANT_KEY_COLUMN,
    NORMALISED_COLUMN,
    TextVectorizer,
    prepare_text,
)
from titans_finance.features.time import CalendarOneHot
from titans_finance.models.base import TitansModel
from titans_finance.models.cold_start import TaxonomyHits
from titans_finance.models.metrics import classification_report
from titans_finance.models.rules import apply_rules

logger = logging.getLogger(__name__)

OUTPUT_COLUMNS: tuple[str, ...] = (
    "predicted_category",
    "confidence",
    "confidence_level",
    "alternatives",
    "source",
)
RULE_CONFIDENCE = 1.0


def labelled_rows(frame: pd.DataFrame) -> pd.Series:
    """Boolean mask of rows with a non-empty Category."""
    if d.CATEGORY not in frame:
        return pd.Series(False, index=frame.index)
    labels = frame[d.CATEGORY]
    return labels.notna() & labels.astype(str).str.strip().ne("")


def confidence_levels(confidence: np.ndarray) -> np.ndarray:
    """Vectorised :func:`titans_finance.domain.confidence_level` (as strings)."""
    return np.select(
        [confidence > 0.98, confidence > 0.90, confidence > 0.60],
        [
            d.ConfidenceLevel.VERY_HIGH.value,
            d.ConfidenceLevel.HIGH.value,
            d.ConfidenceLevel.MEDIUM.value,
        ],
        default=d.ConfidenceLevel.LOW.value,
    ).astype(object)


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return np.asarray(shifted)


def _fit_temperature(scores: np.ndarray, target: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of softmax(scores / T)."""

    def nll(log_t: float) -> float:
        scaled = scores / np.exp(log_t)
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_norm - scaled[np.arange(len(target)), target]))

    result = minimize_scalar(nll, bounds=(np.log(0.01), np.log(100.0)), method="bounded")
    return float(np.exp(result.x))


class CategoryModel(TitansModel):
    """Predict a transaction's category from the user's labelled history.

    Parameters
    ----------
    classifier : {"svm", "logreg"}
        Linear model on the sparse features: LinearSVC (default) or multinomial logistic
        regression; both are calibrated by temperature scaling.
    C : float
        Inverse regularisation strength.
    class_weight : {"balanced", None}
        Re-weight rare categories.
    char_max_features, word_max_features : int
        Vocabulary caps of the char_wb 2-5 and word 1-2 TF-IDF vectorisers (bounded for speed).
    calibration_folds : int
        Folds of the out-of-fold scores the temperature is fitted on (0 disables calibration).
    min_labelled_rows : int
        Fewer labelled rows than this is a TrainingDataError.
    random_state : int
        Seed of the calibration folds.
    """

    model_type: ClassVar[str] = "category"
    primary_metric: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True

    def __init__(
        self,
        classifier: str = "svm",
        C: float = 0.5,
        class_weight: str | None = "balanced",
        char_max_features: int = 1 << 15,
        word_max_features: int = 1 << 14,
        calibration_folds: int = 4,
        min_labelled_rows: int = 10,
        random_state: int = 0,
    ) -> None:
        self.classifier = classifier
        self.C = C
        self.class_weight = class_weight
        self.char_max_features = char_max_features
        self.word_max_features = word_max_features
        self.calibration_folds = calibration_folds
        self.min_labelled_rows = min_labelled_rows
        self.random_state = random_state

    # -- building blocks ---------------------------------------------------------------------
    def _text_features(self) -> FeatureUnion:
        """Blocks that depend only on the descriptor and merchant (scored once per distinct
        text at predict time)."""
        char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            max_features=self.char_max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        word = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            token_pattern=r"(?u)\b\w[\w&']*\b",  # noqa: S106
            max_features=self.word_max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        return FeatureUnion(
            [
                ("char_ngrams", TextVectorizer(char, source="description")),
                ("word_ngrams", TextVectorizer(word, source="both")),
                ("merchant", CategoricalOneHot((MERCHANT_KEY,))),
                ("taxonomy", TaxonomyHits()),
            ],
            transformer_weights={
                "char_ngrams": 1.0,
                "word_ngrams": 1.0,
                "merchant": 0.7,
                "taxonomy": 0.5,
            },
        )

    def _other_features(self) -> FeatureUnion:
        """Per-row blocks: type/account/payment method, amount bins, calendar, merchant
        profile (a handful of non-zeros per row)."""
        return FeatureUnion(
            [
                ("categorical", CategoricalOneHot(DEFAULT_CATEGORICALS)),
                ("amount_bins", AmountBins()),
                ("calendar", CalendarOneHot()),
                ("merchant_profile", Pipeline([("p", MerchantProfile()), ("s", MaxAbsScaler())])),
            ],
            transformer_weights={
                "categorical": 0.5,
                "amount_bins": 0.5,
                "calendar": 0.25,
                "merchant_profile": 0.3,
            },
        )

    def _classifier(self) -> Any:
        if self.classifier == "svm":
            return LinearSVC(C=self.C, class_weight=self.class_weight)
        if self.classifier == "logreg":
            return LogisticRegression(C=self.C * 20, class_weight=self.class_weight, max_iter=2000)
        raise ValueError(f"unknown classifier {self.classifier!r}; use 'svm' or 'logreg'")

    @staticmethod
    def _scores(estimator: Any, matrix: sp.spmatrix) -> np.ndarray:
        """Decision scores, one column per class of ``estimator`` (softmax-ready)."""
        scores = np.asarray(estimator.decision_function(matrix), dtype=np.float32)
        if scores.ndim == 1:  # binary problem: one signed margin
            scores = np.column_stack([-scores / 2, scores / 2])
        return scores

    def _validate(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        if d.CATEGORY not in frame:
            raise TrainingDataError(
                "training data has no Category column: categorisation learns from labelled "
                "transactions; add a Category column (or label transactions) first"
            )
        mask = labelled_rows(frame)
        labels = frame.loc[mask, d.CATEGORY].astype(str).str.strip().to_numpy(dtype=object)
        if len(labels) == 0:
            raise TrainingDataError(
                "no labelled transactions: the Category column is empty in every row; label "
                "some transactions first (or use `titans predict category --cold-start`)"
            )
        if len(labels) < self.min_labelled_rows:
            raise TrainingDataError(
                f"only {len(labels)} labelled transactions; the category model needs at least "
                f"{self.min_labelled_rows} (label more, or use `titans predict category "
                f"--cold-start`)"
            )
        if len(np.unique(labels)) < 2:
            raise TrainingDataError(
                f"every labelled transaction has the same category ({labels[0]!r}); the "
                "category model needs at least two categories"
            )
        return frame.loc[mask], labels

    # -- contract ----------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        train, labels = self._validate(frame)
        train = prepare_text(train)
        self.classes_, target = np.unique(labels, return_inverse=True)
        self.text_features_ = self._text_features().fit(train)
        self.other_features_ = self._other_features().fit(train)
        text = self.text_features_.transform(train)
        self.n_text_features_ = text.shape[1]
        matrix = sp.hstack([text, self.other_features_.transform(train)], format="csr")
        matrix = matrix.astype(np.float32)
        merchants = train[MERCHANT_KEY_COLUMN].to_numpy()
        self.known_merchants_ = pd.Index(pd.unique(merchants))
        self.temperature_, self.temperature_unseen_ = self._calibrate(matrix, target, merchants)
        self.estimator_ = self._classifier().fit(matrix, target)
        coef = np.atleast_2d(np.asarray(self.estimator_.coef_, dtype=np.float32))
        self.text_coef_ = np.ascontiguousarray(coef[:, : self.n_text_features_].T)
        self.other_coef_ = np.ascontiguousarray(coef[:, self.n_text_features_ :].T)
        self.intercept_ = np.atleast_1d(np.asarray(self.estimator_.intercept_, dtype=np.float32))
        self.n_labelled_ = len(labels)

    def _out_of_fold(
        self, matrix: sp.csr_matrix, target: np.ndarray, splits: Any
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Out-of-fold scores (NaN rows where a fold could not be fitted) and train indices."""
        n_classes = len(self.classes_)
        oof = np.full((len(target), n_classes), np.nan, dtype=np.float32)
        train_parts = []
        for train_idx, test_idx in splits:
            present = np.unique(target[train_idx])
            if len(present) < 2:
                continue
            estimator = self._classifier().fit(matrix[train_idx], target[train_idx])
            scores = self._scores(estimator, matrix[test_idx])
            # A class missing from this fold's training part gets the row's lowest score.
            block = np.repeat(scores.min(axis=1, keepdims=True) - 1.0, n_classes, axis=1)
            block[:, present] = scores
            oof[test_idx] = block
            train_parts.append(train_idx)
        return oof, train_parts

    def _calibrate(
        self, matrix: sp.csr_matrix, target: np.ndarray, merchants: np.ndarray
    ) -> tuple[float, float]:
        """Temperatures for known and for unseen merchants, fitted on out-of-fold scores.

        Random folds give scores for merchants the fold's model has seen; folds grouped by
        merchant give scores for merchants it has never seen, which deserve lower confidence.
        """
        folds = min(self.calibration_folds, len(target))
        if folds < 2:
            return 1.0, 1.0
        splitter = KFold(n_splits=folds, shuffle=True, random_state=self.random_state)
        oof, _ = self._out_of_fold(matrix, target, splitter.split(matrix))
        scored = ~np.isnan(oof).any(axis=1)
        seen_t = (
            _fit_temperature(oof[scored].astype(np.float64), target[scored])
            if scored.sum() >= 2
            else 1.0
        )
        groups = pd.factorize(merchants)[0]
        n_groups = int(groups.max()) + 1 if len(groups) else 0
        if n_groups < 2:
            return seen_t, seen_t
        grouped = GroupKFold(n_splits=min(folds, n_groups))
        oof, _ = self._out_of_fold(matrix, target, grouped.split(matrix, groups=groups))
        scored = ~np.isnan(oof).any(axis=1)
        if scored.sum() < 2:
            return seen_t, seen_t
        unseen_t = _fit_temperature(oof[scored].astype(np.float64), target[scored])
        return seen_t, max(unseen_t, seen_t)

    def feature_names(self) -> list[str]:
        """Feature families with their widths."""
        check_is_fitted(self, "text_features_")
        return [
            f"{name}[{getattr(transformer, 'n_features_out_', None) or _width(transformer)}]"
            for union in (self.text_features_, self.other_features_)
            for name, transformer in union.transformer_list
        ]

    def decision_scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated class scores (n_rows x n_classes, float32) in one vectorised pass.

        The linear score splits into a text part and a per-row part; the text part is computed
        once per distinct (descriptor, merchant) pair and broadcast, so a large batch never
        materialises its n-gram matrix row by row.
        """
        check_is_fitted(self, "estimator_")
        return self._decision(prepare_text(frame))

    def _decision(self, prepared: pd.DataFrame) -> np.ndarray:
        text_codes, _ = pd.factorize(prepared[NORMALISED_COLUMN], sort=False)
        key_codes, key_uniques = pd.factorize(prepared[MERCHANT_KEY_COLUMN], sort=False)
        pair = text_codes.astype(np.int64) * (len(key_uniques) + 1) + key_codes
        pair_codes, pair_uniques = pd.factorize(pair, sort=False)
        first = np.full(len(pair_uniques), -1, dtype=np.int64)
        first[pair_codes[::-1]] = np.arange(len(pair_codes))[::-1]
        distinct = prepared.iloc[first]
        text_matrix = self.text_features_.transform(distinct).tocsr().astype(np.float32)
        text_scores = np.asarray(text_matrix @ self.text_coef_, dtype=np.float32)
        other = self.other_features_.transform(prepared).tocsr().astype(np.float32)
        scores = text_scores[pair_codes]
        scores += np.asarray(other @ self.other_coef_, dtype=np.float32)
        scores += self.intercept_
        if scores.shape[1] == 1:  # binary problem: one signed margin
            scores = np.column_stack([-scores[:, 0] / 2, scores[:, 0] / 2])
        return scores

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, one column per ``classes_`` entry (float32).

        Rows of merchants absent from training use the (higher) unseen-merchant temperature.
        """
        check_is_fitted(self, "estimator_")
        prepared = prepare_text(frame)
        scores = self._decision(prepared)
        seen = self.known_merchants_.get_indexer(pd.Index(prepared[MERCHANT_KEY_COLUMN])) >= 0
        temperature = np.where(seen, self.temperature_, self.temperature_unseen_)
        scores /= temperature.astype(np.float32)[:, None]
        return _softmax(scores)

    def unseen_merchants(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean per row: its merchant was absent from the training data (monitoring)."""
        check_is_fitted(self, "estimator_")
        prepared = prepare_text(frame)
        positions = self.known_merchants_.get_indexer(pd.Index(prepared[MERCHANT_KEY_COLUMN]))
        return np.asarray(positions < 0)

    def _predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if len(frame) == 0:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTPUT_COLUMNS})
        proba = self.predict_proba(frame)
        k = min(3, proba.shape[1])
        top = np.argpartition(-proba, k - 1, axis=1)[:, :k]
        top_p = np.take_along_axis(proba, top, axis=1)
        order = np.argsort(-top_p, axis=1)
        top = np.take_along_axis(top, order, axis=1)
        top_p = np.round(np.take_along_axis(top_p, order, axis=1).astype(np.float64), 4)
        names = self.classes_.astype(object)
        top_names = names[top]
        confidence = top_p[:, 0]
        alternatives = _alternatives(top, top_p, self.classes_)
        return pd.DataFrame(
            {
                "predicted_category": top_names[:, 0],
                "confidence": confidence,
                "confidence_level": confidence_levels(confidence),
                "alternatives": alternatives,
                "source": np.full(len(frame), "model", dtype=object),
            },
            index=frame.index,
        )

    def predict_with_rules(
        self, frame: pd.DataFrame, rules: Sequence[d.CategoryRule] = ()
    ) -> pd.DataFrame:
        """Like :meth:`predict`, but rows matched by a user rule take the rule's category.

        Rule rows get ``source="rule"`` and confidence 1.0; their ``alternatives`` keep the
        model's top 3.  Rules are matched vectorised (see :func:`models.rules.apply_rules`).
        """
        result = self.predict(frame)
        if not rules or len(frame) == 0:
            return result
        ruled = apply_rules(frame, rules)
        hit = ruled.notna().to_numpy()
        if hit.any():
            result.loc[hit, "predicted_category"] = ruled[hit].to_numpy()
            result.loc[hit, "confidence"] = RULE_CONFIDENCE
            result.loc[hit, "confidence_level"] = d.confidence_level(RULE_CONFIDENCE).value
            result.loc[hit, "source"] = "rule"
        return result

    def evaluate(self, frame: pd.DataFrame) -> dict[str, float]:
        """Accuracy, macro-F1, ECE and high-confidence coverage on ``frame``'s labelled rows."""
        check_is_fitted(self, "estimator_")
        mask = labelled_rows(frame)
        if not mask.any():
            return {"rows": 0.0}
        labelled = frame.loc[mask]
        predicted = self.predict(labelled)
        truth = labelled[d.CATEGORY].astype(str).str.strip()
        report = classification_report(
            truth, predicted["predicted_category"], predicted["confidence"].to_numpy()
        )
        report["unseen_category_rows"] = float((~truth.isin(self.classes_)).sum())
        return report


def _alternatives(
    top: np.ndarray, probabilities: np.ndarray, classes: np.ndarray
) -> list[list[dict[str, Any]]]:
    """Per-row top-k lists of {"category", "probability"} (probabilities rounded to 4 places).

    Identical (category, probability) entries share one dict object, so a large batch builds
    only as many dicts as there are distinct entries; treat the dicts as read-only.
    """
    names = [str(c) for c in classes]
    columns = []
    for j in range(top.shape[1]):
        key = top[:, j].astype(np.int64) * 10_001 + np.rint(probabilities[:, j] * 10_000).astype(
            np.int64
        )
        codes, uniques = pd.factorize(key, sort=False)
        entries = np.empty(len(uniques), dtype=object)
        entries[:] = [
            {"category": names[k // 10_001], "probability": (k % 10_001) / 10_000}
            for k in uniques.tolist()
        ]
        columns.append(entries[codes].tolist())
    return [list(entry) for entry in zip(*columns, strict=True)]


def _width(transformer: Any) -> int:
    try:
        return len(transformer.get_feature_names_out())
    except (AttributeError, ValueError):
        return 0


__all__ = ["OUTPUT_COLUMNS", "CategoryModel", "confidence_levels", "labelled_rows"]
