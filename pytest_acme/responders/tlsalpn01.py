"""The tls-alpn-01 responder: a TLS server that speaks only ``acme-tls/1`` and presents,
chosen by the SNI name, the self-signed certificate a test published."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import selectors
import socket
import ssl
import tempfile
import threading
from typing import Any, Dict, Optional, Tuple, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..protocol.challenges import ACME_IDENTIFIER_DER_PREFIX, ACME_IDENTIFIER_OID, ACME_TLS_1
from ..store import BoundedList
from .logs import HISTORY_SIZE, clip


def reverse_dns_name(ip: str) -> str:
    """The reverse-DNS name of an IP address: the SNI name for an IP identifier.

    RFC 8738 §6: a TLS-ALPN-01 validation of an IP address sends, as the SNI
    name, the address's name under ``in-addr.arpa`` or ``ip6.arpa``::

        reverse_dns_name("127.0.0.1")   # '1.0.0.127.in-addr.arpa'
        reverse_dns_name("::1")         # '1.0.0.0. ... .0.ip6.arpa' (32 nibbles)

    Raises:
        ValueError: ``ip`` is not an IP address.
    """
    return ipaddress.ip_address(ip).reverse_pointer


def _ip_or_none(name: str) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    """``name`` as an IP address, or ``None`` when it is a DNS name."""
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _sni_key(name: str) -> str:
    """The SNI name under which a certificate for identifier ``name`` is looked up.

    DNS names are compared in lower case without a trailing dot; an IP
    address is looked up by its reverse-DNS name (see :func:`reverse_dns_name`).
    """
    ip = _ip_or_none(name)
    if ip is not None:
        return ip.reverse_pointer
    return name.rstrip(".").lower()


def tls_alpn01_certificate(
    name: str, key_authorization: str
) -> Tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Build the self-signed TLS-ALPN-01 certificate for one identifier (RFC 8737 §3).

    The certificate has a fresh EC P-256 key and:

    * exactly one subjectAltName: a DNSName (in lower case, without a trailing
      dot, as the order's identifier is and as Let's Encrypt compares it), or
      an IPAddress when ``name`` is an IP address (RFC 8738 §6);
    * the critical extension id-pe-acmeIdentifier, whose value is the DER
      OCTET STRING holding SHA-256 of the key authorization.

    It is valid from a day ago for ten years, so a validator whose clock a
    test moved forward still finds it in date.

    Returns:
        ``(certificate, private_key)``.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    ip = _ip_or_none(name)
    san: x509.GeneralName = x509.IPAddress(ip) if ip is not None else x509.DNSName(_sni_key(name))
    digest = hashlib.sha256(key_authorization.encode("utf-8")).digest()
    acme_identifier = ACME_IDENTIFIER_DER_PREFIX + digest
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            "pytest-acme TLS-ALPN-01 responder")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.UnrecognizedExtension(ACME_IDENTIFIER_OID, acme_identifier),
                       critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


class TlsAlpn01Responder:
    """A TLS server that answers TLS-ALPN-01 challenges (RFC 8737), for DNS names and IPs.

    It listens on a daemon thread; each connection gets one handshake (with a
    timeout) on a thread of its own, and is then closed.  The SNI name picks
    the certificate, through ``ssl.SSLContext.sni_callback``: one context per
    published name, each offering only ALPN ``acme-tls/1``.

    A handshake fails (alert ``unknown_alert``, by default ``unrecognized_name``;
    the server thread carries on) when no certificate was published for the SNI
    name, or there is no SNI.  pebble-challtestsrv answers ``internal_error``
    instead, since Go's TLS stack sends that for any certificate lookup error:
    pass ``unknown_alert=ssl.ALERT_DESCRIPTION_INTERNAL_ERROR`` to do the same.
    A client that does not offer ``acme-tls/1`` completes the handshake with no
    ALPN protocol (Python's ``ssl`` cannot refuse it); the log shows it.

    Attributes:
        handshakes: ``(sni, alpn)`` of the handshakes, oldest first: the SNI name
            (or ``None``) and the negotiated protocol (``"acme-tls/1"``, or
            ``None`` when none was negotiated or the handshake failed).  The
            newest ``history_size``; ``handshakes.dropped`` counts the others.
        timeout: seconds one connection may take for its handshake.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, timeout: float = 5.0,
                 unknown_alert: int = ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME,
                 history_size: int = HISTORY_SIZE) -> None:
        self.host = host
        self.timeout = timeout
        self.unknown_alert = unknown_alert
        self.handshakes: BoundedList[Tuple[Optional[str], Optional[str]]] = BoundedList(
            history_size)
        self._requested_port = port
        self._contexts: Dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._default_context = self._new_context()
        self._default_context.sni_callback = self._choose_context
        self._listener: Optional[socket.socket] = None
        self._wakeup: Optional[Tuple[socket.socket, socket.socket]] = None
        self._thread: Optional[threading.Thread] = None
        self._connections: Dict[threading.Thread, socket.socket] = {}
        self._stopping = threading.Event()
        self._sni = threading.local()  # the ClientHello of the connection this thread serves

    # -- lifecycle

    def start(self) -> "TlsAlpn01Responder":
        """Listen and serve on a daemon thread; returns ``self``."""
        if self._thread is not None:
            raise RuntimeError("the TLS-ALPN-01 responder is already running")
        family = socket.AF_INET6 if _ip_or_none(self.host) and ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self._requested_port))
            listener.listen(64)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._wakeup = socket.socketpair()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="tls-alpn-01 responder",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop at once: wake the server thread, close the sockets, join the threads."""
        if self._thread is None:
            return
        assert self._wakeup is not None and self._listener is not None
        self._stopping.set()
        self._wakeup[1].send(b"x")
        self._thread.join()
        with self._lock:
            connections = list(self._connections.items())
        for _thread, conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes a handshake blocked in recv
            except OSError:
                pass
        for thread, _conn in connections:
            thread.join()
        self._listener.close()
        for sock in self._wakeup:
            sock.close()
        self._listener = self._wakeup = self._thread = None

    def __enter__(self) -> "TlsAlpn01Responder":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on (the real one once started with ``port=0``)."""
        if self._listener is None:
            return self._requested_port
        return int(self._listener.getsockname()[1])

    # -- what it answers

    def publish(self, name: str, key_authorization: str) -> None:
        """Serve the TLS-ALPN-01 certificate of ``key_authorization`` for identifier ``name``.

        ``name`` is a DNS name or an IP address; an IP address is served for
        the SNI name :func:`reverse_dns_name` gives (RFC 8738 §6).
        """
        cert, key = tls_alpn01_certificate(name, key_authorization)
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        self.publish_certificate(name, cert_pem, key_pem)

    def publish_certificate(self, name: str, cert_pem: bytes, key_pem: bytes) -> None:
        """Serve any certificate (chain) and key, in PEM, for identifier ``name`` (e.g. a
        wrong one)."""
        context = self._new_context()
        # SSLContext only loads certificates from files: write them, load them, delete them.
        with tempfile.TemporaryDirectory(prefix="pytest-acme-tls-alpn-") as tmp:
            cert_file, key_file = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            with open(cert_file, "wb") as f:
                f.write(cert_pem)
            with open(key_file, "wb") as f:
                f.write(key_pem)
            context.load_cert_chain(cert_file, key_file)
        with self._lock:
            self._contexts[_sni_key(name)] = context

    def remove(self, name: str) -> None:
        """Stop serving identifier ``name``: its handshakes fail again (a no-op for an
        unknown name)."""
        with self._lock:
            self._contexts.pop(_sni_key(name), None)

    def clear(self) -> None:
        """Stop serving every name (the handshake log is kept)."""
        with self._lock:
            self._contexts.clear()

    def reset(self) -> None:
        """Stop serving every name and forget the handshake log: fresh for the next test."""
        with self._lock:
            self._contexts.clear()
            self.handshakes.clear()

    # -- the server (on its threads)

    @staticmethod
    def _new_context() -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 8737 §3
        context.set_alpn_protocols([ACME_TLS_1])
        if hasattr(context, "num_tickets"):
            context.num_tickets = 0  # the connection closes right after the handshake
        return context

    def _serve(self) -> None:
        assert self._listener is not None and self._wakeup is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wakeup[0], selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _events in selector.select():
                    if key.fileobj is not self._listener or self._stopping.is_set():
                        continue
                    try:
                        conn, _address = self._listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        continue
                    thread = threading.Thread(target=self._handle, args=(conn,), daemon=True,
                                              name="tls-alpn-01 connection")
                    with self._lock:
                        self._connections[thread] = conn
                    thread.start()

    def _handle(self, conn: socket.socket) -> None:
        """One connection: the handshake, then close.

        The handshake runs on an ``SSLObject`` over memory buffers rather than
        an ``SSLSocket``, so that a failed handshake still sends its alert.
        Python's ``ssl`` cannot refuse a client over ALPN (without a common
        protocol OpenSSL carries on with none), so a client that does not
        offer ``acme-tls/1`` completes the handshake and is logged with
        ``None``; an ACME validator always offers it.
        """
        try:
            conn.settimeout(self.timeout)
            self._sni.value = None
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = self._default_context.wrap_bio(incoming, outgoing, server_side=True)
            logged = False
            while True:
                try:
                    tls.do_handshake()
                except ssl.SSLWantReadError:
                    alpn = tls.selected_alpn_protocol()
                    if alpn is not None and not logged:
                        # Logged before the flight that lets the client finish (in
                        # TLS 1.3 the server's first one): a validator that has its
                        # answer finds the handshake in the log.
                        self._log_handshake(alpn)
                        logged = True
                    conn.sendall(outgoing.read())
                    data = conn.recv(16 * 1024)
                    if not data:
                        return
                    incoming.write(data)
                    continue
                except ssl.SSLError:
                    if not logged:  # logged before the client can see the end
                        self._log_handshake(None)
                    conn.sendall(outgoing.read())  # the alert that ends the handshake
                    return
                if not logged:
                    self._log_handshake(tls.selected_alpn_protocol())
                conn.sendall(outgoing.read())
                return
        except Exception:  # noqa: BLE001 - a reset, a timeout, not TLS: the server goes on
            pass
        finally:
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            conn.close()
            with self._lock:
                self._connections.pop(threading.current_thread(), None)

    def _log_handshake(self, alpn: Optional[str]) -> None:
        with self._lock:
            self.handshakes.append((clip(getattr(self._sni, "value", None)), alpn))

    def _choose_context(self, tls: ssl.SSLObject, server_name: Optional[str],
                        _context: ssl.SSLContext) -> Optional[int]:
        """``sni_callback``: swap in the context of the SNI name, or end the handshake with
        an alert."""
        self._sni.value = server_name
        if server_name is None:
            return self.unknown_alert
        with self._lock:
            context = self._contexts.get(server_name.rstrip(".").lower())
        if context is None:
            return self.unknown_alert
        tls.context = context
        return None
