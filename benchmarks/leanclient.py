"""A lean ACME client for benchmarks: so that the server is what gets measured.

One HTTP/1.1 keep-alive connection (``http.client``), an EC P-256 account key,
josepy's ES256, one CSR key (each order gets its own name, so no server can
reuse an authorization).  :meth:`LeanClient.order` runs the whole lifecycle
(newOrder, authz, challenge, poll, finalize, poll, certificate) and records
every request's latency under its endpoint's name.  Works against any RFC 8555
server whose challenges always pass (``PEBBLE_VA_ALWAYS_VALID=1``,
``validation="always_valid"``).

How it waits between polls is its ``pacing``, one of :data:`PACINGS`:

* ``"none"``: polls again at once and never sleeps (no real client does this:
  it measures the server alone);
* ``"retry-after"``: sleeps what ``Retry-After`` says (RFC 8555 §7.5.1) after
  the challenge answer and after each poll that is not done yet; 1 s when a
  reply has none;
* ``"lego"``: as lego: the first poll right after the answer, then
  ``Retry-After`` between polls; no poll after a finalize that answered valid;
* ``"acme"``: as certbot's ``acme`` library (``poll_and_finalize``): 1 s after
  every pending authorization read, and 1 s before the first order read after
  finalize, whatever the server says; then ``Retry-After`` while processing.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import ssl
import time
from collections import defaultdict
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import josepy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from josepy import jwa

#: Give up on a server that has not answered one request in this many seconds.
REQUEST_TIMEOUT = 10.0
#: Give up on an object that is still not done after this many polls.
MAX_POLLS = 5000
#: How a client may wait between polls (see the module's docstring).
PACINGS = ("none", "retry-after", "lego", "acme")


class ServerStuck(Exception):
    """A request timed out or an object never got done: the server is stuck."""


def _b64(data: bytes) -> str:
    return josepy.b64.b64encode(data).decode("ascii")


def sign_jws(key: ec.EllipticCurvePrivateKey, protected: Dict[str, Any],
             payload: Optional[Dict[str, Any]]) -> bytes:
    """A flattened ES256 JWS; ``payload=None`` signs the empty payload of POST-as-GET."""
    p64 = _b64(json.dumps(protected).encode())
    body64 = "" if payload is None else _b64(json.dumps(payload).encode())
    signature = jwa.ES256.sign(key, f"{p64}.{body64}".encode())
    return json.dumps({"protected": p64, "payload": body64,
                       "signature": _b64(signature)}).encode()


def make_csr_b64(name: str, key: ec.EllipticCurvePrivateKey) -> str:
    """base64url DER of a CSR for ``name``."""
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
           .sign(key, hashes.SHA256()))
    return _b64(csr.public_bytes(serialization.Encoding.DER))


class LeanClient:
    """One account on one kept-alive connection.

    Args:
        directory_url: the server's directory.
        cafile: the PEM to trust for the server's HTTPS.
        name: orders ask for ``<n>.<name>``, n counting up.
    """

    #: How it waits between polls (one of PACINGS); seconds slept so far.
    pacing = "none"
    slept = 0.0

    def __init__(self, directory_url: str, cafile: str, name: str = "bench.example.com",
                 timeout: float = REQUEST_TIMEOUT, pacing: str = "none") -> None:
        if pacing not in PACINGS:
            raise ValueError(f"pacing must be one of {PACINGS}, not {pacing!r}")
        self.pacing = pacing
        #: Seconds slept between polls, in all.
        self.slept = 0.0
        url = urlsplit(directory_url)
        context = ssl.create_default_context(cafile=cafile)
        self.conn = http.client.HTTPSConnection(url.hostname, url.port, context=context,
                                                timeout=timeout)
        self._start(directory_url, name)

    def _start(self, directory_url: str, name: str) -> None:
        """Keys and counters, then the directory (once the transport is set up)."""
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = josepy.JWKEC(key=self.key).public_key().to_partial_json()
        self.nonce: Optional[str] = None
        self.kid: Optional[str] = None
        self.timings: Dict[str, List[float]] = defaultdict(list)
        self.requests = 0
        self.csr_key = ec.generate_private_key(ec.SECP256R1())
        self.name = name
        self.orders = 0
        _, _, body = self._send("GET", directory_url, None, {}, "directory")
        self.directory = json.loads(body)

    def close(self) -> None:
        self.conn.close()

    # -- transport ---------------------------------------------------------------

    def _send(self, method: str, url: str, body: Optional[bytes], headers: Dict[str, str],
              label: str) -> Tuple[int, Any, bytes]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body, headers)
            response = self.conn.getresponse()
            data = response.read()
        except (TimeoutError, OSError, http.client.HTTPException) as e:
            raise ServerStuck(f"{label}: {type(e).__name__}: {e}") from e
        self.timings[label].append(time.perf_counter() - started)
        self.requests += 1
        nonce = response.getheader("Replay-Nonce")
        if nonce:
            self.nonce = nonce
        return response.status, response, data

    def post(self, url: str, payload: Optional[Dict[str, Any]], label: str,
             accept: Optional[str] = None) -> Tuple[int, Any, bytes]:
        """A signed POST (``payload=None``: POST-as-GET); retries a badNonce once."""
        for _ in range(2):
            if self.nonce is None:
                self._send("HEAD", self.directory["newNonce"], None, {}, "newNonce")
            protected: Dict[str, Any] = {"alg": "ES256", "nonce": self.nonce, "url": url}
            if self.kid:
                protected["kid"] = self.kid
            else:
                protected["jwk"] = self.jwk
            self.nonce = None
            body = sign_jws(self.key, protected, payload)
            headers = {"Content-Type": "application/jose+json"}
            if accept:
                headers["Accept"] = accept
            status, response, data = self._send("POST", url, body, headers, label)
            if status == 400 and b"badNonce" in data:
                continue
            return status, response, data
        raise ServerStuck(f"{label}: badNonce twice")

    # -- ACME ----------------------------------------------------------------------

    def register(self) -> None:
        status, response, data = self.post(
            self.directory["newAccount"], {"termsOfServiceAgreed": True}, "newAccount")
        _expect(status, (200, 201), "newAccount", data)
        self.kid = response.getheader("Location")

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
            self.slept += seconds

    @staticmethod
    def retry_after(response: Any, default: float) -> float:
        """Seconds a reply's ``Retry-After`` asks for (RFC 9110 §10.2.3: delay
        seconds or an HTTP-date); ``default`` when it has none."""
        value = response.getheader("Retry-After")
        if value is None:
            return default
        if value.strip().isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return default
        return max(0.0, when - time.time())

    def _poll(self, url: str, done: str, label: str, first: Any = None) -> Dict[str, Any]:
        """Read ``url`` until its status is ``done``; ``first`` is the reply that
        started the work (its ``Retry-After`` paces the first read)."""
        if first is not None and self.pacing == "retry-after":
            self._sleep(self.retry_after(first, 1.0))
        for _ in range(MAX_POLLS):
            status, response, data = self.post(url, None, label)
            _expect(status, (200,), label, data)
            obj = json.loads(data)
            if obj["status"] == done:
                return obj
            if obj["status"] == "invalid":
                raise RuntimeError(f"{label}: invalid: {obj}")
            if self.pacing == "acme" and obj["status"] == "pending":
                self._sleep(1.0)
            elif self.pacing != "none":
                self._sleep(self.retry_after(response, 1.0))
        raise ServerStuck(f"{label}: still {obj['status']} after {MAX_POLLS} polls")

    def order(self) -> None:
        """One whole order, from newOrder to the certificate."""
        self.orders += 1
        name = f"{self.orders}.{self.name}"
        csr = make_csr_b64(name, self.csr_key)
        status, response, data = self.post(
            self.directory["newOrder"], {"identifiers": [{"type": "dns", "value": name}]},
            "newOrder")
        _expect(status, (201,), "newOrder", data)
        order = json.loads(data)
        order_url = response.getheader("Location")
        authz_url = order["authorizations"][0]
        status, _, data = self.post(authz_url, None, "authz")
        _expect(status, (200,), "authz", data)
        challenge = next(c for c in json.loads(data)["challenges"] if c["type"] == "http-01")
        status, response, data = self.post(challenge["url"], {}, "challenge")
        _expect(status, (200,), "challenge", data)
        self._poll(authz_url, "valid", "poll authz", first=response)
        status, response, data = self.post(order["finalize"], {"csr": csr}, "finalize")
        _expect(status, (200,), "finalize", data)
        if self.pacing == "acme":
            self._sleep(1.0)  # poll_finalization sleeps before its first read
        finalized = json.loads(data)
        if self.pacing == "lego" and finalized["status"] == "valid":
            order = finalized  # lego reads the certificate at once
        else:
            order = self._poll(order_url, "valid", "poll order",
                               first=response if finalized["status"] != "valid" else None)
        status, _, data = self.post(order["certificate"], None, "certificate",
                                    accept="application/pem-certificate-chain")
        _expect(status, (200,), "certificate", data)
        if b"BEGIN CERTIFICATE" not in data:
            raise RuntimeError(f"certificate: not a PEM chain: {data[:80]!r}")


def _expect(status: int, wanted: Tuple[int, ...], label: str, data: bytes) -> None:
    if status not in wanted:
        raise RuntimeError(f"{label}: HTTP {status}: {data[:300]!r}")
