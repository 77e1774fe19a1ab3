#!/usr/bin/env bash
# `make test-stack`: build the images and start the compose stack for real, drive it end to end
# (tests/stack/test_stack.py), then remove every container, volume and image this run made.
#
# Needs root (or sudo) for dockerd/debootstrap. No registry is reachable: the base image comes
# from `debootstrap --variant=minbase bookworm` (cached as a tarball and an image between runs),
# third-party services from Debian packages (tests/stack/standins), chosen by
# tests/stack/compose.test.yaml. Only 127.0.0.1 ports are published.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$(pwd)"
START=$(date +%s)
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

CACHE_DIR="${TITANS_STACK_CACHE:-/var/cache/titans-stack}"
BASE_IMAGE=titans-stack/bookworm-base:cache       # kept between runs (the cache)
PYTHON_IMAGE=titans-stack/python:test             # stand-in for python:3.11-slim-bookworm
SERVICES_IMAGE=titans-stack/services:test         # stand-in for postgres, redis, nginx, ...
APP_IMAGE=titans-finance:stack-test               # the real image from deploy/Dockerfile
NOTEBOOKS_IMAGE=titans-finance-notebooks:stack-test  # the same with the `notebooks` group (jupyter)
AIRFLOW_IMAGE=titans-finance-airflow:stack-test   # deploy/airflow/Dockerfile (orchestration)
export STACK_PROJECT="${STACK_PROJECT:-titansstack}"
# Debian's docker.io client: BuildKit built in (the 28.x client in /usr/local/bin needs buildx).
DOCKER=/usr/bin/docker
export PATH="/usr/bin:/usr/sbin:$PATH"
export DOCKER_BUILDKIT=1

