"""The ELAsTiCC summary page: its tables counted (exactly, when small: the rule itself is tested in
tom_desc/tests/test_rowcounts.py) and shown with the alerts sent and unsent."""

import pytest
from django.contrib.auth.models import User

from elasticc.models import DiaAlert, DiaObject
from elasticc.pages import summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts():
    DiaObject.objects.bulk_create(DiaObject(diaObjectId=i, ra=10.0 + i, decl=-5.0) for i in range(1, 21))
    DiaAlert.objects.bulk_create(
        DiaAlert(
            alertId=i * 100,
            diaSourceId=i * 100,
            diaObjectId=i,
            midPointTai=60000.0 + i,
            alertSentTimestamp="2026-01-01T00:00:00Z" if i <= 5 else None,
        )
        for i in range(1, 21)
    )


def test_small_tables_are_counted_exactly(alerts):
    counts = {c.table: c for c in summary.table_counts()}
    assert counts["elasticc_diaobject"].rows == 20 and not counts["elasticc_diaobject"].estimate
    assert counts["elasticc_diaalert"].rows == 20 and not counts["elasticc_diaalert"].estimate
    assert counts["elasticc_classidofgentype"].rows == 93


def test_summary_page(client, alerts):
    response = client.get("/elasticc/summary")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")

    client.force_login(User.objects.create_user("astro", password="x-long-password"))
    response = client.get("/elasticc/summary")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-table="elasticc_diaobject" data-estimate="false"' in html
    assert 'data-count="sent">5<' in html
    assert 'data-count="unsent">15<' in html
