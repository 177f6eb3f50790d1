"""The follow-up pages in headless Chromium against the live gunicorn (elasticc/pages/tests/
browser.py): an object made a TOM Toolkit Target from its page, whose photometry the Toolkit's
Target page plots, and back; hot transients sorted and drawn; a spectrum planned and reported
from the spectra-wanted page. Any request to another host, JavaScript error or
Content-Security-Policy violation fails."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from elasticc.pages.tests.browser import MARKS, PASSWORD, browser, logged_in  # noqa: F401
from followup.models import PlannedSpectra, SpectrumInfo, WantedSpectra
from followup.tests import handbuilt

pytestmark = MARKS


@pytest.fixture
def site(live_server_url):
    handbuilt.build()
    User.objects.create_user("observer3", password=PASSWORD)
    return live_server_url


def test_make_a_target_and_see_its_photometry(browser, site):  # noqa: F811
    with logged_in(browser, site, "observer3") as s:
        page = s.open("/elasticc2/objects/1001/")
        assert page.inner_text("#followup-no-requests") == "Nobody has asked for a spectrum."
        page.click("#followup-make-target button")
        page.wait_for_load_state("load")
        assert re.search(r"/targets/\d+/$", page.url), page.url
        assert "Target 1001 made (5 photometry points added)" in page.content()
        page.click("#photometry-tab")
        page.wait_for_selector("#photometry .js-plotly-plot .main-svg")
        # AB magnitudes in g, r and i, and the two points under S/N 3 as upper limits in g and r
        plotted = page.eval_on_selector(
            "#photometry .js-plotly-plot",
            "p => p.data.map(t => [t.name, t.y.filter(v => v !== null).length])",
        )
        assert {name: n for name, n in plotted if n} == {
            "g": 1,
            "r": 1,
            "i": 1,
            "g non-detection": 1,
            "r non-detection": 1,
        }
        assert page.locator("#photometry .scatterlayer .point").count() >= 5
        s.shot("followup-target-photometry")
        page.click("#elasticc2-target a.elasticc2-object-link")
        page.wait_for_load_state("load")
        assert page.url.endswith("/elasticc2/objects/1001/")
        assert page.inner_text("#followup-make-target button") == "Update the Target's photometry"
        assert page.locator("#followup-target a").count() == 1


def test_hot_transients_sorted_with_sparklines(browser, site):  # noqa: F811
    with logged_in(browser, site, "observer3") as s:
        page = s.open("/elasticc2/followup/hot/?mjd_now=60055&days=50")
        order = page.eval_on_selector_all("#hot-table tbody tr", "rs => rs.map(r => r.dataset.object)")
        assert order == ["1002", "1001", "1003"]
        box = page.locator("#hot-table tbody tr[data-object='1001'] svg.sparkline").bounding_box()
        assert box and box["width"] > 100 and box["height"] > 20
        page.click("#hot-table thead a[data-sort='objectid']")
        page.wait_for_load_state("load")
        order = page.eval_on_selector_all("#hot-table tbody tr", "rs => rs.map(r => r.dataset.object)")
        assert order == ["1001", "1002", "1003"]
        s.shot("followup-hot-transients")


def test_plan_and_report_from_the_spectra_wanted_page(browser, site):  # noqa: F811
    WantedSpectra.objects.create(
        wantspec_id="1002 ; pipeline",
        diaobject_id=1002,
        user=User.objects.get(username="observer3"),
        requester="pipeline",
        priority=4,
    )
    with logged_in(browser, site, "observer3") as s:
        page = s.open("/elasticc2/followup/spectra/?detected_since_mjd=0")
        assert page.locator("#wanted-table tr[data-object='1002']").count() == 1
        page.click("#wanted-table details summary")
        page.fill("#w-plan-facility-1002", "Gemini South")
        page.fill("#w-plan-mjd-1002", "60061.25")
        page.click("#wanted-table .plan-form button")
        page.wait_for_load_state("load")
        assert "Planned: a spectrum of 1002 at Gemini South." in page.content()
        assert page.locator("#wanted-table").count() == 0  # claimed: nothing else is wanted
        assert PlannedSpectra.objects.get().facility == "Gemini South"
        s.shot("followup-spectra-planned")
        page = s.open("/elasticc2/objects/1002/")
        page.click("#followup-report summary")
        page.fill("#obj-report-facility-1002", "Gemini South")
        page.fill("#obj-report-mjd-1002", "60061.3")
        page.fill("#obj-report-z-1002", "0.05")
        page.select_option("#obj-report-classid-1002", "2332")
        page.click("#followup-report button")
        page.wait_for_load_state("load")
        assert page.locator("#followup-spectra tbody tr").count() == 1
        assert (SpectrumInfo.objects.get().classid, PlannedSpectra.objects.count(), WantedSpectra.objects.count()) == (
            2332,
            0,
            0,
        )
        s.shot("followup-object-reported")
