#!/usr/bin/env bash
# Start `pytest-acme serve` in the roles of Pebble + pebble-challtestsrv for a
# real-client harness (same ports, same management APIs), and write the
# harness environment to $RUN_DIR/env.sh.
#
#   tests/harness/run-pytest-acme.sh [start]   start (stops an earlier one first)
#   tests/harness/run-pytest-acme.sh stop
#
# Environment: RUN_DIR (default: ./run), PYTHON (default: python3), and any
# PEBBLE_* variable, which `pytest-acme serve` reads as Pebble would.
set -u
run="${RUN_DIR:-$PWD/run}"
python="${PYTHON:-python3}"
cmd="${1:-start}"
mkdir -p "$run"

stop() {
  if [ -f "$run/pytest-acme.pid" ]; then
    pid="$(cat "$run/pytest-acme.pid")"
    kill "$pid" 2>/dev/null && for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$run/pytest-acme.pid"
  fi
}

case "$cmd" in
  stop) stop; echo stopped; exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
stop

# The one command: Pebble's ports (14000, 15000), challtestsrv's (8055, DNS 8053),
# http-01 on 5002 and tls-alpn-01 on 5001, where the clients serve their answers.
setsid "$python" -m pytest_acme serve -q > "$run/pytest-acme.log" 2>&1 < /dev/null &
echo $! > "$run/pytest-acme.pid"

for _ in $(seq 1 100); do
  grep -q "Ctrl-C" "$run/pytest-acme.log" 2>/dev/null && break
  kill -0 "$(cat "$run/pytest-acme.pid")" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "Ctrl-C" "$run/pytest-acme.log"; then
  echo "pytest-acme did not start; see $run/pytest-acme.log" >&2
  cat "$run/pytest-acme.log" >&2
  stop; exit 1
fi
bundle="$(sed -n 's/^ *CA bundle: *\([^ ]*\).*/\1/p' "$run/pytest-acme.log")"

cat > "$run/env.sh" <<ENV
# written by run-pytest-acme.sh; pid $(cat "$run/pytest-acme.pid")
export ACME_DIRECTORY="https://127.0.0.1:14000/dir"
export ACME_CA_BUNDLE="$bundle"
export ACME_HTTP01_PORT="5002"
export ACME_TLSALPN01_PORT="5001"
export ACME_DNS_MGMT="http://127.0.0.1:8055"
export ACME_ROOT_URL="https://127.0.0.1:15000/roots/0"
export ACME_DNS_RESOLVER="127.0.0.1:8053"
export ACME_SERVER_NAME="pytest-acme"
export ACME_CERT_STATUS_URL="https://127.0.0.1:15000/cert-status-by-serial/"
ENV
echo "pytest-acme up; env in $run/env.sh"
