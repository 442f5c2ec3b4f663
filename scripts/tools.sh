#!/usr/bin/env bash
# Installs what the tests and the local stack need, or says exactly what is missing:
#   - monero-wallet-rpc and monerod from Debian's `monero` package, and gcc if no C compiler is
#     present, for the wallet-rpc key cache (apt-get, as root);
#   - Debian's `chromium` (/usr/bin/chromium) for the Web UI browser test (apt-get, as root);
#   - the Temporal CLI (dev server + Web UI), built from Go modules into a cache folder that
#     later runs reuse: ${XDG_CACHE_HOME:-~/.cache}/xmr-escrow/bin/temporal (~5 min once);
#   - workflowcheck, the SDK's determinism checker, staticcheck and errcheck, into the same folder;
#   - docker-compose (Debian's 1.29, without the Docker engine) to validate
#     docker-compose.temporal.yml in deploy/compose_test.go (apt-get, as root).
set -euo pipefail

TEMPORAL_CLI_VERSION=v1.5.1
WORKFLOWCHECK_VERSION=v0.6.0
STATICCHECK_VERSION=v0.8.2
ERRCHECK_VERSION=v1.30.0
BIN="${XDG_CACHE_HOME:-$HOME/.cache}/xmr-escrow/bin"
mkdir -p "$BIN"

need_go() {
  command -v go >/dev/null || { echo "tools: Go is missing: install Go 1.26+ (https://go.dev/doc/install)" >&2; exit 1; }
}

install_monero() {
  # gcc builds the wallet-rpc key cache (internal/walletproc/csrc/keycache.c) on first use.
  local pkgs=()
  command -v monero-wallet-rpc >/dev/null && command -v monerod >/dev/null || pkgs+=(monero)
  command -v cc >/dev/null || command -v gcc >/dev/null || pkgs+=(gcc)
  if [[ ${#pkgs[@]} -eq 0 ]]; then
    return
  fi
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "tools: ${pkgs[*]} missing: run 'apt-get update && apt-get install -y ${pkgs[*]}' as root" >&2
      exit 1
    fi
  fi
  echo "tools: installing Debian's ${pkgs[*]} (monero-wallet-rpc, monerod; a C compiler for the key cache)..."
  ${SUDO:-} apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -q "${pkgs[@]}" >/dev/null
  command -v monero-wallet-rpc >/dev/null || { echo "tools: apt-get install monero did not provide monero-wallet-rpc" >&2; exit 1; }
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
  install_workflowcheck
  install_staticcheck
  install_errcheck
fi
