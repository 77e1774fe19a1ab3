from __future__ import annotations

import pytest
from typer.testing import CliRunner

from titans_finance.cli.main import app
from titans_finance.config import Settings
from titans_finance.models.catalog import available_models
from titans_finance.storage.db import get_engine
from titans_finance.storage.repository import count_transactions

runner = CliRunner()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_ingests_sample_and_trains_every_model(settings_env: Settings) -> None:
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "inserted 808" in result.output
    assert count_transactions(get_engine(settings_env.database_url)) == 808
    for model_type in available_models():
        assert (settings_env.models_dir / model_type / "metadata.json").is_file(), result.output
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0 and "inserted 0" in again.output
