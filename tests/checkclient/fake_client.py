"""A small ACME client for the check-client tests, run as its own process.

``python fake_client.py MODE``, with the harness environment (ACME_DIRECTORY,
ACME_CA_BUNDLE, ACME_HTTP01_PORT) that ``pytest-acme check-client`` sets:

- ``pass``: a full order with http-01 (its own responder on ACME_HTTP01_PORT),
  finalize, download; exits 1 if a validation fails;
- ``crash``: registers, then exits 3;
- ``hang``: registers, then waits forever;
- ``exit0``: exits 0 at once, having done nothing;
- ``no-download``: validates and finalizes, exits 0 without fetching the certificate;
- ``wrong-exit``: a full order with the certificate, then exits 1.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict

import josepy
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

MODE = sys.argv[1]
TOKENS: Dict[str, bytes] = {}


class Responder(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = TOKENS.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


def main() -> int:
    if MODE == "exit0":
        return 0
    key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=josepy.ES256, user_agent="check-client-fake",
                               verify_ssl=os.environ["ACME_CA_BUNDLE"])
    acme = client.ClientV2(client.ClientV2.get_directory(os.environ["ACME_DIRECTORY"], net), net)
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    if MODE == "crash":
        return 3
    if MODE == "hang":
        threading.Event().wait()
    web = ThreadingHTTPServer(("127.0.0.1", int(os.environ["ACME_HTTP01_PORT"])), Responder)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    leaf_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    csr = crypto_util.make_csr(leaf_key, [f"fake-{os.getpid()}.example.test"])
    order = acme.new_order(csr)
    for authz in order.authorizations:
        chall = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
        response, validation = chall.chall.response_and_validation(key)
        TOKENS[chall.chall.path] = validation.encode()
        acme.answer_challenge(chall, response)
    deadline = dt.datetime.now() + dt.timedelta(seconds=30)
    try:
        order = acme.poll_authorizations(order, deadline)
    except errors.ValidationError:
        print("validation failed", file=sys.stderr)
        return 1
    if MODE == "no-download":
        acme.begin_finalization(order)
        return 0
    order = acme.finalize_order(order, deadline)
    print(order.fullchain_pem)
    return 1 if MODE == "wrong-exit" else 0


if __name__ == "__main__":
    sys.exit(main())
