"""Transaction categorisation that learns the user's own taxonomy from labelled history.

Sparse features (TF-IDF char_wb and word n-grams of the normalised descriptor and merchant,
merchant identity, default-taxonomy keyword hits, the brand-database match of
:mod:`models.brands`, type/account/payment method, signed log-amount bins, calendar buckets,
the merchant's recurrence profile and, when the file carried one, the merchant category code
of :mod:`models.mcc`) feed a linear classifier.

Training cost grows with the information in the data, not its row count: identical feature
rows are aggregated into one weighted row, the regularisation and block weights are chosen by
cross-validation on a capped stratified sample of the user's own rows (a small fixed grid), and
probabilities are calibrated by temperature scaling fitted on out-of-fold scores (the search's;
10 folds on small samples), one temperature per merchant state: seen with one category in every
row (consistent), seen with several (mixed; both fitted on out-of-fold rows whose merchant was
in that state in the fold's training part, shrunk towards the pooled seen-merchant temperature)
and never seen (from folds holding out whole merchant families: keys within a character-
trigram similarity of each other, :func:`merchant_families`); all only on rows whose category
the fold's model knew (a category the user never labelled is beyond any calibration).
Every prediction carries an ``explanation`` (merchant history, brand match, evidence tokens,
the MCC and its description);
user rules always take precedence (:meth:`CategoryModel.predict_with_rules`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self

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
from titans_finance.models.brands import BrandHits, brand_frame
from titans_finance.models.cold_start import TaxonomyHits
from titans_finance.models.mcc import MccHits, mcc_column, mcc_explanations
from titans_finance.models.metrics import classification_report
from titans_finance.models.rules import apply_rules

logger = logging.getLogger(__name__)

OUTPUT_COLUMNS: tuple[str, ...] = (
    "predicted_category",
    "confidence",
    "confidence_level",
    "alternatives",
    "source",
    "explanation",
)
RULE_CONFIDENCE = 1.0
RULE_EXPLANATION = "a user rule matched this transaction"

TEXT_WEIGHTS: dict[str, float] = {
    "char_ngrams": 1.0,
    "word_ngrams": 1.0,
    "merchant": 0.7,
    "taxonomy": 0.5,
    "brand": 0.5,
}
OTHER_WEIGHTS: dict[str, float] = {
    "categorical": 0.5,
    "amount_bins": 0.5,
    "calendar": 0.25,
    "merchant_profile": 0.3,
    "mcc": 1.0,
}
# Block-weight profiles searched per user: multipliers of the defaults above.
WEIGHT_PROFILES: dict[str, dict[str, float]] = {
    "default": {},
    "context": {"categorical": 2.0, "amount_bins": 2.0, "calendar": 2.0, "merchant_profile": 2.0},
}
C_GRID: tuple[float, ...] = (0.5, 0.2, 1.5)
SEARCH_FOLDS = 3
# Samples of at most this many distinct rows fit the seen-merchant temperature on
# SMALL_SAMPLE_FOLDS-fold out-of-fold scores (cheap there, and less pessimistic).
SMALL_SAMPLE_ROWS = 3_000
SMALL_SAMPLE_FOLDS = 10
# A merchant-state temperature counts the pooled seen-merchant rows as this many rows of its
# own: a state with few out-of-fold rows stays near the pooled temperature.
STATE_PRIOR_ROWS = 30
# Merchant keys this close (character-trigram TF-IDF cosine) to a more frequent key are one
# merchant family in the folds the unseen-merchant temperature is fitted on.
FAMILY_SIMILARITY = 0.5


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


def _fit_temperature(
    scores: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """The temperature minimising the (weighted) negative log-likelihood of softmax(scores/T)."""
    w = np.ones(len(target)) if weights is None else np.asarray(weights, dtype=np.float64)

    def nll(log_t: float) -> float:
        scaled = scores / np.exp(log_t)
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        loss = log_norm - scaled[np.arange(len(target)), target]
        return float(np.sum(w * loss) / np.sum(w))

    result = minimize_scalar(nll, bounds=(np.log(0.01), np.log(100.0)), method="bounded")
    return float(np.exp(result.x))


def _fit_state_temperature(
    scores: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    state: np.ndarray,
    pool: np.ndarray,
    prior_rows: float = STATE_PRIOR_ROWS,
) -> float | None:
    """The temperature of the rows in ``state``, shrunk towards the ``pool`` rows' one.

    The state's rows weigh as many rows as they are and the pool as ``prior_rows`` rows, so a
    state seen on few rows (or on rows all right with wide margins, whose own optimum is the
    sharpest bound) keeps near the pooled temperature.  None when the state has fewer than two
    rows."""
    if state.sum() < 2:
        return None
    w = np.zeros(len(target))
    w[state] += weights[state] * (state.sum() / weights[state].sum())
    w[pool] += weights[pool] * (prior_rows / weights[pool].sum())
    used = w > 0
    return _fit_temperature(scores[used], target[used], w[used])


def merchant_states(
    keys: np.ndarray, labels: np.ndarray, query: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per ``query`` key: whether it occurs in ``keys``, and whether every row of it there
    carries one label (a consistent merchant; False for unseen ones)."""
    labels_per_key = pd.Series(labels).groupby(np.asarray(keys), sort=False).nunique()
    position = labels_per_key.index.get_indexer(pd.Index(query))
    seen = position >= 0
    consistent = seen & (labels_per_key.to_numpy()[np.maximum(position, 0)] == 1)
    return seen, consistent


