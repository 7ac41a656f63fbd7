#!/usr/bin/env bash
# certbot for `pytest-acme check-client`: one name by http-01 with --standalone on
# ACME_HTTP01_PORT (REQUESTS_CA_BUNDLE, set by check-client, makes it trust the server).
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
name="certbot-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n').example.test"
"${CERTBOT:-certbot}" certonly --non-interactive --config-dir "$work/config" \
    --work-dir "$work/work" --logs-dir "$work/logs" --server "$ACME_DIRECTORY" \
    --agree-tos --register-unsafely-without-email --cert-name check --key-type ecdsa \
    --no-random-sleep-on-renew --standalone --preferred-challenges http \
    --http-01-port "$ACME_HTTP01_PORT" --http-01-address 127.0.0.1 -d "$name"
test -s "$work/config/live/check/fullchain.pem"
