"""The work a request sets off beyond its reply: a challenge's validation (on a
worker thread), the CAA recheck before finalizing, and signing the certificate.

Each runs against the server's state (:class:`~pytest_acme.web.app.AcmeApp`),
asks the validation authority (:mod:`pytest_acme.va`) or the certificate
authority (:mod:`pytest_acme.ca`), and moves the objects on through
:mod:`pytest_acme.protocol.lifecycle`, holding the store lock only around the
changes, never around a lookup or a signature.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Optional

from ..protocol import lifecycle, problems
from ..protocol.csr import AcceptedCSR, asks_must_staple
from ..protocol.identifiers import Identifier
from ..protocol.resources import Certificate, rfc3339
from ..protocol.states import Status
from ..va import ValidationRequest
from . import certs, ocsp
from .routes import Urls

if TYPE_CHECKING:
    from .app import AcmeApp


def validate(app: "AcmeApp", challenge_id: str, account_url: str = "",
             started: Optional[dt.datetime] = None) -> None:
    """Run one validation (on a worker thread) and record its result.

    ``account_url`` is the account's URL as its client knows it (dns-account-01,
    dns-persist-01 and CAA's ``accounturi`` compare against it).  ``started`` is
    when the client answered the challenge: ``validation_delay`` counts from
    then, not from when a worker picks the job up (a test may move the clock
    in between)."""
    store = app.store
    with store.lock:
        chall = store.challenges.get(challenge_id)
        if chall is None or chall.status is not Status.PROCESSING:
            return
        authz = store.authz(chall.authz_id)
        account = store.accounts[authz.account_id]
        order_ids = tuple(authz.order_ids)
        request = ValidationRequest(
            challenge_type=chall.type,
            identifier=Identifier(authz.identifier.type, authz.identifier.base),
            token=chall.token,
            key_authorization=f"{chall.token}.{account.thumbprint}",
            account_url=account_url,
            wildcard=authz.identifier.wildcard,
            issuer_domain_names=chall.issuer_domain_names or app.config.caa_identities,
            now=app.clock.now(),
        )
    delay = app.config.validation_delay
    if delay and not app.clock.wait_until((started or app.clock.now())
                                           + dt.timedelta(seconds=delay)):
        return  # reset while waiting
    problem = app.faults.challenge_problem(chall.type, authz.identifier.value, order_ids)
    if problem is None and authz.identifier.wildcard:
        problem = app.faults.challenge_problem(chall.type, authz.identifier.base, order_ids)
    if problem is None:
        problem = app.validator.validate(request)
    caa = app.caa
    if problem is None and caa is not None:
        # Like Let's Encrypt: CAA after the challenge, before the authorization is valid.
        problem = caa.check(authz.identifier, account_url, chall.type)
    with store.lock:
        if store.challenges.get(challenge_id) is chall:
            chall.validation_record = request.records
            lifecycle.finish_validation(store, chall, problem, app.clock.now(), app.observe)

def recheck_caa(app: "AcmeApp", order_id: str, account_id: str, account_url: str) -> None:
    """Check CAA again before finalizing, for every authorization of the order
    validated more than ``caa_recheck_after`` seconds ago (the Baseline
    Requirements let a CA rely on a CAA check for 8 hours; Let's Encrypt
    rechecks after 7).  The lookups run outside the store lock.

    Raises:
        problems.CAA: CAA now forbids issuance for some identifier, or its
            lookup failed (one subproblem per identifier when several
            fail); the order is left as it was, so a client may fix its
            records and finalize again.
    """
    caa = app.caa
    if caa is None:
        return
    now = app.clock.now()
    limit = now - dt.timedelta(seconds=app.config.caa_recheck_after)
    stale = []
    with app.store.lock:
        order = app.store.orders.get(order_id)
        if (order is None or order.account_id != account_id
                or order.status_at(now, app.store.authz) is not Status.READY):
            return  # the handler answers that
        for authz in app.store.authzs_of_order(order):
            done = next((c for c in authz.challenges if c.validated is not None), None)
            if done is not None and done.validated is not None and done.validated <= limit:
                stale.append((authz.identifier, done.type, done.validated))
    failures = []
    for identifier, method, validated in stale:
        problem = caa.check(identifier, account_url, method)
        if problem is not None:
            # Let's Encrypt answers any recheck failure, a lookup one too, as caa.
            failures.append(problems.CAA(
                f"rechecking CAA (last checked {rfc3339(validated)}): {problem.detail}",
                identifier=identifier.to_json()))
    if not failures:
        return
    problem = failures[0] if len(failures) == 1 else problems.CAA(
        f"rechecking CAA for {len(failures)} identifiers failed; see subproblems",
        subproblems=failures)
    with app.store.lock:
        app.record(order, "CAARecheckFailed", f"finalize refused: {problem.detail}")
    raise problem

def issue(app: "AcmeApp", order_id: str, csr: AcceptedCSR, urls: Optional[Urls] = None) -> None:
    """Sign the certificate of a processing order and make the order valid.
    ``csr`` is the accepted CSR (``protocol.csr.AcceptedCSR``: its key, already
    parsed and encoded); ``urls`` (of the finalize request) places the CRL URL
    (and the OCSP URL, with ``ocsp``) in the certificate."""
    store = app.store
    with store.lock:
        order = store.orders.get(order_id)
        if order is None or order.status is not Status.PROCESSING:
            return
        now = app.clock.now()
        profile = (app.config.profiles or {}).get(order.profile or "")
        lifetime = (profile.lifetime(app.config.certificate_validity) if profile
                    else app.config.certificate_validity)
        not_before = order.not_before or now
        not_after = order.not_after or not_before + dt.timedelta(seconds=lifetime)
        identifiers = list(order.identifiers)
        cert_id = store.new_id()
        failure = app.faults.issuance_problem(order_id)
        if failure is not None:
            lifecycle.fail_order(order, failure, app.observe)
            return
    ocsp_url = ocsp.leaf_ocsp_url(app.config, urls)
    leaf, chain = app.ca.issue(
        csr.public_key, identifiers, not_before, not_after,
        common_name=(profile.common_name if profile else True)
        and app.config.effective("leaf_common_name"),
        crl_url=certs.crl_url(urls) if urls is not None else None,
        # Must-Staple only beside an OCSP responder, as Boulder copied it while
        # Let's Encrypt ran one (without, the CSR was refused or, as Pebble, ignored).
        ocsp_url=ocsp_url, must_staple=ocsp_url is not None and asks_must_staple(csr.csr))
    with store.lock:
        if store.orders.get(order_id) is not order:
            return
        store.add_certificate(
            Certificate(cert_id, order.account_id, order.id, leaf, chain, now)
        )
        app.record(order, "CertificateIssued", f"certificate serial {leaf.serial_number:x}")
        lifecycle.complete_issuance(order, cert_id, app.observe)
