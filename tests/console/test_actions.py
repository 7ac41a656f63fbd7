"""The console's actions through Werkzeug's test client: each changes the server
exactly as the Python API does (a real client sees it), refuses bad input with a
400 that says what to type, and refuses a POST without the console's token."""

from __future__ import annotations

import datetime as dt
import html

import pytest
import requests
from acme import messages

from helpers import account_client, answer_all, issue_leaf, make_csr
from pytest_acme.clock import Clock
from pytest_acme.console import make_console_app
from pytest_acme.protocol import ari
from pytest_acme.va.zone import CaaRecord, ZoneServfail

from .console_helpers import ConsoleClient, text_of

pytestmark = pytest.mark.acme(validation="always_valid")


# -- the CSRF token, POST only, where to go next ---------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged", "x" * 43])
def test_a_post_without_the_token_is_refused_and_changes_nothing(acme_server, console, token):
    console.act("clock/advance", expect=403, token=token, amount="1", unit="days")
    assert acme_server.clock.offset == dt.timedelta(0)
    console.act("reset", expect=403, token=token)
    page = console.act("faults/arm", expect=403, token=token, fault="bad_nonce")
    assert acme_server.faults.faults == []
    assert "did not come from this console" in page.get_data(as_text=True)


def test_each_console_has_its_own_token(acme_server, console):
    other = make_console_app(acme_server)
    assert other.token != console.console.token and len(other.token) >= 40
    console.act("clock/advance", expect=403, token=other.token, amount="1", unit="days")


@pytest.mark.parametrize("path", ["clock/advance", "clock/set", "faults/arm", "faults/disarm",
                                  "faults/clear", "reset", "certificates/x/renewal"])
def test_actions_are_post_only(console, path):
    assert console.get(f"/console/{path}").status_code == 405


def test_the_token_is_in_every_form(acme_server, console):
    acme = account_client(acme_server)
    issue_leaf(acme_server, acme, ["forms.example.test"])
    acme_server.faults.bad_nonce(times=5)
    acme_server.dns.add_a("forms.example.test", "127.0.0.2")
    cert_id = acme_server.orders()[0].certificate_url.rsplit("/", 1)[-1]
    for path in ("", "faults", "dns", f"certificates/{cert_id}"):
        page = console.page(path)
        forms = page.count('<form method="post"')
        assert forms and page.count(f'name="csrf" value="{console.console.token}"') == forms


def test_after_an_action_the_browser_goes_back_to_its_page_never_elsewhere(console):
    response = console.act("faults/clear", next="/console/faults")
    assert response.headers["Location"].endswith("/console/faults")
    for elsewhere in ("https://evil.test/console/", "//evil.test/console/", "/other",
                      "/console\\..\\x", ""):
        response = console.act("faults/clear", next=elsewhere)
        assert response.headers["Location"].endswith("/console/"), elsewhere


# -- the clock -----------------------------------------------------------------------------


@pytest.mark.parametrize("amount, unit, seconds", [("90", "seconds", 90), ("1.5", "minutes", 90),
                                                   ("2", "hours", 7200), ("1", "days", 86400)])
def test_advance_the_clock(acme_server, console, amount, unit, seconds):
    console.act("clock/advance", amount=amount, unit=unit)
    assert acme_server.clock.offset == dt.timedelta(seconds=seconds)


def test_advancing_past_an_orders_expiry_makes_it_read_invalid_to_a_client(acme_server, console):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["expire.example.test"]))
    console.act("clock/advance", amount="25", unit="hours")
    assert acme.net.post(order.uri, None).json()["status"] == "invalid"


@pytest.mark.parametrize("amount, unit, words", [
    ("-1", "hours", "the clock only moves forward"),
    ("soon", "hours", "amount must be a number of hours, not 'soon'"),
    ("nan", "hours", "finite number"),
    ("inf", "days", "finite number"),
    ("1e300", "days", "too far ahead"),
    ("1", "weeks", "unit must be one of seconds, minutes, hours, days"),
])
def test_a_bad_clock_amount_is_a_400_that_says_why(acme_server, console, amount, unit, words):
    response = console.act("clock/advance", expect=400, amount=amount, unit=unit)
    assert words in html.unescape(response.get_data(as_text=True))
    assert acme_server.clock.offset == dt.timedelta(0)


