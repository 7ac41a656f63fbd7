"""The OCSP responder (RFC 6960), the responder URL in leaves, and Must-Staple
(RFC 7633): certificates issued over HTTPS by certbot's ``acme`` library, OCSP
requests built with cryptography and sent by POST and GET, every response's
signature checked against the leaf's issuer."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import subprocess
import threading
from types import SimpleNamespace
from typing import List, Optional
from urllib.parse import quote

import pytest
import requests
from acme import messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from helpers import (
    BannerCapture,
    account_client,
    answer_all,
    banner_field,
    deadline,
    ec_key,
    links,
    new_order,
    obtain,
    post,
    split_chain,
)
from jws_client import PROBLEM, b64
from pytest_acme import AcmeConfig
from pytest_acme.cli import main
from pytest_acme.web.ocsp import OCSP_LIFETIME

pytestmark = pytest.mark.acme(validation="always_valid")


def issue(server, acme, name: str) -> List[x509.Certificate]:
    return split_chain(obtain(server, acme, new_order(acme, [name])).content)


def ocsp_request(leaf: x509.Certificate, issuer: x509.Certificate,
                 algorithm: hashes.HashAlgorithm = hashes.SHA1(),
                 nonce: Optional[bytes] = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, algorithm)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(Encoding.DER)


def ask_post(server, der: bytes, url: Optional[str] = None) -> requests.Response:
    return requests.post(url or server.ocsp_url, data=der, verify=server.ca_bundle,
                         headers={"Content-Type": "application/ocsp-request"}, timeout=10)


def ask_get(server, path: str) -> requests.Response:
    return requests.get(server.ocsp_url + "/" + path, verify=server.ca_bundle, timeout=10)


def parse(response: requests.Response, status: int = 200) -> ocsp.OCSPResponse:
    assert response.status_code == status, response.content
    # The responder is not part of the ACME API: no nonce, by GET or POST.
    assert "Replay-Nonce" not in response.headers
    assert response.headers["Content-Type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content)


def verify(answer: ocsp.OCSPResponse, issuer: x509.Certificate) -> None:
    """The response is signed by ``issuer`` (raises otherwise)."""
    issuer.public_key().verify(  # type: ignore[call-arg]
        answer.signature, answer.tbs_response_bytes,
        ec.ECDSA(answer.signature_hash_algorithm))  # type: ignore[arg-type]


def utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def this_update(answer: ocsp.OCSPResponse) -> dt.datetime:
    return getattr(answer, "this_update_utc", None) or utc(answer.this_update)


def next_update(answer: ocsp.OCSPResponse) -> dt.datetime:
    return getattr(answer, "next_update_utc", None) or utc(answer.next_update)


def revoke(acme, leaf: x509.Certificate, reason: int) -> None:
    der = b64(leaf.public_bytes(Encoding.DER))
    post(acme, acme.directory["revokeCert"], {"certificate": der, "reason": reason})


def ocsp_urls(leaf: x509.Certificate) -> List[str]:
    try:
        aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    except x509.ExtensionNotFound:
        return []
    assert not aia.critical
    return [d.access_location.value for d in aia.value
            if d.access_method == AuthorityInformationAccessOID.OCSP]


# -- the responder -----------------------------------------------------------------


@pytest.mark.acme(ocsp=True)
def test_a_new_certificate_is_good_by_post_and_by_get(acme_server):
    acme = account_client(acme_server)
    leaf, inter = issue(acme_server, acme, "good.example.test")
    (url,) = ocsp_urls(leaf)
    assert url == acme_server.ocsp_url and url.endswith("/ocsp")
    der = ocsp_request(leaf, inter)
    by_post = parse(ask_post(acme_server, der, url))
    by_get = parse(ask_get(acme_server, quote(base64.b64encode(der).decode(), safe="")))
    now = acme_server.clock.now()
    for answer in (by_post, by_get):
        assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
        assert answer.serial_number == leaf.serial_number
        verify(answer, inter)
        # Named by name, as Boulder's responses were; no delegated responder certificate.
        assert answer.responder_name == inter.subject and answer.responder_key_hash is None
        assert answer.certificates == []
        assert isinstance(answer.hash_algorithm, hashes.SHA1)
        assert answer.issuer_key_hash == ocsp.load_der_ocsp_request(der).issuer_key_hash
        assert abs(this_update(answer) - now) < dt.timedelta(seconds=5)
        assert next_update(answer) - this_update(answer) == OCSP_LIFETIME


def test_get_paths_keep_slashes_and_plus_signs(acme_server):
    """Base64 has '/' and '+' among its letters: unencoded, doubled, and after a
    naive join ('/ocsp//...'), the path still decodes; a '+' that became a space
    (form decoding) is read back as '+', as Boulder did."""
    acme = account_client(acme_server)
    leaf, inter = issue(acme_server, acme, "slashes.example.test")
    for shift in range(3):  # a nonce that puts "//" and "+" in the base64 text
        der = ocsp_request(leaf, inter, nonce=b"\x00" * shift + b"\xff" * 6 + b"\xfb\xef\xbe" * 3)
        text = base64.b64encode(der).decode()
        if "//" in text and "+" in text:
            break
    else:
        pytest.fail("no nonce gave both '//' and '+'")
    for path in (text, "/" + text, quote(text, safe=""), quote(text.replace("+", " "))):
        answer = parse(ask_get(acme_server, path))
        assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD, path
        verify(answer, inter)


def test_revocation_shows_with_its_time_and_reason(acme_server):
    acme = account_client(acme_server)
    compromised, inter = issue(acme_server, acme, "compromised.example.test")
    plain, _ = issue(acme_server, acme, "plain.example.test")
    assert parse(ask_post(acme_server, ocsp_request(compromised, inter))).certificate_status \
        == ocsp.OCSPCertStatus.GOOD
    acme_server.clock.advance(60)
    revoke(acme, compromised, 1)  # keyCompromise
    revoke(acme, plain, 0)  # unspecified: left out, as in the CRL
    answer = parse(ask_post(acme_server, ocsp_request(compromised, inter)))
    verify(answer, inter)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise
    revoked_at = acme_server.lookup(acme_server.orders()[0].certificate_url).revoked_at
    when = getattr(answer, "revocation_time_utc", None) or utc(answer.revocation_time)
    assert when == revoked_at.replace(microsecond=0)
    other = parse(ask_post(acme_server, ocsp_request(plain, inter)))
    assert other.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert other.revocation_reason is None


def test_next_update_follows_the_server_clock(acme_server):
    acme = account_client(acme_server)
    leaf, inter = issue(acme_server, acme, "clock.example.test")
    first = parse(ask_post(acme_server, ocsp_request(leaf, inter)))
    acme_server.clock.advance(dt.timedelta(days=10))
    later = parse(ask_post(acme_server, ocsp_request(leaf, inter)))
    moved = this_update(later) - this_update(first)
    assert dt.timedelta(days=10) <= moved < dt.timedelta(days=10, seconds=5)
    assert next_update(later) == this_update(later) + OCSP_LIFETIME
    verify(later, inter)


def test_unknown_serials_and_other_issuers_are_unauthorized(acme_server):
    """Boulder's responder answered ``unauthorized`` (RFC 5019 §2.2.3) for a serial it
    did not issue and for an issuer hash not its own; never ``good`` or ``unknown``."""
    acme = account_client(acme_server)
    leaf, inter = issue(acme_server, acme, "known.example.test")
    good = ocsp.load_der_ocsp_request(ocsp_request(leaf, inter))
    unknown_serial = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        good.issuer_name_hash, good.issuer_key_hash, leaf.serial_number + 1, hashes.SHA1())
    other_issuer = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        good.issuer_name_hash, bytes(20), leaf.serial_number, hashes.SHA1())
    root = x509.load_pem_x509_certificate(acme_server.roots_pem)
    for der in (unknown_serial.build().public_bytes(Encoding.DER),
                other_issuer.build().public_bytes(Encoding.DER),
                ocsp_request(leaf, root)):  # the root's hashes: not the leaf's issuer
        answer = parse(ask_post(acme_server, der))
        assert answer.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED


@pytest.mark.parametrize("algorithm", [hashes.SHA256(), hashes.SHA512()])
def test_other_certid_hashes_are_unauthorized_as_at_boulder(acme_server, algorithm):
    acme = account_client(acme_server)
    leaf, inter = issue(acme_server, acme, "sha2.example.test")
    answer = parse(ask_post(acme_server, ocsp_request(leaf, inter, algorithm)))
    assert answer.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_a_hash_boulder_could_not_parse_is_a_malformed_request(acme_server):
    acme = account_client(acme_server)
    leaf, inter = issue(acme_server, acme, "sha224.example.test")
    answer = parse(ask_post(acme_server, ocsp_request(leaf, inter, hashes.SHA224())), 400)
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.mark.parametrize("how, what", [
    ("post", b""), ("post", b"not DER"), ("post", b"\x30\x03\x02\x01\x05"),
    ("post", b"\x30" * 20000), ("get", "MFQw%21%21"), ("get", "MFQw"), ("get", ""),
    ("get", "%FF%FE"),
])
def test_malformed_requests_get_malformed_request(acme_server, how, what):
    if how == "post":
        response = ask_post(acme_server, what)
    else:
        response = requests.get(acme_server.ocsp_url + ("/" + what if what else ""),
                                verify=acme_server.ca_bundle, timeout=10)
    answer = parse(response, 400)
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.mark.acme(chain_length=2, alternate_roots=1)
def test_responses_verify_against_the_leafs_issuer_in_every_chain(acme_server):
    acme = account_client(acme_server)
    response = obtain(acme_server, acme, new_order(acme, ["chains.example.test"]))
    default = split_chain(response.content)
    url = links(response, "alternate")[0]
    alternate = split_chain(acme.net.post(url, None).content)
    leaf, issuer, upper = default
    assert alternate[1] != issuer
    for asked in (issuer, alternate[1]):  # the same name and key in both chains
        answer = parse(ask_post(acme_server, ocsp_request(leaf, asked)))
        assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
        verify(answer, issuer)
        verify(answer, alternate[1])
        with pytest.raises(Exception):  # noqa: B017 - InvalidSignature
            verify(answer, upper)
    assert parse(ask_post(acme_server, ocsp_request(leaf, upper))).response_status == \
        ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_ocsp_requests_are_in_the_request_log_and_the_events(acme_server):
    acme = account_client(acme_server)
    leaf, inter = issue(acme_server, acme, "logged.example.test")
    parse(ask_post(acme_server, ocsp_request(leaf, inter)))
    parse(ask_post(acme_server, b"junk"), 400)
    posts = [r for r in acme_server.requests if r.path == "/ocsp"]
    assert [(r.method, r.status) for r in posts] == [("POST", 200), ("POST", 400)]
    cert_id = acme_server.orders()[0].certificate_url.rsplit("/", 1)[1]
    events = [e for e in acme_server.events if e.reason.startswith("OCSP")]
    assert [(e.kind, e.reason) for e in events] == [("certificate", "OCSPResponse"),
                                                   ("ocsp", "OCSPRefused")]
    assert events[0].id == cert_id and f"{leaf.serial_number:x}: good" in events[0].message
    assert "malformedRequest" in events[1].message
    assert "OCSP answered" in acme_server.describe(acme_server.orders()[0])


# -- the responder URL in leaves ----------------------------------------------------


def test_leaves_name_no_responder_by_default(acme_server):
    acme = account_client(acme_server)
    leaf, _ = issue(acme_server, acme, "plain.example.test")
    assert ocsp_urls(leaf) == []


@pytest.mark.acme(ocsp_responder_url="http://ocsp.example.test/")
def test_an_external_responder_url_goes_into_leaves(acme_server):
    acme = account_client(acme_server)
    leaf, _ = issue(acme_server, acme, "external.example.test")
    assert ocsp_urls(leaf) == ["http://ocsp.example.test/"]
    acme_server.reconfigure(ocsp=True)  # the external URL still wins
    leaf, _ = issue(acme_server, acme, "both.example.test")
    assert ocsp_urls(leaf) == ["http://ocsp.example.test/"]
    # The CRL distribution point stays beside it.
    leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints)


@pytest.mark.parametrize("bad", ["ocsp.example.test", "ftp://ocsp.example.test/",
                                 "http://bad host/", 42])
def test_a_bad_responder_url_is_a_config_error(bad):
    with pytest.raises(ValueError, match="ocsp_responder_url"):
        AcmeConfig(ocsp_responder_url=bad)
    assert AcmeConfig(ocsp_responder_url="").ocsp_responder_url is None


def test_pebbles_ocsp_responder_url_is_honoured():
    from pytest_acme.standalone.pebble import from_pebble

    out = from_pebble({"ocspResponderURL": "http://127.0.0.1:4002/"}, {})
    assert out.settings["ocsp_responder_url"] == "http://127.0.0.1:4002/"
    assert not out.warnings
    assert "ocsp_responder_url" not in from_pebble({"ocspResponderURL": ""}, {}).settings


# -- Must-Staple ---------------------------------------------------------------------


def finalize_with(server, acme, name: str, features: Optional[List[x509.TLSFeatureType]],
                  critical: bool = False) -> x509.Certificate:
    key = ec_key()
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    if features is not None:
        builder = builder.add_extension(x509.TLSFeature(features), critical=critical)
    csr_pem = builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM)
    order = acme.new_order(csr_pem)
    answer_all(acme, order)
    server.wait_idle()
    order = acme.poll_and_finalize(order, deadline())
    return split_chain(order.fullchain_pem)[0]


def tls_features(leaf: x509.Certificate) -> Optional[x509.Extension]:
    try:
        return leaf.extensions.get_extension_for_class(x509.TLSFeature)
    except x509.ExtensionNotFound:
        return None


@pytest.mark.acme(ocsp=True)
@pytest.mark.parametrize("critical", [False, True])
def test_must_staple_is_copied_into_the_certificate_beside_an_ocsp_responder(
        acme_server, critical):
    acme = account_client(acme_server)
    leaf = finalize_with(acme_server, acme, "staple.example.test",
                         [x509.TLSFeatureType.status_request], critical)
    ext = tls_features(leaf)
    assert ext is not None and not ext.critical  # non-critical whatever the CSR said
    assert list(ext.value) == [x509.TLSFeatureType.status_request]


@pytest.mark.acme(ocsp_responder_url="http://ocsp.example.test/")
def test_an_external_ocsp_responder_gets_must_staple_copied_too(acme_server):
    acme = account_client(acme_server)
    leaf = finalize_with(acme_server, acme, "staple2.example.test",
                         [x509.TLSFeatureType.status_request])
    assert tls_features(leaf) is not None


def test_without_ocsp_must_staple_is_refused_and_the_order_fails_as_at_lets_encrypt(
        acme_server):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as e:
        finalize_with(acme_server, acme, "nostaple-le.example.test",
                      [x509.TLSFeatureType.status_request])
    assert e.value.typ == PROBLEM + "badCSR" and "Must-Staple" in e.value.detail
    (order,) = acme_server.orders()
    assert order.status.value == "invalid" and "Must-Staple" in order.error["detail"]


@pytest.mark.acme(pebble=True)
def test_pebble_mode_takes_must_staple_and_leaves_it_out_as_pebble(acme_server):
    acme = account_client(acme_server)
    leaf = finalize_with(acme_server, acme, "pebble-staple.example.test",
                         [x509.TLSFeatureType.status_request])
    assert tls_features(leaf) is None


@pytest.mark.acme(ocsp=True)
@pytest.mark.parametrize("features", [
    None,
    [x509.TLSFeatureType.status_request_v2],
    [x509.TLSFeatureType.status_request, x509.TLSFeatureType.status_request_v2],
])
def test_anything_but_status_request_alone_is_not_copied(acme_server, features):
    acme = account_client(acme_server)
    leaf = finalize_with(acme_server, acme, "nostaple.example.test", features)
    assert tls_features(leaf) is None


# -- end to end with openssl ---------------------------------------------------------


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_ocsp_against_serve_with_ocsp(tmp_path):
    out, stop, result = BannerCapture(), threading.Event(), []
    argv = ["serve", "--port", "0", "--dns-port", "0", "--management-port", "-1",
            "--challtestsrv-port", "-1", "--http", "--ocsp", "--validation", "always_valid"]
    thread = threading.Thread(target=lambda: result.append(main(argv, stop=stop, out=out)))
    thread.start()
    try:
        assert out.ready.wait(15), out.getvalue()
        banner = out.getvalue()
        directory_url = banner_field(banner, "directory:")
        responder = banner_field(banner, "OCSP:")
        roots = banner_field(banner, "roots:")
        # Plain HTTP, as OCSP is: no CA bundle to trust.
        acme = account_client(SimpleNamespace(directory_url=directory_url, ca_bundle=""))
        leaf, inter = split_chain(obtain_with(acme, "openssl.example.test"))
        assert ocsp_urls(leaf) == [responder]
        (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(Encoding.PEM))
        (tmp_path / "inter.pem").write_bytes(inter.public_bytes(Encoding.PEM))

        def openssl_ocsp() -> str:
            done = subprocess.run(
                ["openssl", "ocsp", "-issuer", str(tmp_path / "inter.pem"),
                 "-cert", str(tmp_path / "leaf.pem"), "-url", responder,
                 "-CAfile", roots, "-no_nonce"],
                capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr
            assert "Response verify OK" in done.stderr, done.stderr
            return done.stdout

        assert f"{tmp_path / 'leaf.pem'}: good" in openssl_ocsp()
        revoke(acme, leaf, 4)  # superseded
        text = openssl_ocsp()
        assert f"{tmp_path / 'leaf.pem'}: revoked" in text and "superseded" in text.lower()
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]


def obtain_with(acme, name: str) -> bytes:
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False).sign(
        ec_key(), hashes.SHA256()).public_bytes(Encoding.PEM)
    order = acme.new_order(csr)
    answer_all(acme, order)
    return acme.poll_and_finalize(order, deadline()).fullchain_pem.encode()
