"""What ELAsTiCC2's page tests and its broker-page tests (brokermetrics/tests/) share: the
hand-built case (handbuilt.py) on the live gunicorn, with its metrics computed, an astronomer
and an admin who log in with the browser harness's password (elasticc/pages/tests/browser.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from elasticc.pages.tests.browser import PASSWORD
from elasticc.pages.tests.support import refresh_metrics
from elasticc2.pages.tests import handbuilt


@pytest.fixture
def e2site(live_server_url):
    """(server URL, classifier A's id): astronomer "astro2", admin "boss2"."""
    a, _ = handbuilt.build()
    refresh_metrics()
    User.objects.create_user("astro2", password=PASSWORD)
    boss = User.objects.create_user("boss2", password=PASSWORD)
    boss.groups.add(Group.objects.get(name="elasticc_admin"))
    return live_server_url, a.classifier_id
