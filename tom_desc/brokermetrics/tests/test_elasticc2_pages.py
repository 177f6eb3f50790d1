"""ELAsTiCC2's broker pages (/elasticc2/brokers/) through Django's test client, on ELAsTiCC2's
hand-built case (elasticc2/pages/tests/handbuilt.py): the list, a classifier's page, the four
confusion matrices an admin sees, cell by cell as worked out by hand."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from brokermetrics.tests.test_pages import rendered_cells
from elasticc.pages.tests.support import assert_login_required, page, refresh_metrics
from elasticc2.pages.tests import handbuilt

pytestmark = pytest.mark.django_db


@pytest.fixture
def e2case():
    a, b = handbuilt.build()
    refresh_metrics()
    return a.classifier_id, b.classifier_id


@pytest.fixture
def admin2():
    user = User.objects.create_user("boss-e2", password="x-long-password")
    user.groups.add(Group.objects.get(name="elasticc_admin"))
    c = Client()
    c.force_login(user)
    return c


def test_pages_need_login(client, e2case):
    a, _ = e2case
    assert_login_required(client, ["/elasticc2/brokers/", f"/elasticc2/brokers/{a}/"])


def test_broker_pages(astronomer, admin2, e2case):
    a, b = e2case
    html = page(astronomer, "/elasticc2/brokers/")
    assert 'data-campaign="elasticc2"' in html and "ELAsTiCC2 broker classifiers" in html
    assert f'data-classifier="{a}"' in html and 'data-messages="7"' in html
    assert f'href="/elasticc2/brokers/{a}/"' in html and f'href="/elasticc/brokers/{a}/"' not in html
    detail = page(astronomer, f"/elasticc2/brokers/{a}/")
    assert 'id="confusion-hidden"' in detail and "100 %" in detail
    admin = page(admin2, f"/elasticc2/brokers/{a}/")
    for level, expected in handbuilt.EXPECTED_A.items():
        assert rendered_cells(admin, level) == expected, level
    assert "general" in admin and 'id="confusion-broad"' in admin
    assert rendered_cells(page(admin2, f"/elasticc2/brokers/{a}/?window=2026-03-01"), "exact") == (
        handbuilt.EXPECTED_A_DAY1_EXACT
    )
    switched = admin2.get(f"/elasticc2/brokers/{a}/?classifier={b}&window=all")
    assert switched["Location"] == f"/elasticc2/brokers/{b}/?window=all"
    assert admin2.get("/elasticc2/brokers/999999/").status_code == 404
