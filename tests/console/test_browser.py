"""The console in a real headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium), against a server that a real client (certbot's ``acme``
library) uses at the same time.  Waiting is WebDriverWait on a condition, never
a sleep; every test ends with no JavaScript error in the browser's log."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from helpers import account_client, answer_all, make_csr

pytestmark = pytest.mark.acme(validation="always_valid")


def wait_for(browser: Any, condition: Callable[[Any], Any], timeout: float = 15) -> Any:
    """Wait until ``condition`` holds; an element the page replaced meanwhile (its
    live parts are swapped as the server changes) is looked up again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout,
                         ignored_exceptions=[StaleElementReferenceException]).until(condition)


def click(browser: Any, selector: str) -> None:
    wait_for(browser, lambda b: css(b, selector).click() or True)


def css(browser: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, selector)


def text(browser: Any, selector: str = "main") -> str:
    return css(browser, selector).text


@pytest.fixture
def page(browser: Any, acme_server: Any) -> Iterator[Any]:
    """The browser, its console log emptied first and checked for errors after."""
    browser.set_window_size(1100, 900)
    browser.get_log("browser")
    yield browser
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == [], errors


def test_an_order_appears_live_turns_invalid_when_the_clock_passes_its_expiry(
        page, acme_server):
    page.get(acme_server.console_url + "orders")
    assert "No orders yet." in text(page)
    page.execute_script("window.notReloaded = true;")

    acme = account_client(acme_server)
    acme.new_order(make_csr(["live.example.test"]))
    (info,) = acme_server.orders()

    wait_for(page, lambda b: "live.example.test" in text(b, "#orders-table"))
    assert page.execute_script("return window.notReloaded === true;"), "no reload"
    assert wait_for(page, lambda b: "pending" in text(b, "#orders-table"))
    wait_for(page, lambda b: text(b, "#live-status") == "Live")

    click(page, f'#orders-table a[href$="/orders/{info.id}"]')
    wait_for(page, lambda b: b.current_url.endswith(f"/console/orders/{info.id}"))
    assert wait_for(page, lambda b: "Status\npending" in text(b, "#order-detail"))

    css(page, "#advance-amount").send_keys("2")
    from selenium.webdriver.support.ui import Select

    Select(css(page, "#advance-unit")).select_by_value("days")
    css(page, 'form[action$="/clock/advance"] button').click()
    wait_for(page, lambda b: "Status\ninvalid" in text(b, "#order-detail"))
    assert page.current_url.endswith(f"/console/orders/{info.id}")
    assert acme.net.post(info.url, None).json()["status"] == "invalid"


def test_a_fault_armed_from_the_page_fails_the_next_order_with_its_problem(page, acme_server):
    page.get(acme_server.console_url + "faults")
    css(page, "#fault-fail_challenge summary").click()
    css(page, "#fail_challenge-identifier").send_keys("doomed.example.test")
    css(page, "#fail_challenge-problem").send_keys("unauthorized")
    css(page, "#fail_challenge-detail").send_keys("the console says no <b>")
    css(page, "#fault-fail_challenge button").click()
    wait_for(page, lambda b: "fail_challenge(doomed.example.test" in text(b, "#faults-armed"))
    (fault,) = acme_server.faults.faults

    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["doomed.example.test"]))
    answer_all(acme, order)
    acme_server.wait_idle()
    authz = acme.net.post(order.body.authorizations[0], None).json()
    error = next(c["error"] for c in authz["challenges"] if c.get("error"))
    assert error["type"] == "urn:ietf:params:acme:error:unauthorized"
    assert error["detail"] == "the console says no <b>" and error["status"] == 403
    assert fault.fired == 1

    # the page follows: the firing appears, linked to the order
    wait_for(page, lambda b: "doomed.example.test" in text(b, "#faults-fired"))
    (info,) = acme_server.orders()
    click(page, f'#faults-fired a[href$="/orders/{info.id}"]')
    wait_for(page, lambda b: "Status\ninvalid" in text(b, "#order-detail"))
    assert wait_for(page, lambda b: "unauthorized: the console says no <b>"
                    in text(b, "#order-detail"))


@pytest.mark.parametrize("path", ["", "orders", "faults", "dns", "requests"])
def test_usable_at_a_phones_width(page, acme_server, path):
    acme = account_client(acme_server, email="phone@example.test")
    acme.new_order(make_csr(["a-rather-long-name.phone.example.test", "phone.example.test"]))
    page.set_window_size(390, 844)
    page.get(acme_server.console_url + path)
    wide = page.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth;")
    assert wide <= 0, f"the page is {wide}px wider than the screen"
    assert css(page, "h1").is_displayed() and css(page, "nav").is_displayed()


def test_an_opened_describe_text_stays_open_while_the_page_follows_the_server(
        page, acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["open.example.test"]))
    (info,) = acme_server.orders()
    page.get(acme_server.console_url + f"orders/{info.id}")
    click(page, "details.describe summary")
    answer_all(acme, order)
    acme_server.wait_idle()
    wait_for(page, lambda b: "Status\nready" in text(b, "#order-detail"))
    wait_for(page, lambda b: "ChallengeValid" in text(b, "#order-describe"))
    assert css(page, "details.describe").get_attribute("open") is not None
