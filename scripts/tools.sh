#!/usr/bin/env bash
# Installs what the tests and the local stack need, or says exactly what is missing:
#   - monerod and monero-wallet-rpc 0.18.5.3 from Debian's trixie-backports `monero` package
#     (pinned), in a trixie root filesystem made by mmdebstrap and cached like the Temporal CLI:
#     ${XDG_CACHE_HOME:-~/.cache}/xmr-escrow/monero-0.18.5.3/{rootfs,bin}; the two binaries in
#     bin/ are patched (patchelf) to load the rootfs's libc and libraries, so they run on this
#     bookworm host without a chroot (~1 min once, as root or with sudo);
#   - gcc if no C compiler is present, for the wallet-rpc key cache (apt-get, as root);
#   - Debian's `chromium` (/usr/bin/chromium) for the Web UI browser test (apt-get, as root);
#   - the Temporal CLI (dev server + Web UI), built from Go modules into a cache folder that
#     later runs reuse: ${XDG_CACHE_HOME:-~/.cache}/xmr-escrow/bin/temporal (~5 min once);
#   - the Temporal server and temporal-sql-tool of the release the compose stack's images run
#     (TEMPORAL_SERVER_VERSION), for the tests' production-shaped cluster (devstack.StartCluster):
#     ${XDG_CACHE_HOME:-~/.cache}/xmr-escrow/temporal-server-$TEMPORAL_SERVER_VERSION/ (~3 min once
#     after the CLI);
#   - workflowcheck, the SDK's determinism checker, staticcheck and errcheck, into the same folder;
#   - docker-compose (Debian's 1.29, without the Docker engine) to validate
#     docker-compose.temporal.yml in deploy/compose_test.go (apt-get, as root).
set -euo pipefail

TEMPORAL_CLI_VERSION=v1.5.1
# devstack.TemporalServerVersion and the compose file's temporalio/server and admin-tools tags
# name the same release (deploy/cluster_test.go).
TEMPORAL_SERVER_VERSION=v1.29.1
WORKFLOWCHECK_VERSION=v0.6.0
STATICCHECK_VERSION=v0.8.2
ERRCHECK_VERSION=v1.30.0
# The Monero the tests run, and the one the worker requires at least (worker/release.go).
MONERO_VERSION=0.18.5.3
MONERO_DEB_VERSION=0.18.5.3+~0+20260428-1~bpo13+1
DEBIAN_MIRROR=http://deb.debian.org/debian
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/xmr-escrow"
BIN="$CACHE/bin"
# internal/walletproc/binaries.go looks for monerod and monero-wallet-rpc in $MONERO_DIR/bin.
MONERO_DIR="$CACHE/monero-$MONERO_VERSION"
mkdir -p "$BIN"

need_go() {
  command -v go >/dev/null || { echo "tools: Go is missing: install Go 1.26+ (https://go.dev/doc/install)" >&2; exit 1; }
}

# as_root sets SUDO so that "${SUDO:-} cmd" runs cmd as root, or explains and exits.
as_root() {
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "tools: $1: run as root: $2" >&2
      exit 1
    fi
  fi
}

apt_install() {
  as_root "$* missing" "apt-get update && apt-get install -y $*"
  ${SUDO:-} apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -q "$@" >/dev/null
}

# monero_ok DIR: DIR/bin's monerod and monero-wallet-rpc run and say v$MONERO_VERSION.
monero_ok() {
  local b out
  for b in monerod monero-wallet-rpc; do
    [[ -x "$1/bin/$b" ]] || return 1
    out=$("$1/bin/$b" --version 2>&1) || return 1
    [[ $out == *"v$MONERO_VERSION-"* ]] || return 1
  done
}

