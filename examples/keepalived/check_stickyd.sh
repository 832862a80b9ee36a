#!/bin/sh
# keepalived's vrrp_script for stickyd: exits 0 when this host's stickyd is alive, non-zero
# when it is not (keepalived-a.conf, docs/ha.md).
#
#   check_stickyd.sh [BALANCER_FILE [ENVIRONMENT_FILE]]
#   defaults:        /etc/stickyd/stickyd.yaml  /etc/default/stickyd
#
# It runs `stickyd healthcheck -c BALANCER_FILE`: GET /healthz on the admin listener (or a TCP
# connect to the first listener when the file has no admin listener), giving up after 2 s.
#
# Why a wrapper and not `stickyd healthcheck` straight in keepalived.conf: keepalived starts
# scripts with its own environment, not stickyd's. A balancer file that says
# `token: ${STICKYD_ADMIN_TOKEN}` does not load without that variable, so the bare check would
# fail on both hosts all the time (and the address would stay wherever the priorities put it,
# whatever stickyd does). This script first reads the environment file the stickyd service
# reads (systemd's EnvironmentFile=, shell syntax: NAME=value lines).
#
# STICKYD in that file names the command when `stickyd` is not on the PATH set below, e.g.
# STICKYD="/usr/bin/node /opt/stickyd/bin/stickyd.js" (split at spaces).
config=${1:-/etc/stickyd/stickyd.yaml}
envfile=${2:-/etc/default/stickyd}
PATH=/usr/local/bin:/usr/bin:/bin
export PATH
if [ -r "$envfile" ]; then
  set -a
  . "$envfile"
  set +a
fi
# shellcheck disable=SC2086 # STICKYD may be "node /path/to/stickyd.js"
exec ${STICKYD:-stickyd} healthcheck -c "$config"
