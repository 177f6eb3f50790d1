"""Keyset pagination: complete walks under concurrent inserts, cursors, limits, counts, plans."""

import random
import threading
import time

import psycopg
import pytest
import requests
from conftest import _database_url
from django.db import connection
from django.test.utils import CaptureQueriesContext

from elasticc.api.pagination import decode_cursor, encode_cursor
from elasticc.api.serializers import column_names
from elasticc.tests.api_data import PASSWORD, make_user, seed


def walk(get, url):
    """Every row of every page, following `next`; also the pages' sizes."""
    rows, sizes = [], []
    while url:
        page = get(url)
        rows.extend(page["results"])
        sizes.append(len(page["results"]))
        url = page["next"]
    return rows, sizes


@pytest.fixture
def user_client(db, client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.force_login(make_user("walker", "elasticc_admin"))
    return client


def _insert_sources(cur, object_ids, index):
    """One new source per object (ids below and above the walk's position alike)."""
    cur.execute(
        """
        INSERT INTO elasticc_diasource ("diaSourceId", "diaObjectId", "midPointTai", "filterName",
                                        ra, decl, "psFlux", "psFluxErr", snr)
        SELECT o * 100000 + %s, o, 61000, 'i', 0, 0, 1, 1, 1 FROM unnest(%s::bigint[]) o""",
        [index, object_ids],
    )


def test_walk_sees_every_row_once_while_rows_are_inserted(user_client):
    """In-process walk, with inserts between every two pages (some before the cursor, some after)."""
    data = seed(n_objects=60, sources_per_object=5)
    before = set(data.source_ids)
    rng = random.Random(7)
    inserted = set()

    def get(url):
        page = user_client.get(url).json()
        objects = rng.sample(data.object_ids, 5)
        index = 50 + len(inserted) // 5
        with connection.cursor() as cur:
            _insert_sources(cur, objects, index)
        inserted.update(o * 100000 + index for o in objects)
        return page

    rows, sizes = walk(get, "/elasticc/diasource/?limit=7")
    ids = [r["diaSourceId"] for r in rows]
    assert len(ids) == len(set(ids)), "a row was returned twice"
    assert before <= set(ids), f"missed {sorted(before - set(ids))[:5]}"
    assert set(ids) <= before | inserted
    assert ids == sorted(ids)
    assert all(s == 7 for s in sizes[:-1]) and 1 <= sizes[-1] <= 7


@pytest.mark.django_db(transaction=True)
def test_walk_through_gunicorn_with_a_concurrent_writer(live_server_url, django_db_blocker):
    """A real concurrent writer (its own connection, committing) while a script walks over HTTP."""
    data = seed(n_objects=150, sources_per_object=4, forced_per_object=8)
    make_user("walker")
    before = set(data.forced_ids)
    stop = threading.Event()
    written: set[int] = set()
    errors: list[BaseException] = []

    def writer():
        rng = random.Random(3)
        try:
            with psycopg.connect(_database_url(connection.settings_dict), autocommit=True) as conn:
                # Bounded, so the walk (which also meets rows inserted ahead of it) ends.
                for index in range(100, 160):
                    if stop.is_set():
                        break
                    objects = rng.sample(data.object_ids, 10)
                    conn.execute(
                        """
                        INSERT INTO elasticc_diaforcedsource ("diaForcedSourceId", "diaObjectId",
                            "midPointTai", "filterName", "psFlux", "psFluxErr")
                        SELECT o * 100000 + %s, o, 61000, 'z', 1, 1 FROM unnest(%s::bigint[]) o""",
                        [index, objects],
                    )
                    written.update(o * 100000 + index for o in objects)
                    time.sleep(0.01)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    session = requests.Session()
    session.get(f"{live_server_url}/accounts/login/")
    session.post(
        f"{live_server_url}/accounts/login/",
        data={"username": "walker", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
    )
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        rows, _ = walk(
            lambda url: session.get(url, timeout=30).json(), f"{live_server_url}/elasticc/diaforcedsource/?limit=50"
        )
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert written, "the writer never wrote during the walk"
    ids = [r["diaForcedSourceId"] for r in rows]
    assert len(ids) == len(set(ids))
    assert before <= set(ids)
    assert set(ids) <= before | written


def test_previous_links_walk_back_to_the_first_page(user_client):
    data = seed(n_objects=10, sources_per_object=3)
    first = user_client.get("/elasticc/diasource/?limit=4").json()
    assert first["previous"] is None
    pages = [first]
    while pages[-1]["next"]:
        pages.append(user_client.get(pages[-1]["next"]).json())
    assert [r["diaSourceId"] for p in pages for r in p["results"]] == sorted(data.source_ids)
    # Back from the last page: each previous page equals the page seen going forward.
    page = pages[-1]
    for expected in reversed(pages[:-1]):
        page = user_client.get(page["previous"]).json()
        assert page["results"] == expected["results"]
    assert page["previous"] is None
    # And forward again from a page reached backwards.
    assert user_client.get(page["next"]).json()["results"] == pages[1]["results"]


def test_limit_default_maximum_and_bad_values(user_client):
    seed(n_objects=300, sources_per_object=4)
    assert len(user_client.get("/elasticc/diasource/").json()["results"]) == 100
    assert len(user_client.get("/elasticc/diasource/?limit=1000").json()["results"]) == 1000
    for bad in ("0", "-1", "1001", "ten", ""):
        response = user_client.get(f"/elasticc/diasource/?limit={bad}")
        if bad == "":
            assert response.status_code == 200  # empty means the default
            continue
        assert response.status_code == 400, bad
        assert response.json()["field"] == "limit"


def test_bad_cursors_are_400_naming_the_cursor(user_client):
    seed(n_objects=2)
    for bad in ("garbage", encode_cursor([1]), encode_cursor([1, "x"]), encode_cursor([2**64, 1]), "e30"):
        response = user_client.get(f"/elasticc/diasource/?cursor={bad}")
        assert response.status_code == 400, bad
        assert response.json()["field"] == "cursor"


def test_cursor_round_trip():
    assert decode_cursor(encode_cursor([5, -3], True), 2) == ([5, -3], True)


def test_count_is_exact_when_a_filter_makes_it_cheap(user_client):
    data = seed(n_objects=20, sources_per_object=6)
    page = user_client.get(f"/elasticc/diasource/?diaObjectId={data.object_ids[3]}").json()
    assert page["count"] == 6 and page["count_is_estimate"] is False
    assert [r["diaObjectId"] for r in page["results"]] == [data.object_ids[3]] * 6
    page = user_client.get("/elasticc/diasource/?midPointTai__gte=60004&midPointTai__lte=60008").json()
    assert page["count"] == 20 * 3 and page["count_is_estimate"] is False
    assert all(60004 <= r["midPointTai"] <= 60008 for r in page["results"])


def test_big_table_count_is_the_planner_estimate_without_counting(user_client, settings):
    """Above the limit no COUNT runs at all; the answer says it is an estimate."""
    seed(n_objects=50, sources_per_object=4)
    with connection.cursor() as cur:
        cur.execute("ANALYZE elasticc_diasource")
    settings.ELASTICC_API_EXACT_COUNT_LIMIT = 10
    with CaptureQueriesContext(connection) as queries:
        page = user_client.get("/elasticc/diasource/?limit=5").json()
    assert page["count_is_estimate"] is True
    # Fresh statistics: the partitions' reltuples (the planner counts an empty partition as 1 row).
    assert 200 <= page["count"] <= 200 + 16
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert any(q["sql"].startswith("EXPLAIN") for q in queries.captured_queries)


def _plan(sql, params):
    with connection.cursor() as cur:
        cur.execute("EXPLAIN " + sql, params)
        return "\n".join(r[0] for r in cur.fetchall())


@pytest.fixture
def analyzed_sources(db):
    """Enough rows that the planner prefers indexes, as on the real tables."""
    seed(n_objects=4000, sources_per_object=5, forced_per_object=1)
    with connection.cursor() as cur:
        cur.execute("ANALYZE elasticc_diasource")


def test_detail_lookup_uses_each_partitions_id_index(analyzed_sources):
    from elasticc.models import DiaSource

    # The query DiaSourceViewSet.retrieve runs: all columns of the first match.
    qs = DiaSource.objects.filter(diaSourceId=1500 * 100000 + 2).order_by()
    plan = _plan(*qs.values(*column_names(DiaSource)).query.sql_with_params())
    assert "Seq Scan" not in plan, plan
    # One probe of each partition's index on diaSourceId (elasticc_diasource_id's partitions).
    assert plan.count('Index Cond: ("diaSourceId" = 150000002)') == 16, plan
    for p in range(16):
        assert f'elasticc_diasource_p{p:02d}_diaSourceId_idx" on elasticc_diasource_p{p:02d} ' in plan, plan


def test_keyset_page_is_an_index_range_scan_per_partition(analyzed_sources):
    from elasticc.api.pagination import after_key
    from elasticc.models import DiaSource

    qs = (
        DiaSource.objects.filter(after_key(("diaSourceId", "diaObjectId"), [2000 * 100000 + 3, 2000], False))
        .order_by("diaSourceId", "diaObjectId")
        .values(*column_names(DiaSource))[:101]
    )
    plan = _plan(*qs.query.sql_with_params())
    assert "Seq Scan" not in plan and "Merge Append" in plan
    assert plan.count('Index Cond: ("diaSourceId" >=') == 16
