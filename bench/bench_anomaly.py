"""Anomaly model benchmark: average precision on injected anomalies against a global z-score.

Berka: train on 1993-01-01 .. 1993-11-30, score 1993-12-01 .. 1994-03-31 with anomalies injected
by ``inject_anomalies`` (1% of rows x10, as many outsized cash withdrawals; fixed seeds), for all
accounts and for the accounts whose id modulo 10 is 5 or 6 (not used while developing).
personal-transactions: first 75% of the dates train.  ULB (real card fraud, PCA features): the
IsolationForest core on V1..V28 + Amount, and the full model on Amount/Time alone.  Sparkov
(synthetic): smoke test only.  Writes bench/results/anomaly.json and prints markdown tables.

    uv run python bench/bench_anomaly.py [--speed-rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_amount import (
    BERKA_SPLIT,
    DATA,
    RESULTS,
    held_out_accounts,
    load_berka,
    load_personal,
    quantile_cut,
    time_split,
)
from titans_finance import domain as d
from titans_finance.models.anomaly import AnomalyModel

SEEDS = (0, 1, 2)


def injected_case(name: str, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    start = time.perf_counter()
    model = AnomalyModel().fit(train)
    fit_seconds = time.perf_counter() - start
    runs = []
    for seed in SEEDS:
        runs.append(_evaluate_seed(model, test, seed))
    out = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
    out.update({"dataset": name, "train_rows": len(train), "test_rows": len(test)})
    out["fit_seconds"] = round(fit_seconds, 1)
    return out


def _evaluate_seed(model: AnomalyModel, test: pd.DataFrame, seed: int) -> dict[str, float]:
    from titans_finance.models.anomaly import inject_anomalies

    injected, labels = inject_anomalies(test, seed=seed)
    scored = model.predict(injected)
    flagged = scored["is_anomaly"].to_numpy()
    return {
        "average_precision": float(average_precision_score(labels, scored["anomaly_score"])),
        "baseline_ap": float(average_precision_score(labels, model.global_zscore(injected))),
        "recall_at_threshold": float(flagged[labels == 1].mean()),
        "precision_at_threshold": float(labels[flagged].mean()) if flagged.any() else 0.0,
        "flagged_rate": float(flagged.mean()),
        "reasons_coverage": float((scored["reasons"].map(len).to_numpy()[flagged] > 0).mean())
        if flagged.any()
        else 1.0,
    }


def clean_flag_rate(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    model = AnomalyModel().fit(train)
    scored = model.predict(test)
    codes = pd.Series([c for row in scored["reason_codes"] for c in row]).value_counts()
    return {
        "flagged_rate_clean": float(scored["is_anomaly"].mean()),
        **{f"clean_reason_{k}": int(v) for k, v in codes.items()},
    }


def ulb() -> dict:
    raw = pd.read_csv(DATA / "ulb-creditcard" / "creditcard_adjustedl.csv")
    labels = raw["Class"].to_numpy()
    features = raw[[f"V{i}" for i in range(1, 29)] + ["Amount"]].to_numpy()
    forest = IsolationForest(n_estimators=200, random_state=0).fit(features[labels == 0])
    core_ap = average_precision_score(labels, -forest.score_samples(features))
    # the full model on what a bank export has: amount and time of one card's history
    frame = pd.DataFrame(
        {
            d.DATE: pd.Timestamp("2013-09-01") + pd.to_timedelta(raw["Time"], unit="s"),
            d.DESCRIPTION: "card payment",
            d.AMOUNT: -raw["Amount"].astype(float),
            d.TYPE: "Expense",
            d.ACCOUNT: "card",
            d.PAYMENT_METHOD: "Card",
        }
    )
    rng = np.random.default_rng(0)
    legit = np.flatnonzero(labels == 0)
    train_rows = rng.choice(legit, size=len(legit) // 2, replace=False)
    test_mask = np.ones(len(frame), dtype=bool)
    test_mask[train_rows] = False
    model = AnomalyModel().fit(frame.iloc[np.sort(train_rows)])
    scores = model.predict(frame[test_mask])["anomaly_score"]
    return {
        "rows": len(raw),
        "frauds": int(labels.sum()),
        "isolation_forest_pca_ap": float(core_ap),
        "model_amount_time_ap": float(average_precision_score(labels[test_mask], scores)),
        "amount_only_ap": float(
            average_precision_score(labels[test_mask], raw["Amount"].to_numpy()[test_mask])
        ),
        "prevalence_test": float(labels[test_mask].mean()),
    }


def sparkov() -> dict:
    def load(name: str) -> pd.DataFrame:
        raw = pd.read_csv(DATA / "sparkov" / name, encoding="utf-8-sig")
        return pd.DataFrame(
            {
                d.DATE: pd.to_datetime(raw["trans_date_trans_time"], format="mixed"),
                d.DESCRIPTION: raw["merchant"],
                d.AMOUNT: -raw["amt"].astype(float),
                d.TYPE: "Expense",
                d.CATEGORY: raw["category"],
                d.ACCOUNT: raw["first"] + " " + raw["last"],
                d.PAYMENT_METHOD: "Card",
                "is_fraud": raw["is_fraud"],
            }
        )

    train, test = load("fraudTrain.csv"), load("fraudTest.csv")
    model = AnomalyModel().fit(train[train["is_fraud"] == 0].drop(columns="is_fraud"))
    scored = model.predict(test.drop(columns="is_fraud"))
    return {
        "rows_scored": len(scored),
        "ap_balanced_synthetic": float(
            average_precision_score(test["is_fraud"], scored["anomaly_score"])
        ),
        "flagged_rate": float(scored["is_anomaly"].mean()),
    }


def speed(train: pd.DataFrame, test: pd.DataFrame, rows: int) -> dict:
    model = AnomalyModel().fit(train)
    batch = test.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    start = time.perf_counter()
    model.predict(batch)
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": round(seconds, 1), "rows_per_second": round(rows / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--speed-rows", type=int, default=1_000_000)
    args = parser.parse_args()

    berka = load_berka()
    train, test = time_split(berka, BERKA_SPLIT)
    kept_train, kept_test = train[held_out_accounts(train)], test[held_out_accounts(test)]
    personal = load_personal()
    p_train, p_test = time_split(personal, quantile_cut(personal))
    cases = [
        {**injected_case("berka (all accounts)", train, test), **clean_flag_rate(train, test)},
        {
            **injected_case("berka (held-out ids %10 in 5,6)", kept_train, kept_test),
            **clean_flag_rate(kept_train, kept_test),
        },
        {
            **injected_case("personal-transactions", p_train, p_test),
            **clean_flag_rate(p_train, p_test),
        },
    ]
    result = {
        "injected": cases,
        "ulb": ulb(),
        "sparkov_smoke": sparkov(),
        "speed": speed(train, test, args.speed_rows),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "anomaly.json").write_text(json.dumps(result, indent=2, default=str))

    print(
        "| dataset | train rows | test rows | AP (ours) | AP global z | recall@flag | "
        "precision@flag | flagged (clean) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for c in cases:
        print(
            f"| {c['dataset']} | {c['train_rows']} | {c['test_rows']} | "
            f"{c['average_precision']:.3f} | {c['baseline_ap']:.3f} | "
            f"{c['recall_at_threshold']:.3f} | {c['precision_at_threshold']:.3f} | "
            f"{c['flagged_rate_clean']:.3%} |"
        )
    u = result["ulb"]
    print(
        f"\nULB ({u['rows']} rows, {u['frauds']} frauds): IsolationForest on V1..V28+Amount "
        f"AP {u['isolation_forest_pca_ap']:.3f}; full model on Amount/Time AP "
        f"{u['model_amount_time_ap']:.3f} (amount alone {u['amount_only_ap']:.3f}, prevalence "
        f"{u['prevalence_test']:.3f})"
    )
    s = result["sparkov_smoke"]
    print(
        f"Sparkov smoke (synthetic, balanced): {s['rows_scored']} rows scored, "
        f"AP {s['ap_balanced_synthetic']:.3f}, flagged {s['flagged_rate']:.1%}"
    )
    sp = result["speed"]
    print(f"scoring speed: {sp['rows']} rows in {sp['seconds']} s = {sp['rows_per_second']} rows/s")


if __name__ == "__main__":
    main()
