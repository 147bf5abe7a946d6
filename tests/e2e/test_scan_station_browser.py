"""The scan station page, /scan, driven by a real headless Chromium against the app served by
uvicorn: set-up, scans typed as a keyboard-wedge scanner types them (the code, then Enter), the
instruction and its colour, the session's list, the focus, and a return's inspection checklist.

Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them); skipped without them."""

import os
import re

import pytest

from app.jobs import work
from tests.support import factories as f
from tests.support import http
from tests.support.arrange import out_with_a_worker
from tests.support.browser import chromium, needs_chromium
from tests.support.factories import post_swap, swap_body

pytestmark = pytest.mark.any_database  # the page in a browser; the API under it is tested on both


# ---- without a browser ---------------------------------------------------------------------


def test_the_page_is_public_uncached_and_self_contained(client):
    page = client.get("/scan")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    html = page.text
    assert '<meta name="robots" content="noindex">' in html
    assert not re.search(r"https?://", html), "the page loads nothing from elsewhere"
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html), "everything is inline"
    # Only this response's inline script and style may run, and only against this origin.
    csp = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<script nonce="{nonce}">' in html and "connect-src 'self'" in csp and "default-src 'none'" in csp
    assert client.get("/scan").headers["content-security-policy"] != csp  # a fresh nonce each time
    assert "/scan" not in client.get("/openapi.json").json()["paths"]


# ---- in the browser ------------------------------------------------------------------------


@pytest.fixture
def browser():
    with chromium() as driver:
        yield driver


@pytest.fixture
def api(live_server):
    with http.client(base_url=live_server, timeout=10) as c:
        yield c


@pytest.fixture
def depot_world(api, keys, frozen_clock):
    admin = keys["admin"]
    lon = f.depot(api, admin, "LON")
    model = f.model(api, admin, sku="LAT-5440", name="Latitude 5440")
    prof = f.profile(api, admin, version="v2")

    def spare(**over):
        return f.unit(api, keys["warehouse"], model["id"], lon["id"],
                      **{**f.fit_to_ship(prof), "box_contents": ["charger"], **over})

    return {"lon": lon, "model": model, "spare": spare}


