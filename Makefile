# Titans Finance — `make demo` and `make test` do all their own set-up (uv + the committed lock).
SHELL := /bin/bash
# uv on PATH, else the one pip installs into this Python (installed on first use).
UV := $$(command -v uv >/dev/null 2>&1 && echo uv || echo python3 -m uv)
PYTEST_ARGS ?=
API_PORT ?= 8000
DASHBOARD_PORT ?= 8501

.PHONY: setup demo test test-stack lint format bench clean airflow-venv
# Airflow 3 lives in its own venv (never in the project lock); the DAG's tasks call `titans`.
AIRFLOW_VENV ?= var/airflow-venv
AIRFLOW_SPEC ?= apache-airflow==3.1.8

setup: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

demo: setup
	$(UV) run titans demo --api-port $(API_PORT) --dashboard-port $(DASHBOARD_PORT)

lint: setup
	$(UV) run ruff check src tests bench
	$(UV) run ruff format --check src tests bench
	$(UV) run mypy

test: lint airflow-venv
	$(UV) run pytest $(PYTEST_ARGS)

airflow-venv: $(AIRFLOW_VENV)/.ready

$(AIRFLOW_VENV)/.ready:
	$(UV) venv -q --allow-existing $(AIRFLOW_VENV) --python 3.11
	$(UV) pip install -q --python $(AIRFLOW_VENV)/bin/python "$(AIRFLOW_SPEC)"
	@touch $@

# Builds the image and starts the compose stack for real (root, dockerd); see tests/stack/run.sh.
test-stack: setup
	bash tests/stack/run.sh

format: setup
	$(UV) run ruff format src tests bench
	$(UV) run ruff check --fix src tests bench

bench: setup
	@for script in bench/bench_*.py; do echo "== $$script"; $(UV) run python $$script || exit 1; done

clean:
	rm -rf .venv var .pytest_cache .mypy_cache .ruff_cache
