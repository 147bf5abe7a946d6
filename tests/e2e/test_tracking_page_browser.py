"""The worker's tracking page at every status, in headless Chromium at a phone's viewport: the right
headline and next step, times in the worker's own timezone, and nothing about them beyond their
given name and city. A screenshot of each status is kept in test-artifacts/tracking/."""

from datetime import UTC, datetime, timedelta

import pytest

from app.jobs import work
from tests.support import factories as f
from tests.support import http
from tests.support.arrange import out_with_a_worker
from tests.support.browser import ARTIFACTS, chromium, needs_chromium
from tests.support.factories import WEBHOOK_SECRET, swap_body
from tests.support.service import SWAP_JOB_KINDS

pytestmark = [pytest.mark.any_database, needs_chromium]  # the page in a browser; its data is tested on both

# The worker is in Tokyo this week (address in Leeds): 09:00 UTC is 18:00 on their page.
WORKER = {"name": "Ana Lima", "given_name": "Ana", "email": "ana@example.com", "phone": "+44 7700 900123",
          "timezone": "Asia/Tokyo",
          "address": {"street1": "1 Hotel Row", "city": "Leeds", "postal_code": "LS1 4AP", "country": "GB"}}
PRIVATE = ("Lima", "ana@example.com", "7700", "Hotel Row", "LS1 4AP")
PHONE = (390, 844)


@pytest.fixture
def phone():
    with chromium(*PHONE, mobile=True) as driver:
        yield driver


def _hook(api, tracking_number, status, at, substatus=None):
    from app.shipping.carrier import Tracking, TrackingEvent
    from app.shipping.simulated import make_webhook_payload

    event = TrackingEvent(status=status, status_details=status.lower(), status_date=at, substatus=substatus)
    payload = make_webhook_payload(Tracking(carrier="simulated", tracking_number=tracking_number, status=status,
                                            events=[event]))
    payload["test"] = False
    assert api.post(f"/webhooks/shippo/{WEBHOOK_SECRET}", json=payload).status_code == 200


def _look(driver, url: str, status: str, extra_private: tuple[str, ...] = ()) -> tuple[str, str]:
    from selenium.webdriver.common.by import By

    driver.get(url)
    headline = driver.find_element(By.ID, "headline").text
    text = driver.find_element(By.TAG_NAME, "body").text
    assert driver.execute_script("return window.innerWidth") == PHONE[0]
    assert driver.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]  # no sideways scroll
    for private in (*PRIVATE, *extra_private):
        assert private not in driver.page_source, (status, private)
    (ARTIFACTS / "tracking").mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "tracking" / f"{status}.png"))
    return headline, text


