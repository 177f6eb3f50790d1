"""tom_desc/lib/rowcounts.py: exact counts for small tables, planner estimates (flagged, read from
the catalog without touching the table) for big ones; alerts sent and unsent by the same rule."""

import pytest
from django.db import connection

from elasticc.pages.tests.test_summary import alerts  # noqa: F401 (20 alerts, 5 sent)
from tom_desc.lib import rowcounts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("alerts")]


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


def test_small_tables_are_counted_exactly():
    count = rowcounts.count_table("elasticc_diaalert", "Alerts")
    assert (count.rows, count.estimate, count.label) == (20, False, "Alerts")
    assert rowcounts.alert_counts() == {"sent": 5, "unsent": 15, "estimate": False}
    assert rowcounts.alert_counts("elasticc2_ppdbalert", "alertsenttimestamp") == {
        "sent": 0, "unsent": 0, "estimate": False
    }  # fmt: skip


def test_big_tables_use_planner_estimates_without_scanning(settings):
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