def _bearer(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _wait(driver, condition, timeout=10):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _set_up(driver, live_server, key: str, depot_id: int):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(f"{live_server}/scan")
    assert driver.find_element(By.ID, "setup").is_displayed()
    assert not driver.find_element(By.ID, "station").is_displayed()
    driver.find_element(By.ID, "api-key").send_keys(key)
    driver.find_element(By.ID, "setup-submit").click()
    _wait(driver, lambda d: d.find_element(By.ID, "depot").is_displayed())
    Select(driver.find_element(By.ID, "depot")).select_by_value(str(depot_id))
    driver.find_element(By.ID, "setup-submit").click()
    _wait(driver, lambda d: d.find_element(By.ID, "code").is_displayed())
    assert _active_id(driver) == "code"
    # The key is kept in the tab's sessionStorage, never in the address or a cookie.
    assert driver.execute_script("return sessionStorage.getItem('scanStation.key')") == key
    assert driver.execute_script("return sessionStorage.getItem('scanStation.depotId')") == str(depot_id)
    assert key not in driver.current_url and driver.get_cookies() == []


def _active_id(driver) -> str:
    return driver.execute_script("return document.activeElement && document.activeElement.id")


def _scan(driver, code: str, rows_after: int):
    """As a keyboard-wedge scanner does: type into whatever has the focus, then Enter."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.switch_to.active_element.send_keys(code + Keys.ENTER)
    _wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tr")) == rows_after)
    instruction = driver.find_element(By.ID, "instruction")
    return instruction.get_attribute("class").split(), instruction.text


def _no_script_errors(driver):
    # Console errors other than the HTTP statuses the page expects (the set-up's role probe answers 422).
    errors = [e["message"] for e in driver.get_log("browser")
              if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
    assert errors == []


@needs_chromium
def test_packing_and_an_unknown_code_at_the_scan_station(browser, live_server, api, keys, app, depot_world):
    from selenium.webdriver.common.by import By

    unit = depot_world["spare"]()
    swap = post_swap(api, keys, swap_body(depot_world["model"]["id"])).json()
    assert swap["status"] == "allocated" and swap["unit_id"] == unit["id"]
    work.run_outbox(app.state.session_factory, app.state.carrier)  # the courier label is booked
    _set_up(browser, live_server, _bearer(keys["warehouse"]), depot_world["lon"]["id"])

    classes, text = _scan(browser, unit["asset_tag"], rows_after=1)
    assert "ok" in classes and "problem" not in classes
    assert f"PACKED {unit['asset_tag']}" in text and f"swap {swap['id']}" in text
    row = browser.find_element(By.CSS_SELECTOR, "#history tr")
    assert "ok" in row.get_attribute("class").split()
    assert [td.text for td in row.find_elements(By.CSS_SELECTOR, "td")][1:3] == [unit["asset_tag"], "packed"]
    assert browser.execute_script("return document.body.dataset.lastTone") == "ok"
    assert _active_id(browser) == "code"
    got = api.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()
    assert got["state"] == "packed"
    if os.environ.get("SCAN_STATION_SCREENSHOT"):
        browser.save_screenshot(os.environ["SCAN_STATION_SCREENSHOT"])

    browser.find_element(By.TAG_NAME, "h1").click()  # a click elsewhere on the page
    assert _active_id(browser) == "code"
    classes, text = _scan(browser, "NOPE-404", rows_after=2)
    assert "problem" in classes and "ok" not in classes and "Unknown code 'NOPE-404'" in text
    rows = browser.find_elements(By.CSS_SELECTOR, "#history tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows] == ["NOPE-404", unit["asset_tag"]]
    assert "problem" in rows[0].get_attribute("class").split()
    assert browser.execute_script("return document.body.dataset.lastTone") == "problem"
    assert _active_id(browser) == "code"
    assert not browser.find_element(By.ID, "inspection").is_displayed()
    _no_script_errors(browser)


@needs_chromium
def test_receiving_a_return_and_its_checklist(browser, live_server, api, keys, app, depot_world):
    from selenium.webdriver.common.by import By

    old = depot_world["spare"]()
    out_with_a_worker(app.state.session_factory, old["id"])
    depot_world["spare"]()  # the replacement
    swap = post_swap(api, keys, swap_body(depot_world["model"]["id"], return_mode="return_box",
                                          broken_unit=old["asset_tag"])).json()
    work.run_outbox(app.state.session_factory, app.state.carrier)  # booking records the expected return
    expected = api.get("/api/v1/returns", headers=keys["warehouse"]).json()
    assert [(e["swap_id"], e["unit_id"], e["expected_items"]) for e in expected] == \
        [(swap["id"], old["id"], ["charger", "device"])]
    _set_up(browser, live_server, _bearer(keys["warehouse"]), depot_world["lon"]["id"])

    classes, text = _scan(browser, old["asset_tag"], rows_after=1)
    assert "ok" in classes and f"RECEIVED {old['asset_tag']}" in text
    form = browser.find_element(By.ID, "inspection")
    assert form.is_displayed() and old["asset_tag"] in form.text
    charger = form.find_element(By.CSS_SELECTOR, "#checklist input[type=checkbox][value=charger]")
    assert charger.is_selected()
    charger.click()  # no charger in the box
    assert not charger.is_selected()
    browser.find_element(By.ID, "notes").send_keys("box taped shut, no charger")
    browser.find_element(By.ID, "inspection-save").click()
    _wait(browser, lambda d: not d.find_element(By.ID, "inspection").is_displayed())
    instruction = browser.find_element(By.ID, "instruction")
    assert "problem" in instruction.get_attribute("class").split() and "missing charger" in instruction.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history tr")) == 2
    assert _active_id(browser) == "code"

    found = api.get("/api/v1/discrepancies", headers=keys["support"]).json()
    assert [(d["kind"], d["unit_id"]) for d in found] == [("missing_items", old["id"])]
    assert "charger" in found[0]["details"]
    closed = api.get("/api/v1/returns", params={"status": "closed"}, headers=keys["warehouse"]).json()
    assert closed[0]["items_present"] == ["device"] and closed[0]["outcome"] == "missing_items"
    assert api.get(f"/api/v1/units/{old['id']}", headers=keys["support"]).json()["state"] == "triage"
    _no_script_errors(browser)
