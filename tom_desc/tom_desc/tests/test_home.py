"""The site's root is the DESC TOM's landing page (tom_desc/home.py), not the TOM Toolkit's
placeholder: what it holds, where each thing is, reachable by anonymous visitors and in Chromium."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from elasticc.pages.tests.browser import PASSWORD, browser, logged_in, site  # noqa: F401
from elasticc.tests.api_data import seed

PLACEHOLDER = "Congratulations"


def links(html: str) -> set[str]:
    return set(re.findall(r'href="(/[^"#?]*)', html))


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page(client):
    answer = client.get("/")
    assert answer.status_code == 302 and answer["Location"] == "/accounts/login/?next=/"


@pytest.mark.django_db
def test_every_link_of_the_home_page_answers(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed(n_objects=3)
    client.force_login(User.objects.create_user("astro", password=PASSWORD))
    html = client.get("/").content.decode()
    assert PLACEHOLDER not in html
    assert '<span class="me-3" data-table="elasticc_diaobject">3 objects</span>' in html
    assert "The DESC TOM" in html and "nJy" in html and "MJD (TAI)" in html
    assert 'data-table="elasticc2_ppdbdiaobject">0 objects</span>' in html
    found = links(html)
    expected = {
        "/elasticc/",
        "/elasticc/objects/",
        "/elasticc/brokers/",
        "/elasticc2/",
        "/elasticc2/objects/",
        "/elasticc2/brokers/",
        "/elasticc2/followup/hot/",
        "/elasticc2/followup/spectra/",
        "/accounts/api-token/",
        "/api/docs/",
        "/api/redoc/",
        "/elasticc/columns/",
    }
    assert expected <= found
    for path in sorted(expected):
        assert client.get(path).status_code == 200, path


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_home_page_in_a_browser(browser, site):  # noqa: F811
    url, _, _ = site
    with logged_in(browser, url, "astro") as s:
        page = s.open("/")
        assert page.inner_text("h1") == "The DESC TOM"
        assert PLACEHOLDER not in page.content()
        assert page.locator("#home-campaigns .card").count() == 2
        assert page.inner_text("[data-table=elasticc_diaobject]") == "6 objects"  # handbuilt.py's six
        s.shot("home")
        page.click("#home-campaigns a[href='/elasticc/objects/']")
        page.wait_for_load_state("load")
        assert page.url == f"{url}/elasticc/objects/"
        page = s.open("/")
        page.click("#home-hot")
        page.wait_for_load_state("load")
        assert page.url == f"{url}/elasticc2/followup/hot/"
