"""Titans Finance as Airflow DAGs: ingest → train → evaluate → promote → reload.

No logic lives here.  Every task runs `titans pipeline step <step> --run-id <id>`, the same
library steps as `titans pipeline run`, with the project's own environment (``TITANS_BIN``,
default ``titans`` on PATH), so Airflow and the project never share packages.  The run's
state is in the Titans store, keyed by the Airflow run id; each step takes the store lock.

* ``titans_pipeline`` (daily): imports the inbox; retrains only when the thresholds say so
  (``TITANS_RETRAIN_*``), then judges and promotes.
* ``titans_retrain`` (weekly): the same tasks with a forced retrain.

``TITANS_*`` settings come from the worker's environment (``append_env``).
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

STEPS = ("ingest", "train", "evaluate", "promote", "reload")
TITANS_BIN = os.environ.get("TITANS_BIN", "titans")


def build(dag_id: str, schedule: str, *, force: bool, description: str) -> DAG:
    """One DAG whose tasks are the pipeline steps, in order."""
    with DAG(
        dag_id=dag_id,
        description=description,
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        # a failed step marks the Titans run failed: the next scheduled run retries it
        default_args={"retries": 0},
        tags=["titans-finance"],
    ) as dag:
        previous = None
        for step in STEPS:
            extra = " --force" if force and step == "train" else ""
            task = BashOperator(
                task_id=step,
                bash_command=(
                    f'"$TITANS_BIN" pipeline step {step} '
                    '--run-id "{{ dag.dag_id }}:{{ run_id }}"' + extra
                ),
                env={"TITANS_BIN": TITANS_BIN},
                append_env=True,
            )
            if previous is not None:
                previous >> task
            previous = task
    return dag


daily = build(
    "titans_pipeline",
    "@daily",
    force=False,
    description="Import the inbox; retrain, judge and promote when enough changed",
)
weekly = build(
    "titans_retrain",
    "@weekly",
    force=True,
    description="Weekly retrain: candidates judged against the champions, better ones promoted",
)
