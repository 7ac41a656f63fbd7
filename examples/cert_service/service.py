"""A certificate service that issues and re-issues certificates for its users over ACME.

The code under test in this example: a small HTTP API (a WSGI app on Werkzeug)
in front of an ACME CA, of the shape many such services have:

- ``POST /api/acme`` ``{"email": ...}`` makes an ACME account: ``201 {"id"}``.
- ``POST /api/order`` ``{"account", "domains", "type", "csr", "key", "reissue"}``
  orders a certificate.  ``domains`` is the common name, then the other names
  (SANs); ``type`` is ``dns`` (the default) or ``http``; ``csr`` (PEM) is used as
  it is, else one is made from ``domains`` and ``key`` (PEM; a new key if
  absent).  The same request again answers ``200`` with the existing order;
  ``reissue: true`` makes a new one (an ACME order cannot be changed).
  ``201 {"id", "status"}`` and a ``Location`` header otherwise.
- ``GET /api/order/<id>``: the order, with ``resolved_cert_id`` once issued.
- ``GET /api/order?account=<id>``: the orders of an account.
- ``GET /api/certificate/<id>``: the PEM chain.

The service gets its ACME directory and trust bundle, and its challenge
solvers, from whoever builds it: in production a DNS provider's API and a
web root, in the tests pytest-acme's ``acme_dns`` and ``acme_http01_responder``
fixtures, with ``acme_server.wait_idle`` in place of waiting for DNS to settle.
Orders are completed within the request here, to keep the example short.
"""

import datetime
import json

import josepy
from acme import client, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

CHALLENGE_TYPES = {"dns": "dns-01", "http": "http-01"}


