#!/bin/sh
# A minimal ACME (RFC 8555) client in POSIX shell, with openssl and curl only:
# it creates an account, orders a certificate for the names it is given,
# solves dns-01 through a pebble-challtestsrv-compatible API, finalizes and
# writes the certificate chain.
#
#   acme-client.sh DIRECTORY_URL CA_BUNDLE CHALLTESTSRV_URL OUT_DIR NAME...
#
# It stands for "your client in another language": pytest-acme sees only HTTPS
# requests, so whatever the language, `pytest-acme serve` tests it the same way.
#
# Environment:
#   ACME_WAIT   command run with the Retry-After seconds between two polls
#               (default: sleep; a test that wants no sleeping passes ":")
#   ACME_POLLS  how many times to poll before giving up (default: 50)
set -eu

[ "$#" -ge 5 ] || { echo "usage: $0 DIRECTORY_URL CA_BUNDLE CHALLTESTSRV_URL OUT_DIR NAME..." >&2; exit 2; }
DIRECTORY_URL=$1 CA_BUNDLE=$2 CHALLTESTSRV=$3 OUT=$4
shift 4
WAIT=${ACME_WAIT:-sleep}
POLLS=${ACME_POLLS:-50}
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

log() { echo "acme-client: $*" >&2; }
die() { log "$*"; exit 1; }

# -- encoding ------------------------------------------------------------------

# base64url without padding (RFC 8555 §6.1, RFC 7515 §2), of stdin
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# the string value of "NAME": "..." in the pretty-printed JSON file $2
json_string() { sed -n "s/^ *\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$2" | head -n 1; }

# every URL inside the JSON array "NAME": [...] of file $2, one a line
json_urls() { sed -n "/\"$1\": *\\[/,/\\]/p" "$2" | grep -o '"https://[^"]*"' | tr -d '"'; }

# a header's value from the curl header dump $2 (case-insensitive name $1)
header() { grep -i "^$1:" "$2" | head -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'; }

# -- the account key and its JWK (RSA, so RS256 signatures need no DER parsing) --

openssl genrsa -out "$WORK/account.key" 2048 2>/dev/null
# The modulus's 256 octets sit at a fixed place in a 2048-bit key's DER
# SubjectPublicKeyInfo: after 33 octets of headers (the last one the zero that
# keeps the INTEGER positive), before "02 03 01 00 01" (the exponent, 65537).
openssl rsa -in "$WORK/account.key" -pubout -outform DER -out "$WORK/account.der" 2>/dev/null
N=$(dd if="$WORK/account.der" bs=1 skip=33 count=256 2>/dev/null | b64url)
JWK="{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"$N\"}"     # exponent 65537; members in RFC 7638 order
THUMBPRINT=$(printf '%s' "$JWK" | openssl dgst -sha256 -binary | b64url)
KID=""

# -- requests -------------------------------------------------------------------

curl_() { curl --silent --show-error --cacert "$CA_BUNDLE" "$@"; }

curl_ -o "$WORK/directory.json" "$DIRECTORY_URL"
NEW_NONCE=$(json_string newNonce "$WORK/directory.json")
NEW_ACCOUNT=$(json_string newAccount "$WORK/directory.json")
NEW_ORDER=$(json_string newOrder "$WORK/directory.json")
curl_ --head -D "$WORK/headers" -o /dev/null "$NEW_NONCE"
NONCE=$(header Replay-Nonce "$WORK/headers")

# post URL PAYLOAD: a JWS-signed POST (RFC 8555 §6.2); PAYLOAD "" is POST-as-GET.
# The reply body is in $WORK/body, its headers in $WORK/headers, the status in $STATUS.
post() {
    if [ -z "$KID" ]; then key="\"jwk\":$JWK"; else key="\"kid\":\"$KID\""; fi
    protected=$(printf '{"alg":"RS256",%s,"nonce":"%s","url":"%s"}' "$key" "$NONCE" "$1" | b64url)
    if [ -z "$2" ]; then payload=""; else payload=$(printf '%s' "$2" | b64url); fi
    signature=$(printf '%s.%s' "$protected" "$payload" \
        | openssl dgst -sha256 -sign "$WORK/account.key" -binary | b64url)
    STATUS=$(curl_ -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' \
        -H 'Content-Type: application/jose+json' \
        --data "{\"protected\":\"$protected\",\"payload\":\"$payload\",\"signature\":\"$signature\"}" "$1")
    NONCE=$(header Replay-Nonce "$WORK/headers")  # every reply carries a fresh one (§6.5)
    case $STATUS in
        2??) ;;
        *) die "$1 answered $STATUS: $(cat "$WORK/body")" ;;
    esac
}

