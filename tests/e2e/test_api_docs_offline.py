"""The API docs page works with no internet: its script and styles come from this service, and in a
browser it lists the operations of the served OpenAPI document."""

import re

import pytest

from tests.support.browser import chromium, needs_chromium

pytestmark = pytest.mark.any_database


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_nothing_from_elsewhere(client, page):
    html = client.get(page)
    assert html.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert sources and all(s.startswith("/docs/assets/") for s in sources), sources
    assert "/openapi.json" in html.text
    for source in sources:
        assert client.get(source).status_code == 200, source


@needs_chromium
def test_the_docs_page_shows_the_operations_in_a_browser(live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as browser:
        browser.get(f"{live_server}/docs")
        WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
        paths = {e.text.replace("\u200b", "") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert "/api/v1/swap-requests" in paths and "/api/v1/webhook-endpoints" in paths
