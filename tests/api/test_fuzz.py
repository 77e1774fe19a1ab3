"""Schema-driven fuzzing (schemathesis): no input generated from the OpenAPI schema causes a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from tests.api.conftest import AUTH

from titans_finance.api.main import create_app
from titans_finance.config import Settings

EXAMPLES_PER_OPERATION = 6


@pytest.mark.slow
def test_no_server_errors(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(max_batch_size=50))
    state = app.state.titans
    state.models.load()  # the lifespan does not run under schemathesis' ASGI transport
    state.sync_store(force=True)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    seen: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=AUTH, checks=[not_a_server_error])

        check()
        seen.append(operation.label)
    assert "POST /predict/batch" in seen
