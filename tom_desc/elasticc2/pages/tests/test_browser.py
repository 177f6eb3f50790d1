"""ELAsTiCC2's landing and object pages in real headless Chromium against the live gunicorn
(elasticc/pages/tests/browser.py): the plots drawn, what a non-admin and an admin see. Any request
to another host, JavaScript error or Content-Security-Policy violation fails. (Its broker page:
brokermetrics/tests/test_browser_elasticc2.py.)"""

from __future__ import annotations

from elasticc.pages.tests.browser import MARKS, logged_in

pytestmark = MARKS


def test_object_page_in_a_browser(browser, e2site):
    url, _ = e2site
    with logged_in(browser, url, "astro2") as s:
        page = s.open("/elasticc2/")
        assert page.locator("#latest-alerts tbody tr").count() == 6
        page.fill("#elasticc2-id-search input[name=id]", "1")
        page.click("#elasticc2-id-search button")
        page.wait_for_selector("#lightcurve .main-svg")
        assert page.url.endswith("/elasticc2/objects/1/")
        # Object 1 as the stream revealed it: forced points at 60000 (g) and its detection at 60001 (r).
        assert page.locator("#lightcurve .scatterlayer .trace").count() == 2
        assert page.locator("#classplot .scatterlayer .trace").count() >= 3
        assert page.locator("#alerts tbody tr").count() == 1
        assert page.locator("#truth").count() == 0
        s.shot("elasticc2-object-1")


def test_an_unsent_object_for_an_admin_in_a_browser(browser, e2site):
    url, _ = e2site
    with logged_in(browser, url, "boss2") as s:
        page = s.open("/elasticc2/objects/7/")  # never sent: the admin's to see
        page.wait_for_selector("#lightcurve .main-svg")
        assert page.inner_text("#truth-gentype") == "10"
        assert page.locator("#alerts tbody tr").count() == 1
