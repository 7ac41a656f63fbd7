#!/usr/bin/env bash
# dehydrated for `pytest-acme check-client`: one name by http-01, its WELLKNOWN
# directory served by Python's http.server on ACME_HTTP01_PORT.
set -euo pipefail
work=$(mktemp -d)
web_pid=""
trap '[ -z "$web_pid" ] || kill "$web_pid" 2>/dev/null; rm -rf "$work"' EXIT
name="dehydrated-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n').example.test"
mkdir -p "$work/webroot/.well-known/acme-challenge" "$work/base"
cat > "$work/base/config" <<CONFIG
CA="$ACME_DIRECTORY"
CHALLENGETYPE="http-01"
BASEDIR="$work/base"
WELLKNOWN="$work/webroot/.well-known/acme-challenge"
KEY_ALGO=secp384r1
CONTACT_EMAIL="dehydrated@example.test"
CURL_OPTS="--cacert $ACME_CA_BUNDLE"
CONFIG
"${PYTHON:-python3}" -m http.server --bind 127.0.0.1 --directory "$work/webroot" \
    "$ACME_HTTP01_PORT" >/dev/null 2>&1 &
web_pid=$!
for _ in $(seq 50); do  # until the responder accepts connections (5 s at most)
    (exec 3<>"/dev/tcp/127.0.0.1/$ACME_HTTP01_PORT") 2>/dev/null && break
    sleep 0.1
done
"${DEHYDRATED:-dehydrated}" -f "$work/base/config" --register --accept-terms
"${DEHYDRATED:-dehydrated}" -f "$work/base/config" --cron -d "$name"
test -s "$work/base/certs/$name/fullchain.pem"
