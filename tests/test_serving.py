"""The serving core with real trained models: frames from requests, caching, atomic reload."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.api._models import copy_models, trained_models

from titans_finance import domain as d
from titans_finance.serving import (
    LRUCache,
    ModelService,
    record_key,
    records_to_frame,
    to_jsonable,
)


@pytest.fixture(scope="module")
def trained(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, pd.DataFrame]:
    return trained_models(shared_data, tmp_path_factory.mktemp("serving-models"))


@pytest.fixture
def service(trained: tuple[Path, pd.DataFrame], tmp_path: Path) -> ModelService:
    svc = ModelService(copy_models(trained[0], tmp_path / "models"))
    svc.load()
    return svc


def test_records_become_one_canonical_frame() -> None:
    frame = records_to_frame(
        [
            {
                "description": "NETFLIX.COM",
                "amount": 15.99,
                "type": "Expense",
                "date": date(2024, 1, 2),
            },
            {"description": "ACME CORP PAYROLL", "amount": -3200, "type": "Income"},
            {"description": "Refund", "amount": 20.0},
            {"description": "To savings", "amount": -100.0, "type": "Transfer", "account": "Main"},
            {"description": "KROGER 55", "amount": 12.0, "mcc": "5411"},
        ]
    )
    assert list(frame[d.AMOUNT]) == [-15.99, 3200.0, 20.0, -100.0, 12.0]
    assert list(frame[d.TYPE]) == ["Expense", "Income", "Income", "Transfer", "Income"]
    assert list(frame[d.MCC]) == [None] * 4 + ["5411"]
    assert frame[d.DATE].iloc[0] == pd.Timestamp("2024-01-02")
    assert frame[d.DATE].iloc[1] == pd.Timestamp(datetime.now(UTC).date())
    assert list(frame[d.ACCOUNT]) == [d.DEFAULT_ACCOUNT] * 3 + ["Main", d.DEFAULT_ACCOUNT]
    assert frame[d.MERCHANT].iloc[0] == "Netflix"
    assert {d.DESCRIPTION, d.PAYMENT_METHOD, d.CURRENCY, d.CATEGORY} <= set(frame.columns)


def test_record_key_normalises() -> None:
    a = record_key({"description": " Coffee ", "amount": 1.0, "date": date(2024, 1, 1)})
    b = record_key({"description": "Coffee", "amount": 1.0, "date": date(2024, 1, 1)})
    assert a == b and hash(a) == hash(b)
    assert record_key({"amount": float("nan")}) == record_key({"amount": None})


def test_to_jsonable() -> None:
    value = {
        "f": np.float32(0.5),
        "i": np.int64(3),
        "b": np.bool_(True),
        "nan": float("nan"),
        "nat": pd.NaT,
        "day": pd.Timestamp("2024-03-01"),
        "when": pd.Timestamp("2024-03-01 10:30"),
        "list": np.array([1, 2]),
        "money": Decimal("1.10"),
    }
    assert to_jsonable(value) == {
        "f": 0.5,
        "i": 3,
        "b": True,
        "nan": None,
        "nat": None,
        "day": "2024-03-01",
        "when": "2024-03-01T10:30:00",
        "list": [1, 2],
        "money": "1.10",
    }


def test_lru_cache_evicts_least_recent() -> None:
    cache = LRUCache(maxsize=2)
    cache.put("a", {"v": 1})
    cache.put("b", {"v": 2})
    assert cache.get("a") == {"v": 1}
    cache.put("c", {"v": 3})
    assert cache.get("b") is None and cache.get("a") is not None and len(cache) == 2
    assert cache.clear() == 2


def test_single_predictions_are_cached_and_agree_with_the_batch(service: ModelService) -> None:
    records = [
        {"description": "Biweekly Paycheck", "amount": 2000.0, "type": "Income"},
        {"description": "Amazon", "amount": -20.0},
        {"description": "Mortgage Payment", "amount": -1247.44, "account": "Checking"},
    ]
    batch = service.predict_category(records_to_frame(records))
    singles = [service.predict_one("category", r) for r in records]
    assert [s["predicted_category"] for s in singles] == list(batch["predicted_category"])
    assert np.allclose([s["confidence"] for s in singles], batch["confidence"])
    again = service.predict_one("category", records[0])
    assert again == singles[0]
    stats = service.stats["category"].snapshot()
    assert stats["cache_hits"] == 1 and stats["predictions_served"] == 7


def test_rules_take_precedence(service: ModelService) -> None:
    record = {"description": "Amazon", "amount": -20.0}
    model_answer = service.predict_one("category", record)["predicted_category"]
    service.set_rules(
        [d.CategoryRule(kind=d.RuleKind.CONTAINS, pattern="amazon", category="Books")]
    )
    ruled = service.predict_one("category", record)  # the cache key includes the rules
    assert ruled["predicted_category"] == "Books" and ruled["source"] == "rule"
    service.set_rules([])
    assert service.predict_one("category", record)["predicted_category"] == model_answer


def test_reload_is_atomic(service: ModelService) -> None:
    old_set = service.models
    artefact = service.models_dir / "cashflow" / "model.joblib"
    artefact.write_bytes(b"not a model")
    result = service.reload()
    assert result.success is False
    assert "cashflow" in result.errors and "checksum" in result.errors["cashflow"]
    assert service.models is old_set  # nothing was swapped
    assert len(service.forecast(5).daily) == 5


def test_reload_accepts_a_newly_trained_model(
    trained: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    directory = copy_models(trained[0], tmp_path / "partial")
    shutil.rmtree(directory / "recurring")
    svc = ModelService(directory)
    svc.load()
    assert "recurring" not in svc.models.models
    copy_models(trained[0], directory)
    result = svc.reload()
    assert result.success is True and "recurring" in result.loaded
    assert len(svc.recurring_streams()) > 0


def test_feedback_with_unknown_codes_never_breaks_scoring(service: ModelService) -> None:
    service.set_anomaly_feedback([{"account": "Checking", "merchant": None, "reason_code": "nope"}])
    if "anomaly" in service.models.models:
        result = service.predict_anomaly(records_to_frame([{"description": "x", "amount": -5.0}]))
        assert len(result) == 1


def test_a_model_failing_while_scoring_says_so(service: ModelService) -> None:
    from titans_finance.errors import ModelIntegrityError

    # Simulates an artefact from an incompatible code version: it loads, then cannot score.
    del service.models.models["category"].estimator_
    with pytest.raises(ModelIntegrityError, match="titans train category"):
        service.predict_one("category", {"description": "Amazon", "amount": -3.0})


class _Cyclic:
    """A stand-in model in a reference cycle: only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.me = self


