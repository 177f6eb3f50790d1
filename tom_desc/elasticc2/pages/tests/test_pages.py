"""ELAsTiCC2's pages through Django's test client on its hand-built case (handbuilt.py): the landing
pages of both campaigns, the object page (the ppdb rows the stream revealed for users outside
elasticc_admin, everything and the truth for them). Its broker pages are brokermetrics' and
tested there (brokermetrics/tests/test_elasticc2_pages.py); ELAsTiCC's pages, unchanged, in
elasticc/pages/tests/ and brokermetrics/tests/."""

import re

import pytest

from elasticc.pages.tests.support import assert_login_required, page

pytestmark = pytest.mark.django_db


def test_pages_need_login(client, e2case):
    assert_login_required(client, ["/elasticc2/", "/elasticc2/objects/1/", "/elasticc2/objects/?id=1"])


def test_both_campaigns_on_the_landing_page(astronomer, e2case):
    html = page(astronomer, "/elasticc/")
    section = re.search(r'<div class="card mb-3" id="elasticc2-section">.*?</div>\s*</div>', html, re.S).group(0)
    assert "6 ELAsTiCC2 alerts" in section and "not yet sent" not in section  # the future is the admins'
    assert "8 broker messages" in section
    assert 'href="/elasticc2/"' in section and 'href="/elasticc2/brokers/"' in section
    assert "Judge the brokers" in html  # ELAsTiCC's own sections stay


def test_elasticc2_landing(astronomer, admin2, e2case):
    html = page(astronomer, "/elasticc2/")
    assert 'data-count="sent">6<' in html and 'data-count="unsent"' not in html
    assert 'data-table="elasticc2_brokermessage">8<' in html
    assert "elasticc2_ppdbdiaobject" not in html and "elasticc2_diaobjecttruth" not in html
    latest = re.findall(r'href="/elasticc2/objects/(\d+)/"', html)
    assert latest == ["6", "5", "4", "3", "2", "1"]  # the six sent alerts, newest first
    admin = page(admin2, "/elasticc2/")
    assert 'data-count="unsent">2 not yet sent' in admin.replace("\n", "")
    assert 'data-table="elasticc2_ppdbdiaobject">7<' in admin


def test_object_lookup(astronomer, admin2, e2case):
    assert astronomer.get("/elasticc2/objects/?id=3")["Location"] == "/elasticc2/objects/3/"
    # Object 7 has no sent alert: for users outside elasticc_admin it does not exist yet.
    assert 'id="object-not-found"' in page(astronomer, "/elasticc2/objects/?id=7")
    assert 'id="object-not-found"' in page(astronomer, "/elasticc2/objects/?id=99999999999999999999")
    assert admin2.get("/elasticc2/objects/?id=7")["Location"] == "/elasticc2/objects/7/"


def test_object_page_shows_what_the_stream_revealed(astronomer, e2case):
    html = page(astronomer, "/elasticc2/objects/1/")
    assert 'data-campaign="elasticc2"' in html and "ELAsTiCC2 diaObject" in html
    # Alert 11 (MJD 60001) was sent, alert 12 (60003) not: one alert, the photometry up to 60001.
    assert 'id="alert-11"' in html and 'id="alert-12"' not in html
    lightcurve = re.search(r'<script id="lightcurve-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    assert "60003" not in lightcurve and "60002" not in lightcurve and "60004" not in lightcurve
    assert "60000" in lightcurve and "60001" in lightcurve
    assert 'id="truth"' not in html and "gentype" not in html.lower()
    # Classifications: both classifiers' messages about alert 11, latest classes named by the ELAsTiCC2 taxonomy.
    assert "2222 Ia: 0.40" in html and "2226 91bg: 0.35" in html
    assert 'href="/elasticc2/brokers/' in html
    assert astronomer.get("/elasticc2/objects/7/").status_code == 404  # nothing of it sent yet
    assert astronomer.get("/elasticc2/objects/99/").status_code == 404
    assert astronomer.get("/elasticc2/objects/99999999999999999999/").status_code == 404


def test_object_page_for_admins(admin_client, e2case):
    html = page(admin_client, "/elasticc2/objects/1/")
    assert 'id="alert-11"' in html and 'id="alert-12"' in html
    assert 'id="truth-gentype">10<' in html and "2222 Ia" in html
    assert "60004" in re.search(r'<script id="lightcurve-data"[^>]*>(.*?)</script>', html, re.S).group(1)
    assert page(admin_client, "/elasticc2/objects/7/")  # unsent, but the admins' to see