# poll URL STATUS...: POST-as-GET URL until its status is one of STATUS...
poll() {
    url=$1; shift
    i=0
    while [ "$i" -lt "$POLLS" ]; do
        post "$url" ""
        status=$(json_string status "$WORK/body")
        for want in "$@"; do [ "$status" = "$want" ] && return 0; done
        [ "$status" = invalid ] && die "$url is invalid: $(cat "$WORK/body")"
        retry_after=$(header Retry-After "$WORK/headers")
        $WAIT "${retry_after:-1}"
        i=$((i + 1))
    done
    die "$url still $status after $POLLS polls"
}

# -- the flow -------------------------------------------------------------------

post "$NEW_ACCOUNT" '{"termsOfServiceAgreed":true}'
KID=$(header Location "$WORK/headers")
log "account $KID"

identifiers=""
for name in "$@"; do identifiers="$identifiers${identifiers:+,}{\"type\":\"dns\",\"value\":\"$name\"}"; done
post "$NEW_ORDER" "{\"identifiers\":[$identifiers]}"
ORDER=$(header Location "$WORK/headers")
cp "$WORK/body" "$WORK/order.json"
FINALIZE=$(json_string finalize "$WORK/order.json")
log "order $ORDER"

for authz in $(json_urls authorizations "$WORK/order.json"); do
    post "$authz" ""
    domain=$(json_string value "$WORK/body")
    # the dns-01 challenge: its "url" and "token" follow its "type" line
    challenge=$(sed -n '/"type": *"dns-01"/,/}/p' "$WORK/body")
    url=$(printf '%s\n' "$challenge" | sed -n 's/^ *"url": *"\([^"]*\)".*/\1/p')
    token=$(printf '%s\n' "$challenge" | sed -n 's/^ *"token": *"\([^"]*\)".*/\1/p')
    [ -n "$url" ] || die "$authz offers no dns-01 challenge"
    # RFC 8555 §8.4: the TXT record holds base64url(SHA-256(token "." thumbprint))
    txt=$(printf '%s.%s' "$token" "$THUMBPRINT" | openssl dgst -sha256 -binary | b64url)
    curl --silent --show-error --fail -o /dev/null \
        --data "{\"host\":\"_acme-challenge.${domain#\*.}.\",\"value\":\"$txt\"}" "$CHALLTESTSRV/set-txt"
    post "$url" '{}'
    poll "$authz" valid
    log "authorization for $domain valid"
done

# the CSR: the first name as CN, all of them as SANs
sans=""
for name in "$@"; do sans="$sans${sans:+,}DNS:$name"; done
openssl req -new -newkey rsa:2048 -nodes -keyout "$OUT/privkey.pem" -subj "/CN=$1" \
    -addext "subjectAltName=$sans" -outform DER -out "$WORK/csr.der" 2>/dev/null
post "$FINALIZE" "{\"csr\":\"$(b64url < "$WORK/csr.der")\"}"
poll "$ORDER" valid
CERTIFICATE=$(json_string certificate "$WORK/body")
post "$CERTIFICATE" ""
cp "$WORK/body" "$OUT/fullchain.pem"
log "certificate $CERTIFICATE"
echo "$ORDER"
