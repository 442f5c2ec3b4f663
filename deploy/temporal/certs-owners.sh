#!/bin/sh
# Gives each private key made by certs.sh to the user of the container that reads it, mode
# 0400, so no other container's user can read it: the Temporal images run as uid 1000, the
# worker image as uid 10001 (deploy/worker.Dockerfile). Run as root (or with sudo) once after
# certs.sh; the certificates (*.pem) stay readable by all, being public.
#
#   certs-owners.sh DIR
set -eu
dir="${1:?usage: certs-owners.sh DIR}"
chmod 755 "$dir"
chmod 644 "$dir"/*.pem
for key in cluster client-bootstrap client-ui; do
  chown 1000 "$dir/$key.key"
  chmod 400 "$dir/$key.key"
done
chown 10001 "$dir/client-worker.key"
chmod 400 "$dir/client-worker.key"
rm -f "$dir/ca.srl"
echo "certs-owners.sh: keep $dir/ca.key offline; the cluster needs only ca.pem"
