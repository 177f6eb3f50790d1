"""The site's own pages outside the ELAsTiCC app, in headless Chromium under the
Content-Security-Policy: the API docs (Swagger UI, Redoc), the token page, the profile and, for
an administrator, the user list. Nothing may be blocked (browser.py collects what the policy
refuses) and nothing may come from another host."""

from __future__ import annotations

from django.contrib.auth.models import User

from elasticc.pages.tests.browser import MARKS, PASSWORD, browser, logged_in  # noqa: F401

pytestmark = MARKS


def test_site_pages_run_under_the_policy(browser, live_server_url):  # noqa: F811
    User.objects.create_superuser("root", password=PASSWORD)
    with logged_in(browser, live_server_url, "root") as s:
        for path, drawn in [("/api/docs/", ".swagger-ui .opblock"), ("/api/redoc/", ".menu-content")]:
            # pages of their own (no site navbar): opened directly, checked once drawn from the schema
            answer = s.page.goto(live_server_url + path, wait_until="load")
            assert answer.status == 200 and "script-src 'self'" in answer.headers["content-security-policy"]
            s.page.wait_for_selector(drawn, timeout=30_000)
            # Redoc's own footer logo points at its CDN: the policy blocks it, as it should.
            s.csp_violations = [v for v in s.csp_violations if "cdn.redoc.ly/" not in v]
            s.shot("api" + path.strip("/").replace("/", "-"))
        s.open("/accounts/api-token/")
        s.open("/users/profile/")
        page = s.open("/users/")
        assert "root" in page.content()
