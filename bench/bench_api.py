"""REST API latency at scale: keyset pages stay as fast deep down as on page 1.

Synthetic data (generate_series, scaled by BENCH_SCALE): 100k objects, 1M sources
(10 per object) and 10M forced sources (100 per object). Then, through gunicorn over
HTTP with a token, p50/p95 of:

- the first page of /elasticc/diaforcedsource/ (100 rows);
- pages 10,000 deep, i.e. 1,000,000 rows in, reached through the keyset cursor (each
  sample a different page: 1,000,000 + i*100 rows deep);
- a forced-source detail by id, a source detail by id;
- /elasticc/diasource/?diaObjectId=<one object> (exact count of a cheap filter);
- the API page at ?offset=1,000,000 (the original's hand-paging parameter, honoured with
  OFFSET), against the keyset page as deep: what docs/api.md quotes as offset's cost.

Baselines from the same run on the same database: the first page (for the deep page,
goal deep/first <= 1.5), the SQL of an OFFSET page 1,000,000 rows deep (what the
original site ran; timed in SQL only, which flatters it) against the SQL of the keyset
page, and a full COUNT(*) of the forced sources (what the original ran on every page)
against the planner-estimated count the API returns, and /healthz (HTTP and Django with no
query: the floor) for the details and the per-object list. Detail goal: p95 under 20 ms.

Run alone: python bench/bench_api.py (BENCH_SCALE=0.3 for a quicker 3M-row run).
"""

from __future__ import annotations

import os
import random
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SCALE, Row, Timer, light_curve_steps, main_for, median, percentile, run_step, scaled, start_gunicorn

SOURCES_PER_OBJECT = 10
FORCED_PER_OBJECT = 100
PAGE = 100
DEPTH_PAGES = 10_000  # the deep page: 10,000 pages of 100 = 1,000,000 rows in
SAMPLES = 100
OFFSET_SAMPLES = 5  # an OFFSET page takes seconds: fewer samples
DEEP_GOAL = 1.5
DETAIL_GOAL_MS = 20.0


def forced_key(depth: int) -> tuple[int, int]:
    """(diaForcedSourceId, diaObjectId) of the row `depth` rows into the id order (0-based).

    Ids are object * 1000 + k (k < FORCED_PER_OBJECT) for objects 1.., so the order by id
    is the order by (object, k); checked against the database in run().
    """
    obj, k = 1 + depth // FORCED_PER_OBJECT, depth % FORCED_PER_OBJECT
    return obj * 1000 + k, obj


def generate(n_objects: int) -> None:
    from django.db import connection

    steps = [
        (
            "objects",
            f"""
            INSERT INTO elasticc_diaobject ("diaObjectId", "simVersion", ra, decl, mwebv, z_final)
            SELECT o, 'bench', random() * 360, degrees(asin(2 * random() - 1)), random() * 0.1, random()
            FROM generate_series(1, {n_objects}) o""",
        ),
        *light_curve_steps(n_objects, SOURCES_PER_OBJECT, FORCED_PER_OBJECT),
    ]
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        for name, sql in steps:
            with Timer() as t:
                n = run_step(cur, sql)
            print(f"  {name}: {n:,} rows in {t.seconds:.1f} s", flush=True)
        with Timer() as t:
            cur.execute("VACUUM ANALYZE elasticc_diaobject, elasticc_diasource, elasticc_diaforcedsource")
        print(f"  vacuum analyze: {t.seconds:.1f} s", flush=True)


def timed(session: requests.Session, urls: list[str], expect_rows: int | None = None) -> list[float]:
    """Milliseconds per GET; checks each answer is a 200 (and a full page when expect_rows)."""
    samples = []
    for u in urls:
        start = time.perf_counter()
        r = session.get(u)
        samples.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (u, r.status_code, r.text[:300])
        if expect_rows is not None:
            assert len(r.json()["results"]) == expect_rows, u
    return samples