class CertificateService:
    """The service.

    Args:
        directory_url: the ACME CA's directory.
        ca_bundle: the CA bundle that verifies the CA's HTTPS certificate.
        solvers: ``{"dns": publish_txt(name, value), "http": publish(token, body)}``.
        wait: called once a challenge is answered, before polling (production:
            a pause; tests: ``acme_server.wait_idle``).
    """

    def __init__(self, directory_url, ca_bundle, solvers, wait=lambda: None):
        self.directory_url = directory_url
        self.ca_bundle = ca_bundle
        self.solvers = solvers
        self.wait = wait
        self.accounts = {}       # id -> ClientV2
        self.orders = {}         # id -> dict
        self.certificates = {}   # id -> PEM chain
        self.urls = Map([
            Rule("/api/acme", endpoint="new_account", methods=["POST"]),
            Rule("/api/order", endpoint="new_order", methods=["POST"]),
            Rule("/api/order", endpoint="list_orders", methods=["GET"]),
            Rule("/api/order/<int:order_id>", endpoint="get_order", methods=["GET"]),
            Rule("/api/certificate/<int:cert_id>", endpoint="get_certificate", methods=["GET"]),
        ])

    # -- HTTP ---------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = self.urls.bind_to_environ(environ).match()
            response = getattr(self, endpoint)(request, **args)
        except HTTPException as e:
            response = Response(json.dumps({"error": e.description}), e.code,
                                content_type="application/json")
        return response(environ, start_response)

    def new_account(self, request):
        body = _json(request)
        key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        net = client.ClientNetwork(key, alg=josepy.ES256, verify_ssl=self.ca_bundle)
        acme = client.ClientV2(client.ClientV2.get_directory(self.directory_url, net), net)
        acme.new_account(messages.NewRegistration.from_data(
            email=body.get("email"), terms_of_service_agreed=True))
        account_id = len(self.accounts) + 1
        self.accounts[account_id] = acme
        return _reply({"id": account_id, "acme_account": acme.net.account.uri}, 201)

    def new_order(self, request):
        body = _json(request)
        if not body.get("domains") or "account" not in body:
            raise BadRequest("'domains' and 'account' are required")
        acme = self.accounts.get(body["account"])
        if acme is None:
            raise BadRequest(f"no account {body['account']!r}")
        kind = body.get("type", "dns")
        if kind not in CHALLENGE_TYPES:
            raise BadRequest(f"type must be one of {sorted(CHALLENGE_TYPES)}, not {kind!r}")
        request_key = {k: body.get(k) for k in ("account", "domains", "type", "csr", "key")}
        if not body.get("reissue"):
            for order in self.orders.values():
                if order["request"] == request_key:
                    return _reply(_view(order), 200, location=f"/api/order/{order['id']}")
        order = {"id": len(self.orders) + 1, "account": body["account"],
                 "domains": list(body["domains"]), "type": kind, "request": request_key,
                 "status": "pending", "acme_order": None, "error": None,
                 "resolved_cert_id": None}
        self.orders[order["id"]] = order
        self._issue(acme, order, body)
        return _reply({"id": order["id"], "status": order["status"]}, 201,
                      location=f"/api/order/{order['id']}")

    def list_orders(self, request):
        account = request.args.get("account", type=int)
        return _reply({"orders": [_view(o) for o in self.orders.values()
                                  if account is None or o["account"] == account]})

    def get_order(self, request, order_id):
        if order_id not in self.orders:
            raise NotFound(f"no order {order_id}")
        order = self.orders[order_id]
        location = (f"/api/certificate/{order['resolved_cert_id']}"
                    if order["resolved_cert_id"] else None)
        return _reply(_view(order), location=location)

    def get_certificate(self, request, cert_id):
        if cert_id not in self.certificates:
            raise NotFound(f"no certificate {cert_id}")
        return Response(self.certificates[cert_id], content_type="application/pem-certificate-chain")

    # -- ACME -----------------------------------------------------------------------

    def _issue(self, acme, order, body):
        """Order, solve, finalize; the outcome goes into ``order``."""
        try:
            # The ACME order names ``domains`` (the library takes them from a CSR);
            # the certificate is for the user's CSR, or one made with the user's key.
            acme_order = acme.new_order(_make_csr(order["domains"]))
            csr = body["csr"].encode() if body.get("csr") else _make_csr(
                order["domains"], body.get("key"))
            order["acme_order"] = acme_order.uri
            challenge_type = CHALLENGE_TYPES[order["type"]]
            for authz in acme_order.authorizations:
                if authz.body.status == messages.STATUS_VALID:
                    continue  # the CA remembers this name is ours
                challb = next(c for c in authz.body.challenges if c.chall.typ == challenge_type)
                response, validation = challb.chall.response_and_validation(acme.net.key)
                if order["type"] == "dns":
                    name = challb.chall.validation_domain_name(authz.body.identifier.value)
                    self.solvers["dns"](name, validation)
                else:
                    self.solvers["http"](challb.chall.encode("token"), validation)
                acme.answer_challenge(challb, response)
            self.wait()
            deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
            acme_order = acme.poll_authorizations(acme_order, deadline).update(csr_pem=csr)
            acme_order = acme.finalize_order(acme_order, deadline)
        except errors.ValidationError as e:
            order["status"] = "invalid"
            order["error"] = "; ".join(
                f"{c.error.typ}: {c.error.detail}" for a in e.failed_authzrs
                for c in a.body.challenges if c.error is not None)
            return
        except messages.Error as e:
            order["status"] = "invalid"
            order["error"] = f"{e.typ}: {e.detail}"
            return
        cert_id = len(self.certificates) + 1
        self.certificates[cert_id] = acme_order.fullchain_pem
        order["status"] = "valid"
        order["resolved_cert_id"] = cert_id


def _make_csr(domains, key_pem=None):
    """A CSR with the first domain as CN and every domain as a SAN."""
    key = (serialization.load_pem_private_key(key_pem.encode(), None) if key_pem
           else ec.generate_private_key(ec.SECP256R1()))
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), False)
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def _json(request):
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        raise BadRequest("the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _view(order):
    return {k: v for k, v in order.items() if k != "request"}


def _reply(body, status=200, location=None):
    response = Response(json.dumps(body), status, content_type="application/json")
    if location:
        response.headers["Location"] = location
    return response