say() { printf '\n== [%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=""
for tool in /usr/sbin/dockerd /usr/bin/docker /usr/bin/docker-compose /usr/sbin/debootstrap \
  /usr/bin/promtool /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$tool" ] || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "FATAL: missing$missing; install: apt-get install docker.io docker-compose debootstrap" \
    "prometheus chromium chromium-driver (.ci/run does)" >&2
  exit 1
fi

as_root mkdir -p "$CACHE_DIR"
# One stack run at a time on a machine: runs share the project name, the image tags and the
# dockerd a run may start and stop, so a second run waits for the first instead of breaking it.
LOCK_FILE="$CACHE_DIR/test-stack.lock"
as_root touch "$LOCK_FILE"
as_root chmod 666 "$LOCK_FILE"
exec 9>>"$LOCK_FILE"
if ! flock -n 9; then
  say "another make test-stack holds $LOCK_FILE; waiting for it"
  flock 9
fi
STARTED_DOCKERD=""
if ! as_root "$DOCKER" info >/dev/null 2>&1; then
  say "starting dockerd"
  as_root sh -c "nohup /usr/sbin/dockerd >'$CACHE_DIR/dockerd.log' 2>&1 9>&- & echo \$! >'$CACHE_DIR/dockerd.pid'"
  STARTED_DOCKERD=$(cat "$CACHE_DIR/dockerd.pid")
  for _ in $(seq 1 60); do as_root "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.5; done
  as_root "$DOCKER" info >/dev/null 2>&1 || { echo "FATAL: dockerd did not start; see $CACHE_DIR/dockerd.log" >&2; exit 1; }
fi

teardown() {
  local code=$?
  say "teardown (containers, volumes, networks and images of this run; the base image stays cached)"
  as_root /usr/bin/docker-compose -p "$STACK_PROJECT" -f compose.yaml -f tests/stack/compose.test.yaml \
    --profile dashboard --profile monitoring --profile jupyter --profile orchestration \
    --env-file "$STACK_ENV_FILE" down --volumes --remove-orphans --timeout 10 >/dev/null 2>&1 || true
  as_root "$DOCKER" ps -aq --filter "label=com.docker.compose.project=$STACK_PROJECT" | xargs -r as_root "$DOCKER" rm -f >/dev/null 2>&1 || true
  as_root "$DOCKER" volume ls -q --filter "label=com.docker.compose.project=$STACK_PROJECT" | xargs -r as_root "$DOCKER" volume rm -f >/dev/null 2>&1 || true
  as_root "$DOCKER" rmi -f "$AIRFLOW_IMAGE" "$NOTEBOOKS_IMAGE" "$APP_IMAGE" "$PYTHON_IMAGE" \
    "$SERVICES_IMAGE" >/dev/null 2>&1 || true
  if [ "$code" = 0 ] && [ -f bench/results/stack.json ]; then
    # The whole run, next to the figures the tests wrote (cold: no cached base image).
    python3 - "$(( $(date +%s) - START ))" "$COLD_BASE" "$START_LOAD" <<'PY' || true
import json, os, sys
path = "bench/results/stack.json"
figures = json.load(open(path))
figures["make_test_stack_s"] = int(sys.argv[1])
figures["base_image_from_debootstrap"] = sys.argv[2] == "1"
figures["load_average_at_start"] = [float(x) for x in sys.argv[3].split()]
figures["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
open(path, "w").write(json.dumps(figures, indent=2, sort_keys=True) + "\n")
PY
  fi
  rm -f "$STACK_ENV_FILE"
  if [ -n "$STARTED_DOCKERD" ]; then as_root kill "$STARTED_DOCKERD" 2>/dev/null || true; fi
  say "test-stack finished with exit code $code in $(( $(date +%s) - START )) s"
  exit "$code"
}
STACK_ENV_FILE="$(mktemp /tmp/titans-stack-env.XXXXXX)"
export STACK_ENV_FILE
trap teardown EXIT

# -- base image: debootstrap once per machine, then the cached tarball/image -------------------
COLD_BASE=0
if ! as_root "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  if [ ! -s "$CACHE_DIR/bookworm-minbase.tar" ]; then
    say "debootstrap --variant=minbase bookworm (first run on this machine)"
    COLD_BASE=1
    rootfs="$CACHE_DIR/rootfs.tmp"
    as_root rm -rf "$rootfs"
    as_root debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$CACHE_DIR/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE_DIR/debootstrap.log" >&2; exit 1; }
    as_root sh -c "rm -rf '$rootfs'/var/cache/apt/archives/*.deb '$rootfs'/var/lib/apt/lists/*"
    as_root tar -C "$rootfs" -cf "$CACHE_DIR/bookworm-minbase.tar.tmp" .
    as_root mv "$CACHE_DIR/bookworm-minbase.tar.tmp" "$CACHE_DIR/bookworm-minbase.tar"
    as_root rm -rf "$rootfs"
  fi
  say "importing the cached Debian base image"
  as_root "$DOCKER" import "$CACHE_DIR/bookworm-minbase.tar" "$BASE_IMAGE" >/dev/null
fi

say "building stand-in images from Debian packages"
as_root "$DOCKER" build -q -t "$PYTHON_IMAGE" --build-arg "BASE=$BASE_IMAGE" \
  -f tests/stack/standins/python.Dockerfile tests/stack/standins >/dev/null
as_root "$DOCKER" build -q -t "$SERVICES_IMAGE" --build-arg "BASE=$BASE_IMAGE" \
  -f tests/stack/standins/services.Dockerfile tests/stack/standins >/dev/null

# Every image the stack uses from this repository, built with the CA bundle as a BuildKit secret
# (docker-compose 1.29 cannot pass build secrets; compose then runs with --no-build).
BUILD_SECONDS=""
build() {  # build NAME IMAGE DOCKERFILE [docker build args...]
  local name=$1 image=$2 dockerfile=$3 start
  shift 3
  say "building $image ($dockerfile $*)"
  start=$(date +%s)
  as_root "$DOCKER" build -q -t "$image" --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt \
    "$@" -f "$dockerfile" . >/dev/null
  local seconds=$(( $(date +%s) - start ))
  BUILD_SECONDS="$BUILD_SECONDS${BUILD_SECONDS:+,}\"$name\": $seconds"
  echo "$image built in $seconds s;" \
    "size $(as_root "$DOCKER" image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"
}
build app "$APP_IMAGE" deploy/Dockerfile --build-arg "BASE_IMAGE=$PYTHON_IMAGE"
build notebooks "$NOTEBOOKS_IMAGE" deploy/Dockerfile --build-arg "BASE_IMAGE=$PYTHON_IMAGE" \
  --build-arg "UV_SYNC_EXTRA=--group notebooks"
build airflow "$AIRFLOW_IMAGE" deploy/airflow/Dockerfile --build-arg "BASE_IMAGE=$PYTHON_IMAGE" \
  --build-arg "TITANS_IMAGE=$APP_IMAGE"
export STACK_BUILD_SECONDS="{$BUILD_SECONDS}"

if [ -d deploy/alertmanager ] && [ -f deploy/alertmanager/alertmanager.yml ]; then
  export STACK_ALERTMANAGER_DIR="$REPO/deploy/alertmanager"
else
  export STACK_ALERTMANAGER_DIR="$REPO/tests/stack/fixtures/alertmanager"
fi

say "driving the stack (tests/stack)"
UV="$(command -v uv >/dev/null 2>&1 && echo uv || echo python3 -m uv)"
as_root env PATH="$PATH" STACK_ENV_FILE="$STACK_ENV_FILE" STACK_PROJECT="$STACK_PROJECT" \
  STACK_ALERTMANAGER_DIR="$STACK_ALERTMANAGER_DIR" STACK_APP_IMAGE="$APP_IMAGE" \
  STACK_BUILD_SECONDS="$STACK_BUILD_SECONDS" \
  $UV run pytest tests/stack -p no:cacheprovider -v -rA --timeout=1200 ${PYTEST_ARGS:-}
