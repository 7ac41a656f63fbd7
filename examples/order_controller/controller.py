"""A controller-style ACME client: it polls, records and reports the state of its orders.

The code under test in this example, in the manner of Kubernetes controllers
(cert-manager's Order resources, for one): a :class:`Certificate` says what is
wanted, and each call of :meth:`Controller.reconcile` takes one step towards
it without blocking, polling the CA once.  What the controller did and saw is
kept on an :class:`Order` record (state, URL, reason, events) and printed by
:meth:`Controller.describe` like ``kubectl describe order``.

An Order is never changed to ask for something else: when the wanted names
change, or the order fails or expires, the controller makes a new Order (a new
name, a new ACME order) and leaves the old one as it ended.
"""

import datetime
import hashlib
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import josepy
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


@dataclass
class Certificate:
    """What is wanted: a certificate for ``dns_names`` (cert-manager's Certificate)."""

    name: str
    dns_names: Tuple[str, ...]


@dataclass
class Event:
    type: str       # "Normal" or "Warning"
    reason: str
    at: datetime.datetime
    message: str


@dataclass
class Order:
    """One ACME order as the controller sees it; made once, never re-targeted."""

    name: str
    certificate: str
    dns_names: Tuple[str, ...]
    state: str = ""
    url: str = ""
    reason: str = ""
    events: List[Event] = field(default_factory=list)
    chain_pem: Optional[str] = None
    resource: Optional[messages.OrderResource] = None


class Controller:
    """Reconciles :class:`Certificate` objects into certificates, one step per call.

    Args:
        directory_url, ca_bundle: the ACME CA and the bundle that verifies it.
        publish_txt: ``publish_txt(name, value)`` makes a dns-01 TXT record.
        now: the controller's clock (tests pass the server's, so ages agree).
    """

    def __init__(self, directory_url, ca_bundle, publish_txt: Callable[[str, str], None],
                 now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(
                     datetime.timezone.utc)):
        key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        net = client.ClientNetwork(key, alg=josepy.ES256, verify_ssl=ca_bundle)
        self.acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
        self.acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))
        self.publish_txt = publish_txt
        self.now = now
        self.orders: List[Order] = []

    def current(self, cert: Certificate) -> Optional[Order]:
        """The newest Order made for ``cert``, if any."""
        mine = [o for o in self.orders if o.certificate == cert.name]
        return mine[-1] if mine else None

    def reconcile(self, cert: Certificate) -> Order:
        """One step towards a valid certificate for ``cert``; returns its current Order."""
        order = self.current(cert)
        if order is None or order.dns_names != cert.dns_names or order.state == "invalid":
            return self._create(cert, previous=order)
        if order.chain_pem is not None:
            return order  # done
        if order.state != "valid":
            self._observe(order)
        if order.state == "ready":
            self._finalize(order)
        if order.state == "valid":
            order.chain_pem = self.acme.net.post(order.resource.body.certificate, None).text
            self._event(order, "Normal", "Complete", "Order completed successfully")
        return order

    # -- steps ----------------------------------------------------------------------

    def _create(self, cert: Certificate, previous: Optional[Order]) -> Order:
        digest = hashlib.sha256(f"{cert.dns_names}{len(self.orders)}".encode()).hexdigest()
        order = Order(name=f"{cert.name}-{int(digest[:8], 16)}", certificate=cert.name,
                      dns_names=cert.dns_names)
        self.orders.append(order)
        if previous is not None:
            why = ("the certificate's names changed" if previous.dns_names != cert.dns_names
                   else f"Order {previous.name!r} is {previous.state}")
            self._event(order, "Normal", "Replaces", f"Replaces Order {previous.name!r}: {why}")
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
               .add_extension(x509.SubjectAlternativeName(
                   [x509.DNSName(n) for n in cert.dns_names]), False)
               .sign(key, hashes.SHA256()))
        order.resource = self.acme.new_order(csr.public_bytes(serialization.Encoding.PEM))
        order.url, order.state = order.resource.uri, order.resource.body.status.name
        for i, authz in enumerate(order.resource.authorizations):
            domain = authz.body.identifier.value
            if authz.body.status == messages.STATUS_VALID:
                continue
            challb = next(c for c in authz.body.challenges if c.chall.typ == "dns-01")
            response, value = challb.chall.response_and_validation(self.acme.net.key)
            self.publish_txt(challb.chall.validation_domain_name(domain), value)
            self.acme.answer_challenge(challb, response)
            self._event(order, "Normal", "Created",
                        f'Created Challenge resource "{order.name}-{i}" for domain "{domain}"')
        return order

    def _observe(self, order: Order) -> None:
        """Poll the ACME order once; record a change of state, and why."""
        body = self.acme.net.post(order.url, None).json()
        if body["status"] == order.state:
            return
        order.resource = order.resource.update(body=messages.Order.from_json(body))
        order.state = body["status"]
        if order.state == "invalid":
            order.reason = self._why(body)
            self._event(order, "Warning", "Failed", f"Order failed: {order.reason}")

    def _why(self, body) -> str:
        if body.get("error"):
            return f"{body['error']['type']}: {body['error'].get('detail', '')}"
        for url in body["authorizations"]:
            for challenge in self.acme.net.post(url, None).json()["challenges"]:
                if challenge.get("error"):
                    error = challenge["error"]
                    return f"{error['type']}: {error.get('detail', '')}"
        if datetime.datetime.fromisoformat(body["expires"].replace("Z", "+00:00")) <= self.now():
            return "the order expired"
        return "the CA gave no reason"

    def _finalize(self, order: Order) -> None:
        order.resource = self.acme.begin_finalization(order.resource)
        order.state = order.resource.body.status.name
        self._event(order, "Normal", "Finalized", "Sent the CSR; waiting for the certificate")

    def _event(self, order: Order, type_: str, reason: str, message: str) -> None:
        order.events.append(Event(type_, reason, self.now(), message))

    # -- report ---------------------------------------------------------------------

    def describe(self, order: Optional[Order] = None) -> str:
        """``kubectl describe order``-like text of one Order, or of every one."""
        if order is None:
            return "\n\n".join(self.describe(o) for o in self.orders) or "No orders."
        now = self.now()
        lines = [f"Name:          {order.name}",
                 f"Certificate:   {order.certificate}",
                 f"DNS Names:     {', '.join(order.dns_names)}",
                 f"Reason:        {order.reason}",
                 f"State:         {order.state}",
                 f"URL:           {order.url}",
                 "Events:"]
        rows = [("Type", "Reason", "Age", "From", "Message"),
                ("----", "------", "---", "----", "-------")]
        rows += [(e.type, e.reason, _age(now - e.at), "controller", e.message)
                 for e in order.events]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[4]
                  for r in rows]
        return "\n".join(lines)


def _age(delta: datetime.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"
