# Stand-in for python:3.11-slim-bookworm, from Debian packages on the debootstrap base
# (Debian bookworm's python3 is 3.11).
ARG BASE
FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 python3-venv python-is-python3 ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
CMD ["python3"]