class SettableClock(Clock):
    """A clock that can also be set forward to an instant, as ``Clock.set`` does
    where it exists."""

    def set(self, when: dt.datetime) -> dt.datetime:
        return self.advance(when - self.now())


def test_set_the_clock_is_offered_only_where_the_clock_can_be_set(acme_server, console):
    settable = hasattr(Clock, "set")
    assert ('action="/console/clock/set"' in console.page()) == settable
    if not settable:
        response = console.act("clock/set", expect=400, when="2030-01-01T00:00")
        assert "can only be advanced" in response.get_data(as_text=True)
    original = acme_server.clock
    acme_server.clock = SettableClock()
    try:
        assert 'action="/console/clock/set"' in console.page()
        console.act("clock/set", when="2031-02-03T04:05:06")
        assert acme_server.clock.now() >= dt.datetime(2031, 2, 3, 4, 5, 6,
                                                      tzinfo=dt.timezone.utc)
        response = console.act("clock/set", expect=400, when="next tuesday")
        assert "a date and time like 2026-12-06T07:00 (UTC)" in response.get_data(as_text=True)
    finally:
        acme_server.clock = original


# -- faults --------------------------------------------------------------------------------


def test_arm_a_failing_challenge_and_the_next_order_fails_with_it(acme_server, console):
    console.act("faults/arm", fault="fail_challenge", identifier="armed.example.test",
                problem="caa", detail="CAA forbids it (console)", times="")
    (fault,) = acme_server.faults.faults
    assert fault.describe() == acme_server.faults.fail_challenge(
        "armed.example.test", problem="caa").describe()
    acme_server.faults.remove(acme_server.faults.faults[-1])

    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["armed.example.test"]))
    answer_all(acme, order)
    acme_server.wait_idle()
    body = acme.net.post(order.uri, None).json()
    assert body["status"] == "invalid"
    challenge = next(c for c in acme.net.post(body["authorizations"][0], None).json()
                     ["challenges"] if c.get("error"))
    assert challenge["error"]["type"] == "urn:ietf:params:acme:error:caa"
    assert challenge["error"]["detail"] == "CAA forbids it (console)"


def test_every_fault_constructor_has_a_form_with_its_arguments(console):
    import inspect

    from pytest_acme import faults

    page = console.page("faults")
    for fn in faults.CONSTRUCTORS:
        assert f'name="fault" value="{fn.__name__}"' in page
        for name in inspect.signature(fn).parameters:
            assert f'id="{fn.__name__}-{name}"' in page, (fn.__name__, name)


@pytest.mark.parametrize("form, expected", [
    ({"fault": "bad_nonce", "times": "None", "rate": "0.5"}, "bad_nonce(rate 0.5; always)"),
    ({"fault": "hold_processing", "polls": "3", "http_date": "1"}, None),
    ({"fault": "server_error", "endpoint": "newOrder", "status": "503", "retry_after": "10"},
     None),
    ({"fault": "latency", "seconds": "0.01", "endpoint": "finalize", "times": "1"}, None),
])
def test_arm_takes_the_python_apis_arguments(acme_server, console, form, expected):
    console.act("faults/arm", **form)
    (fault,) = acme_server.faults.faults
    assert fault.kind
    if form["fault"] == "hold_processing":
        assert fault.polls == 3 and fault.http_date is True
    if form["fault"] == "server_error":
        assert fault.endpoint == "new_order" and fault.status == 503 and fault.retry_after == 10
    if form["fault"] == "latency":
        assert fault.seconds == 0.01 and fault.times == 1
    if expected is not None:
        assert fault.describe().startswith("bad_nonce(") and fault.times is None
        assert fault.rate == 0.5


