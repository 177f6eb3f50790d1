"""The broker pages in real headless Chromium against the live gunicorn
(elasticc/pages/tests/browser.py): the list, a classifier's page with its histogram drawn, the
window and range selectors, and the confusion matrices an admin sees. Any request to another
host or any JavaScript error fails the test.
"""

from __future__ import annotations

from elasticc.pages.tests.browser import MARKS, logged_in

pytestmark = MARKS


def test_broker_pages_in_a_browser(browser, site):
    url, a, _ = site
    with logged_in(browser, url, "astro") as s:
        page = s.open("/elasticc/brokers/")
        assert page.locator("#classifier-list tbody tr").count() == 2
        s.shot("brokers")
        page.click(f"tr[data-classifier='{a}'] td:nth-child(3) a")
        page.wait_for_selector("#delay-histogram .main-svg")
        assert page.locator("#delay-histogram .barlayer .point").count() == 7
        assert page.locator("#confusion-hidden").count() == 1
        page.select_option("#window", "2026-03-01")
        page.wait_for_url("**window=2026-03-01")
        assert page.inner_text("#completeness-value") == "75 %"
        s.shot("broker-astronomer")
        page.fill("#range-from", "2026-03-01")
        page.fill("#range-to", "2026-03-02")
        page.click("#range-show")
        page.wait_for_url("**from=2026-03-01&to=2026-03-02")
        assert page.inner_text("#completeness-value") == "88 %"
        page.wait_for_selector("#delay-histogram .main-svg")
        assert page.locator("#quantiles-from-bins").count() == 1
        s.shot("broker-range")


def test_admin_sees_confusion_in_a_browser(browser, site):
    url, a, _ = site
    with logged_in(browser, url, "boss") as s:
        page = s.open(f"/elasticc/brokers/{a}/")
        page.wait_for_selector("#delay-histogram .main-svg")
        cell = page.locator("#confusion-exact tr[data-true='121'] td[data-pred='121']")
        assert cell.get_attribute("data-count") == "2"
        assert (
            page.locator("#confusion-category tr[data-true='11'] td[data-pred='11']").get_attribute("data-count") == "3"
        )
        s.shot("broker-admin")
