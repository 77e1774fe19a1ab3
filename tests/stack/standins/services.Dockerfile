# Stand-ins for the official postgres, redis, nginx, prometheus and alertmanager images, built
# from Debian bookworm packages on the debootstrap base (no container registry is reachable in
# CI). Used only by tests/stack/compose.test.yaml; compose.yaml keeps the official images.
# Debian bookworm ships PostgreSQL 15 (compose.yaml pins 16) and Redis 7.0.
ARG BASE
FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql redis-server nginx-light prometheus prometheus-alertmanager wget \
      >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && ln -s /usr/lib/postgresql/15/bin/postgres /usr/local/bin/postgres \
 && ln -s /usr/lib/postgresql/15/bin/pg_isready /usr/local/bin/pg_isready-15 \
 && ln -sf /usr/bin/prometheus-alertmanager /usr/local/bin/alertmanager
COPY postgres-entrypoint.sh redis-entrypoint.sh /usr/local/bin/
