"""Category model quality against the anchors, on real exports and a harder noisy variant.

    uv run python bench/bench_category.py
    uv run python bench/bench_category.py --no-merchant-column

Splits: personal-transactions time split (earlier 75% train, later 25% test); the same with
bank-style noise added to descriptors (store numbers, city suffixes, processor prefixes,
truncation), and additionally with whole merchants held out of training; us-merchants
(Description -> Category and -> Sub_Category, no dates or amounts) with a per-class random
split; Berka development accounts only (id % 10 not in {5, 6}: those are held out and never
used here), categories derived from the bank's k_symbol codes, descriptions from the
operation code + partner bank, time split; and a small-data regime (400 rows, about 40
labels: personal noisy rows pooled with us-merchants Sub_Category rows given dates in the same
range, time split, 3 seeds).  The anchor to beat everywhere is ``TfidfLogRegAnchor`` (char_wb
2-5 + word TF-IDF -> LogisticRegression(C=20)); the table marks each split ``model >= anchor``.
Every report also gives ``reachable_rows`` (test rows whose category occurs in training) and
the accuracy and ECE on those rows.  The model's ECE comes with how far it can be trusted on
so few rows: ``ece_sd``, its bootstrap standard deviation (each seed's test rows resampled,
the seeds' ECEs averaged), ``ece_floor``, the mean ECE a perfectly calibrated model with
these very confidences would show on as many rows (each row right with probability equal to
its confidence: the ten-bin ECE is biased upwards on small samples), and ``pooled_ece``, the
ECE of the seeds' test rows pooled.  Frames get the ``merchant`` column
from ingest's normaliser, as in real use (anchors ignore it); with ``--no-merchant-column``
they do not, so the model falls back to its own merchant identity
(``titans_finance.merchants``).
Writes bench/results/category.json (category_no_merchant.json) and prints markdown tables.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from anchors import SeedAnchor, SmartImporterAnchor, TfidfLogRegAnchor
from berka_split import HELD_OUT_BERKA
from titans_finance import domain as d
from titans_finance.merchants import normalize_merchants
from titans_finance.models.category import CategoryModel
from titans_finance.models.metrics import classification_report, expected_calibration_error

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"

PREFIXES = ["", "", "POS ", "SQ *", "TST* ", "CHECKCARD 0412 ", "PURCHASE AUTHORIZED ON 03/12 "]
CITIES = ["SEATTLE WA", "AUSTIN TX", "NEW YORK NY", "SAN JOSE CA", "DENVER CO", "MIAMI FL", ""]


# -- datasets ---------------------------------------------------------------------------------
def personal() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "personal-transactions" / "personal_transactions.csv")
    sign = np.where(raw["Transaction Type"].eq("debit"), -1.0, 1.0)
    frame = pd.DataFrame(
        {
            d.DATE: pd.to_datetime(raw["Date"], format="%m/%d/%Y"),
            d.DESCRIPTION: raw["Description"].astype(str),
            d.AMOUNT: raw["Amount"] * sign,
            d.TYPE: np.where(sign < 0, "Expense", "Income"),
            d.CATEGORY: raw["Category"].astype(str),
            d.ACCOUNT: raw["Account Name"].astype(str),
        }
    )
    return frame.sort_values(d.DATE, kind="stable").reset_index(drop=True)


def add_noise(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Bank-style descriptor noise, per row."""
    rng = np.random.default_rng(seed)
    n = len(frame)
    text = frame[d.DESCRIPTION].astype(str).to_numpy()
    prefix = rng.choice(PREFIXES, n)
    store = np.where(rng.random(n) < 0.6, [f" #{x}" for x in rng.integers(10, 99999, n)], "")
    digits = np.where(rng.random(n) < 0.3, [f" {x}" for x in rng.integers(10**6, 10**9, n)], "")
    city = np.where(rng.random(n) < 0.6, [" " + c for c in rng.choice(CITIES, n)], "")
    noisy = [
        f"{p}{t}{s}{g}{c}".strip()
        for p, t, s, g, c in zip(prefix, text, store, digits, city, strict=True)
    ]
    upper = rng.random(n) < 0.5
    noisy = [s.upper() if u else s for s, u in zip(noisy, upper, strict=True)]
    truncate = rng.random(n) < 0.2
    noisy = [s[:22] if t else s for s, t in zip(noisy, truncate, strict=True)]
    out = frame.copy()
    out[d.DESCRIPTION] = noisy
    return out


