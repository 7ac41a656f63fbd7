"""The client side of a challenge: listeners that answer the validator's checks.

A test of an ACME client usually needs something for the server's validation
authority to connect to.  Two responders play that part, each on its own free
port of ``127.0.0.1``:

* :class:`Http01Responder` answers HTTP-01 (RFC 8555 §8.3): a plain HTTP
  server (pytest-httpserver) where ``GET /.well-known/acme-challenge/<token>``
  returns the key authorization::

      with Http01Responder() as http:
          http.publish(token, key_authorization)
          ...                                   # the validator fetches it
          http.requests                         # [("GET", "/.well-known/...", "example.test")]

* :class:`TlsAlpn01Responder` answers TLS-ALPN-01 (RFC 8737): a TLS server
  that speaks only ``acme-tls/1`` and, chosen by the SNI name, presents a
  self-signed certificate carrying the key authorization's digest::

      with TlsAlpn01Responder() as tls:
          tls.publish("example.test", key_authorization)
          tls.publish("127.0.0.1", key_authorization)   # an IP identifier (RFC 8738)
          ...                                            # the validator connects
          tls.handshakes                                 # [("example.test", "acme-tls/1"), ...]

Both can also give *wrong* answers on purpose (:meth:`Http01Responder.respond`,
:meth:`Http01Responder.redirect`, :meth:`TlsAlpn01Responder.publish_certificate`),
so a test can check that the server rejects them.  Every method may be called
from the test thread while the responder serves on its own threads.

Their logs are bounded, as the server's are: each keeps its newest
``history_size`` entries (:data:`HISTORY_SIZE`) and counts what it dropped
(``http.requests.dropped``), and an entry keeps at most
:data:`HISTORY_TEXT_LIMIT` characters of a path or name, so a flood of requests
with long paths cannot grow a long-running responder without bound.

The module level helpers :func:`tls_alpn01_certificate` (the certificate a
TLS-ALPN-01 responder presents) and :func:`reverse_dns_name` (the SNI name for
an IP identifier) are usable on their own.
"""

from ..protocol.challenges import ACME_IDENTIFIER_OID, ACME_TLS_1, HTTP01_PATH
from .http01 import HTTPSERVER_LOG_SIZE, Http01Responder
from .logs import HISTORY_SIZE, HISTORY_TEXT_LIMIT, clip
from .tlsalpn01 import TlsAlpn01Responder, reverse_dns_name, tls_alpn01_certificate

__all__ = [
    "ACME_IDENTIFIER_OID", "ACME_TLS_1", "CHALLENGE_PATH", "HISTORY_SIZE", "HISTORY_TEXT_LIMIT",
    "HTTPSERVER_LOG_SIZE", "Http01Responder", "TlsAlpn01Responder", "clip", "reverse_dns_name",
    "tls_alpn01_certificate",
]

#: The path prefix of HTTP-01 under its older name here (:data:`HTTP01_PATH` of
#: :mod:`pytest_acme.protocol.challenges`, like ``ACME_TLS_1`` and
#: ``ACME_IDENTIFIER_OID``, which this package also re-exports).
CHALLENGE_PATH = HTTP01_PATH
