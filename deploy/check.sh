#!/usr/bin/env bash
# Check the deployment files against the real tools, on a development machine:
#   - the systemd units with systemd-analyze verify (binaries stubbed);
#   - the hub broker (mosquitto/hub.conf and cloud/mosquitto.conf) on private ports with a
#     throw-away CA: nodes need their certificate, publish only under their own id, read
#     only their own down/ack; two workers share the pages ($share/hub/…);
#   - the edge device bus (mosquitto/edge-local.conf as a conf.d drop-in, the way Debian
#     includes it): per-device passwords, each device confined to sf/dev/<its id>/;
#   - the Litestream example with `litestream databases`; the shell scripts with bash -n;
#     the compose file with `docker compose config` or a YAML parser.
# Needs mosquitto, mosquitto_pub/_sub and openssl; a missing tool skips its checks.
#
#   deploy/check.sh            exit status 0 when every check that could run passed
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
WORK=$(mktemp -d)
chmod 0755 "$WORK"   # a root-started mosquitto reads its files as user mosquitto
PIDS=()
FAILED=0

cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; FAILED=1; }
skip() { printf 'skip  %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MOSQUITTO=$(command -v mosquitto || { [[ -x /usr/sbin/mosquitto ]] && echo /usr/sbin/mosquitto; } || true)

start_broker() {  # start_broker CONF PORT: start, wait until PORT accepts
  "$MOSQUITTO" -c "$1" >"$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$1.log"; return 1
}

# expect_msg LABEL WANT -- SUB-ARGS… -- PUB-ARGS…: subscribe, publish, compare what arrived
# (WANT empty: nothing may arrive within 2 s).
expect_msg() {
  local label=$1 want=$2; shift 3
  local sub=() pub=()
  while [[ $1 != -- ]]; do sub+=("$1"); shift; done; shift
  pub=("$@")
  local out="$WORK/sub.$RANDOM"
  mosquitto_sub "${sub[@]}" -C 1 -W "$([[ -n $want ]] && echo 5 || echo 2)" >"$out" 2>/dev/null &
  local sp=$!
  sleep 0.5
  mosquitto_pub "${pub[@]}" >/dev/null 2>&1
  wait "$sp"
  local got; got=$(cat "$out")
  if [[ $got == "$want" ]]; then pass "$label"; else fail "$label (got '${got}', want '${want}')"; fi
}

# --- shell scripts -------------------------------------------------------------------------
for f in "$HERE/pi/install.sh" "$HERE/cloud/make-certs.sh" "$HERE/check.sh"; do
  if bash -n "$f"; then pass "bash -n ${f#"$ROOT"/}"; else fail "bash -n ${f#"$ROOT"/}"; fi
done

# --- systemd units -------------------------------------------------------------------------
if have systemd-analyze; then
  mkdir "$WORK/units"
  for u in "$HERE"/systemd/*.service; do
    sed 's#/opt/shopfloor/venv/bin/shopfloor#/usr/bin/true#' "$u" >"$WORK/units/$(basename "$u")"
  done
  if out=$(cd "$WORK/units" && systemd-analyze verify ./*.service 2>&1) && [[ -z $out ]]; then
    pass "systemd-analyze verify systemd/*.service"
  else
    fail "systemd-analyze verify: $out"
  fi
else
  skip "systemd units: no systemd-analyze"
fi

# --- Litestream example --------------------------------------------------------------------
LITESTREAM=$(command -v litestream || { [[ -x $ROOT/.venv/bin/litestream ]] && echo "$ROOT/.venv/bin/litestream"; } || true)
if [[ -n $LITESTREAM ]]; then
  if "$LITESTREAM" databases -config "$HERE/litestream/edge.yml.example" -no-expand-env \
      | grep -q '/var/lib/shopfloor/edge/ledger.db  *file'; then
    pass "litestream reads litestream/edge.yml.example"
  else
    fail "litestream databases -config litestream/edge.yml.example"
  fi
else
  skip "litestream example: no litestream binary"
fi

# --- compose -------------------------------------------------------------------------------
if have docker && docker compose version >/dev/null 2>&1; then
  if SHOPFLOOR_PG_PASSWORD=x docker compose -f "$HERE/cloud/compose.yaml" config -q; then
    pass "docker compose config cloud/compose.yaml"
  else
    fail "docker compose config cloud/compose.yaml"
  fi
else
  PY=python3; [[ -x $ROOT/.venv/bin/python ]] && PY=$ROOT/.venv/bin/python
  if "$PY" - "$HERE/cloud/compose.yaml" <<'PYEOF' 2>/dev/null
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
services = doc["services"]
assert {"postgres", "broker", "hub-init", "hub-1", "hub-2"} <= set(services)
for name in ("hub-1", "hub-2"):
    assert services[name]["volumes"] == ["hub-data:/data"], name
    assert "--worker-id" in services[name]["command"], name
PYEOF
  then pass "cloud/compose.yaml parses (no docker compose here)"
  else fail "cloud/compose.yaml does not parse"; fi
fi

if [[ -z $MOSQUITTO ]] || ! have mosquitto_pub || ! have openssl; then
  skip "broker checks: need mosquitto, mosquitto-clients and openssl"
  exit $FAILED
fi

# --- hub broker ----------------------------------------------------------------------------
CERTS="$WORK/certs"
export CA_DIR="$WORK/ca" CERTS_DIR="$CERTS"
{ "$HERE/cloud/make-certs.sh" ca && "$HERE/cloud/make-certs.sh" broker localhost \
  && "$HERE/cloud/make-certs.sh" node store-1 && "$HERE/cloud/make-certs.sh" node store-2; } >/dev/null \
  || fail "cloud/make-certs.sh"
chmod 0644 "$CERTS"/*.key "$CA_DIR"/nodes/*.key; chmod 0755 "$CA_DIR" "$CA_DIR/nodes"

check_hub() {  # check_hub CONF-FILE LABEL
  local conf=$1 label=$2 tls wrk dir="$WORK/$2"
  tls=$(port); wrk=$(port)
  mkdir -p "$dir/data"; chmod -R 0777 "$dir/data"
  cp "$HERE/mosquitto/hub.acl" "$HERE/mosquitto/hub-workers.acl" "$dir/"
  sed -e "s#/etc/mosquitto/certs/#$CERTS/#; s#/mosquitto/certs/#$CERTS/#" \
      -e "s#/etc/mosquitto/hub#$dir/hub#; s#/mosquitto/config/hub#$dir/hub#" \
      -e "s#^persistence_location .*#persistence_location $dir/data/#" \
      -e "s#^listener 8883\$#listener $tls#" \
      -e "s#^listener 1883 127.0.0.1\$#listener $wrk 127.0.0.1#; s#^listener 1883\$#listener $wrk 127.0.0.1#" \
      "$conf" >"$dir/broker.conf"
  start_broker "$dir/broker.conf" "$wrk" || { fail "$label: broker does not start"; return; }
  local node1=(-h localhost -p "$tls" -V mqttv5 --cafile "$CERTS/shopfloor-ca.crt"
               --cert "$CA_DIR/nodes/store-1.crt" --key "$CA_DIR/nodes/store-1.key")
  local node2=(-h localhost -p "$tls" -V mqttv5 --cafile "$CERTS/shopfloor-ca.crt"
               --cert "$CA_DIR/nodes/store-2.crt" --key "$CA_DIR/nodes/store-2.key")
  local worker=(-h 127.0.0.1 -p "$wrk" -V mqttv5)
  expect_msg "$label: a node's page reaches the workers' shared subscription" "page-1" -- \
    "${worker[@]}" -t '$share/hub/sf/demo/node/+/up' -- "${node1[@]}" -q 1 -t sf/demo/node/store-1/up -m page-1
  expect_msg "$label: a node cannot publish as another node" "" -- \
    "${worker[@]}" -t '$share/hub/sf/demo/node/+/up' -- "${node1[@]}" -q 1 -t sf/demo/node/store-2/up -m forged
  expect_msg "$label: a node publishes its presence" "online" -- \
    "${worker[@]}" -t 'sf/demo/node/+/status' -- "${node1[@]}" -q 1 -t sf/demo/node/store-1/status -m online
  expect_msg "$label: a node reads its own down pages" "down-1" -- \
    "${node1[@]}" -t sf/demo/node/store-1/down -- "${worker[@]}" -q 1 -t sf/demo/node/store-1/down -m down-1
  expect_msg "$label: a node reads its own acks" "ack-1" -- \
    "${node1[@]}" -t sf/demo/node/store-1/ack -- "${worker[@]}" -q 1 -t sf/demo/node/store-1/ack -m ack-1
  expect_msg "$label: a node cannot read another node's pages" "" -- \
    "${node1[@]}" -t sf/demo/node/store-2/down -- "${worker[@]}" -q 1 -t sf/demo/node/store-2/down -m secret
  expect_msg "$label: nor what other nodes send" "" -- \
    "${node1[@]}" -t 'sf/demo/node/+/up' -- "${node2[@]}" -q 1 -t sf/demo/node/store-2/up -m page-2
  if mosquitto_pub -h localhost -p "$tls" -V mqttv5 --cafile "$CERTS/shopfloor-ca.crt" \
      -t sf/demo/node/store-1/up -m x >/dev/null 2>&1; then
    fail "$label: a client without a certificate was let in"
  else
    pass "$label: a client without a certificate is refused"
  fi
}
check_hub "$HERE/mosquitto/hub.conf" hub.conf
check_hub "$HERE/cloud/mosquitto.conf" cloud-mosquitto.conf

# --- edge device bus -----------------------------------------------------------------------
dev=$(port) dir="$WORK/edge"
mkdir -p "$dir/conf.d" "$dir/shopfloor" "$dir/data" "$dir/run"; chmod 0777 "$dir/data" "$dir/run"
cat >"$dir/mosquitto.conf" <<CONF
pid_file $dir/run/mosquitto.pid
persistence true
persistence_location $dir/data/
log_dest stderr
include_dir $dir/conf.d
CONF
sed -e "s#/etc/mosquitto/shopfloor/#$dir/shopfloor/#; s#^listener 1883\$#listener $dev 127.0.0.1#" \
  "$HERE/mosquitto/edge-local.conf" >"$dir/conf.d/shopfloor-edge.conf"
cp "$HERE/mosquitto/shopfloor-devices.acl" "$dir/shopfloor/devices.acl"
mosquitto_passwd -c -b "$dir/shopfloor/devices.passwd" edge edge-pw >/dev/null 2>&1
mosquitto_passwd -b "$dir/shopfloor/devices.passwd" scanner-1 s1-pw >/dev/null 2>&1
mosquitto_passwd -b "$dir/shopfloor/devices.passwd" scale-1 sc1-pw >/dev/null 2>&1
mosquitto_passwd -b "$dir/shopfloor/devices.passwd" devices agent-pw >/dev/null 2>&1
chmod 0644 "$dir/shopfloor"/*
if start_broker "$dir/mosquitto.conf" "$dev"; then
  edge=(-h 127.0.0.1 -p "$dev" -V mqttv5 -u edge -P edge-pw)
  s1=(-h 127.0.0.1 -p "$dev" -V mqttv5 -u scanner-1 -P s1-pw)
  expect_msg "edge-local: a device's event reaches the node" "6901234567890" -- \
    "${edge[@]}" -t 'sf/dev/+/event' -- "${s1[@]}" -q 1 -t sf/dev/scanner-1/event -m 6901234567890
  expect_msg "edge-local: a device cannot publish as another device" "" -- \
    "${edge[@]}" -t 'sf/dev/+/event' -- "${s1[@]}" -q 1 -t sf/dev/scale-1/event -m forged
  expect_msg "edge-local: a device reads its own commands" "beep" -- \
    "${s1[@]}" -t sf/dev/scanner-1/cmd -- "${edge[@]}" -q 1 -t sf/dev/scanner-1/cmd -m beep
  expect_msg "edge-local: and only its own" "" -- \
    "${s1[@]}" -t sf/dev/scale-1/cmd -- "${edge[@]}" -q 1 -t sf/dev/scale-1/cmd -m tare
  agent=(-h 127.0.0.1 -p "$dev" -V mqttv5 -u devices -P agent-pw)
  expect_msg "edge-local: the Pi's agent publishes for its devices" "12.345 kg" -- \
    "${edge[@]}" -t 'sf/dev/+/event' -- "${agent[@]}" -q 1 -t sf/dev/lane1-scale/event -m "12.345 kg"
  expect_msg "edge-local: the Pi's agent receives their commands" "tare" -- \
    "${agent[@]}" -t 'sf/dev/+/cmd' -- "${edge[@]}" -q 1 -t sf/dev/lane1-scale/cmd -m tare
  expect_msg "edge-local: the node cannot pose as a device" "" -- \
    "${agent[@]}" -t 'sf/dev/+/event' -- "${edge[@]}" -q 1 -t sf/dev/lane1-scale/event -m forged
  if mosquitto_pub -h 127.0.0.1 -p "$dev" -t sf/dev/x/event -m x >/dev/null 2>&1; then
    fail "edge-local: an anonymous client was let in"
  else
    pass "edge-local: anonymous clients are refused"
  fi
  if mosquitto_pub -h 127.0.0.1 -p "$dev" -u scanner-1 -P wrong -t sf/dev/scanner-1/event -m x >/dev/null 2>&1; then
    fail "edge-local: a wrong password was accepted"
  else
    pass "edge-local: a wrong password is refused"
  fi
else
  fail "edge-local: broker does not start"
fi

exit $FAILED
