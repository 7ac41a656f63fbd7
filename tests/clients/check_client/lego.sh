#!/usr/bin/env bash
# lego for `pytest-acme check-client`: one name by http-01, lego's own responder on
# ACME_HTTP01_PORT. The server comes from the environment check-client sets.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
name="lego-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n').example.test"
LEGO_DISABLE_CNAME_SUPPORT=true "${LEGO:-lego}" --server "$ACME_DIRECTORY" --accept-tos \
    --email check@example.test --path "$work" --key-type ec256 --cert.timeout 60 \
    --domains "$name" --http --http.port "127.0.0.1:$ACME_HTTP01_PORT" run
test -s "$work/certificates/$name.crt"
