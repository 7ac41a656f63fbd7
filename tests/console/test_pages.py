"""The console's pages through Werkzeug's test client, over a real server that a
real client (certbot's ``acme`` library) filled: what each page shows, the
headers every response carries, and escaping of text that came from outside."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from acme import messages

from helpers import account_client, answer_all, deadline, issue_leaf, make_csr, revoke, split_chain
from pytest_acme.console.app import CSP as CSP_HEADER
from pytest_acme.faults import bad_nonce, fail_challenge, rate_limited

from .console_helpers import text_of

pytestmark = pytest.mark.acme(validation="always_valid")

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def order_ids(page: str):
    return re.findall(r'href="/console/orders/([^"]+)"', page)


def test_overview_shows_the_server_and_its_counts(acme_server, console):
    acme = account_client(acme_server)
    issue_leaf(acme_server, acme, ["valid.example.test"])
    acme.new_order(make_csr(["pending.example.test"]))
    acme_server.faults.add(bad_nonce(times=3))
    acme_server.clock.advance(90)

    page = console.page()
    text = text_of(page)
    assert acme_server.directory_url in text
    assert f"Seed {acme_server.seed}" in text
    assert "Validation always_valid" in text
    assert "Accounts 1 " in text
    assert "pending : 1" in text and "valid : 1" in text and "invalid : 0" in text
    assert "Certificates 1 " in text
    assert "0 armed" not in text and "1 armed, 0 fired" in text
    assert "(wall time + 90 s)" in text
    now = acme_server.clock.now()
    assert now.strftime("%Y-%m-%dT%H:%M") in text


def test_orders_newest_first_filtered_by_status_and_identifier(acme_server, console):
    acme = account_client(acme_server)
    issue_leaf(acme_server, acme, ["first.example.test"])
    second = acme.new_order(make_csr(["second.example.test", "www.second.example.test"]))
    first_id, second_id = (o.id for o in acme_server.orders())

    assert order_ids(console.page("orders")) == [second_id, first_id]
    assert order_ids(console.page("orders?status=valid")) == [first_id]
    assert order_ids(console.page("orders?status=pending")) == [second_id]
    assert order_ids(console.page("orders?identifier=WWW.second")) == [second_id]
    assert order_ids(console.page("orders?status=valid&identifier=second")) == []
    assert "No orders match." in console.page("orders?status=ready")
    text = text_of(console.page("orders"))
    assert "dns:second.example.test, dns:www.second.example.test" in text
    assert "in 23h" in text  # the expiry countdown, at the server clock
    assert second.uri.endswith(second_id)


def test_a_bad_status_filter_is_a_400_that_says_what_to_use(console):
    page = console.page("orders?status=" + "nope%3Cb%3E", status=400)
    assert "status must be one of pending, ready, processing, valid, invalid" in page
    assert "nope&lt;b&gt;" in page and "nope<b>" not in page


def test_an_order_page_shows_authorizations_challenges_certificate_and_events(
        acme_server, console):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["page.example.test"])
    info = acme_server.orders()[0]

    page = console.page(f"orders/{info.id}")
    text = text_of(page)
    assert "Status valid" in text
    assert info.url in text and info.account_url in text
    authz = info.authorizations[0]
    assert f'href="/console/authorizations/{authz.id}"' in page
    assert "http-01 valid" in text and "dns-01 pending" in text
    assert f"Serial {leaf.serial_number:x}" in text
    cert_id = info.certificate_url.rsplit("/", 1)[-1]
    assert f'href="/console/certificates/{cert_id}/chain.pem"' in page
    for reason in ("OrderCreated", "Finalized", "Issued"):
        if reason in [e.reason for e in info.events]:
            assert reason in text
    assert all(e.reason in text for e in info.events)
    # describe()'s text comes along, for copying into a bug report
    assert acme_server.describe(info).splitlines()[0] in html.unescape(page)


def test_a_failed_challenge_shows_its_problem_escaped(acme_server, console):
    acme_server.faults.add(fail_challenge(problem="dns", detail=HOSTILE))
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["fails.example.test"]))
    answer_all(acme, order)
    acme_server.wait_idle()
    info = acme_server.orders()[0]

    page = console.page(f"orders/{info.id}")
    assert "<script>alert" not in page and "<img src=x" not in page
    assert HOSTILE in html.unescape(page)  # shown, as text
    assert "dns: " in text_of(page) and "Status invalid" in text_of(page)
    assert "0 armed, 1 fired" in text_of(console.page())  # spent: it fired its one time
    faults = console.page("faults")
    assert "<script>alert" not in faults
    assert f'href="/console/orders/{info.id}"' in faults  # the firing names its order


def test_real_validation_records_are_shown(acme_server, console, acme_http01_responder):
    acme_server.reconfigure(validation="real")
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["real.example.test"]))
    challb = next(c for c in order.authorizations[0].body.challenges if c.chall.typ == "http-01")
    response, validation = challb.response_and_validation(acme.net.key)
    acme_http01_responder.publish(challb.chall.encode("token"), validation)
    acme.answer_challenge(challb, response)
    acme_server.wait_idle()
    info = acme_server.orders()[0]
    record = next(c for c in info.authorizations[0].challenges
                  if c.type == "http-01").validation_record
    assert record, "the validator keeps a record of a real validation"

    page = console.page(f"orders/{info.id}")
    assert "http-01 valid" in text_of(page)
    assert f'"url": "{record[0]["url"]}"' in html.unescape(page)


def test_accounts_and_their_pages_escape_contacts(acme_server, console):
    acme = account_client(acme_server, email="ops+console@example.test")
    acme.new_order(make_csr(["acct.example.test"]))
    account = acme_server.accounts()[0]

    text = text_of(console.page("accounts"))
    assert "mailto:ops+console@example.test" in text and "valid" in text
    page = console.page(f"accounts/{account.id}")
    assert account.order_urls[0] in page
    assert "mailto:ops+console@example.test" in text_of(page)


def test_authorizations_list_and_page(acme_server, console):
    acme = account_client(acme_server)
    acme.new_order(make_csr(["a1.example.test", "*.a1.example.test"]))
    authzs = acme_server.orders()[0].authorizations

    text = text_of(console.page("authorizations"))
    # Each row lists its challenges in the authorization's own order (shuffled, as
    # at Let's Encrypt): all three for the name, dns-01 alone for the wildcard.
    assert re.search(r"dns:a1\.example\.test (\S+-01 pending,? ){3}", text)
    assert "dns:*.a1.example.test (wildcard) dns-01 pending" in text
    page = console.page(f"authorizations/{authzs[0].id}")
    assert "Made by newOrder" in text_of(page)
    assert authzs[0].order_urls[0] in page


def test_certificates_show_revocation_and_download_the_chain(acme_server, console):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["cert.example.test"])
    info = acme_server.orders()[0]
    cert_id = info.certificate_url.rsplit("/", 1)[-1]

    listing = text_of(console.page("certificates"))
    assert f"{leaf.serial_number:x} valid cert.example.test" in listing
    response = console.get(f"/console/certificates/{cert_id}/chain.pem")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pem-certificate-chain"
    chain = split_chain(response.data)
    assert chain[0] == leaf and len(chain) >= 2

    revoke(acme, leaf, 4)
    text = text_of(console.page(f"certificates/{cert_id}"))
    assert "revoked" in text and "(reason 4)" in text
    assert "revoked" in text_of(console.page("certificates"))


def test_requests_newest_first_and_a_problem_document(acme_server, console):
    acme_server.faults.add(rate_limited("new_order", retry_after=60))
    with pytest.raises(messages.Error):
        account_client(acme_server).new_order(make_csr(["x.example.test"]))
    records = acme_server.requests
    bad = next(i for i, r in enumerate(records) if r.problem == "rateLimited")

    page = console.page("requests")
    numbers = [int(n) for n in re.findall(r'href="/console/requests/(\d+)"', page)]
    assert numbers == list(reversed(range(len(records))))
    detail = console.page(f"requests/{bad}")
    assert '"type": "urn:ietf:params:acme:error:rateLimited"' in html.unescape(detail)
    assert records[bad].detail in html.unescape(detail)
    assert "No problem" in console.page("requests/0")
    console.page(f"requests/{len(records) + 5}", status=404)


def test_a_hostile_request_path_is_escaped(acme_server, console):
    import requests

    requests.get(acme_server.url + "/acme/%3Cscript%3Ealert(1)%3C/script%3E",
                 verify=acme_server.ca_bundle)
    page = console.page("requests")
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_hostile_dns_records_and_filters_are_escaped(acme_server, console):
    acme_server.dns.set_txt("_acme-challenge.h.example.test", HOSTILE)
    page = console.page("dns")
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    page = console.page("orders?identifier=" + "%22%3E%3Cscript%3Ex")
    assert '"><script>x' not in page and "&#34;&gt;&lt;script&gt;x" in page


def test_a_missing_object_is_a_404_page(console):
    for path in ("orders/nope", "accounts/nope", "authorizations/nope", "certificates/nope",
                 "certificates/nope/chain.pem", "nope", "static/nope.js"):
        page = console.page(path, status=404)
        assert "Nothing is here" in page or path.endswith("chain.pem") or "static" in path


@pytest.mark.parametrize("path", ["", "orders", "accounts", "authorizations", "certificates",
                                  "requests", "faults", "dns", "orders/nope"])
def test_every_page_is_locked_down_and_has_no_inline_script(console, path):
    response = console.get(f"/console/{path}")
    assert response.headers["Content-Security-Policy"] == CSP_HEADER
    assert "script-src 'self'" in CSP_HEADER and "'unsafe-inline'" not in CSP_HEADER
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts == [(' src="/console/static/console.js"', "")]
    assert not re.search(r"\son[a-z]+\s*=", page), "no inline event handlers"
    assert 'style="' not in page
    assert '<meta name="viewport"' in page and "<main>" in page and "<h1>" in page


def test_every_input_has_a_label(acme_server, console):
    acme = account_client(acme_server)
    issue_leaf(acme_server, acme, ["labels.example.test"])
    cert_id = acme_server.orders()[0].certificate_url.rsplit("/", 1)[-1]
    for path in ("", "orders", "faults", "dns", f"certificates/{cert_id}"):
        page = console.page(path)
        ids = re.findall(r'<(?:input|select)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', page)
        assert ids, path
        for id in ids:
            assert f'<label for="{id}">' in page, (path, id)


def test_static_files(console):
    js = console.get("/console/static/console.js")
    assert js.status_code == 200 and js.headers["Content-Type"].startswith("text/javascript")
    assert b"data-live" in js.data and b"fetch(" in js.data
    css = console.get("/console/static/console.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def test_the_clock_as_the_pages_read_it(acme_server, console):
    acme = account_client(acme_server)
    acme.new_order(make_csr(["clock.example.test"]))
    info = acme_server.orders()[0]
    acme_server.clock.advance(dt.timedelta(days=2))
    assert "Status invalid" in text_of(console.page(f"orders/{info.id}"))
    assert order_ids(console.page("orders?status=invalid")) == [info.id]
    assert deadline()  # the helpers' wall clock is untouched


def test_hostile_identifiers_and_contacts_refused_by_the_server_are_escaped_in_the_log(
        acme_server, console):
    from helpers import post_unchecked

    acme = account_client(acme_server)
    refused = post_unchecked(acme, acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "<script>alert(1)</script>.example.test"}]})
    assert refused.status_code == 400
    contact = post_unchecked(acme, acme_server.accounts()[0].url,
                             {"contact": ["mailto:<img src=x onerror=alert(2)>@x.test"]})
    assert contact.status_code == 400
    numbers = [int(n) for n in re.findall(r'href="/console/requests/(\d+)"',
                                          console.page("requests"))]
    shown = "".join(console.page(f"requests/{n}") for n in numbers[:2])
    assert "<script>alert" not in shown and "<img src=x" not in shown
    assert "<script>alert(1)</script>" in html.unescape(shown)
    assert "<img src=x onerror=alert(2)>" in html.unescape(shown)


def test_row_buttons_say_what_they_act_on(acme_server, console):
    acme_server.faults.rate_limited("new_order")
    acme_server.dns.add_a("<b>.example.test", "127.0.0.9")
    faults = console.page("faults")
    assert 'aria-label="Disarm endpoint_error(new_order, HTTP 429' in faults
    page = console.page("dns")
    assert 'aria-label="Clear A 127.0.0.9 at &lt;b&gt;.example.test"' in page
