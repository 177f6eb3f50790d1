"""The ELAsTiCC pages in real headless Chromium against the live gunicorn (browser.py): log in,
landing, searches, object page with its plots drawn, summary. Every request a page makes must
go to the local server: anything else is refused and fails the test, and so does any
JavaScript error. The broker pages' browser tests are brokermetrics/tests/test_browser.py.
"""

from __future__ import annotations

from elasticc.pages.tests.browser import MARKS, logged_in

pytestmark = MARKS


def test_pages_in_a_browser(browser, site):
    url, a, _ = site
    with logged_in(browser, url, "astro") as s:
        page = s.open("/elasticc/")
        assert page.inner_text("[data-table=elasticc_diaobject]") == "6"
        s.shot("landing")

        page.fill("#landing-id-search input[name=id]", "4")
        page.click("#landing-id-search button")
        page.wait_for_selector("#lightcurve .main-svg")
        assert page.url.endswith("/elasticc/objects/4/")

        page = s.open("/elasticc/objects/")
        assert page.locator("#object-list tbody tr").count() == 6
        s.shot("objects-browse")

        page = s.open("/elasticc/objects/?mode=cone")
        page.fill("#ra", "150.003")
        page.fill("#dec", "2.003")
        page.fill("#radius", "8")
        page.click("#cone-search button")
        page.wait_for_selector("#cone-results")
        assert page.locator("#cone-results tbody tr").all_inner_texts()[0].startswith("3")
        assert page.locator("#cone-results tbody tr").count() == 3  # 3, then 4 and 2 at 5.1"
        s.shot("objects-cone")

        page = s.open("/elasticc/objects/?mode=classification")
        page.select_option("#classifier", str(a))
        page.select_option("#classid", "121")
        page.fill("#minprob", "0.5")
        page.click("#classification-search button")
        page.wait_for_selector("#classification-results")
        assert page.locator("#classification-results tbody tr").count() == 3
        s.shot("objects-classification")

        page.click("#classification-results tbody tr:first-child td:first-child a")
        page.wait_for_selector("#lightcurve .main-svg")
        # light curve: objects 4's forced points in 6 bands plus its 2 detections' bands, drawn as SVG points
        assert page.locator("#lightcurve .scatterlayer .trace").count() == 8
        assert page.locator("#lightcurve .scatterlayer path.point").count() >= 40
        assert page.locator("#classplot .scatterlayer .trace").count() >= 2
        assert page.locator("#truth").count() == 0
        assert "gentype" not in page.content().lower()
        s.shot("object-4")

        page = s.open("/elasticc/summary")
        page.wait_for_selector("#alerts-per-mjd .main-svg")
        poller = page.locator("#brokerpoll-status tr[data-poller='bench-broker@h:1']")
        assert "running" in poller.inner_text() and poller.locator("[data-lag]").inner_text() == "42"
        s.shot("summary")

        # The TOM Toolkit's own pages use the same offline frame.
        s.open("/")
        s.open("/targets/")
        s.shot("tom-targets")


def test_admin_sees_truth_in_a_browser(browser, site):
    url, _, _ = site
    with logged_in(browser, url, "boss") as s:
        page = s.open("/elasticc/objects/5/")
        page.wait_for_selector("#lightcurve .main-svg")
        assert page.inner_text("#truth-gentype") == "82"
        assert page.inner_text("#truth-classid") == "122 M-dwarf Flare"
        s.shot("object-5-admin")
