# monero-wallet-rpc and monerod from Debian's monero package (v0.18.0.0, the version the
# project's tests run against). One image for the compose file's monerod and wallet-rpc-1..3;
# their commands are in docker-compose.temporal.yml.
#
#   docker build -f deploy/wallet-rpc.Dockerfile -t xmr-escrow/monero:0.18.0.0 deploy
#
# Runs as uid 10001, the same user as the worker image: the worker copies and restores the
# wallet files in the shared wallet volumes (round snapshots), so both must own them.
FROM debian:bookworm-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      monero ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 escrow \
 && useradd --system --uid 10001 --gid escrow --home-dir /wallets --shell /usr/sbin/nologin escrow \
 && install -d -o escrow -g escrow -m 0700 /wallets /var/lib/monero

USER escrow
WORKDIR /wallets
EXPOSE 18081 18083
CMD ["monero-wallet-rpc", "--help"]
