"""Production-safe defaults: a strict Content-Security-Policy, HSTS behind TLS, /users/ for
administrators only, and the REST API in JSON only (no browsable HTML) unless DEBUG."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.contrib.auth.models import User

from tom_desc.tests.test_settings import PROJECT_DIR

PASSWORD = "A-long-test-password-42"


def settings_under(env: dict) -> dict:
    """Some settings as a fresh process with this environment sees them."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "from rest_framework.settings import api_settings as a; "
        "print(json.dumps({'hsts': getattr(s, 'SECURE_HSTS_SECONDS', 0), 'proxies': s.ALLAUTH_TRUSTED_PROXY_COUNT,"
        " 'renderers': [c.__name__ for c in a.DEFAULT_RENDERER_CLASSES], 'csp': s.CONTENT_SECURITY_POLICY}))"
    )
    base = {
        "DATABASE_URL": "postgres://u@localhost/db",
        "DJANGO_SECRET_KEY": "x",
        "DJANGO_SETTINGS_MODULE": "tom_desc.settings",
    }
    keep = {k: v for k, v in __import__("os").environ.items() if k in ("PATH", "HOME", "PYTHONPATH")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env={**keep, **base, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_hsts_and_proxy_count_only_behind_tls():
    plain = settings_under({})
    assert plain["hsts"] == 0 and plain["proxies"] == 0
    tls = settings_under({"BEHIND_TLS_PROXY": "1"})
    assert tls["hsts"] >= 180 * 24 * 3600 and tls["proxies"] == 1


def test_browsable_api_only_with_debug():
    assert settings_under({})["renderers"] == ["JSONRenderer"]
    assert "BrowsableAPIRenderer" in settings_under({"DEBUG": "1"})["renderers"]
    assert settings_under({"DEBUG": "1", "BROWSABLE_API": "0"})["renderers"] == ["JSONRenderer"]


@pytest.mark.django_db
def test_pages_carry_a_strict_policy(client):
    client.force_login(User.objects.create_user("astro", password=PASSWORD))
    for path in ("/", "/elasticc/", "/accounts/login/", "/accounts/api-token/", "/api/docs/"):
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert "unsafe-eval" not in policy
    # the TOM Toolkit's target pages use inline scripts and htmx expressions: allowed there,
    # still nothing from another host
    toolkit = client.get("/targets/")["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline' 'unsafe-eval'" in toolkit and "http" not in toolkit


@pytest.mark.django_db
def test_api_answers_json_even_to_a_browser(client):
    client.force_login(User.objects.create_user("astro", password=PASSWORD))
    answer = client.get("/elasticc/diaobject/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert answer.status_code in (200, 406)
    assert answer["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_users_page_is_for_administrators(client):
    User.objects.create_user("someone-else", password=PASSWORD)
    client.force_login(User.objects.create_user("astro", password=PASSWORD))
    answer = client.get("/users/")
    assert answer.status_code == 302 and answer["Location"] == "/users/profile/"
    followed = client.get("/users/", follow=True).content.decode()
    assert "someone-else" not in followed
    client.force_login(User.objects.create_superuser("root", password=PASSWORD))
    listing = client.get("/users/")
    assert listing.status_code == 200 and "someone-else" in listing.content.decode()
