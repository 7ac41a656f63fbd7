"""Pebble's management interface (the paths and shapes of Pebble's ``wfe/wfe.go``): the
roots, intermediates and their keys, certificate status, renewal info."""

from __future__ import annotations

import re
from typing import Any, Dict

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug.wrappers import Request, Response

from ... import strictjson
from ...protocol import ari
from ..views import timestamp
from .base import BadInput, ManagementBase, json_response

#: Pebble's content types (wfe.go: handleCert, handleKey).
PEM_CHAIN = "application/pem-certificate-chain; charset=utf-8"
PEM_KEY = "application/x-pem-file; charset=utf-8"

_HEX = re.compile(r"[0-9a-fA-F]{1,256}")


class PebbleApi(ManagementBase):
    """The handlers of Pebble's management paths."""

    @staticmethod
    def _index(no: str) -> int:
        # Pebble: strconv.Atoi(path) or 404
        if not re.fullmatch(r"[0-9]{1,9}", no):
            raise BadInput(f"{no!r} is not a certificate index; there is only 0", 404)
        return int(no)

    def _issuer(self, kind: str, no: str) -> Any:
        """Pebble: ``/roots/N`` is chain N's root, ``/intermediates/N`` the certificate
        chain N has for the issuing key (the intermediate nearest the leaf)."""
        index = self._index(no)
        chains = self.server.app.ca.chains
        if index >= len(chains):
            raise BadInput(f"no {kind} {index}: this CA has {len(chains)} "
                           f"({', '.join(str(i) for i in range(len(chains)))}); "
                           "alternate_roots adds more", 404)
        chain = chains[index]
        return chain.root if kind == "root" else chain.intermediates[0]

    def _pem(self, request: Request, kind: str, no: str, data: bytes, content_type: str
             ) -> Response:
        # Pebble links every other chain's counterpart with rel="alternate".
        response = Response(data, content_type=content_type)
        base = request.base_url.rsplit("/", 1)[0]
        for i in range(len(self.server.app.ca.chains)):
            if i != self._index(no):
                response.headers.add("Link", f'<{base}/{i}>;rel="alternate"')
        return response

    def on_root(self, request: Request, no: str) -> Response:
        return self._pem(request, "root", no, self._issuer("root", no).cert_pem, PEM_CHAIN)

    def on_intermediate(self, request: Request, no: str) -> Response:
        return self._pem(request, "intermediate", no,
                         self._issuer("intermediate", no).cert_pem, PEM_CHAIN)

    @staticmethod
    def _key_pem(issuer: Any) -> bytes:
        # Pebble writes PKCS#1 ("RSA PRIVATE KEY"); the traditional OpenSSL format is
        # that for RSA and SEC 1 ("EC PRIVATE KEY") for the ECDSA keys pytest-acme uses.
        return issuer.key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption())

    def on_root_key(self, request: Request, no: str) -> Response:
        return self._pem(request, "root", no, self._key_pem(self._issuer("root", no)), PEM_KEY)

    def on_intermediate_key(self, request: Request, no: str) -> Response:
        return self._pem(request, "intermediate", no,
                         self._key_pem(self._issuer("intermediate", no)), PEM_KEY)

    def on_cert_status(self, request: Request, serial: str) -> Response:
        if not _HEX.fullmatch(serial):
            raise BadInput(f"{serial!r} is not a hexadecimal serial number (no 0x prefix)")
        number = int(serial, 16)
        store = self.server.app.store
        with store.lock:
            cert = store.certificates_by_serial.get(number)
            if cert is None:
                raise BadInput(f"no certificate with serial {number:x} on this server", 404)
            revoked_at = getattr(cert, "revoked_at", None)
            reason = getattr(cert, "revocation_reason", None)
            leaf_pem = cert.leaf.public_bytes(serialization.Encoding.PEM).decode("ascii")
        # Pebble's struct, in its field order: Reason and RevokedAt only when revoked.
        doc: Dict[str, Any] = {
            "Status": "Revoked" if revoked_at is not None else "Valid",
            "Serial": f"{number:x}",
            "Certificate": leaf_pem,
        }
        if revoked_at is not None:
            if reason is not None:
                doc["Reason"] = int(reason)
            doc["RevokedAt"] = timestamp(revoked_at)
        return json_response(doc)

    def on_set_renewal_info(self, request: Request) -> Response:
        """Pebble: ``{"Certificate": PEM, "ARIResponse": "<RenewalInfo JSON>"}`` (field
        names in any case, as Go decodes them; ``ARIResponse`` may also be an object)."""
        body = {k.lower(): v for k, v in self._body(request).items()}
        pem, answer = body.get("certificate"), body.get("ariresponse")
        if not isinstance(pem, str) or "BEGIN CERTIFICATE" not in pem:
            raise BadInput('"Certificate" must be the PEM of a certificate this server issued')
        if isinstance(answer, str):
            try:
                answer = strictjson.loads(answer, unique=False)
            except strictjson.JsonError as e:
                raise BadInput(f'"ARIResponse" is not JSON: {e}') from None
        try:
            window = ari.RenewalWindow.from_json(answer)
        except ValueError as e:
            raise BadInput(f'"ARIResponse": {e}') from None
        try:
            leaf = x509.load_pem_x509_certificate(pem.encode())
        except ValueError as e:
            raise BadInput(f'"Certificate" is not a PEM certificate: {e}') from None
        try:
            cert_id = self.server.set_renewal_info(leaf, window.start, window.end,
                                                   window.explanation_url, allow_instant=True)
        except KeyError:
            raise BadInput(f"no certificate with serial {leaf.serial_number:x} on this "
                           "server", 404) from None
        return json_response({"certID": cert_id, **window.to_json()})