def sql_ms(sql: str, params: list, n: int) -> list[float]:
    from django.db import connection

    samples = []
    with connection.cursor() as cur:
        for _ in range(n):
            with Timer() as t:
                cur.execute(sql, params)
                cur.fetchall()
            samples.append(t.seconds * 1000)
    return samples


def run(ctx) -> list[Row]:
    n_objects = scaled(100_000)
    n_forced = n_objects * FORCED_PER_OBJECT
    # 1,000,000 rows deep at full scale; at a smaller BENCH_SCALE as deep as the table allows.
    depth_pages = min(DEPTH_PAGES, (n_forced - SAMPLES * PAGE - PAGE) // PAGE)
    if depth_pages < 10:
        raise RuntimeError(f"BENCH_SCALE too small: {n_forced:,} forced sources leave no deep page")
    if depth_pages < DEPTH_PAGES:
        print(f"BENCH_SCALE {SCALE}: the deep page is {depth_pages:,} pages in, not {DEPTH_PAGES:,}", flush=True)
    depth = depth_pages * PAGE
    database_url = ctx.database("bench_api")  # also sets Django up: import models after it
    from django.contrib.auth.models import User
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from elasticc.api.pagination import cursor_url

    print(
        f"generating {n_objects:,} objects, {n_objects * SOURCES_PER_OBJECT:,} sources, "
        f"{n_forced:,} forced sources ...",
        flush=True,
    )
    with Timer() as gen:
        generate(n_objects)
    user = User.objects.create_user("bench", password="bench-password-123")
    key = Token.objects.get_or_create(user=user)[0].key

    # The OFFSET page the original ran (Django's paginator: ORDER BY ... OFFSET n LIMIT 100),
    # and the keyset page the API runs; both return the same rows.
    order = 'ORDER BY "diaForcedSourceId", "diaObjectId"'
    offset_sql = f"SELECT * FROM elasticc_diaforcedsource {order} OFFSET %s LIMIT {PAGE}"
    keyset_sql = (
        f'SELECT * FROM elasticc_diaforcedsource WHERE "diaForcedSourceId" >= %s AND '
        f'("diaForcedSourceId" > %s OR ("diaForcedSourceId" = %s AND "diaObjectId" > %s)) '
        f"{order} LIMIT {PAGE + 1}"
    )
    with connection.cursor() as cur:
        cur.execute(
            f'SELECT "diaForcedSourceId", "diaObjectId" FROM elasticc_diaforcedsource {order} OFFSET %s LIMIT 1',
            [depth - 1],
        )
        assert cur.fetchone() == forced_key(depth - 1), "forced-source ids are not in the expected order"
    print(f"baselines: OFFSET {depth:,} page ({OFFSET_SAMPLES}x), keyset page, COUNT(*) ...", flush=True)
    offset_ms = sql_ms(offset_sql, [depth], OFFSET_SAMPLES)
    a, b = forced_key(depth - 1)
    keyset_ms = sql_ms(keyset_sql, [a, a, a, b], SAMPLES)
    count_ms = sql_ms("SELECT COUNT(*) FROM elasticc_diaforcedsource", [], 3)
    connection.close()

    proc, url = start_gunicorn(database_url, "api", timeout=120)
    try:
        s = requests.Session()
        s.headers["Authorization"] = f"Token {key}"
        rng = random.Random(11)
        first_urls = [f"{url}/elasticc/diaforcedsource/"] * SAMPLES
        deep_urls = [
            cursor_url(f"{url}/elasticc/diaforcedsource/", forced_key(depth - 1 + i * PAGE)) for i in range(SAMPLES)
        ]
        objects = [rng.randint(1, n_objects) for _ in range(SAMPLES)]
        forced_detail_urls = [
            f"{url}/elasticc/diaforcedsource/{o * 1000 + rng.randrange(FORCED_PER_OBJECT)}/" for o in objects
        ]
        source_detail_urls = [
            f"{url}/elasticc/diasource/{o * 100 + rng.randrange(SOURCES_PER_OBJECT)}/" for o in objects
        ]
        by_object_urls = [f"{url}/elasticc/diasource/?diaObjectId={o}" for o in objects]
        # Warm both workers (imports, connections) and check what the deep page says.
        timed(s, first_urls[:10] + deep_urls[-10:] + forced_detail_urls[-10:] + by_object_urls[-10:])
        page = s.get(deep_urls[0]).json()
        assert page["results"][0]["diaForcedSourceId"] == forced_key(depth)[0], page["results"][0]
        assert page["count_is_estimate"] and page["next"] and page["previous"]
        one = s.get(by_object_urls[0]).json()
        assert one["count"] == SOURCES_PER_OBJECT and not one["count_is_estimate"]
        # Interleave first and deep pages so both see the same machine load.
        first, deep = [], []
        for f, d in zip(first_urls, deep_urls):
            first += timed(s, [f], PAGE)
            deep += timed(s, [d], PAGE)
        health = timed(s, [f"{url}/healthz"] * SAMPLES)  # the floor: HTTP + Django, no query
        forced_detail = timed(s, forced_detail_urls)
        source_detail = timed(s, source_detail_urls)
        by_object = timed(s, by_object_urls, SOURCES_PER_OBJECT)
        offset_api = timed(
            s, [f"{url}/elasticc/diaforcedsource/?offset={depth + i * PAGE}" for i in range(OFFSET_SAMPLES)], PAGE
        )
    finally:
        proc.terminate()
        proc.wait(10)

    f50, f95, d50, d95 = percentile(first, 50), percentile(first, 95), percentile(deep, 50), percentile(deep, 95)
    fd95, sd95, h95 = percentile(forced_detail, 95), percentile(source_detail, 95), percentile(health, 95)
    tag = f"({n_forced / 1e6:g}M forced)"
    return [
        Row(f"api: data generation {tag}", gen.seconds, "s", "", 0.0),
        Row(
            f"api: forced page {depth_pages:,} deep p50",
            d50,
            "ms",
            "first page p50",
            f50,
            f"ratio <= {DEEP_GOAL}",
            d50 / f50 <= DEEP_GOAL,
        ),
        Row(
            f"api: forced page {depth_pages:,} deep p95",
            d95,
            "ms",
            "first page p95",
            f95,
            f"ratio <= {DEEP_GOAL}",
            d95 / f95 <= DEEP_GOAL,
        ),
        Row(
            f"api: forced-source detail p95 (p50 {percentile(forced_detail, 50):.1f})",
            fd95,
            "ms",
            "/healthz p95",
            h95,
            f"< {DETAIL_GOAL_MS:g} ms",
            fd95 < DETAIL_GOAL_MS,
        ),
        Row(
            f"api: source detail p95 (p50 {percentile(source_detail, 50):.1f})",
            sd95,
            "ms",
            "/healthz p95",
            h95,
            f"< {DETAIL_GOAL_MS:g} ms",
            sd95 < DETAIL_GOAL_MS,
        ),
        Row(
            f"api: sources of one object p95 (p50 {percentile(by_object, 50):.1f})",
            percentile(by_object, 95),
            "ms",
            "/healthz p95",
            h95,
        ),
        Row(
            f"sql: keyset page {depth:,} rows in, median",
            median(keyset_ms),
            "ms",
            f"OFFSET {depth // 1000}k median",
            median(offset_ms),
            "ratio << 1",
            median(keyset_ms) < median(offset_ms),
        ),
        Row(
            f"api: page at ?offset={depth:,}, median",
            median(offset_api),
            "ms",
            "keyset page as deep p50",
            d50,
            "documented (docs/api.md)",
        ),
        Row(
            "api: first page incl. estimated count p50",
            f50,
            "ms",
            "COUNT(*) median",
            median(count_ms),
            "ratio < 1",
            f50 < median(count_ms),
        ),
    ]


if __name__ == "__main__":
    main_for(run)
