#!/bin/sh
# Entrypoint of the worker image (deploy/worker.Dockerfile). The worker reads wallet-rpc login
# passwords only from files (password-file= in XMR_ESCROW_WALLET_RPCS), so a password handed
# over in $WALLET_RPC_PASSWORD is written to $WALLET_RPC_PASSWORD_FILE (default
# /run/secrets/wallet-rpc-password, a tmpfs in docker-compose.temporal.yml), readable by this
# user only, and removed from the environment of the command that follows.
set -eu
if [ -n "${WALLET_RPC_PASSWORD:-}" ]; then
	file="${WALLET_RPC_PASSWORD_FILE:-/run/secrets/wallet-rpc-password}"
	umask 077
	printf '%s\n' "$WALLET_RPC_PASSWORD" >"$file.tmp"
	mv -f "$file.tmp" "$file"
fi
unset WALLET_RPC_PASSWORD WALLET_RPC_PASSWORD_FILE
exec "$@"
