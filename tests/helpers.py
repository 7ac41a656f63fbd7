"""Helpers shared by the tests: a real ACME client (certbot's ``acme`` library)
pointed at a pytest-acme server, keys, CSRs, and chain verification."""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import socket
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import josepy
import requests
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from jws_client import b64
from pytest_acme import AcmeServer

Key = Union[ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey]


def ec_key(curve: ec.EllipticCurve = ec.SECP256R1()) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve)


def account_client(server: AcmeServer, key: Optional[Key] = None, *, register: bool = True,
                   email: Optional[str] = None) -> client.ClientV2:
    """A ClientV2 with a fresh (or given) account key, registered unless told not to."""
    key = key or ec_key()
    jwk = josepy.JWKEC(key=key) if isinstance(key, ec.EllipticCurvePrivateKey) else josepy.JWKRSA(key=key)
    alg = josepy.ES256 if isinstance(key, ec.EllipticCurvePrivateKey) else josepy.RS256
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1":
        alg = josepy.ES384
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp521r1":
        alg = josepy.ES512
    net = client.ClientNetwork(jwk, alg=alg, user_agent="pytest-acme-tests",
                               verify_ssl=server.ca_bundle or True)
    directory = client.ClientV2.get_directory(server.directory_url, net)
    acme = client.ClientV2(directory, net)
    acme.account_private_key = key  # type: ignore[attr-defined]
    if register:
        contact = (f"mailto:{email}",) if email else ()
        acme.new_account(messages.NewRegistration.from_data(
            email=email, terms_of_service_agreed=True) if email else
            messages.NewRegistration(terms_of_service_agreed=True, contact=contact))
    return acme


