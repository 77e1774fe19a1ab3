#!/bin/sh
# The official redis image turns protected mode off when started without a config file, so
# other containers on the compose network may connect; Debian's redis-server does not.
set -eu
exec "$@" --protected-mode no