# install_monero builds $MONERO_DIR once: a trixie root filesystem with Debian's monero package
# ($MONERO_DEB_VERSION from trixie-backports, signatures checked by apt), and bin/ with its
# monerod and monero-wallet-rpc patched to load that rootfs's loader and libraries. It builds
# into a temporary sibling and renames it into place, so an interrupted run leaves no cache.
install_monero() {
  # gcc builds the wallet-rpc key cache (internal/walletproc/csrc/keycache.c) on first use.
  if ! command -v cc >/dev/null && ! command -v gcc >/dev/null; then
    echo "tools: installing Debian's gcc (a C compiler for the wallet-rpc key cache)..."
    apt_install gcc
  fi
  if monero_ok "$MONERO_DIR"; then
    return
  fi
  local pkgs=()
  command -v mmdebstrap >/dev/null || pkgs+=(mmdebstrap)
  command -v patchelf >/dev/null || pkgs+=(patchelf)
  if [[ ${#pkgs[@]} -gt 0 ]]; then
    echo "tools: installing Debian's ${pkgs[*]} (to build Monero $MONERO_VERSION's root filesystem)..."
    apt_install "${pkgs[@]}"
  fi
  as_root "building Monero $MONERO_VERSION's root filesystem needs root (mmdebstrap, chroot)" "scripts/tools.sh"
  echo "tools: installing Monero $MONERO_VERSION (Debian's monero $MONERO_DEB_VERSION in a trixie root filesystem) into $MONERO_DIR (about a minute, once)..."
  local tmp
  tmp=$(mktemp -d "$CACHE/.monero-$MONERO_VERSION.XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now: it is local
  trap "${SUDO:-} rm -rf '$tmp'" EXIT
  local log="$tmp/install.log"
  if ! ${SUDO:-} mmdebstrap -q --variant=apt trixie "$tmp/rootfs" \
      "deb $DEBIAN_MIRROR trixie main" "deb $DEBIAN_MIRROR trixie-backports main" >"$log" 2>&1 ||
    ! ${SUDO:-} chroot "$tmp/rootfs" apt-get update -q >>"$log" 2>&1 ||
    ! DEBIAN_FRONTEND=noninteractive ${SUDO:-} chroot "$tmp/rootfs" \
      apt-get install -y -q --no-install-recommends "monero=$MONERO_DEB_VERSION" >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "tools: could not install Debian's monero $MONERO_DEB_VERSION into a trixie root filesystem (log above)" >&2
    exit 1
  fi
  # The binaries keep the final paths: after the rename, $MONERO_DIR/rootfs is where they look.
  local rootfs="$MONERO_DIR/rootfs" b
  mkdir -p "$tmp/bin"
  for b in monerod monero-wallet-rpc; do
    cp "$tmp/rootfs/usr/bin/$b" "$tmp/bin/$b"
    patchelf --set-interpreter "$rootfs/lib64/ld-linux-x86-64.so.2" --force-rpath \
      --set-rpath "$rootfs/usr/lib/x86_64-linux-gnu:$rootfs/lib/x86_64-linux-gnu" "$tmp/bin/$b"
  done
  rm -f "$log"
  if [[ -e "$MONERO_DIR" ]]; then
    ${SUDO:-} rm -rf "$MONERO_DIR" # a cache that no longer runs (checked above)
  fi
  mv "$tmp" "$MONERO_DIR"
  trap - EXIT
  if ! monero_ok "$MONERO_DIR"; then
    "$MONERO_DIR/bin/monero-wallet-rpc" --version >&2 || true
    ${SUDO:-} rm -rf "$MONERO_DIR"
    echo "tools: $MONERO_DIR/bin/monero-wallet-rpc and monerod do not run, or are not v$MONERO_VERSION (output above); removed it" >&2
    exit 1
  fi
  echo "tools: $("$MONERO_DIR/bin/monero-wallet-rpc" --version) in $MONERO_DIR/bin"
}

# Only `docker-compose config` runs here: --no-install-recommends keeps the Docker engine
# (docker.io, containerd, runc), which the package recommends, off the machine.
install_docker_compose() {
  if command -v docker-compose >/dev/null; then
    return
  fi
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "tools: docker-compose is missing: run 'apt-get update && apt-get install -y --no-install-recommends docker-compose' as root" >&2
      exit 1
    fi
  fi
  echo "tools: installing Debian's docker-compose package (validates docker-compose.temporal.yml)..."
  ${SUDO:-} apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -q --no-install-recommends docker-compose >/dev/null
  command -v docker-compose >/dev/null || { echo "tools: apt-get install docker-compose did not provide docker-compose" >&2; exit 1; }
}

install_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    return
  fi
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "tools: chromium is missing (the Web UI browser test needs it): run 'apt-get update && apt-get install -y chromium' as root" >&2
      exit 1
    fi
  fi
  echo "tools: installing Debian's chromium package (headless browser for the Web UI test)..."
  ${SUDO:-} apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -q chromium >/dev/null
  [[ -x /usr/bin/chromium ]] || { echo "tools: apt-get install chromium did not provide /usr/bin/chromium" >&2; exit 1; }
}

install_temporal() {
  if [[ -x "$BIN/temporal" ]]; then
    return
  fi
  need_go
  echo "tools: building the Temporal CLI $TEMPORAL_CLI_VERSION into $BIN (about 5 minutes, once)..."
  GOBIN="$BIN" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
}

install_temporal_server() {
  local dir="$CACHE/temporal-server-$TEMPORAL_SERVER_VERSION"
  if [[ -x "$dir/temporal-server" && -x "$dir/temporal-sql-tool" ]]; then
    return
  fi
  need_go
  echo "tools: building the Temporal server and temporal-sql-tool $TEMPORAL_SERVER_VERSION into $dir (about 3 minutes, once)..."
  local tmp
  tmp=$(mktemp -d "$CACHE/.temporal-server.XXXXXX")
  GOBIN="$tmp" go install "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" \
    "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
  # The names the temporalio/server and admin-tools images give them.
  mv "$tmp/server" "$tmp/temporal-server"
  mv "$tmp/sql" "$tmp/temporal-sql-tool"
  rm -rf "$dir"
  mv "$tmp" "$dir"
}

install_workflowcheck() {
  if [[ -x "$BIN/workflowcheck" ]]; then
    return
  fi
  need_go
  echo "tools: installing workflowcheck $WORKFLOWCHECK_VERSION into $BIN..."
  GOBIN="$BIN" go install "go.temporal.io/sdk/contrib/tools/workflowcheck@$WORKFLOWCHECK_VERSION"
}

install_staticcheck() {
  # The version is read from the binary, so bumping STATICCHECK_VERSION reinstalls it.
  if [[ -x "$BIN/staticcheck" ]] && go version -m "$BIN/staticcheck" | grep -qE "^\s+mod\s+honnef.co/go/tools\s+$STATICCHECK_VERSION\s"; then
    return
  fi
  need_go
  echo "tools: installing staticcheck $STATICCHECK_VERSION into $BIN..."
  GOBIN="$BIN" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
}

install_errcheck() {
  if [[ -x "$BIN/errcheck" ]] && go version -m "$BIN/errcheck" | grep -qE "^\s+mod\s+github.com/kisielk/errcheck\s+$ERRCHECK_VERSION\s"; then
    return
  fi
  need_go
  echo "tools: installing errcheck $ERRCHECK_VERSION into $BIN..."
  GOBIN="$BIN" go install "github.com/kisielk/errcheck@$ERRCHECK_VERSION"
}

# `tools.sh run` installs only what `make run` needs; without an argument, what the tests need.
install_monero
install_temporal
if [[ ${1:-test} != run ]]; then
  install_chromium
  install_docker_compose
  install_temporal_server
  install_workflowcheck
  install_staticcheck
  install_errcheck
fi
