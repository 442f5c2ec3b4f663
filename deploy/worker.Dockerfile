# syntax=docker/dockerfile:1
# The images of docker-compose.temporal.yml that are ours, from one file, built from the
# repository root with BuildKit (Docker Engine 23+, `docker compose`; with docker-compose 1.29
# set DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1):
#
#   docker build -f deploy/worker.Dockerfile --target monero -t xmr-escrow/monero:0.18.5.3 .
#   docker build -f deploy/worker.Dockerfile --target temporal-bootstrap -t xmr-escrow/temporal-bootstrap:local .
#   docker build -f deploy/worker.Dockerfile -t xmr-escrow/worker:local .
#
# - `monero`: Debian's monerod and monero-wallet-rpc, the very build the tests run (the compose
#   file's monerod);
# - `temporal-bootstrap`: prepares the Temporal cluster's databases and namespace;
# - the last stage, on top of `monero`: the worker, the codec server and the starter CLI
#   (cmd/worker, cmd/codec-server, cmd/starter). The worker starts and supervises its own
#   wallet-rpcs (--spawn-wallet-rpcs, internal/walletproc), as the tests do, so the key cache,
#   the ownership lock and the supervisor apply in production too (docs/operations.md,
#   "Production-like stack (Docker)").
#
# The sources are bind-mounted into the build step, never copied into a layer, and
# worker.Dockerfile.dockerignore keeps .data/ (local wallets and keys) and .env out of the
# build context.

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
RUN --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    --mount=type=cache,target=/go/pkg/mod \
    go mod download
RUN --mount=type=bind,target=. \
    --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -buildvcs=false -ldflags="-s -w" -o /out/ ./cmd/worker ./cmd/codec-server ./cmd/starter ./cmd/temporal-bootstrap

# The compose stack's one-shot Temporal jobs (temporal-schema, temporal-namespace): our
# bootstrap on the admin-tools image of the server release the cluster runs, whose
# temporal-sql-tool creates and migrates the schemas. The tests run the same bootstrap with
# the same release's temporal-sql-tool (devstack.StartCluster).
FROM temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0 AS temporal-bootstrap
COPY --from=build /out/temporal-bootstrap /usr/local/bin/temporal-bootstrap
ENTRYPOINT []
CMD ["temporal-bootstrap", "all"]

# Debian's `monero` package from trixie-backports, pinned to the exact version that
# scripts/tools.sh installs for the tests and `make run` (its MONERO_DEB_VERSION).
# MONERO_DEB_VERSION below is the only place the images name it: deploy/compose_test.go fails
# when it and scripts/tools.sh's differ. apt checks the suite's Release file against Debian's
# archive keyring (signed-by below) and every package against the hashes it lists; the
# installed version and the binaries' own --version are checked again before the image is
# made. Like scripts/tools.sh, only the monero package is asked for from backports; its
# libraries come from trixie (here with trixie's security updates).
#
# Runs as uid 10001, the user of the worker stage too: the worker's wallet-rpcs and the
# worker itself own the wallet files (round snapshots are file copies).
FROM debian:trixie-slim AS monero
ARG MONERO_DEB_VERSION=0.18.5.3+~0+20260428-1~bpo13+1
RUN set -eu; \
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-backports main" \
      >/etc/apt/sources.list.d/trixie-backports.list; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl "monero=${MONERO_DEB_VERSION}"; \
    rm -rf /var/lib/apt/lists/*; \
    installed="$(dpkg-query -W -f='${Version}' monero)"; \
    if [ "$installed" != "$MONERO_DEB_VERSION" ]; then echo "installed monero $installed, not $MONERO_DEB_VERSION" >&2; exit 1; fi; \
    for b in monerod monero-wallet-rpc; do \
      "$b" --version | grep -F "v${MONERO_DEB_VERSION%%+*}-" || { echo "$b is not v${MONERO_DEB_VERSION%%+*}" >&2; exit 1; }; \
    done; \
    groupadd --system --gid 10001 escrow; \
    useradd --system --uid 10001 --gid escrow --home-dir /wallets --shell /usr/sbin/nologin escrow; \
    install -d -o escrow -g escrow -m 0700 /wallets /var/lib/monero

USER escrow
WORKDIR /wallets
CMD ["monerod", "--help"]

FROM monero AS worker
USER root
# A C compiler for the wallet-rpc key cache, which the worker builds on first start into
# $XDG_CACHE_HOME/xmr-escrow/keycache (docs/design.md, "The key cache"); that folder is the
# worker user's own, mode 0700. /wallets/rpc-1..3 are the spawned instances' wallet dirs
# (volumes in the compose file).
RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev; \
    rm -rf /var/lib/apt/lists/*; \
    install -d -o escrow -g escrow -m 0700 /wallets/rpc-1 /wallets/rpc-2 /wallets/rpc-3 /var/cache/xmr-escrow
ENV XDG_CACHE_HOME=/var/cache/xmr-escrow
COPY --from=build /out/ /usr/local/bin/
COPY --chmod=0755 deploy/worker-entrypoint.sh /usr/local/bin/worker-entrypoint
USER escrow
ENTRYPOINT ["worker-entrypoint"]
CMD ["worker"]