def us_merchants(label: str) -> pd.DataFrame:
    raw = pd.read_csv(DATA / "us-merchants" / "Datas.csv", encoding="utf-8-sig")
    return pd.DataFrame(
        {d.DESCRIPTION: raw["Description"].astype(str), d.CATEGORY: raw[label].astype(str)}
    )


BERKA_CATEGORIES = {
    "SIPO": "Household",
    "UVER": "Loan",
    "UROK": "Interest",
    "SLUZBY": "Fees",
    "POJISTNE": "Insurance",
    "DUCHOD": "Pension",
    "SANKC. UROK": "Penalty interest",
}
BERKA_OPERATIONS = {
    "VKLAD": "cash deposit",
    "VYBER": "cash withdrawal",
    "VYBER KARTOU": "card withdrawal",
    "PREVOD Z UCTU": "transfer in",
    "PREVOD NA UCET": "transfer out",
}


def berka() -> pd.DataFrame:
    """Berka development accounts only (account_id % 10 not in HELD_OUT_BERKA)."""
    raw = pd.read_csv(DATA / "berka" / "trans.asc", sep=";", encoding="latin-1")
    raw = raw[~(raw["account_id"] % 10).isin(HELD_OUT_BERKA)]
    raw = raw[raw["k_symbol"].astype(str).str.strip().isin(BERKA_CATEGORIES)]
    sign = np.where(raw["type"].eq("PRIJEM"), 1.0, -1.0)
    operation = raw["operation"].map(BERKA_OPERATIONS).fillna("bank entry")
    bank = raw["bank"].fillna("").astype(str)
    frame = pd.DataFrame(
        {
            d.DATE: pd.to_datetime(raw["date"].astype(str), format="%y%m%d"),
            d.DESCRIPTION: (operation + " " + bank).str.strip().to_numpy(),
            d.AMOUNT: raw["amount"].to_numpy() * sign,
            d.TYPE: np.where(sign > 0, "Income", "Expense"),
            d.CATEGORY: raw["k_symbol"].str.strip().map(BERKA_CATEGORIES).to_numpy(),
            d.ACCOUNT: raw["account_id"].astype(str).to_numpy(),
        }
    )
    return frame.sort_values(d.DATE, kind="stable").reset_index(drop=True)