def test_a_replaced_cyclic_model_set_is_collected_under_gc_freeze(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import gc
    import weakref

    from titans_finance.serving import service as service_module

    def load(models_dir: Path, signing: object = None) -> service_module.ModelSet:
        return service_module.ModelSet(
            models={"category": _Cyclic()}, errors={}, directory=Path(models_dir)
        )

    monkeypatch.setattr(service_module, "load_model_set", load)
    frozen = ModelService(tmp_path, freeze_heap=True)
    try:
        frozen.load()
        old = weakref.ref(frozen.models.models["category"])
        assert frozen.reload().success
        gc.collect()
        assert old() is None  # not frozen along with the new set
    finally:
        gc.unfreeze()


def test_new_feedback_reaches_the_model_before_its_version_keys_predictions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from types import SimpleNamespace

    from titans_finance.serving import service as service_module

    seen_tokens: list[tuple[object, ...]] = []

    class Anomaly:
        metadata_ = SimpleNamespace(version="v1")

        def set_feedback(self, patterns: list[dict[str, object]]) -> None:
            # A request scored now, in another thread, is keyed by the token it sees now.
            seen_tokens.append(served.cache_token("anomaly"))

    def load(models_dir: Path, signing: object = None) -> service_module.ModelSet:
        return service_module.ModelSet(
            models={"anomaly": Anomaly()}, errors={}, directory=Path(models_dir)
        )

    monkeypatch.setattr(service_module, "load_model_set", load)
    served = ModelService(tmp_path)
    served.load()
    before = served.cache_token("anomaly")
    seen_tokens.clear()
    served.set_anomaly_feedback([{"account": "Alpha", "merchant": "Gym", "reason_code": None}])
    # While the marks were being applied, the old token (whose entries predate them) was
    # current; the new one only afterwards.
    assert seen_tokens == [before]
    assert served.cache_token("anomaly") != before