@pytest.mark.parametrize("form, words", [
    ({"fault": "explode"}, "unknown fault 'explode'"),
    ({"fault": "fail_challenge", "problem": "nope"}, "unknown ACME problem type 'nope'"),
    ({"fault": "bad_nonce", "times": "0"}, "times must be a positive whole number"),
    ({"fault": "bad_nonce", "times": "two"}, "times must be a whole number, not 'two'"),
    ({"fault": "latency"}, "latency needs seconds"),
    ({"fault": "latency", "seconds": "nan"}, "seconds must be a finite number"),
    ({"fault": "rate_limited", "endpoint": "<b>x</b>"}, "unknown endpoint '<b>x</b>'"),
    ({"fault": "hold_processing"}, "hold_processing needs polls=N, seconds=S, or both"),
])
def test_a_fault_that_cannot_be_made_is_a_400_that_says_why(acme_server, console, form, words):
    response = console.act("faults/arm", expect=400, **form)
    page = response.get_data(as_text=True)
    assert words in html.unescape(page) and "<b>x</b>" not in page
    assert acme_server.faults.faults == []


def test_disarm_one_fault_and_clear_all(acme_server, console):
    from pytest_acme.console.actions import fault_id

    keep = acme_server.faults.reject_csr()
    drop = acme_server.faults.rate_limited("new_order")
    console.act("faults/disarm", fault_id=fault_id(drop))
    assert acme_server.faults.faults == [keep]
    response = console.act("faults/disarm", expect=400, fault_id=fault_id(drop))
    assert "no longer armed" in response.get_data(as_text=True)
    # a disarmed fault no longer fires: newOrder works
    account_client(acme_server).new_order(make_csr(["disarmed.example.test"]))
    console.act("faults/clear")
    assert acme_server.faults.faults == [] and acme_server.faults.fired == []


# -- DNS -------------------------------------------------------------------------------------


def test_edit_every_record_type(acme_server, console):
    zone = acme_server.dns
    console.act("dns", type="TXT", name="_acme-challenge.d.example.test", value="abc")
    console.act("dns", type="A", name="a.example.test", value="127.0.0.7")
    console.act("dns", type="AAAA", name="a.example.test", value="::1")
    console.act("dns", type="CNAME", name="www.example.test", value="a.example.test")
    console.act("dns", type="CAA", name="example.test", value='0 issue "ca.example"')
    console.act("dns", type="SERVFAIL", name="broken.example.test")
    assert zone.txt("_acme-challenge.d.example.test") == ["abc"]
    assert zone.resolve_a("www.example.test") == ["127.0.0.7"]
    assert zone.resolve_aaaa("a.example.test") == ["::1"]
    assert zone.caa("example.test") == [CaaRecord(0, "issue", "ca.example")]
    with pytest.raises(ZoneServfail):
        zone.resolve_a("broken.example.test")
    text = text_of(console.page("dns"))
    assert "www.example.test CNAME a.example.test" in text
    assert "example.test CAA 0 issue ca.example" in text

    for rtype, name in (("TXT", "_acme-challenge.d.example.test"), ("A", "a.example.test"),
                        ("CNAME", "www.example.test"), ("CAA", "example.test"),
                        ("SERVFAIL", "broken.example.test"), ("AAAA", "a.example.test")):
        console.act("dns", op="clear", type=rtype, name=name)
    assert zone.records() == []
    assert zone.resolve_a("broken.example.test") == ["127.0.0.1"]


def test_a_dns_record_makes_a_real_validation_fail(acme_server, console):
    acme_server.reconfigure(validation="real")
    console.act("dns", type="SERVFAIL", name="nxdomain.example.test")
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["nxdomain.example.test"]))
    answer_all(acme, order)
    acme_server.wait_idle()
    authz = acme.net.post(order.body.authorizations[0], None).json()
    error = next(c["error"] for c in authz["challenges"] if c.get("error"))
    assert error["type"] == "urn:ietf:params:acme:error:dns"