def test_the_page_is_right_at_every_status(live_server, app, keys, phone, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    factory = app.state.session_factory
    with http.client(base_url=live_server, timeout=10) as api:
        admin, wh = keys["admin"], keys["warehouse"]
        lon = f.depot(api, admin, "LON")
        model = f.model(api, admin, sku="LAT-5440", name="Latitude 5440")
        old = f.unit(api, wh, model["id"], lon["id"])
        out_with_a_worker(factory, old["id"])
        waiting = api.post("/api/v1/swap-requests", headers=keys["support"],
                           json=swap_body(model["id"], ticket="WAIT", worker=WORKER)).json()
        headline, text = _look(phone, waiting["tracking_url"].replace("http://127.0.0.1:8000", live_server),
                               "backordered")
        assert headline == "You are on the list for the next available device"
        assert "You are number 1 in line" in text and "Hi Ana," in text

        new = f.unit(api, wh, model["id"], lon["id"], box_contents=["charger", "usb-c cable"])  # serves the line
        url = waiting["tracking_url"].replace("http://127.0.0.1:8000", live_server)
        private = (new["asset_tag"], new["serial"], old["asset_tag"], old["serial"])
        headline, text = _look(phone, url, "allocated", private)
        assert headline == "A replacement is reserved for you" and "Expected Wednesday 25 November" in text

        api.post(f"/api/v1/swap-requests/{waiting['id']}/cancel", json={"reason": "x"}, headers=keys["support"])
        headline, _ = _look(phone, url, "cancelled", private)
        assert headline == "This request was cancelled"

        body = swap_body(model["id"], ticket="MAIN", worker=WORKER, return_mode="return_box",
                         broken_unit=old["asset_tag"])
        swap = api.post("/api/v1/swap-requests", headers=keys["support"], json=body).json()
        url = swap["tracking_url"].replace("http://127.0.0.1:8000", live_server)
        work.run_outbox(factory, app.state.carrier, only=SWAP_JOB_KINDS)
        headline, text = _look(phone, url, "label_booked", private)
        assert headline == "Your replacement is booked with the courier"
        assert "Booked with Demo Courier" in text and "the device, charger, usb-c cable" in text
        assert "If nobody is home" in text
        assert "Tue 24 Nov, 18:00" in text  # the request, in Tokyo time

        ships = {s["direction"]: s["tracking_number"] for s in api.get(
            f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()["shipments"]}
        _hook(api, ships["outbound"], "TRANSIT", frozen_clock.at + timedelta(hours=3))
        headline, text = _look(phone, url, "shipped", private)
        assert headline == "Your replacement is on its way" and "Follow Demo Courier" in text

        frozen_clock.set(datetime(2026, 11, 25, 4, 0, tzinfo=UTC))
        _hook(api, ships["outbound"], "DELIVERED", frozen_clock.at)
        headline, text = _look(phone, url, "delivered", private)
        assert headline == "Delivered: your replacement is with you"
        assert "send the old one back by Wednesday 09 December with the prepaid label" in text
        assert "Is everything working?" in text and "Yes, it works" in text

        from selenium.webdriver.common.by import By

        phone.find_element(By.LINK_TEXT, "Yes, it works").click()
        phone.find_elements(By.NAME, "score")[3].click()
        phone.find_element(By.ID, "comment").send_keys("Smooth")
        phone.save_screenshot(str(ARTIFACTS / "tracking" / "followup-form.png"))
        phone.find_element(By.TAG_NAME, "button").click()
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(phone, 10).until(lambda d: "/followup" not in d.current_url
                                       and "You told us it works (you gave it 4 out of 5)" in d.page_source)
        assert api.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()["follow_up"][
            "score"] == 4

        _hook(api, ships["return"], "TRANSIT", frozen_clock.at + timedelta(hours=5))
        headline, _ = _look(phone, url, "return_in_transit", private)
        assert headline == "Your old device is on its way back"
        frozen_clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
        box = api.post("/api/v1/scans", headers=wh, json={"code": ships["return"], "depot_id": lon["id"]}).json()
        api.post("/api/v1/scans", headers=wh, json={"code": old["asset_tag"], "depot_id": lon["id"],
                                                    "return_id": box["expected_return_id"]})
        api.post(f"/api/v1/returns/{box['expected_return_id']}/inspection", headers=wh,
                 json={"items_present": ["device"]})
        headline, text = _look(phone, url, "closed", private)
        assert headline == "All done" and "We received your old device on Thu 26 Nov, 18:00" in text


def test_an_exception_tells_the_worker_support_is_on_it(live_server, app, keys, phone, frozen_clock):
    with http.client(base_url=live_server, timeout=10) as api:
        lon = f.depot(api, keys["admin"], "LON")
        model = f.model(api, keys["admin"])
        f.unit(api, keys["warehouse"], model["id"], lon["id"])
        swap = api.post("/api/v1/swap-requests", headers=keys["support"],
                        json=swap_body(model["id"], worker=WORKER)).json()
        work.run_outbox(app.state.session_factory, app.state.carrier, only=SWAP_JOB_KINDS)
        out = next(s for s in api.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
                   ["shipments"] if s["direction"] == "outbound")["tracking_number"]
        _hook(api, out, "FAILURE", frozen_clock.at + timedelta(hours=2))
        headline, text = _look(phone, swap["tracking_url"].replace("http://127.0.0.1:8000", live_server),
                               "exception")
        assert headline == "Something needs our attention; support is on it"
        assert "Support is on it and will tell you the new date" in text and "your IT support team" in text
