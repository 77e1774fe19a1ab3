"""Candidates of a sampled training window: cash flow and recurring are fitted and judged on
every account of the window, the other models on the sampled accounts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from tests.factories import households

from titans_finance import domain as d
from titans_finance.config import Settings
from titans_finance.ingest.pipeline import ingest_file
from titans_finance.models.cashflow import CashflowModel
from titans_finance.models.category import CategoryModel
from titans_finance.pipeline import candidates as cand
from titans_finance.training import load_training_data


def test_cashflow_candidates_cover_every_account_of_a_sampled_window(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "households.csv"
    households(12, months=24).to_csv(source, index=False)
    ingest_file(engine, source)
    data = load_training_data(
        Settings(database_url=database_url, train_max_rows=700, train_min_days=420)
    )
    assert data.history is not None and data.sampled_accounts is not None
    stage = tmp_path / "stage"
    trained = cand.train_candidates(data, stage, ["category", "cashflow"])
    assert [c.error for c in trained] == [None, None]
    assert [c.training_rows for c in trained] == [len(data.frame), len(data.history)]
    every = sorted(data.history[d.ACCOUNT].unique())
    assert CashflowModel.load(stage / cand.FULL).accounts_ == every
    assert len(every) == 12 > data.sampled_accounts
    assert CategoryModel.load(stage / cand.FULL).metadata_.training_rows == len(data.frame)
    # amount and anomaly keep per-account statistics: every account's recent days, not the
    # sampled accounts (an account missing from them would look like one with no past)
    assert data.recent is not None
    assert sorted(data.recent[d.ACCOUNT].unique()) == every
    assert data.for_model("anomaly") is data.recent and data.for_model("amount") is data.recent
    judged = cand.judge(stage, tmp_path / "models", margin=0.01, candidates=trained)
    rows = {j.model_type: j.holdout_rows for j in judged}
    assert rows["cashflow"] > rows["category"]  # each judged on its own frame's hold-out
    assert all(j.decision == cand.PROMOTE for j in judged)  # no champion yet