def merchant_families(keys: np.ndarray, threshold: float = FAMILY_SIMILARITY) -> np.ndarray:
    """A family code per key: each distinct key joins the most frequent key whose character-
    trigram TF-IDF cosine to it is at least ``threshold`` (leaders taken by frequency, one hop:
    no chains), so the store-number, city and truncation variants of a merchant share one.

    Groups of the unseen-merchant calibration folds only; the merchant identity is
    :mod:`titans_finance.merchants`."""
    distinct, inverse = np.unique(np.asarray(keys).astype(str), return_inverse=True)
    try:
        vectors = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 3), dtype=np.float32
        ).fit_transform(distinct)
    except ValueError:  # no key has a trigram: every key is its own family
        return np.asarray(inverse)
    transposed = vectors.T.tocsr()
    frequency = np.bincount(inverse, minlength=len(distinct))
    leader = np.full(len(distinct), -1, dtype=np.int64)
    for key in np.argsort(-frequency, kind="stable"):
        if leader[key] >= 0:
            continue
        leader[key] = key
        similarity = (vectors[key] @ transposed).tocsr()
        close = similarity.indices[similarity.data >= threshold]
        leader[close[leader[close] < 0]] = key
    return np.asarray(pd.factorize(leader[inverse])[0])


def _fold_merchant_states(
    keys: np.ndarray, target: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`merchant_states` of each out-of-fold row against its fold's training part."""
    seen = np.zeros(len(keys), dtype=bool)
    consistent = np.zeros(len(keys), dtype=bool)
    for train_idx, test_idx in splits:
        fold_seen, fold_consistent = merchant_states(
            keys[train_idx], target[train_idx], keys[test_idx]
        )
        seen[test_idx], consistent[test_idx] = fold_seen, fold_consistent
    return seen, consistent


def _row_hashes(matrix: sp.csr_matrix, seed: int = 0) -> np.ndarray:
    """Two random projections per row (int64 view): equal rows get equal hashes."""
    rng = np.random.default_rng(seed)
    projection = rng.standard_normal((matrix.shape[1], 2))
    return np.asarray(matrix.astype(np.float64) @ projection).view(np.int64)


def aggregate_rows(keys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group rows whose every key column is equal.

    Returns ``(group, first, count)``: each row's group code, the first row of each group and
    each group's size (groups in order of first appearance)."""
    frame = pd.DataFrame({f"k{i}": np.asarray(k) for i, k in enumerate(keys)})
    group = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy()
    first = np.full(int(group.max()) + 1 if len(group) else 0, -1, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group))[::-1]
    count = np.bincount(group, minlength=len(first))
    return group, first, count


def stratified_cap(
    target: np.ndarray, weights: np.ndarray, cap: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``cap`` rows, every class kept (its rarest rows all), weights rescaled so each
    class keeps its share of the total weight and the mean weight is unchanged.  Returns
    ``(indices, weights)``; all rows when under cap."""
    if len(target) <= cap:
        return np.arange(len(target)), weights
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(target, return_counts=True)
    # water-filling: the largest per-class quota q with sum(min(count, q)) <= cap
    low, high = 1, int(counts.max())
    while low < high:
        mid = (low + high + 1) // 2
        if np.minimum(counts, mid).sum() <= cap:
            low = mid
        else:
            high = mid - 1
    picked, new_weights = [], []
    for cls, count in zip(classes, counts, strict=True):
        rows = np.flatnonzero(target == cls)
        if count > low:
            rows = np.sort(rng.choice(rows, size=low, replace=False))
        w = weights[rows].astype(np.float64)
        w *= weights[target == cls].sum() / w.sum()
        picked.append(rows)
        new_weights.append(w)
    order = np.concatenate(picked)
    sort = np.argsort(order, kind="stable")
    # keep the mean weight: the sample stands for the data, not for its size (a total kept
    # as large as the full data's would make the solver's effective C, and cost, explode)
    sampled = np.concatenate(new_weights)[sort] * (len(order) / len(target))
    return order[sort], sampled


@dataclass(frozen=True)
class _LazyRows:
    """Training rows as distinct-text blocks plus per-row blocks, joined on demand."""

    text: sp.csr_matrix  # one row per distinct (descriptor, merchant) pair
    pair: np.ndarray  # each row's pair
    other: sp.csr_matrix  # one row per row

    def take(self, rows: np.ndarray) -> sp.csr_matrix:
        """The full feature matrix of ``rows`` (float32 CSR)."""
        joined = sp.hstack([self.text[self.pair[rows]], self.other[rows]], format="csr")
        return joined.astype(np.float32)


@contextmanager
def _stage(name: str, rows: int) -> Iterator[None]:
    started = time.perf_counter()
    logger.info("category: %s (%d rows) ...", name, rows)
    yield
    logger.info("category: %s done in %.1f s", name, time.perf_counter() - started)


class CategoryModel(TitansModel):
    """Predict a transaction's category from the user's labelled history.

    Parameters
    ----------
    classifier : {"svm", "logreg"}
        Linear model on the sparse features: LinearSVC (default) or multinomial logistic
        regression; both are calibrated by temperature scaling.
    C : float or None
        Inverse regularisation strength; None chooses it per user by cross-validation over
        :data:`C_GRID`.
    weight_profile : str or None
        Feature-block weights (a key of :data:`WEIGHT_PROFILES`); None chooses per user.
    class_weight : {"balanced", None}
        Re-weight rare categories.
    char_max_features, word_max_features : int
        Vocabulary caps of the char_wb 2-5 and word 1-2 TF-IDF vectorisers (bounded for speed).
    calibration_folds : int
        Folds of the search and of the out-of-fold scores the temperature is fitted on (0 or 1
        disables both: defaults are used, uncalibrated).
    aggregate : bool
        Merge identical feature rows (same descriptor, merchant, per-row features and label)
        into one row weighted by its count before fitting: the same model, fitted faster.
    max_train_rows : int
        Cap on distinct (aggregated) rows of the final fit; above it, a stratified sample
        whose weights keep each category's total.
    cv_max_rows : int
        Cap on distinct rows of the cross-validated search and calibration (stratified).
    vocabulary_max_rows : int
        Rows the TF-IDF vocabularies and document frequencies are learnt from (a random
        sample above it).
    min_labelled_rows : int
        Fewer labelled rows than this is a TrainingDataError.
    random_state : int
        Seed of the folds and samples.
    """

    model_type: ClassVar[str] = "category"
    primary_metric: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True

    def __init__(
        self,
        classifier: str = "svm",
        C: float | None = None,
        weight_profile: str | None = None,
        class_weight: str | None = "balanced",
        char_max_features: int = 1 << 15,
        word_max_features: int = 1 << 14,
        calibration_folds: int = 4,
        aggregate: bool = True,
        max_train_rows: int = 25_000,
        cv_max_rows: int = 6_000,
        vocabulary_max_rows: int = 60_000,
        min_labelled_rows: int = 10,
        random_state: int = 0,
    ) -> None:
        self.classifier = classifier
        self.C = C
        self.weight_profile = weight_profile
        self.class_weight = class_weight
        self.char_max_features = char_max_features
        self.word_max_features = word_max_features
        self.calibration_folds = calibration_folds
        self.aggregate = aggregate
        self.max_train_rows = max_train_rows
        self.cv_max_rows = cv_max_rows
        self.vocabulary_max_rows = vocabulary_max_rows
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
                ("brand", BrandHits()),
            ],
            transformer_weights=dict(TEXT_WEIGHTS),
        )

    def _other_features(self) -> FeatureUnion:
        """Per-row blocks: type/account/payment method, amount bins, calendar, merchant
        profile and the merchant category code when the file carried one (a handful of
        non-zeros per row)."""
        return FeatureUnion(
            [
                ("categorical", CategoricalOneHot(DEFAULT_CATEGORICALS)),
                ("amount_bins", AmountBins()),
                ("calendar", CalendarOneHot()),
                ("merchant_profile", Pipeline([("p", MerchantProfile()), ("s", MaxAbsScaler())])),
                ("mcc", MccHits()),
            ],
            transformer_weights=dict(OTHER_WEIGHTS),
        )

    def _classifier(self, C: float) -> Any:
        # class balance is in the sample weights (they also carry aggregated row counts)
        if self.classifier == "svm":
            return LinearSVC(C=C)
        if self.classifier == "logreg":
            return LogisticRegression(C=C * 20, max_iter=2000)
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
        if self.weight_profile is not None and self.weight_profile not in WEIGHT_PROFILES:
            raise ValueError(
                f"unknown weight_profile {self.weight_profile!r}; use one of "
                f"{sorted(WEIGHT_PROFILES)}"
            )
        return frame.loc[mask], labels

    @staticmethod
    def _pairs(prepared: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Code of each row's (normalised descriptor, merchant key) pair and the first row of
        each distinct pair."""
        text_codes, _ = pd.factorize(prepared[NORMALISED_COLUMN], sort=False)
        key_codes, key_uniques = pd.factorize(prepared[MERCHANT_KEY_COLUMN], sort=False)
        pair = text_codes.astype(np.int64) * (len(key_uniques) + 1) + key_codes
        pair_codes, pair_uniques = pd.factorize(pair, sort=False)
        first = np.full(len(pair_uniques), -1, dtype=np.int64)
        first[pair_codes[::-1]] = np.arange(len(pair_codes))[::-1]
        return pair_codes.astype(np.int64), first

    @staticmethod
    def _blocks(union: FeatureUnion, frame: pd.DataFrame) -> tuple[sp.csr_matrix, list[int]]:
        """The union's blocks side by side, unweighted, with their widths."""
        blocks = [
            sp.csr_matrix(t.transform(frame), dtype=np.float32) for _, t in union.transformer_list
        ]
        return sp.hstack(blocks, format="csr", dtype=np.float32), [b.shape[1] for b in blocks]

    def _scale(self, profile: str) -> tuple[dict[str, float], dict[str, float], np.ndarray]:
        """Text and other block weights of a profile and the column scale vector."""
        factors = WEIGHT_PROFILES[profile]
        text = {k: v * factors.get(k, 1.0) for k, v in TEXT_WEIGHTS.items()}
        other = {k: v * factors.get(k, 1.0) for k, v in OTHER_WEIGHTS.items()}
        weights = [text[n] for n, _ in self.text_features_.transformer_list] + [
            other[n] for n, _ in self.other_features_.transformer_list
        ]
        scale = np.repeat(np.asarray(weights, dtype=np.float32), self.block_widths_)
        return text, other, scale

    # -- contract ----------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, y: object = None) -> Self:
        """Fit (see :class:`TitansModel`); the metadata records the C and block-weight profile
        the search chose (``C_searched`` says whether they were searched) and the calibration
        temperatures per merchant state."""
        super().fit(frame, y)
        self.metadata_.params.update(
            {
                "C": float(self.C_),
                "weight_profile": self.weight_profile_,
                "C_searched": self.C is None,
                "distinct_rows": int(self.n_distinct_rows_),
                "temperature_consistent": round(float(self.temperature_consistent_), 5),
                "temperature_mixed": round(float(self.temperature_mixed_), 5),
                "temperature_unseen": round(float(self.temperature_unseen_), 5),
            }
        )
        return self

    def _fit(self, frame: pd.DataFrame) -> None:
        train, labels = self._validate(frame)
        n = len(labels)
        with _stage("normalise descriptors", n):
            train = prepare_text(train)
            self.classes_, target = np.unique(labels, return_inverse=True)
        with _stage("learn vocabularies and profiles", n):
            sample = train
            if n > self.vocabulary_max_rows:
                sample = train.sample(self.vocabulary_max_rows, random_state=self.random_state)
            self.text_features_ = self._text_features().fit(sample)
            self.other_features_ = self._other_features().fit(train)
        with _stage("featurise and aggregate identical rows", n):
            matrix, weights, y, merchants = self._aggregated_matrix(train, target)
        logger.info("category: %d rows -> %d distinct feature rows", n, len(y))
        balanced = self._balanced(y, weights)
        with _stage("choose C and block weights by cross-validation", len(y)):
            self._search(matrix, y, balanced, weights, merchants)
        _, _, scale = self._scale(self.weight_profile_)
        rows, fit_weights = stratified_cap(y, balanced, self.max_train_rows, self.random_state)
        with _stage("final fit", len(rows)):
            self.estimator_ = self._classifier(self.C_).fit(
                matrix.take(rows) @ sp.diags(scale), y[rows], sample_weight=fit_weights
            )
        coef = np.atleast_2d(np.asarray(self.estimator_.coef_, dtype=np.float32))
        self.text_coef_ = np.ascontiguousarray(coef[:, : self.n_text_features_].T)
        self.other_coef_ = np.ascontiguousarray(coef[:, self.n_text_features_ :].T)
        self.intercept_ = np.atleast_1d(np.asarray(self.estimator_.intercept_, dtype=np.float32))
        self._remember_merchants(train, labels)
        self.n_labelled_ = n
        self.n_distinct_rows_ = len(y)

    def _aggregated_matrix(
        self, train: pd.DataFrame, target: np.ndarray
    ) -> tuple[_LazyRows, np.ndarray, np.ndarray, np.ndarray]:
        """Unweighted feature rows of the distinct (features, label) rows, their counts,
        labels and merchant keys.  The text blocks are built once per distinct descriptor
        and joined to the per-row blocks only for the rows a fit takes."""
        pair_codes, first_of_pair = self._pairs(train)
        other, other_widths = self._blocks(self.other_features_, train)
        if self.aggregate:
            hashes = _row_hashes(other, self.random_state)
            _, first, count = aggregate_rows([pair_codes, hashes[:, 0], hashes[:, 1], target])
        else:
            first, count = np.arange(len(target)), np.ones(len(target), dtype=np.int64)
        text, text_widths = self._blocks(self.text_features_, train.iloc[first_of_pair])
        self.n_text_features_ = text.shape[1]
        self.block_widths_ = np.asarray(text_widths + other_widths, dtype=np.int64)
        word_start = text_widths[0]
        self.word_columns_ = (word_start, word_start + text_widths[1])
        self.word_names_ = np.asarray(
            self.text_features_.transformer_list[1][1].vectorizer_.get_feature_names_out(),
            dtype=object,
        )
        matrix = _LazyRows(text, pair_codes[first], other[first])
        merchants = train[MERCHANT_KEY_COLUMN].to_numpy()[first]
        return matrix, count.astype(np.float64), target[first], merchants

    def _balanced(self, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Sample weights: row counts, times the class balance when ``class_weight`` asks."""
        if self.class_weight is None:
            return weights
        if self.class_weight != "balanced":
            raise ValueError(f"unknown class_weight {self.class_weight!r}; use 'balanced' or None")
        totals = np.bincount(y, weights=weights, minlength=len(self.classes_))
        present = totals > 0
        factor = np.zeros_like(totals)
        factor[present] = totals.sum() / (present.sum() * totals[present])
        weighted: np.ndarray = weights * factor[y]
        return weighted

    def _out_of_fold(
        self,
        matrix: sp.csr_matrix,
        target: np.ndarray,
        weights: np.ndarray,
        splits: list[tuple[np.ndarray, np.ndarray]],
        C: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-fold scores (NaN rows where a fold could not be fitted) and, per row,
        whether the fold's training part held its category.  A row whose category the fold
        never saw keeps its (lowest) score: new merchants often are new categories, and the
        unseen-merchant temperature should know."""
        n_classes = len(self.classes_)
        oof = np.full((len(target), n_classes), np.nan, dtype=np.float32)
        known = np.zeros(len(target), dtype=bool)
        for train_idx, test_idx in splits:
            present = np.unique(target[train_idx])
            if len(present) < 2:
                continue
            known[test_idx] = np.isin(target[test_idx], present)
            estimator = self._classifier(C).fit(
                matrix[train_idx], target[train_idx], sample_weight=weights[train_idx]
            )
            scores = self._scores(estimator, matrix[test_idx])
            # A class missing from this fold's training part gets the row's lowest score.
            block = np.repeat(scores.min(axis=1, keepdims=True) - 1.0, n_classes, axis=1)
            block[:, present] = scores
            oof[test_idx] = block
        return oof, known

    def _search(
        self,
        matrix: _LazyRows,
        y: np.ndarray,
        weights: np.ndarray,
        counts: np.ndarray,
        merchants: np.ndarray,
    ) -> None:
        """Pick C and the block-weight profile by out-of-fold accuracy on a capped stratified
        sample (ties: the earlier grid entry, defaults first), then fit the temperatures on
        the winner's out-of-fold scores.  ``weights`` (class-balanced) weigh the fits,
        ``counts`` (rows each distinct row stands for) the accuracy and the temperature, as
        on real data.  Sets ``C_``, ``weight_profile_``, ``temperature_`` (pooled seen
        merchants), ``temperature_consistent_``, ``temperature_mixed_``,
        ``temperature_unseen_`` and ``search_scores_``."""
        rows, w = stratified_cap(y, weights, self.cv_max_rows, self.random_state)
        _, n = stratified_cap(y, counts, self.cv_max_rows, self.random_state)  # same rows
        sample, target, groups_raw = matrix.take(rows), y[rows], merchants[rows]
        folds = min(self.calibration_folds, len(rows))
        grid = [
            (C, profile)
            for profile in ([self.weight_profile] if self.weight_profile else WEIGHT_PROFILES)
            for C in ([self.C] if self.C is not None else C_GRID)
        ]
        self.C_, self.weight_profile_ = grid[0]
        self.temperature_ = self.temperature_unseen_ = 1.0
        self.temperature_consistent_ = self.temperature_mixed_ = 1.0
        self.search_scores_: dict[str, float] = {}
        if folds < 2:
            return
        search_folds = min(folds, SEARCH_FOLDS) if len(grid) > 1 else folds
        splits = list(
            KFold(n_splits=search_folds, shuffle=True, random_state=self.random_state).split(sample)
        )
        best_oof, best_score = None, -np.inf
        for C, profile in grid:
            _, _, scale = self._scale(profile)
            oof, _ = self._out_of_fold(sample @ sp.diags(scale), target, w, splits, C)
            scored = ~np.isnan(oof).any(axis=1)
            if not scored.any():
                continue
            hit = oof[scored].argmax(axis=1) == target[scored]
            score = float(np.sum(n[scored] * hit) / np.sum(n[scored]))
            self.search_scores_[f"C={C:g},weights={profile}"] = round(score, 5)
            if score > best_score + 1e-9:
                best_oof, best_score = oof, score
                self.C_, self.weight_profile_ = C, profile
        logger.info(
            "category: chose C=%g, weights=%s (out-of-fold accuracy %.3f)",
            self.C_,
            self.weight_profile_,
            best_score,
        )
        if best_oof is None:
            return
        _, _, scale = self._scale(self.weight_profile_)
        scaled = sample @ sp.diags(scale)
        # Out-of-fold scores come from models fitted on (k-1)/k of the rows, so on a small
        # sample they are less sure than the final model: more folds where they are cheap.
        known = np.zeros(len(target), dtype=bool)
        for train_idx, test_idx in splits:
            known[test_idx] = np.isin(target[test_idx], target[train_idx])
        calibration_folds = min(max(folds, SMALL_SAMPLE_FOLDS), len(rows))
        if len(rows) <= SMALL_SAMPLE_ROWS and calibration_folds > search_folds:
            splits = list(
                KFold(calibration_folds, shuffle=True, random_state=self.random_state).split(sample)
            )
            best_oof, known = self._out_of_fold(scaled, target, w, splits, self.C_)
        # A seen merchant's category is one the model knows: fit its temperature on rows
        # whose category the fold's model knew.
        scored = ~np.isnan(best_oof).any(axis=1) & known
        if scored.sum() >= 2:
            oof = best_oof.astype(np.float64)
            self.temperature_ = _fit_temperature(oof[scored], target[scored], n[scored])
            # A merchant the user always labelled the same is surer than one with split labels
            # (or a key several merchants share): one temperature each, from the rows whose
            # merchant was in that state in the fold's training part.
            seen, consistent = _fold_merchant_states(groups_raw, target, splits)
            for state, attribute in (
                (seen & consistent, "temperature_consistent_"),
                (seen & ~consistent, "temperature_mixed_"),
            ):
                fitted = _fit_state_temperature(oof, target, n, state & scored, scored)
                setattr(self, attribute, self.temperature_ if fitted is None else fitted)
        self.temperature_unseen_ = self.temperature_
        # Folds hold out whole merchant families: a fold's new merchant is not a variant of
        # one its training part holds (exact keys make most "new" merchants old ones).
        groups = merchant_families(groups_raw)
        n_groups = int(groups.max()) + 1 if len(groups) else 0
        if n_groups < 2:
            return
        grouped = list(GroupKFold(n_splits=min(folds, n_groups)).split(sample, groups=groups))
        oof, known = self._out_of_fold(scaled, target, w, grouped, self.C_)
        # Calibrated on rows whose category the fold knew: a new category is beyond any
        # temperature (its rows are wrong whatever the confidence), and counting them made
        # every never-seen merchant of a known category look far less certain than it is.
        scored = ~np.isnan(oof).any(axis=1) & known
        if scored.sum() >= 2:
            unseen = _fit_temperature(oof[scored].astype(np.float64), target[scored], n[scored])
            self.temperature_unseen_ = max(unseen, self.temperature_)

    def _remember_merchants(self, train: pd.DataFrame, labels: np.ndarray) -> None:
        """Per merchant key: its most frequent category, that category's count ``n`` and the
        key's ``total`` rows (explanations; ``n == total`` is a consistent merchant)."""
        counts = (
            pd.DataFrame({"key": train[MERCHANT_KEY_COLUMN].to_numpy(), "category": labels})
            .groupby(["key", "category"], sort=True)
            .size()
            .rename("n")
            .reset_index()
            .sort_values(["key", "n"], ascending=[True, False], kind="stable")
        )
        top = counts.drop_duplicates("key", keep="first").set_index("key")
        top["total"] = counts.groupby("key", sort=True)["n"].sum()
        self.merchant_history_ = top[["category", "n", "total"]]
        self.known_merchants_ = pd.Index(top.index)
        text, other, _ = self._scale(self.weight_profile_)
        self.text_features_.transformer_weights = text
        self.other_features_.transformer_weights = other

    def feature_names(self) -> list[str]:
        """Feature families with their widths."""
        check_is_fitted(self, "text_features_")
        names = [
            n
            for union in (self.text_features_, self.other_features_)
            for n, _ in union.transformer_list
        ]
        return [f"{name}[{width}]" for name, width in zip(names, self.block_widths_, strict=True)]

    def decision_scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated class scores (n_rows x n_classes, float32) in one vectorised pass.

        The linear score splits into a text part and a per-row part; the text part is computed
        once per distinct (descriptor, merchant) pair and broadcast, so a large batch never
        materialises its n-gram matrix row by row.
        """
        check_is_fitted(self, "estimator_")
        return self._decision(prepare_text(frame))[0]

    def _decision(
        self, prepared: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, sp.csr_matrix]:
        """Scores, each row's pair code, the first row of each pair and the pairs' text
        matrix."""
        pair_codes, first = self._pairs(prepared)
        distinct = prepared.iloc[first]
        text_matrix = self.text_features_.transform(distinct).tocsr().astype(np.float32)
        text_scores = np.asarray(text_matrix @ self.text_coef_, dtype=np.float32)
        other = self.other_features_.transform(prepared).tocsr().astype(np.float32)
        scores = text_scores[pair_codes]
        scores += np.asarray(other @ self.other_coef_, dtype=np.float32)
        scores += self.intercept_
        if scores.shape[1] == 1:  # binary problem: one signed margin
            scores = np.column_stack([-scores[:, 0] / 2, scores[:, 0] / 2])
        return scores, pair_codes, first, text_matrix

    def _merchant_totals(self) -> np.ndarray:
        """Training rows of each ``merchant_history_`` key (an artefact saved before the
        column existed counts only the top category's rows: every merchant consistent)."""
        history = self.merchant_history_
        return np.asarray(history["total"] if "total" in history else history["n"])

    def _consistent_merchants(self) -> np.ndarray:
        """Per ``merchant_history_`` key: every training row of it carried one category."""
        return np.asarray(self.merchant_history_["n"].to_numpy() == self._merchant_totals())

    def _calibrated(self, prepared: pd.DataFrame, scores: np.ndarray) -> np.ndarray:
        history = self.merchant_history_
        position = history.index.get_indexer(pd.Index(prepared[MERCHANT_KEY_COLUMN]))
        consistent = self._consistent_merchants()[np.maximum(position, 0)]
        # artefacts saved before the per-state temperatures use the pooled seen one
        temperature = np.select(
            [position < 0, consistent],
            [
                self.temperature_unseen_,
                getattr(self, "temperature_consistent_", self.temperature_),
            ],
            getattr(self, "temperature_mixed_", self.temperature_),
        )
        scores /= temperature.astype(np.float32)[:, None]
        return _softmax(scores)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, one column per ``classes_`` entry (float32).

        Each row uses its merchant's state's temperature: consistent (one category in every
        training row), mixed, or never seen (the unseen-merchant one, never sharper than the
        pooled seen-merchant temperature).
        """
        check_is_fitted(self, "estimator_")
        prepared = prepare_text(frame)
        return self._calibrated(prepared, self._decision(prepared)[0])

    def unseen_merchants(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean per row: its merchant was absent from the training data (monitoring)."""
        check_is_fitted(self, "estimator_")
        prepared = prepare_text(frame)
        positions = self.known_merchants_.get_indexer(pd.Index(prepared[MERCHANT_KEY_COLUMN]))
        return np.asarray(positions < 0)

    def _predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "estimator_")
        if len(frame) == 0:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTPUT_COLUMNS})
        prepared = prepare_text(frame)
        scores, pair_codes, first, text_matrix = self._decision(prepared)
        proba = self._calibrated(prepared, scores)
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
                "explanation": self._explain(prepared, pair_codes, first, text_matrix, top[:, 0]),
            },
            index=frame.index,
        )

    def _explain(
        self,
        prepared: pd.DataFrame,
        pair_codes: np.ndarray,
        first: np.ndarray,
        text_matrix: sp.csr_matrix,
        predicted: np.ndarray,
    ) -> np.ndarray:
        """Why each row got its category: the merchant's history, the brand-database match and
        the descriptor words that weighed most for it.  Built once per distinct (descriptor,
        merchant, predicted category) and broadcast."""
        n_classes = len(self.classes_)
        combo_codes, combos = pd.factorize(pair_codes * n_classes + predicted, sort=False)
        combo_pair, combo_cls = combos // n_classes, combos % n_classes
        rep = first[combo_pair]
        keys = pd.Index(prepared[MERCHANT_KEY_COLUMN].to_numpy()[rep])
        position = self.merchant_history_.index.get_indexer(keys)
        history_cat = self.merchant_history_["category"].to_numpy(dtype=object)
        history_n = self.merchant_history_["n"].to_numpy()
        history_total = self._merchant_totals()
        history_consistent = self._consistent_merchants()
        found = brand_frame(pd.Series(prepared[NORMALISED_COLUMN].to_numpy()[rep], dtype=object))
        brands: list[str | None] = found["brand"].tolist()
        tags: list[str | None] = found["tag"].tolist()
        evidence = self._evidence(text_matrix[combo_pair], combo_cls)
        texts = []
        for i, pos in enumerate(position.tolist()):
            parts = []
            if pos >= 0 and history_consistent[pos]:
                parts.append(f"merchant seen {history_n[pos]} times as {history_cat[pos]}")
            elif pos >= 0:
                parts.append(
                    f"merchant seen {history_total[pos]} times, {history_n[pos]} of them as "
                    f"{history_cat[pos]}"
                )
            else:
                parts.append("merchant not seen in training")
            if brands[i] is not None:
                parts.append(f"brand database: {brands[i]} ({tags[i]})")
            if evidence[i]:
                parts.append("evidence: " + ", ".join(f"'{w}'" for w in evidence[i]))
            texts.append("; ".join(parts))
        table = np.asarray(texts, dtype=object)
        explanations = table[combo_codes]
        mcc = mcc_explanations(mcc_column(prepared))
        coded = np.flatnonzero(pd.notna(mcc))
        if len(coded):
            explanations = explanations.copy()
            explanations[coded] = explanations[coded] + "; " + mcc[coded]
        return np.asarray(explanations)

    def _evidence(
        self, text_rows: sp.csr_matrix, classes: np.ndarray, top: int = 2
    ) -> list[list[str]]:
        """Per row, the (up to ``top``) word n-grams pushing hardest towards its class."""
        start, stop = self.word_columns_
        words = text_rows[:, start:stop].tocsr()
        row = np.repeat(np.arange(words.shape[0]), np.diff(words.indptr))
        contribution = words.data * self.text_coef_[start + words.indices, classes[row]]
        keep = contribution > 0
        row, col, contribution = row[keep], words.indices[keep], contribution[keep]
        order = np.lexsort((-contribution, row))
        row, col = row[order], col[order]
        rank = np.arange(len(row)) - np.searchsorted(row, row, side="left")
        out: list[list[str]] = [[] for _ in range(words.shape[0])]
        for r, c in zip(row[rank < top].tolist(), col[rank < top].tolist(), strict=True):
            out[r].append(str(self.word_names_[c]))
        return out

    def predict_with_rules(
        self, frame: pd.DataFrame, rules: Sequence[d.CategoryRule] = ()
    ) -> pd.DataFrame:
        """Like :meth:`predict`, but rows matched by a user rule take the rule's category.

        Rule rows get ``source="rule"``, confidence 1.0 and a rule explanation; their
        ``alternatives`` keep the model's top 3.  Rules are matched vectorised (see
        :func:`models.rules.apply_rules`).
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
            result.loc[hit, "explanation"] = RULE_EXPLANATION
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


__all__ = [
    "OUTPUT_COLUMNS",
    "CategoryModel",
    "aggregate_rows",
    "confidence_levels",
    "labelled_rows",
    "merchant_families",
    "merchant_states",
    "stratified_cap",
]
