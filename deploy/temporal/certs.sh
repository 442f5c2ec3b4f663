#!/bin/sh
# Makes the certificates of a Temporal cluster that runs mTLS (deploy/temporal/config):
# a CA, the cluster's certificate (used by every service both to serve and to call the
# others) and one client certificate per name given. Existing files are kept, so a second
# run only adds new clients. The tests make theirs with this script too.
#
#   certs.sh DIR CLUSTER_NAME [CLIENT ...]
#
# CLUSTER_NAME is the name clients check the cluster's certificate against (their
# TEMPORAL_TLS_SERVER_NAME, the cluster's SERVER_TLS_NAME); 127.0.0.1 and localhost are
# added. Keys are written 0600 into DIR (made 0700). Requires openssl.
set -eu
dir="${1:?usage: certs.sh DIR CLUSTER_NAME [CLIENT ...]}"
name="${2:?usage: certs.sh DIR CLUSTER_NAME [CLIENT ...]}"
shift 2
days="${CERT_DAYS:-825}"
umask 077
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"

if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -days "$days" -subj "/CN=xmr-escrow Temporal CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout ca.key -out ca.pem 2>/dev/null
fi

# issue NAME SAN EKU: a key and a certificate signed by the CA.
issue() {
  [ -f "$1.pem" ] && return 0
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s\n' \
    "$3" "$2" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
    -days "$days" -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

issue cluster "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1" "serverAuth,clientAuth"
for client in "$@"; do
  issue "client-$client" "subjectAltName=DNS:$client" "clientAuth"
done
chmod 600 ./*.key
echo "certs.sh: $dir holds ca.pem, cluster.pem/key${*:+ and client-<name>.pem/key for: $*}"
