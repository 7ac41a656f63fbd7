#!/usr/bin/env bash
# Start `pytest-acme pebble` + `pytest-acme challtestsrv` as two processes, in the
# roles and with the flags of Debian's pebble + pebble-challtestsrv (as the
# harness's run-pebble.sh starts them), and write the harness environment to
# $RUN_DIR/env.sh.
#
#   tests/harness/run-pytest-acme-pair.sh [start]   start (stops an earlier pair first)
#   tests/harness/run-pytest-acme-pair.sh stop
#
# Environment: RUN_DIR (default: ./run), PYTHON (default: python3), PEBBLE_PORT,
# PEBBLE_MGMT_PORT, DNS_PORT, DNS_MGMT_PORT, HTTP01_PORT, TLSALPN01_PORT (Pebble's
# and challtestsrv's defaults), and any PEBBLE_* variable, which `pytest-acme
# pebble` reads as Pebble would.
set -u
run="${RUN_DIR:-$PWD/run}"
python="${PYTHON:-python3}"
cmd="${1:-start}"
pebble_port="${PEBBLE_PORT:-14000}" mgmt_port="${PEBBLE_MGMT_PORT:-15000}"
dns_port="${DNS_PORT:-8053}" dns_mgmt_port="${DNS_MGMT_PORT:-8055}"
http01_port="${HTTP01_PORT:-5002}" tlsalpn_port="${TLSALPN01_PORT:-5001}"
mkdir -p "$run"

stop() {
  for name in pebble challtestsrv; do
    [ -f "$run/pair-$name.pid" ] || continue
    pid="$(cat "$run/pair-$name.pid")"
    kill "$pid" 2>/dev/null && for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$run/pair-$name.pid"
  done
}

wait_banner() {  # name: until its banner is printed, or it exits
  for _ in $(seq 1 100); do
    grep -q "Ctrl-C" "$run/pair-$1.log" 2>/dev/null && return 0
    kill -0 "$(cat "$run/pair-$1.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "pytest-acme $1 did not start; see $run/pair-$1.log" >&2
  cat "$run/pair-$1.log" >&2
  return 1
}

case "$cmd" in
  stop) stop; echo stopped; exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
stop

# pebble-challtestsrv's role: mock DNS and its API; the clients under test serve
# http-01 and tls-alpn-01 themselves, so those listeners are off; no AAAA answers.
setsid "$python" -m pytest_acme challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
  -dns01 "127.0.0.1:$dns_port" -management "127.0.0.1:$dns_mgmt_port" \
  -http01 "" -https01 "" -tlsalpn01 "" > "$run/pair-challtestsrv.log" 2>&1 < /dev/null &
echo $! > "$run/pair-challtestsrv.pid"
wait_banner challtestsrv || { stop; exit 1; }

# Pebble's role: its config file (no certificate: pytest-acme makes its own) and flags.
cat > "$run/pair-pebble-config.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$pebble_port",
            "managementListenAddress": "127.0.0.1:$mgmt_port",
            "httpPort": $http01_port, "tlsPort": $tlsalpn_port}}
JSON
setsid "$python" -m pytest_acme pebble -config "$run/pair-pebble-config.json" \
  -dnsserver "127.0.0.1:$dns_port" > "$run/pair-pebble.log" 2>&1 < /dev/null &
echo $! > "$run/pair-pebble.pid"
wait_banner pebble || { stop; exit 1; }
bundle="$(sed -n 's/^ *CA bundle: *\([^ ]*\).*/\1/p' "$run/pair-pebble.log")"

cat > "$run/env.sh" <<ENV
# written by run-pytest-acme-pair.sh; pids $(cat "$run/pair-pebble.pid") $(cat "$run/pair-challtestsrv.pid")
export ACME_DIRECTORY="https://127.0.0.1:$pebble_port/dir"
export ACME_CA_BUNDLE="$bundle"
export ACME_HTTP01_PORT="$http01_port"
export ACME_TLSALPN01_PORT="$tlsalpn_port"
export ACME_DNS_MGMT="http://127.0.0.1:$dns_mgmt_port"
export ACME_ROOT_URL="https://127.0.0.1:$mgmt_port/roots/0"
export ACME_DNS_RESOLVER="127.0.0.1:$dns_port"
export ACME_SERVER_NAME="pytest-acme-pair"
export ACME_CERT_STATUS_URL="https://127.0.0.1:$mgmt_port/cert-status-by-serial/"
ENV
echo "pytest-acme pebble + challtestsrv up; env in $run/env.sh"
