"""ELAsTiCC2's broker pages in real headless Chromium against the live gunicorn
(elasticc/pages/tests/browser.py), on ELAsTiCC2's hand-built case: the list, a classifier's page
with its delay histogram drawn and the confusion matrices at four levels an admin sees."""

from __future__ import annotations

from elasticc.pages.tests.browser import MARKS, logged_in

pytestmark = MARKS


def test_broker_page_in_a_browser(browser, e2site):
    url, a = e2site
    with logged_in(browser, url, "boss2") as s:
        page = s.open("/elasticc2/brokers/")
        assert page.locator("#classifier-list tbody tr").count() == 2
        page.click(f"tr[data-classifier='{a}'] td:nth-child(3) a")
        page.wait_for_selector("#delay-histogram .main-svg")
        assert page.locator("#delay-histogram .barlayer .point").count() == 6
        assert page.inner_text("#completeness-value") == "100 %"
        for level in ("exact", "category", "general", "broad"):
            assert page.locator(f"#confusion-{level}").count() == 1, level
        cell = page.locator("#confusion-general tr[data-true='2200'] td[data-pred='2200']")
        assert cell.get_attribute("data-count") == "3"
        assert (
            page.locator("#confusion-broad tr[data-true='none'] td[data-pred='300']").get_attribute("data-count") == "1"
        )
        s.shot("elasticc2-broker-admin")
