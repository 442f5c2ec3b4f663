#!/bin/sh
# Entrypoint of the worker image (deploy/worker.Dockerfile). The worker reads the login
# passwords of wallet-rpcs it is given (not of those it spawns, whose random logins only it
# knows) only from files (password-file= in XMR_ESCROW_WALLET_RPCS), so a password handed
# over in $WALLET_RPC_PASSWORD is written to $WALLET_RPC_PASSWORD_FILE (default
# /run/secrets/wallet-rpc-password; mount a tmpfs owned by uid 10001 there), readable by this
# user only, and removed from the environment of the command that follows.
# docker-compose.temporal.yml's worker spawns its wallet-rpcs and sets neither.
set -eu
if [ -n "${WALLET_RPC_PASSWORD:-}" ]; then
	file="${WALLET_RPC_PASSWORD_FILE:-/run/secrets/wallet-rpc-password}"
	umask 077
	printf '%s\n' "$WALLET_RPC_PASSWORD" >"$file.tmp"
	mv -f "$file.tmp" "$file"
fi
unset WALLET_RPC_PASSWORD WALLET_RPC_PASSWORD_FILE
exec "$@"
