# monero-wallet-rpc and monerod from an official Monero release, pinned by version and
# SHA-256. One image for the compose file's monerod and wallet-rpc-1..3; their commands are
# in docker-compose.temporal.yml.
#
#   docker build -f deploy/wallet-rpc.Dockerfile -t xmr-escrow/monero:0.18.5.1 deploy
#
# Why not Debian bookworm's package: it is 0.18.0.0, which lacks the multisig fixes
# docs/design.md lists under "Later Monero releases", up to 0.18.5.1 (nonce erasure written to
# disk before the signed txset is returned). The tests run Debian's 0.18.5.3 (trixie-backports,
# scripts/tools.sh), and the worker refuses at start any wallet-rpc whose interface is older
# than 0.18.5.3's (activities.RequiredRelease): this 0.18.5.1 pin is refused until it moves.
#
# The SHA-256 values are the lines for these archives in getmonero.org's downloads/hashes.txt,
# whose PGP signature was checked against binaryFate's key from the Monero source tree
# (utils/gpg_keys/binaryfate.asc, fingerprint 81AC 591F E9C4 B65C 5806 AFC3 F0AF 4D46 2A0B DF92).
# To move to a newer release, change MONERO_VERSION and both hashes together, from a
# hashes.txt whose signature you have verified the same way; sha256sum -c stops the build
# on any mismatch.
#
# Runs as uid 10001, the same user as the worker image: the worker copies and restores the
# wallet files in the shared wallet volumes (round snapshots), so both must own them.
FROM debian:bookworm-slim

ARG MONERO_VERSION=0.18.5.1
ARG MONERO_SHA256_AMD64=22a7dda7b0cb699fdd6b7674c3b4a4465b337cc98a54983523b759e1e7cc9958
ARG MONERO_SHA256_ARM64=c0caf042cb7c7b760f5ad6be188084b59352440b32990a78b8051497b9398dbc
# Set by BuildKit; the classic builder leaves it empty and dpkg answers instead.
ARG TARGETARCH

RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl bzip2; \
    rm -rf /var/lib/apt/lists/*; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) platform=x64;   sha256="$MONERO_SHA256_AMD64" ;; \
      arm64) platform=armv8; sha256="$MONERO_SHA256_ARM64" ;; \
      *) echo "no pinned Monero release for architecture $arch" >&2; exit 1 ;; \
    esac; \
    archive="monero-linux-${platform}-v${MONERO_VERSION}.tar.bz2"; \
    curl -fsSL --proto '=https' --tlsv1.2 -o "/tmp/$archive" "https://downloads.getmonero.org/cli/$archive"; \
    echo "$sha256  /tmp/$archive" | sha256sum -c -; \
    mkdir /tmp/monero; \
    tar -xjf "/tmp/$archive" -C /tmp/monero --strip-components=1; \
    install -m 0755 /tmp/monero/monerod /tmp/monero/monero-wallet-rpc /usr/local/bin/; \
    rm -rf /tmp/monero "/tmp/$archive"; \
    monero-wallet-rpc --version; \
    groupadd --system --gid 10001 escrow; \
    useradd --system --uid 10001 --gid escrow --home-dir /wallets --shell /usr/sbin/nologin escrow; \
    install -d -o escrow -g escrow -m 0700 /wallets /var/lib/monero

USER escrow
WORKDIR /wallets
EXPOSE 18081 18083
CMD ["monero-wallet-rpc", "--help"]
