"""The follow-up pages (Django's test client; in Chromium: test_browser.py): hot transients with
its window, sorting, pages and sparklines; spectra wanted with its filters and the forms that ask,
plan, drop a plan and report; the object page's section; the landing page's links."""

import math

import pytest
from django.test import RequestFactory
from django.urls import resolve

from elasticc.pages.tests.support import page
from followup import hotlist, sections
from followup.models import PlannedSpectra, SpectrumInfo, WantedSpectra
from followup.tests.conftest import call


def rows(html: str, table: str) -> list[int]:
    import re

    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return [int(m) for m in re.findall(r'<tr data-object="(\d+)"', body)]


def test_hot_transients_window_and_sorting(clients, objects):
    html = page(clients["user"], "/elasticc2/followup/hot/")
    # "now" is the latest detection the TOM knows (60100; 1005's at 60055 was never sent), 30 days
    assert rows(html, "hot-table") == [1004] and "up to MJD 60100.000" in html
    assert f"{31.4 - 2.5 * math.log10(5000):.2f} (g)" in html  # brightest detection, mag AB
    assert html.count('<svg class="sparkline"') == 1 and "<polyline" in html
    url = "/elasticc2/followup/hot/?mjd_now=60055&days=50"
    assert rows(page(clients["user"], url), "hot-table") == [1002, 1001, 1003]  # latest detection first
    for sort, expected in [
        ("objectid", [1001, 1002, 1003]),
        ("-objectid", [1003, 1002, 1001]),
        ("brightest", [1001, 1002, 1003]),  # peak flux 2000, 800, 400 nJy
        ("-latest", [1003, 1001, 1002]),
        ("detections", [1001, 1002, 1003]),  # 2, then ties by id
    ]:
        assert rows(page(clients["user"], f"{url}&sort={sort}"), "hot-table") == expected, sort
    sorted_html = page(clients["user"], f"{url}&sort=objectid")
    assert "sort=-objectid" in sorted_html  # clicking the sorted column again reverses it
    assert "no points" in sorted_html  # 1003 has no forced photometry: no sparkline


def test_hot_transients_pages_and_bad_parameters(clients, objects, monkeypatch):
    monkeypatch.setattr(hotlist, "PAGE_SIZE", 2)
    url = "/elasticc2/followup/hot/?mjd_now=60055&days=50&sort=objectid"
    first = page(clients["user"], url)
    assert rows(first, "hot-table") == [1001, 1002] and 'id="hot-next"' in first and "page 1 of 2" in first
    assert rows(page(clients["user"], url + "&page=2"), "hot-table") == [1003]
    assert 'id="hot-empty"' in page(clients["user"], url + "&page=9")
    bad = page(clients["user"], "/elasticc2/followup/hot/?days=forever&sort=magic")
    assert 'id="hot-problem"' in bad and rows(bad, "hot-table") == [1004]  # defaults used
    assert clients["anonymous"].get("/elasticc2/followup/hot/").status_code == 302


def test_hot_transients_with_nothing_streamed(clients):
    assert 'id="hot-none"' in page(clients["user"], "/elasticc2/followup/hot/")
    assert 'id="wanted-empty"' in page(clients["user"], "/elasticc2/followup/spectra/")


def test_spectra_wanted_filters(clients, objects):
    call(clients["user"], "askforspectrum", {"requester": "p", "objectids": [1001, 1002], "priorities": [5, 2]})
    # By default: detected in the 14 days before the latest detection the TOM knows (60100): none of them
    assert 'id="wanted-empty"' in page(clients["user"], "/elasticc2/followup/spectra/")
    html = page(clients["user"], "/elasticc2/followup/spectra/?detected_since_mjd=0")
    assert rows(html, "wanted-table") == [1001, 1002]
    assert f"{31.4 - 2.5 * math.log10(2000):.2f}" in html  # 1001's latest g, mag AB
    limited = page(clients["user"], "/elasticc2/followup/spectra/?detected_since_mjd=0&lim_mag=23.5&lim_mag_band=g")
    assert rows(limited, "wanted-table") == [1001]
    half = page(clients["user"], "/elasticc2/followup/spectra/?detected_since_mjd=0&lim_mag=23.5")
    assert "needs both the magnitude and the band" in half and rows(half, "wanted-table") == [1001, 1002]


