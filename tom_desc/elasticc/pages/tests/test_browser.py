"""The pages in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright)
against the live gunicorn: log in, landing, searches, object page with its plots drawn,
broker pages, summary. Each page is screenshot into test-artifacts/pages/. Every request a
page makes must go to the local server: anything else is refused and fails the test, and
so does any JavaScript error.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import Group, User

from brokermetrics import refresh
from brokermetrics.tests import handbuilt
from devstack.pytest_plugin import REPO_DIR, require
from elasticc.models import BrokerPollStatus

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_DIR / "test-artifacts" / "pages"
PASSWORD = "a-long-test-password-1"
# No sandbox (root in a container), no GPU, and nothing Chromium would fetch on its own
# (component updates, sync, QUIC probes): the only traffic is the pages' own requests.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
]


@pytest.fixture(autouse=True, scope="module")
def _chromium_present():
    require(Path(CHROMIUM), "Debian's chromium drives the page tests: `make browser-deps` (make test does it)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the Django ORM calls of the
    # fixtures and the flush after each test are ordinary blocking calls and safe here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield b
            b.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Session:
    """One browser context: refuses requests to other hosts and collects page errors."""

    def __init__(self, browser, base_url: str):
        self.base_url = base_url
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def _route(self, route, request):
        host = urlparse(request.url).hostname
        if host != "127.0.0.1":
            self.foreign.append(request.url)
            route.abort()
        else:
            route.continue_()

    def login(self, username: str):
        self.open("/accounts/login/")
        self.page.fill("input[name=login]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("form button[type=submit]")
        self.page.wait_for_load_state("load")
        assert "/accounts/login/" not in self.page.url, "login failed"

    def open(self, path: str):
        response = self.page.goto(self.base_url + path, wait_until="load")
        assert response is not None and response.status == 200, (path, response and response.status)
        # Bootstrap from our own static files styles the navbar (unstyled it would be a plain list).
        assert self.page.eval_on_selector("nav.navbar", "e => getComputedStyle(e).position") == "fixed", path
        return self.page

    def shot(self, name: str):
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def check(self):
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert self.errors == [], f"JavaScript errors: {self.errors}"

    def close(self):
        self.context.close()


@pytest.fixture
def site(live_server_url):
    a, b = handbuilt.build(photometry=True)
    refresh.refresh_all()
    now = datetime.now(timezone.utc)
    BrokerPollStatus.objects.create(pollerId="bench-broker@h:1", pollerName="bench-broker", host="h", pid=1,
                                    groupId="g", topics="t", state="running", started=now - timedelta(hours=1),
                                    lastPoll=now, messagesStored=9, lag=42)
    User.objects.create_user("astro", password=PASSWORD)
    boss = User.objects.create_user("boss", password=PASSWORD)
    boss.groups.add(Group.objects.get(name="elasticc_admin"))
    return live_server_url, a.classifierId, b.classifierId


def test_pages_in_a_browser(browser, site):
    url, a, b = site
    s = Session(browser, url)
    try:
        s.login("astro")
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

        page = s.open("/elasticc/summary")
        page.wait_for_selector("#alerts-per-mjd .main-svg")
        poller = page.locator("#brokerpoll-status tr[data-poller='bench-broker@h:1']")
        assert "running" in poller.inner_text() and poller.locator("[data-lag]").inner_text() == "42"
        s.shot("summary")

        # The TOM Toolkit's own pages use the same offline frame.
        s.open("/")
        s.open("/targets/")
        s.shot("tom-targets")
        s.check()
    finally:
        s.close()


def test_admin_sees_truth_and_confusion_in_a_browser(browser, site):
    url, a, _ = site
    s = Session(browser, url)
    try:
        s.login("boss")
        page = s.open("/elasticc/objects/5/")
        page.wait_for_selector("#lightcurve .main-svg")
        assert page.inner_text("#truth-gentype") == "82"
        assert page.inner_text("#truth-classid") == "122 M-dwarf Flare"
        s.shot("object-5-admin")
        page = s.open(f"/elasticc/brokers/{a}/")
        page.wait_for_selector("#delay-histogram .main-svg")
        cell = page.locator("#confusion-exact tr[data-true='121'] td[data-pred='121']")
        assert cell.get_attribute("data-count") == "2"
        assert page.locator("#confusion-category tr[data-true='11'] td[data-pred='11']").get_attribute(
            "data-count") == "3"
        s.shot("broker-admin")
        s.check()
    finally:
        s.close()
