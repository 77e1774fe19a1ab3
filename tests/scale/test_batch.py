from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from titans_finance import domain as d
from titans_finance.errors import InputFileError, ValidationError
from titans_finance.merchants import normalize_merchants
from titans_finance.models.category import CategoryModel
from titans_finance.scale.batch import score_files


@pytest.fixture(scope="module")
def frame(shared_data: Path) -> pd.DataFrame:
    raw = pd.read_csv(shared_data / "personal-transactions" / "personal_transactions.csv")
    sign = raw["Transaction Type"].map({"debit": -1.0, "credit": 1.0})
    return pd.DataFrame(
        {
            d.DATE: pd.to_datetime(raw["Date"], format="%m/%d/%Y"),
            d.DESCRIPTION: raw["Description"],
            d.AMOUNT: raw["Amount"] * sign,
            d.TYPE: sign.map({-1.0: "Expense", 1.0: "Income"}),
            d.CATEGORY: raw["Category"],
            d.ACCOUNT: raw["Account Name"],
        }
    )


def test_dask_scoring_matches_direct_scoring(frame: pd.DataFrame, tmp_path: Path) -> None:
    model = CategoryModel().fit(frame)
    source = tmp_path / "in.csv"
    frame.drop(columns=[d.CATEGORY]).to_csv(source, index=False)
    rows = score_files(model, str(source), tmp_path / "out", blocksize="16KB")
    assert rows == len(frame)
    parts = sorted((tmp_path / "out").glob("part-*.csv"))
    assert len(parts) > 1  # really partitioned
    scored = pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
    reread = pd.read_csv(source, dtype=str)
    reread[d.DATE] = pd.to_datetime(reread[d.DATE])
    reread[d.AMOUNT] = reread[d.AMOUNT].astype(float)
    reread[d.MERCHANT] = normalize_merchants(reread[d.DESCRIPTION])
    direct = model.predict(reread)
    assert scored["pred_predicted_category"].tolist() == direct["predicted_category"].tolist()


def test_non_canonical_input_is_refused(tmp_path: Path) -> None:
    model_input = tmp_path / "x.csv"
    model_input.write_text("foo,bar\n1,2\n")
    with pytest.raises(InputFileError, match="missing"):
        score_files(CategoryModel(), str(model_input), tmp_path / "out")
    with pytest.raises(ValidationError):
        score_files(CategoryModel(), str(model_input), tmp_path / "out", scheduler="gpu")
