#!/bin/sh
# Runs once, when the postgres volume is first initialised: MLflow's backend store gets its own
# database (MLflow and Titans Finance both keep an `alembic_version` table).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -c "CREATE DATABASE mlflow OWNER \"$POSTGRES_USER\""