@pytest.mark.parametrize("form, words", [
    ({"type": "MX", "name": "a.test", "value": "x"}, "type must be one of TXT, A, AAAA"),
    ({"type": "A", "name": "a.test", "value": "300.1.1.1"}, "A a.test:"),
    ({"type": "AAAA", "name": "a.test", "value": "127.0.0.1"}, "is not an IPv6 address"),
    ({"type": "A", "name": "", "value": "127.0.0.1"}, "name must be a DNS name"),
    ({"type": "TXT", "name": "a.test", "value": ""}, "a TXT record needs a value"),
    ({"type": "TXT", "name": "a.test", "value": "x" * 300}, "at most 255 bytes"),
    ({"type": "CAA", "name": "a.test", "value": "issue ca"}, 'a CAA value is "flags tag value"'),
    ({"type": "CAA", "name": "a.test", "value": "999 issue ca"}, "CAA flags must be 0..255"),
    ({"type": "A", "name": "a.test", "value": "127.0.0.1", "op": "drop"}, "op must be set or"),
])
def test_a_bad_dns_edit_is_a_400_that_says_why(acme_server, console, form, words):
    response = console.act("dns", expect=400, **form)
    assert words in html.unescape(response.get_data(as_text=True))
    assert acme_server.dns.records() == []


# -- renewal windows, reset ------------------------------------------------------------------


def renewal_info(acme_server, leaf):
    url = acme_server.urls.build("renewal_info", cert_id=ari.cert_id_of(leaf))
    return requests.get(url, verify=acme_server.ca_bundle).json()


def test_set_a_certificates_renewal_window_and_go_back_to_the_default(acme_server, console):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["renew.example.test"])
    cert_id = acme_server.orders()[0].certificate_url.rsplit("/", 1)[-1]
    default = renewal_info(acme_server, leaf)

    console.act(f"certificates/{cert_id}/renewal", start="2030-01-02T03:04:05",
                end="2030-01-03T00:00", explanation_url="https://example.test/why")
    info = renewal_info(acme_server, leaf)
    assert info["suggestedWindow"] == {"start": "2030-01-02T03:04:05Z",
                                       "end": "2030-01-03T00:00:00Z"}
    assert info["explanationURL"] == "https://example.test/why"
    console.act(f"certificates/{cert_id}/renewal", default="1")
    assert renewal_info(acme_server, leaf) == default


@pytest.mark.parametrize("form, words", [
    ({"start": "2030-01-02T00:00"}, "give both start and end"),
    ({"start": "2030-01-02T00:00", "end": "2030-01-01T00:00"}, "end"),
    ({"start": "tomorrow", "end": "2030-01-01T00:00"}, "start must be a date and time"),
])
def test_a_bad_renewal_window_is_a_400(acme_server, console, form, words):
    acme = account_client(acme_server)
    issue_leaf(acme_server, acme, ["badwindow.example.test"])
    cert_id = acme_server.orders()[0].certificate_url.rsplit("/", 1)[-1]
    response = console.act(f"certificates/{cert_id}/renewal", expect=400, **form)
    assert words in response.get_data(as_text=True)
    console.act("certificates/nope/renewal", expect=404, start="", end="")


def test_reset(acme_server, console):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["reset.example.test"]))
    acme_server.faults.bad_nonce(times=3)
    acme_server.dns.set_txt("x.example.test", "y")
    acme_server.clock.advance(60)
    console.act("reset")
    assert acme_server.orders() == [] and acme_server.accounts() == []
    assert acme_server.faults.faults == [] and acme_server.dns.records() == []
    assert acme_server.clock.offset == dt.timedelta(0)
    with pytest.raises(messages.Error) as e:
        acme.net.post(order.uri, None)
    assert e.value.typ == "urn:ietf:params:acme:error:accountDoesNotExist"


def test_the_console_client_is_a_real_wsgi_app(acme_server):
    """The same pages and actions as the fixture's, for a second console."""
    other = ConsoleClient(acme_server)
    other.act("clock/advance", amount="1", unit="seconds")
    assert acme_server.clock.offset == dt.timedelta(seconds=1)
