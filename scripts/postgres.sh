#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth for the user
# `postgres`, as the tests and the local stack expect:
#   1. one already answers: nothing to do;
#   2. the machine has a Debian cluster that is stopped: start it;
#   3. otherwise: install Debian's postgresql if needed and run a private cluster under
#      .data/postgres (trust auth, loopback only). Stop it with scripts/postgres.sh stop.
set -euo pipefail
PORT=${XMR_ESCROW_PG_PORT:-5432}
DATA="${XMR_ESCROW_DATA:-$(cd "$(dirname "$0")/.." && pwd)/.data}/postgres"

answers() { (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; }
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

if [[ ${1:-} == stop ]]; then
  [[ -f $DATA/PG_VERSION ]] && as_postgres "$(pgbin)/pg_ctl" -D "$DATA" -m fast stop || true
  exit 0
fi

answers && exit 0

if [[ $PORT == 5432 && -d /etc/postgresql ]] && command -v pg_ctlcluster >/dev/null; then
  for v in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do answers && exit 0; sleep 1; done
fi

if [[ -z $(pgbin) ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "postgres: no PostgreSQL on 127.0.0.1:$PORT and none installed: run 'apt-get install -y postgresql' as root, or set XMR_ESCROW_TEST_POSTGRES / XMR_ESCROW_DATABASE_URL" >&2
    exit 1
  fi
  echo "postgres: installing Debian's postgresql..."
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  # The package may have created and started its own cluster.
  for _ in $(seq 1 10); do answers && exit 0; sleep 1; done
fi

BIN=$(pgbin)
if [[ ! -f $DATA/PG_VERSION ]]; then
  echo "postgres: creating a private cluster in $DATA (trust auth, 127.0.0.1 only)"
  mkdir -p "$DATA"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$DATA"
  chmod 700 "$DATA"
  as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth=trust >/dev/null
fi
as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA" start >/dev/null
answers || { echo "postgres: the private cluster did not start; see $DATA/server.log" >&2; exit 1; }
