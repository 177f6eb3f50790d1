"""Fixtures of ELAsTiCC2's page tests: ELAsTiCC's clients and browser (elasticc/pages/tests/), and
ELAsTiCC2's hand-built case with its metrics computed."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from elasticc.pages.tests.browser import browser  # noqa: F401
from elasticc.pages.tests.support import admin_client, astronomer, refresh_metrics  # noqa: F401
from elasticc2.pages.tests import handbuilt
from elasticc2.pages.tests.support import e2site  # noqa: F401


@pytest.fixture
def e2case():
    a, b = handbuilt.build()
    refresh_metrics()
    return a.classifier_id, b.classifier_id


@pytest.fixture
def admin2(db):
    """An elasticc_admin member's own client (the `astronomer` and `admin_client` fixtures share one)."""
    user = User.objects.create_user("boss-e2", password="x-long-password")
    user.groups.add(Group.objects.get(name="elasticc_admin"))
    c = Client()
    c.force_login(user)
    return c
