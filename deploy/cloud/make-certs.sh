#!/usr/bin/env bash
# Certificates for the hub broker's node listener (deploy/mosquitto/hub.conf): one CA, the
# broker's server certificate, and one client certificate per node whose CN is the node id
# (the broker takes it as the MQTT username, and hub.acl confines the node to its topics).
#
#   ./make-certs.sh ca                      ca/shopfloor-ca.{crt,key}   (keep ca/ offline)
#   ./make-certs.sh broker hub.example.cn   certs/hub-broker.{crt,key} + certs/shopfloor-ca.crt
#   ./make-certs.sh node store-1            ca/nodes/store-1.{crt,key}  (copy to that node)
#
# certs/ is what compose.yaml mounts into the broker; ca/ (the CA key) never is.
# Idempotent: an existing certificate is kept, never reissued over.
set -euo pipefail
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
cd "$(dirname "$SELF")"
CA=${CA_DIR:-ca}
CERTS=${CERTS_DIR:-certs}
DAYS_CA=3650
DAYS=825

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
kept() { [[ -f $1 ]] && { printf 'kept %s\n' "$1"; return 0; }; return 1; }
need_ca() { [[ -f $CA/shopfloor-ca.crt ]] || die "no CA yet: run '$0 ca' first"; }

issue() {  # issue OUT-PREFIX CN EXTENSIONS
  local out=$1 cn=$2 ext
  ext=$(mktemp)
  printf '%b' "$3" > "$ext"
  (umask 077; openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out.key" -out "$out.csr" -subj "/CN=$cn" 2>/dev/null)
  openssl x509 -req -in "$out.csr" -CA "$CA/shopfloor-ca.crt" -CAkey "$CA/shopfloor-ca.key" \
    -CAcreateserial -out "$out.crt" -days "$DAYS" -extfile "$ext" 2>/dev/null
  rm -f "$out.csr" "$ext"
  printf 'wrote %s.crt and %s.key\n' "$out" "$out"
}

case ${1:-} in
  ca)
    install -d -m 0700 "$CA" "$CA/nodes"
    kept "$CA/shopfloor-ca.crt" && exit 0
    (umask 077; openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$CA/shopfloor-ca.key" -out "$CA/shopfloor-ca.crt" -days "$DAYS_CA" \
      -subj "/CN=Shopfloor CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null)
    chmod 0644 "$CA/shopfloor-ca.crt"
    printf 'wrote %s/shopfloor-ca.crt (its key stays in %s/: keep that offline)\n' "$CA" "$CA"
    ;;
  broker)
    host=${2:?usage: $0 broker HOSTNAME}
    need_ca
    install -d -m 0755 "$CERTS"
    install -m 0644 "$CA/shopfloor-ca.crt" "$CERTS/shopfloor-ca.crt"
    kept "$CERTS/hub-broker.crt" && exit 0
    issue "$CERTS/hub-broker" "$host" \
      "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    chmod 0644 "$CERTS/hub-broker.crt"
    # The eclipse-mosquitto image runs Mosquitto as uid 1883: that uid alone reads the key.
    chown 1883:1883 "$CERTS/hub-broker.key" 2>/dev/null \
      || { chmod 0644 "$CERTS/hub-broker.key"; echo "note: could not chown the key to 1883; made it world-readable"; }
    ;;
  node)
    node=${2:?usage: $0 node NODE_ID}
    [[ $node =~ ^[a-z0-9][a-z0-9-]{0,47}$ ]] || die "node id '$node': lowercase letters, digits and '-'"
    # The broker grants the hub's rights to the CN `hub`, and `cloud` is the hub's origin.
    [[ $node != hub && $node != cloud ]] || die "node id '$node' is reserved for the hub"
    need_ca
    kept "$CA/nodes/$node.crt" && exit 0
    issue "$CA/nodes/$node" "$node" "extendedKeyUsage=clientAuth\n"
    ;;
  *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$SELF"; exit 2 ;;
esac
