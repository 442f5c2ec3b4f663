# syntax=docker/dockerfile:1
# The worker, the codec server and the starter CLI (cmd/worker, cmd/codec-server, cmd/starter)
# in one image. Build from the repository root; needs BuildKit (Docker Engine 23+, `docker
# compose`; with docker-compose 1.29 set DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1):
#
#   docker build -f deploy/worker.Dockerfile -t xmr-escrow/worker:local .
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
    go build -buildvcs=false -ldflags="-s -w" -o /out/ ./cmd/worker ./cmd/codec-server ./cmd/starter

FROM debian:bookworm-slim
# Same uid as deploy/wallet-rpc.Dockerfile: the worker reads and writes the wallet-rpc's files.
RUN groupadd --system --gid 10001 escrow \
 && useradd --system --uid 10001 --gid escrow --home-dir /nonexistent --shell /usr/sbin/nologin escrow \
 && install -d -o escrow -g escrow -m 0700 /wallets /wallets/rpc-1 /wallets/rpc-2 /wallets/rpc-3
COPY --from=build /out/ /usr/local/bin/
COPY --chmod=0755 deploy/worker-entrypoint.sh /usr/local/bin/worker-entrypoint
USER escrow
ENTRYPOINT ["worker-entrypoint"]
CMD ["worker"]
