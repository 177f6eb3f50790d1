"""The pages in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright) against
the live gunicorn: the browser, a session that refuses other hosts and collects JavaScript
errors, and the site (the hand-built case, a poller heartbeat, an astronomer and an admin).
elasticc's and brokermetrics' test_browser.py drive it; their conftest.py brings the fixtures.
Each page is screenshot into test-artifacts/pages/.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import Group, User

from devstack.pytest_plugin import REPO_DIR, require
from elasticc.models import BrokerPollStatus
from elasticc.pages.tests import handbuilt
from elasticc.pages.tests.support import refresh_metrics

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_DIR / "test-artifacts" / "pages"
PASSWORD = "a-long-test-password-1"
# No sandbox (root in a container), no GPU, and nothing Chromium would fetch on its own
# (component updates, sync, QUIC probes): the only traffic is the pages' own requests.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every browser test module's pytestmark: the server is another process and sees only committed data.
MARKS = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
    require(Path(CHROMIUM), "Debian's chromium drives the page tests: `make browser-deps` (make test does it)")
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
        # What the Content-Security-Policy blocks (an inline script, eval, another host's file)
        # Chromium reports on the console; every page must run under the policy untouched.
        self.csp_violations: list[str] = []
        self.page.on("console", self._console)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def _route(self, route, request):
        host = urlparse(request.url).hostname
        if host != "127.0.0.1":
            self.foreign.append(request.url)
            route.abort()
        else:
            route.continue_()

    def _console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

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
        assert "script-src 'self'" in response.headers.get("content-security-policy", ""), path
        # Bootstrap from our own static files styles the navbar (unstyled it would be a plain list).
        assert self.page.eval_on_selector("nav.navbar", "e => getComputedStyle(e).position") == "fixed", path
        return self.page

    def shot(self, name: str):
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def check(self):
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert self.errors == [], f"JavaScript errors: {self.errors}"
        assert self.csp_violations == [], f"blocked by the Content-Security-Policy: {self.csp_violations}"

    def close(self):
        self.context.close()


@contextmanager
def logged_in(browser, base_url: str, username: str):
    """A Session logged in as `username`; checked (no foreign request, no JavaScript error) when
    the test's steps succeed, closed in any case."""
    s = Session(browser, base_url)
    try:
        s.login(username)
        yield s
        s.check()
    finally:
        s.close()


@pytest.fixture
def site(live_server_url):
    a, b = handbuilt.build(photometry=True)
    refresh_metrics()
    now = datetime.now(UTC)
    BrokerPollStatus.objects.create(
        pollerId="bench-broker@h:1",
        pollerName="bench-broker",
        host="h",
        pid=1,
        groupId="g",
        topics="t",
        state="running",
        started=now - timedelta(hours=1),
        lastPoll=now,
        messagesStored=9,
        lag=42,
    )
    User.objects.create_user("astro", password=PASSWORD)
    boss = User.objects.create_user("boss", password=PASSWORD)
    boss.groups.add(Group.objects.get(name="elasticc_admin"))
    return live_server_url, a.classifierId, b.classifierId