def small_data(seed: int, rows: int = 400) -> pd.DataFrame:
    """About ``rows`` rows and 40 labels: half personal noisy, half us-merchants Sub_Category
    (dated uniformly over the personal date range), sorted by date."""
    rng = np.random.default_rng(seed)
    mine = add_noise(personal(), seed)
    mine = mine.iloc[np.sort(rng.choice(len(mine), rows // 2, replace=False))]
    shop = us_merchants("Sub_Category")
    shop = shop.iloc[np.sort(rng.choice(len(shop), rows - rows // 2, replace=False))].copy()
    start, end = mine[d.DATE].min(), mine[d.DATE].max()
    shop[d.DATE] = start + pd.to_timedelta(rng.integers(0, (end - start).days + 1, len(shop)), "D")
    shop[d.AMOUNT] = -np.round(np.exp(rng.normal(3.0, 1.0, len(shop))), 2)
    shop[d.TYPE] = "Expense"
    shop[d.ACCOUNT] = "Card"
    frame = pd.concat([mine, shop[mine.columns]], ignore_index=True)
    return frame.sort_values(d.DATE, kind="stable").reset_index(drop=True)


# -- splits -----------------------------------------------------------------------------------
def time_split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = int(len(frame) * 0.75)
    return frame.iloc[:cut], frame.iloc[cut:]


def per_class_split(frame: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random 25% of each class to test (classes with one row stay in training)."""
    rng = np.random.default_rng(seed)
    test_idx: list[int] = []
    for _, rows in frame.groupby(d.CATEGORY).groups.items():
        rows = rng.permutation(np.asarray(rows))
        test_idx.extend(rows[: int(len(rows) * 0.25)])
    test = frame.index.isin(test_idx)
    return frame[~test], frame[test]


def unseen_merchant_split(
    frame: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Time split, then a quarter of the distinct (clean) descriptors removed from training.

    Returns train, the later test rows, and the test rows of held-out merchants only."""
    rng = np.random.default_rng(seed)
    clean = personal()[d.DESCRIPTION]
    merchants = clean.unique()
    held = set(rng.choice(merchants, size=len(merchants) // 4, replace=False))
    is_held = clean.isin(held).to_numpy()
    cut = int(len(frame) * 0.75)
    early = np.arange(len(frame)) < cut
    train = frame[early & ~is_held]
    test = frame[~early | is_held]
    return train, test, frame[is_held]


# -- scoring ----------------------------------------------------------------------------------
ADD_MERCHANT = "--no-merchant-column" not in sys.argv[1:]


def with_merchant(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the ``merchant`` column ingest adds to every stored or loaded frame."""
    if not ADD_MERCHANT:
        return frame
    return frame.assign(**{d.MERCHANT: normalize_merchants(frame[d.DESCRIPTION])})


MODEL = "titans CategoryModel"
ANCHOR = "anchor TF-IDF char+word LogReg(C=20)"


def _add_reachable(
    report: dict[str, float],
    truth: np.ndarray,
    reachable: np.ndarray,
    labels: np.ndarray,
    confidence: np.ndarray | None,
) -> None:
    """Accuracy (and ECE) on the rows whose category occurs in training: what a classifier
    over the user's own categories can get right."""
    if not reachable.any():
        return
    sub = classification_report(
        truth[reachable],
        labels[reachable],
        None if confidence is None else np.asarray(confidence)[reachable],
    )
    report["reachable_accuracy"] = sub["accuracy"]
    if "ece" in sub:
        report["reachable_ece"] = sub["ece"]


Reports = dict[str, dict[str, float]]
ECE_DRAWS = 1000


@dataclass(frozen=True)
class Scored:
    """One fit's reports and the model's per-row hits and confidences on the test rows."""

    reports: Reports
    correct: np.ndarray
    confidence: np.ndarray


def score_all(train: pd.DataFrame, test: pd.DataFrame) -> Scored:
    train, test = with_merchant(train), with_merchant(test)
    truth = test[d.CATEGORY].astype(str).to_numpy()
    out: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    model = CategoryModel().fit(train)
    predicted = model.predict(test)
    out[MODEL] = classification_report(
        truth, predicted["predicted_category"], predicted["confidence"].to_numpy()
    )
    out[MODEL]["seconds"] = time.perf_counter() - started
    # rows whose category exists in training: the ceiling any classifier of the user's own
    # categories can reach on never-seen merchants
    reachable = np.isin(truth, train[d.CATEGORY].astype(str).unique())
    out[MODEL]["reachable_rows"] = float(reachable.mean())
    _add_reachable(
        out[MODEL],
        truth,
        reachable,
        predicted["predicted_category"].to_numpy(),
        predicted["confidence"].to_numpy(),
    )
    for name, anchor_cls in (
        ("seed RandomForest", SeedAnchor),
        ("smart_importer TF-IDF+LinearSVC", SmartImporterAnchor),
        (ANCHOR, TfidfLogRegAnchor),
    ):
        started = time.perf_counter()
        labels, confidence = anchor_cls().fit(train).predict(test)
        out[name] = classification_report(truth, labels, confidence)
        out[name]["seconds"] = time.perf_counter() - started
        _add_reachable(out[name], truth, reachable, np.asarray(labels), confidence)
    for report in out.values():
        report["train_rows"] = float(len(train))
        report["classes"] = float(train[d.CATEGORY].nunique())
    correct = truth == predicted["predicted_category"].astype(str).to_numpy()
    return Scored(out, correct, predicted["confidence"].to_numpy(dtype=np.float64))


def ece_spread(scored: list[Scored], seed: int = 0) -> dict[str, float]:
    """The bootstrap standard deviation of the mean-of-seeds ECE (a spread: resampling adds
    duplicates, so the resampled ECEs sit above it), its floor (the mean ECE of a perfectly
    calibrated model with the same confidences and row counts) and the pooled ECE."""
    rng = np.random.default_rng(seed)
    boot, floor = np.zeros(ECE_DRAWS), np.zeros(ECE_DRAWS)
    for s in scored:
        n = len(s.correct)
        for draw in range(ECE_DRAWS):
            rows = rng.integers(0, n, n)
            boot[draw] += expected_calibration_error(s.correct[rows], s.confidence[rows])
            floor[draw] += expected_calibration_error(rng.random(n) < s.confidence, s.confidence)
    boot /= len(scored)
    floor /= len(scored)
    pooled = expected_calibration_error(
        np.concatenate([s.correct for s in scored]), np.concatenate([s.confidence for s in scored])
    )
    return {
        "ece_sd": float(boot.std()),
        "ece_floor": float(floor.mean()),
        "pooled_ece": pooled,
    }


def mean_reports(scored: list[Scored]) -> Reports:
    """The seeds' reports averaged, the model's with its :func:`ece_spread`."""
    reports = [s.reports for s in scored]
    mean = {
        name: {key: float(np.mean([r[name][key] for r in reports])) for key in reports[0][name]}
        for name in reports[0]
    }
    mean[MODEL].update(ece_spread(scored))
    return mean


def main() -> None:
    seeds = (0, 1, 2)
    splits: dict[str, Callable[[], Reports]] = {
        "personal: time split": lambda: mean_reports([score_all(*time_split(personal()))]),
        "personal noisy: time split (3 seeds)": lambda: mean_reports(
            [score_all(*time_split(add_noise(personal(), s))) for s in seeds]
        ),
        "personal noisy: time split + 25% merchants unseen (3 seeds)": lambda: mean_reports(
            [score_all(*unseen_merchant_split(add_noise(personal(), s), s)[:2]) for s in seeds]
        ),
        "personal noisy: held-out merchants' rows only (3 seeds)": lambda: mean_reports(
            [
                score_all(split[0], split[2])
                for split in (unseen_merchant_split(add_noise(personal(), s), s) for s in seeds)
            ]
        ),
        "us-merchants: Category, per-class split": lambda: mean_reports(
            [score_all(*per_class_split(us_merchants("Category")))]
        ),
        "us-merchants: Sub_Category, per-class split": lambda: mean_reports(
            [score_all(*per_class_split(us_merchants("Sub_Category")))]
        ),
        "berka development accounts (labels from k_symbol codes): time split": lambda: mean_reports(
            [score_all(*time_split(berka()))]
        ),
        "small data: 400 rows, ~40 labels, time split (3 seeds)": lambda: mean_reports(
            [score_all(*time_split(small_data(s))) for s in seeds]
        ),
    }
    results: dict[str, Reports] = {}
    for name, run in splits.items():
        print(f"running {name} ...", file=sys.stderr)
        results[name] = run()
    payload = {
        "benchmark": "category",
        "command": "uv run python bench/bench_category.py"
        + ("" if ADD_MERCHANT else " --no-merchant-column"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg()[0],
        },
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "category.json" if ADD_MERCHANT else "category_no_merchant.json"
    (RESULTS / name).write_text(json.dumps(payload, indent=2))
    print("| split | model | accuracy | macro-F1 | ECE | test rows | classes |")
    print("|---|---|---|---|---|---|---|")
    for split, reports in results.items():
        for model, r in reports.items():
            ece = f"{r['ece']:.3f}" if "ece" in r else "n/a"
            print(
                f"| {split} | {model} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {ece} "
                f"| {int(r['rows'])} | {int(r['classes'])} |"
            )
    print(
        "\n| split | model accuracy | anchor accuracy | model >= anchor | reachable rows "
        "| model / anchor accuracy on them | model ECE on them "
        "| model ECE ± bootstrap sd | perfect-calibration ECE floor | pooled ECE |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for split, reports in results.items():
        m, a = reports[MODEL], reports[ANCHOR]
        print(
            f"| {split} | {m['accuracy']:.3f} | {a['accuracy']:.3f} "
            f"| {'yes' if m['accuracy'] >= a['accuracy'] else 'NO'} | {m['reachable_rows']:.3f} "
            f"| {m.get('reachable_accuracy', 0):.3f} / {a.get('reachable_accuracy', 0):.3f} "
            f"| {m.get('reachable_ece', 0):.3f} "
            f"| {m['ece']:.3f} ± {m['ece_sd']:.3f} | {m['ece_floor']:.3f} "
            f"| {m['pooled_ece']:.3f} |"
        )


if __name__ == "__main__":
    main()