def test_spectra_forms_plan_drop_report_ask(clients, objects):
    user = clients["user"]
    back = "/elasticc2/followup/spectra/?detected_since_mjd=0"
    call(user, "askforspectrum", {"requester": "p", "objectids": [1001, 1002], "priorities": [5, 2]})
    response = user.post("/elasticc2/followup/plan", {"objectid": 1001, "facility": "Keck", "plan_mjd": 60040.5,
                                                      "comment": "blue arm", "next": back})  # fmt: skip
    assert response.status_code == 302 and response["Location"] == back
    plan = PlannedSpectra.objects.get()
    assert (plan.facility, plan.comment, plan.plantime.isoformat()) == ("Keck", "blue arm", "2023-04-06T12:00:00+00:00")
    html = page(user, back)
    assert rows(html, "wanted-table") == [1002] and "Keck" in html.split('id="plans-table"')[1]  # claimed
    assert "Planned: a spectrum of 1001 at Keck." in html
    user.post("/elasticc2/followup/removeplan", {"objectid": 1001, "facility": "Keck", "next": back})
    assert not PlannedSpectra.objects.exists()
    user.post("/elasticc2/followup/report", {"objectid": 1001, "facility": "Keck", "mjd": 60041, "z": "0.3",
                                             "classid": "2243", "next": back})  # fmt: skip
    info = SpectrumInfo.objects.get()
    assert (info.mjd, info.z, info.classid) == (60041.0, pytest.approx(0.3), 2243)
    assert list(WantedSpectra.objects.values_list("diaobject_id", flat=True)) == [1002]
    user.post("/elasticc2/followup/ask", {"objectid": 1004, "requester": "me", "priority": 4, "next": back})
    assert WantedSpectra.objects.get(diaobject_id=1004).wantspec_id == "1004 ; me"


@pytest.mark.parametrize(
    "route, data, message",
    [
        ("plan", {"objectid": 1001, "facility": ""}, "facility: This field is required."),
        ("plan", {"objectid": 1001, "facility": "K", "plan_mjd": "soon"}, "plan_mjd: Enter a number."),
        ("plan", {"objectid": 9999, "facility": "K"}, "Unknown objectid 9999"),
        (
            "report",
            {"objectid": 1001, "facility": "K", "mjd": 60041, "classid": "7"},
            "classid: Select a valid choice.",
        ),
        ("report", {"objectid": 1001, "facility": "K"}, "mjd: This field is required."),
        ("ask", {"objectid": 1001, "requester": "me", "priority": 9}, "priority: Ensure this value is less than"),
        ("ask", {"objectid": 1005, "requester": "me", "priority": 1}, "Unknown objectid 1005"),
    ],
)
def test_bad_forms_save_nothing(clients, objects, route, data, message):
    response = clients["user"].post(
        f"/elasticc2/followup/{route}", {**data, "next": "https://elsewhere.example/"}, follow=True
    )
    assert response.redirect_chain[0][0] == "/elasticc2/followup/spectra/"  # never to another host
    assert message in response.content.decode()
    assert not (PlannedSpectra.objects.exists() or SpectrumInfo.objects.exists() or WantedSpectra.objects.exists())


def test_object_page_section(clients, objects):
    call(clients["user"], "askforspectrum", {"requester": "pipeline", "objectids": [1001], "priorities": [4]})
    call(clients["user"], "planspectrum", {"objectid": 1001, "facility": "Gemini", "comment": "tonight"})
    call(clients["user"], "reportspectruminfo", {"objectid": 1001, "facility": "SALT", "mjd": 60025.5, "z": 0.2,
                                                 "classid": 2243})  # fmt: skip
    call(clients["user"], "askforspectrum", {"requester": "pipeline", "objectids": [1001], "priorities": [4]})
    html = page(clients["user"], "/elasticc2/objects/1001/")
    section = html.split('<section id="followup">', 1)[1].split("</section>", 1)[0]
    assert "pipeline" in section and "Gemini" in section and "tonight" in section
    assert "60025.500" in section and "2243" in section and 'value="observer"' in section  # asks as oneself
    admin = page(
        clients["admin"], "/elasticc2/objects/1005/"
    )  # never sent: the admin sees it, the TOM does not know it
    assert 'id="followup-unknown"' in admin
    assert clients["user"].get("/elasticc2/objects/1005/").status_code == 404


def test_section_only_on_elasticc2_object_pages_and_landing_links(clients, objects):
    request = RequestFactory().get("/elasticc/objects/1001/")
    request.resolver_match = resolve("/elasticc/objects/1001/")
    assert sections.object_section(request) == {"followup": None}  # ELAsTiCC has no follow-up tables
    landing = page(clients["user"], "/elasticc/")
    assert 'id="followup-section"' in landing and 'href="/elasticc2/followup/hot/"' in landing
