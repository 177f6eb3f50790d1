"""The summary page: exact counts for small tables, planner estimates (flagged) for big ones."""

import pytest
from django.contrib.auth.models import User
from django.db import connection

from elasticc.models import DiaAlert, DiaObject
from elasticc.pages import summary
from tom_desc.lib import rowcounts

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


def scans_in_this_transaction(table: str) -> int:
    """Sequential plus index scans of a table's partitions so far in this transaction."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT COALESCE(SUM(COALESCE(s.seq_scan, 0) + COALESCE(s.idx_scan, 0)), 0)
            FROM pg_partition_tree(%s::regclass) t JOIN pg_stat_xact_user_tables s ON s.relid = t.relid
        """,
            [table],
        )
        return int(cur.fetchone()[0])


def test_small_tables_are_counted_exactly(alerts):
    counts = {c.table: c for c in summary.table_counts()}
    assert counts["elasticc_diaobject"].rows == 20 and not counts["elasticc_diaobject"].estimate
    assert counts["elasticc_diaalert"].rows == 20 and not counts["elasticc_diaalert"].estimate
    assert counts["elasticc_classidofgentype"].rows == 93
    assert rowcounts.alert_counts() == {"sent": 5, "unsent": 15, "estimate": False}


def test_big_tables_use_planner_estimates_without_scanning(alerts, settings):
    settings.SUMMARY_EXACT_COUNT_MAX_BYTES = 0  # every table counts as "big"
    with connection.cursor() as cur:
        cur.execute("ANALYZE elasticc_diaalert")
    before = scans_in_this_transaction("elasticc_diaalert")
    count = rowcounts.count_table("elasticc_diaalert")
    alert_counts = rowcounts.alert_counts()
    assert scans_in_this_transaction("elasticc_diaalert") == before, "an estimate must not read the table"
    assert count.estimate
    assert count.rows == 20  # freshly analyzed statistics are exact on a table this small
    assert alert_counts["estimate"]
    assert alert_counts["sent"] + alert_counts["unsent"] == 20
    assert alert_counts["unsent"] == 15


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