def make_csr(names: Sequence[str], key: Optional[Key] = None, *, common_name: Optional[str] = None,
             ca: Optional[bool] = None, san: bool = True) -> bytes:
    """A PEM CSR for DNS names and IP addresses (strings)."""
    key = key or ec_key()
    general: List[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else []
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def challenge(authz: messages.AuthorizationResource, typ: str = "http-01"
              ) -> messages.ChallengeBody:
    """The authorization's challenge of type ``typ``: chosen by type, never by
    position, as challenges come in an order of their own (as at Let's Encrypt)."""
    return next(c for c in authz.body.challenges if c.chall.typ == typ)


def answer_all(acme: client.ClientV2, order: messages.OrderResource) -> None:
    """Answer one challenge of every authorization (dns-01 for wildcards, else http-01)."""
    for authz in order.authorizations:
        challb = challenge(authz, "dns-01" if authz.body.wildcard else "http-01")
        acme.answer_challenge(challb, challb.chall.response(acme.net.key))


def split_chain(pem: Union[str, bytes]) -> List[x509.Certificate]:
    data = pem.encode() if isinstance(pem, str) else pem
    return x509.load_pem_x509_certificates(data)


def verify_chain(chain: List[x509.Certificate], root_pem: bytes) -> None:
    """Check each signature up to the server's root (raises on failure)."""
    roots = x509.load_pem_x509_certificates(root_pem)
    for child, parent in zip(chain, chain[1:] + roots[:1]):
        assert child.issuer == parent.subject
        public = parent.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(child.signature, child.tbs_certificate_bytes,
                          ec.ECDSA(child.signature_hash_algorithm))
        else:
            public.verify(child.signature, child.tbs_certificate_bytes, padding.PKCS1v15(),
                          child.signature_hash_algorithm)


def sans(cert: x509.Certificate) -> set:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(ext.get_values_for_type(x509.DNSName)) | {
        str(i) for i in ext.get_values_for_type(x509.IPAddress)}


def deadline(seconds: float = 10) -> dt.datetime:
    return dt.datetime.now() + dt.timedelta(seconds=seconds)


class _Raw(josepy.JSONDeSerializable):
    """Any JSON payload, sent through the real client's JWS and nonce handling."""

    def __init__(self, payload: Dict[str, Any]) -> None:
        self.payload = payload

    def to_partial_json(self) -> Dict[str, Any]:
        return self.payload

    @classmethod
    def from_json(cls, jobj: Any) -> "_Raw":
        return cls(jobj)


def post(acme, url: str, payload: Optional[Dict[str, Any]]) -> requests.Response:
    """POST (``payload`` None: POST-as-GET) as ``ClientV2`` does: a missing nonce is
    fetched from newNonce (Pebble's rule gives no nonce to a HEAD of anything else)."""
    return acme.net.post(url, _Raw(payload) if payload is not None else None,
                         new_nonce_url=acme.directory["newNonce"])


def links(response: requests.Response, rel: str) -> List[str]:
    """The URLs of the response's ``Link`` header with relation ``rel``, in order."""
    # requests folds repeated headers into one comma-separated value.
    return [link["url"] for link in requests.utils.parse_header_links(response.headers["Link"])
            if link.get("rel") == rel]


def read_to_close(sock: socket.socket) -> bytes:
    """Everything the peer sends until it closes the connection."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def banner_field(banner: str, name: str) -> str:
    """The first word after ``name:`` in ``pytest-acme serve``'s banner."""
    line = next(line for line in banner.splitlines() if line.strip().startswith(name))
    return line.split(":", 1)[1].split()[0]


class BannerCapture(io.StringIO):
    """Output of ``main(["serve", ...], out=...)``; ``ready`` is set once the
    banner is complete."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = threading.Event()

    def write(self, text: str) -> int:
        n = super().write(text)
        if "Ctrl-C" in self.getvalue():
            self.ready.set()
        return n


class ServeProcess:
    """``python -m pytest_acme serve ARGS`` as a process; :attr:`banner` once it is up,
    :meth:`line` for the request log lines that follow."""

    def __init__(self, args: List[str], env: Optional[Dict[str, str]] = None) -> None:
        import queue
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-m", "pytest_acme", "serve", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self._lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=lambda: [self._lines.put(x) for x in self.proc.stdout],
                         daemon=True).start()
        self.banner = ""
        while "Ctrl-C" not in self.banner:
            self.banner += self._lines.get(timeout=20)

    def line(self, timeout: float = 10) -> str:
        return self._lines.get(timeout=timeout).strip()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# -- challenges as JSON (for types certbot's library does not model) ------------------


def read(acme, url: str) -> Dict[str, Any]:
    """POST-as-GET ``url`` and return the JSON body."""
    return acme.net.post(url, None).json()


def account_url(acme) -> str:
    return acme.net.account.uri


def challenge_json(acme, authz_url: str, typ: str) -> Dict[str, Any]:
    """The ``typ`` challenge of the authorization at ``authz_url``, as JSON."""
    return next(c for c in read(acme, authz_url)["challenges"] if c["type"] == typ)


def key_authorization_for(acme, token: str) -> str:
    """``token + "." + base64url(thumbprint of the account key)`` (RFC 8555 §8.1)."""
    thumbprint = b64(acme.net.key.public_key().thumbprint())
    return f"{token}.{thumbprint}"


def answer_and_wait(acme, server: AcmeServer, chall_url: str) -> Dict[str, Any]:
    """POST ``{}`` to a challenge, wait for the server's validation, return the challenge."""
    post(acme, chall_url, {})
    server.wait_idle()
    return read(acme, chall_url)


def validate(server: AcmeServer, name: str, typ: str = "http-01",
             prepare: Callable[[str, str], Any] = lambda token, key_authorization: None
             ) -> Dict[str, Any]:
    """Order ``name`` with a new account, call ``prepare(token, key_authorization)`` for
    its ``typ`` challenge, answer that and wait for the server: the challenge as JSON."""
    acme = account_client(server)
    order = acme.new_order(make_csr([name]))
    (authz,) = order.authorizations
    chall = challenge_json(acme, authz.uri, typ)
    prepare(chall["token"], key_authorization_for(acme, chall["token"]))
    return answer_and_wait(acme, server, chall["url"])


def challenge_refused(chall: Dict[str, Any], type_: str, *words: str) -> str:
    """Check that the challenge (as JSON) is ``invalid`` with a ``type_`` problem whose
    detail has every one of ``words``; the detail."""
    assert chall["status"] == "invalid", chall
    assert chall["error"]["type"] == "urn:ietf:params:acme:error:" + type_, chall["error"]
    for word in words:
        assert word in chall["error"]["detail"], chall["error"]["detail"]
    return chall["error"]["detail"]


def post_unchecked(acme, url: str, payload: Optional[Dict[str, Any]]) -> requests.Response:
    """POST through the client's JWS and nonce handling, returning the response as it
    is, problem documents included (the library would raise them, dropping members
    such as ``subproblems`` that older releases do not model)."""
    net = acme.net
    jws = net._wrap_in_jws(_Raw(payload) if payload is not None else None,
                           net._get_nonce(url, acme.directory["newNonce"]), url)
    response = net._send_request("POST", url, data=jws,
                                 headers={"Content-Type": net.JOSE_CONTENT_TYPE})
    net._add_nonce(response)
    return response


def finalize_problem(acme, order_url: str, csr_pem: bytes) -> Dict[str, Any]:
    """POST the finalize request of an order and return the problem document it answers."""
    der = x509.load_pem_x509_csr(csr_pem).public_bytes(serialization.Encoding.DER)
    finalize_url = read(acme, order_url)["finalize"]
    response = post_unchecked(acme, finalize_url, {"csr": b64(der)})
    assert response.headers["Content-Type"] == "application/problem+json", response.text
    return response.json()


def new_order(acme, names: Sequence[str], key: Optional[Key] = None, **fields: Any
              ) -> messages.OrderResource:
    """A newOrder with extra payload fields (``profile``, ``replaces``, ...) that the
    lowest ``acme`` release cannot send, as an OrderResource the library can finish."""
    csr = make_csr(names, key)
    identifiers = []
    for name in names:
        try:
            ipaddress.ip_address(name)
            identifiers.append({"type": "ip", "value": name})
        except ValueError:
            identifiers.append({"type": "dns", "value": name})
    response = post(acme, acme.directory["newOrder"], {"identifiers": identifiers, **fields})
    body = messages.Order.from_json(response.json())
    authzs = [acme._authzr_from_response(acme._post_as_get(url), uri=url)
              for url in body.authorizations]
    return messages.OrderResource(body=body, uri=response.headers["Location"],
                                  authorizations=authzs, csr_pem=csr)


def obtain(server: AcmeServer, acme, order: messages.OrderResource) -> requests.Response:
    """Answer, finalize and download: the certificate response (chain and Link headers)."""
    answer_all(acme, order)
    server.wait_idle()
    order = acme.begin_finalization(acme.poll_authorizations(order, deadline()))
    if order.body.certificate is None:  # finalize="async" (poll_finalization sleeps 1 s)
        order = acme.poll_finalization(order, deadline())
    return acme.net.post(order.body.certificate, None)


def revoke(acme, cert: x509.Certificate, reason: int) -> None:
    """``ClientV2.revoke`` across acme versions (before 3.x it took a pyOpenSSL
    certificate wrapped in josepy's ComparableX509)."""
    try:
        acme.revoke(cert, reason)
    except AttributeError:
        from OpenSSL import crypto
        acme.revoke(josepy.ComparableX509(crypto.X509.from_cryptography(cert)), reason)


def issue_leaf(server: AcmeServer, acme, names: Sequence[str], **fields: Any) -> x509.Certificate:
    """A certificate for ``names`` (``fields`` go into the newOrder)."""
    return split_chain(obtain(server, acme, new_order(acme, names, **fields)).content)[0]
