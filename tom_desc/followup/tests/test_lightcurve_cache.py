"""followup_lightcurve, the per-object copy of elasticc2_diaforcedsource that ltcv and
gethottransients read: PostgreSQL keeps it right through every kind of write, and concurrent
writers of one object lose no point."""

import threading

import pytest
from django.db import connection, connections, transaction

from devstack.pytest_plugin import a_session_waits_on_a_lock
from followup.tests import handbuilt

CACHE_SQL = "SELECT diaobject_id, mjd, band, flux, fluxerr FROM followup_lightcurve ORDER BY diaobject_id"
# What the cache must hold, computed from the table itself, one row per object with points.
FROM_TABLE_SQL = """
SELECT diaobject_id,
       array_agg(midpointtai ORDER BY midpointtai, diaforcedsource_id),
       array_agg(filtername ORDER BY midpointtai, diaforcedsource_id),
       array_agg(psflux ORDER BY midpointtai, diaforcedsource_id),
       array_agg(psfluxerr ORDER BY midpointtai, diaforcedsource_id)
FROM elasticc2_diaforcedsource GROUP BY diaobject_id ORDER BY diaobject_id
"""
INSERT_SQL = (
    "INSERT INTO elasticc2_diaforcedsource (diaforcedsource_id, diaobject_id, midpointtai, filtername, psflux, "
    "psfluxerr) VALUES (%s, %s, %s, %s, %s, %s)"
)


def rows(sql: str) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def assert_cache_current() -> list[tuple]:
    cache = rows(CACHE_SQL)
    assert cache == rows(FROM_TABLE_SQL)
    return cache


@pytest.mark.django_db
def test_the_cache_follows_inserts_updates_deletes_and_truncate():
    handbuilt.build()  # one INSERT a point
    cache = assert_cache_current()
    assert [r[0] for r in cache] == [1001, 1002, 1004]  # 1003 has no forced point: no row
    assert cache[0][1:] == tuple(handbuilt.expected_curve(1001).values())  # the handbuilt numbers
    with connection.cursor() as cur:
        # one statement, many objects, a point between two others; and a repeat that adds nothing
        cur.execute(
            "INSERT INTO elasticc2_diaforcedsource (diaforcedsource_id, diaobject_id, midpointtai, filtername, "
            "psflux, psfluxerr) VALUES (1002900, 1002, 60045.0, 'u', 1.5, 0.5), (1003900, 1003, 60016, 'r', 7, 1),"
            " (1001000, 1001, 60000.0, 'g', 99, 9) ON CONFLICT DO NOTHING"
        )
        assert cur.rowcount == 2
        cache = assert_cache_current()
        assert [r[0] for r in cache] == [1001, 1002, 1003, 1004]
        assert cache[1][1] == [60040.0, 60045.0, 60050.0, 60060.0] and cache[1][2][1] == "u"
        assert cache[0][3][0] == -5.0  # the conflicting repeat changed nothing
        cur.execute("UPDATE elasticc2_diaforcedsource SET psflux = psflux * 2 WHERE diaobject_id = 1004")
        assert assert_cache_current()[3][3] == [40.0, 10000.0]
        # a point moved to another object (another hash partition): both objects rebuilt
        cur.execute("UPDATE elasticc2_diaforcedsource SET diaobject_id = 1004 WHERE diaforcedsource_id = 1003900")
        cache = assert_cache_current()
        assert [r[0] for r in cache] == [1001, 1002, 1004] and cache[2][1] == [60016.0, 60090.0, 60100.0]
        cur.execute("DELETE FROM elasticc2_diaforcedsource WHERE diaobject_id = 1002 OR diaforcedsource_id = 1001000")
        cache = assert_cache_current()
        assert [r[0] for r in cache] == [1001, 1004] and len(cache[0][1]) == 4
        cur.execute("TRUNCATE elasticc2_diaforcedsource")
    assert rows(CACHE_SQL) == []


@pytest.mark.django_db
def test_copy_keeps_it_too():
    handbuilt.build()
    with (
        connection.cursor() as cur,
        cur.copy(
            "COPY elasticc2_diaforcedsource (diaforcedsource_id, diaobject_id, midpointtai, filtername, psflux, "
            "psfluxerr) FROM STDIN"
        ) as copy,
    ):
        for k in range(50):
            copy.write_row((2_000_000 + k, 2000 + k % 5, 60100.0 - k, "z", float(k), 1.0))
    cache = assert_cache_current()
    assert [r[0] for r in cache][-5:] == [2000, 2001, 2002, 2003, 2004]
    assert cache[-1][1] == [60100.0 - k for k in (49, 44, 39, 34, 29, 24, 19, 14, 9, 4)]


@pytest.mark.django_db(transaction=True)
def test_two_transactions_adding_points_to_one_object_lose_none():
    """Writer A adds a point to object 1 and holds its transaction open; writer B adds another
    point to the same object and must wait for A, then rebuild from what A committed. Without
    the lock B's rebuild (from a snapshot without A's point) would overwrite A's."""
    with connection.cursor() as cur:
        cur.execute(INSERT_SQL, [10, 1, 60000.0, "g", 1.0, 0.1])
    a_inserted, a_commit = threading.Event(), threading.Event()
    failures = []

    def writer(point, before_commit=None):
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(INSERT_SQL, point)
                if before_commit:
                    before_commit()
        except Exception as exc:  # reported by the assert below
            failures.append(exc)
        finally:
            connections.close_all()

    a = threading.Thread(
        target=writer, args=([11, 1, 60001.0, "r", 2.0, 0.2], lambda: (a_inserted.set(), a_commit.wait(10)))
    )
    a.start()
    assert a_inserted.wait(10)
    b = threading.Thread(target=writer, args=([12, 1, 60002.0, "i", 3.0, 0.3],))
    b.start()
    if not a_session_waits_on_a_lock():
        pytest.fail("writer B never waited for writer A")
    a_commit.set()
    a.join(20)
    b.join(20)
    assert not failures, failures
    assert rows(CACHE_SQL) == [(1, [60000.0, 60001.0, 60002.0], ["g", "r", "i"], [1.0, 2.0, 3.0], [0.1, 0.2, 0.3])]
    assert_cache_current()
