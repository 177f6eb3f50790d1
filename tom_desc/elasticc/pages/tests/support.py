"""What the page tests of elasticc and brokermetrics share: the hand-built case with its metrics
computed, logged-in clients, and a page fetch that fails on anything loaded from another host.

The fixtures reach the tests through conftest.py (here and in brokermetrics/tests/). The metrics
are computed by the `refresh_metrics` command, called by name, as an operator would: elasticc's
tests import nothing of brokermetrics.
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from elasticc.pages.tests import handbuilt

# A resource the browser would load from another host (plain <a> links to documentation are fine).
EXTERNAL = re.compile(
    r"""<(?:script|link|img|iframe|source|embed|object)\b[^>]*\b(?:src|href|data)\s*=\s*["']"""
    r"""(?:https?:)?//""",
    re.I,
)


def refresh_metrics() -> None:
    call_command("refresh_metrics", "--no-progress", stdout=StringIO())


@pytest.fixture
def case():
    a, b = handbuilt.build(photometry=True)
    refresh_metrics()
    return a.classifierId, b.classifierId


@pytest.fixture
def astronomer(client):
    client.force_login(User.objects.create_user("astro", password="x-long-password"))
    return client


@pytest.fixture
def admin_client(client):
    user = User.objects.create_user("boss", password="x-long-password")
    user.groups.add(Group.objects.get(name="elasticc_admin"))
    client.force_login(user)
    return client


def page(client, url, status=200):
    response = client.get(url, follow=False)
    assert response.status_code == status, (url, response.status_code)
    html = response.content.decode()
    assert not EXTERNAL.search(html), f"{url} references another host: {EXTERNAL.search(html).group(0)}"
    return html


def assert_login_required(client, urls) -> None:
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), url


def assert_no_truth(client, urls) -> None:
    """What a non-admin sees on these pages: no truth, no gentype, no confusion matrix."""
    for url in urls:
        html = page(client, url)
        assert 'id="truth"' not in html, url
        # the summary lists the taxonomy tables by name; nothing else may mention a gentype
        text = re.sub(
            r"elasticc_gentypeofclassid|elasticc_classidofgentype|gentypes of classIds|classIds of gentypes", "", html
        )
        assert "gentype" not in text.lower(), url
        assert "confusion-exact" not in html and "confusion-category" not in html, url
