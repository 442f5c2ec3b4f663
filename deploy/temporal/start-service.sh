#!/bin/sh
# Starts one Temporal service (frontend, history, matching or worker) on the cluster's
# configuration, deploy/temporal/config/xmr-escrow.yaml. The compose stack runs it in the
# temporalio/server image; devstack.StartCluster runs it, unchanged, for the tests.
#
#   start-service.sh SERVICE
#
# TEMPORAL_ROOT is the folder holding config/ (default: this script's folder). BIND_ON_IP
# defaults to this host's first address, which is what other containers reach it at.
set -eu
service="${1:?usage: start-service.sh frontend|history|matching|worker}"
root="${TEMPORAL_ROOT:-$(cd "$(dirname "$0")" && pwd)}"
if [ -z "${BIND_ON_IP:-}" ]; then
  BIND_ON_IP="$(hostname -i | awk '{print $1}')"
fi
export BIND_ON_IP
for f in SERVER_TLS_CA SERVER_TLS_CERT SERVER_TLS_KEY; do
  eval "v=\${$f:-}"
  if [ -z "$v" ] || [ ! -r "$v" ]; then
    echo "start-service.sh: $f must name a readable file (the cluster runs mTLS; docs/operations.md, \"Temporal cluster\")" >&2
    exit 2
  fi
done
# From root, so the config's relative dynamic config path resolves the same everywhere.
cd "$root"
exec temporal-server --root "$root" --config config --env xmr-escrow --allow-no-auth start --service "$service"
