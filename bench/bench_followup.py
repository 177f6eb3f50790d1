"""Follow-up reads at scale: ``/elasticc2/gethottransients`` and ``/elasticc2/ltcv`` through
gunicorn over HTTP, each against one SQL query fetching the same rows in the same run.

Synthetic TOM-known ELAsTiCC2 data (binary COPY, scaled by BENCH_SCALE): 1,000,000 objects,
10,000,000 sources (10 per object) and 20,000,000 forced sources (20 per object) at scale 1.
Objects begin uniformly over a survey of SURVEY_DAYS (3 years), times to 1e-4 day as in the
SNANA files (since 2026-12-02; before, full-precision doubles): an object's detections come
every 4 days for 36 days from its start, its forced points every 4 days from 20 days before it
for 80 days. So a 30-day window holds the detections of about (36 + 30) / 1095 = 6 % of the
objects, whose light curves (up to ``mjd_now``, about 13 points each) make the answer; that
count grows with BENCH_SCALE, the window's width staying 30 days.

Figures (milliseconds, HTTP from request to the last byte read, after a warm-up):

- ``gethottransients`` with ``detected_in_last_days`` 30 and ``mjd_now`` at random places in
  the survey (each sample a different window), format 0: p50 and p95; goal p95 < 1 s. Its
  baseline: one SQL query (psycopg, rows fetched) returning the same forced points, the
  objects detected in the window and their points up to ``mjd_now``.
- ``ltcv`` of 1,000 random objects (each sample different ones), formats 0 and 2: p50, p95;
  goals p95 < 1 s and median ratio to one SQL query fetching the same rows <= 2.

Each answer is checked against the baseline: the same objects and as many points, or the
comparison would mean nothing.

Run alone: python bench/bench_followup.py (BENCH_SCALE=0.1 for a 100k-object run in a few minutes).
"""

from __future__ import annotations

import os
import random
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Row, Timer, main_for, median, percentile, scaled, start_gunicorn

SOURCES_PER_OBJECT = 10
FORCED_PER_OBJECT = 20
CADENCE_DAYS = 4.0
FORCED_LEAD_DAYS = 20.0  # forced photometry begins this long before the first detection
SURVEY_START, SURVEY_DAYS = 60000.0, 1095.0
WINDOW_DAYS = 30.0
LTCV_OBJECTS = 1000
SAMPLES = 20
GOAL_MS = 1000.0
LTCV_RATIO_GOAL = 2.0
BLOCK = 100_000  # objects per COPY block (bounded memory at full scale)

# The baselines: one query returning the forced points an answer holds, in its order.
# (elasticc2_diasource_time for the window; elasticc2_diaforced_obj_time per object.)
HOT_ROWS_SQL = """
SELECT f.diaobject_id, f.midpointtai, f.filtername, f.psflux, f.psfluxerr
FROM elasticc2_diaforcedsource f
WHERE f.diaobject_id IN (SELECT s.diaobject_id FROM elasticc2_diasource s
                         WHERE s.midpointtai >= %(since)s AND s.midpointtai <= %(until)s)
  AND f.midpointtai <= %(until)s
ORDER BY f.diaobject_id, f.midpointtai, f.diaforcedsource_id
"""
LTCV_ROWS_SQL = """
SELECT f.diaobject_id, f.midpointtai, f.filtername, f.psflux, f.psfluxerr
FROM elasticc2_diaforcedsource f
WHERE f.diaobject_id = ANY(%(object_ids)s::bigint[])
ORDER BY f.diaobject_id, f.midpointtai, f.diaforcedsource_id
"""


def snana_mjd(mjd):
    """Times as the campaign's SNANA files carry them, to 1e-4 day (60628.2638 in the real
    sample): a float with all 17 digits would make the answers' MJDs twice as long as any real
    light curve's."""
    import numpy as np

    return np.round(mjd, 4)


def seed(url: str, n_objects: int) -> int:
    """COPY the synthetic survey into the TOM-known tables, a block of objects at a time;
    returns the rows written."""
    import numpy as np
    import psycopg

    from elasticc.loading.copy import Column, copy_binary

    bands = np.array([b"u", b"g", b"r", b"i", b"z", b"Y"])
    rng = np.random.default_rng(7)
    written = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        for first in range(1, n_objects + 1, BLOCK):
            oid = np.arange(first, min(first + BLOCK, n_objects + 1), dtype=np.int64)
            n = len(oid)
            t0 = SURVEY_START + rng.random(n) * SURVEY_DAYS
            ra, dec = rng.random(n) * 360, np.degrees(np.arcsin(2 * rng.random(n) - 1))
            written += copy_binary(
                cur,
                "elasticc2_diaobject",
                [
                    Column("diaobject_id", "int8", oid),
                    Column("simversion", "text", np.full(n, b"bench")),
                    Column("ra", "float8", ra),
                    Column("decl", "float8", dec),
                    Column("mwebv", "float4", np.full(n, 0.02, np.float32)),
                ],
            )
            s_oid, s_i = np.repeat(oid, SOURCES_PER_OBJECT), np.tile(np.arange(SOURCES_PER_OBJECT), n)
            s_flux = (300 + 700 * rng.random(len(s_oid))).astype(np.float32)
            written += copy_binary(
                cur,
                "elasticc2_diasource",
                [
                    Column("diasource_id", "int8", s_oid * 100 + s_i),
                    Column("diaobject_id", "int8", s_oid),
                    Column("midpointtai", "float8", snana_mjd(np.repeat(t0, SOURCES_PER_OBJECT) + CADENCE_DAYS * s_i)),
                    Column("filtername", "text", bands[s_i % 6]),
                    Column("ra", "float8", np.repeat(ra, SOURCES_PER_OBJECT)),
                    Column("decl", "float8", np.repeat(dec, SOURCES_PER_OBJECT)),
                    Column("psflux", "float4", s_flux),
                    Column("psfluxerr", "float4", np.full(len(s_oid), 30, np.float32)),
                    Column("snr", "float4", s_flux / np.float32(30)),
                ],
            )
            f_oid, f_j = np.repeat(oid, FORCED_PER_OBJECT), np.tile(np.arange(FORCED_PER_OBJECT), n)
            f_t = snana_mjd(np.repeat(t0, FORCED_PER_OBJECT) - FORCED_LEAD_DAYS + CADENCE_DAYS * f_j + 0.01)
            written += copy_binary(
                cur,
                "elasticc2_diaforcedsource",
                [
                    Column("diaforcedsource_id", "int8", f_oid * 1000 + f_j),
                    Column("diaobject_id", "int8", f_oid),
                    Column("midpointtai", "float8", f_t),
                    Column("filtername", "text", bands[f_j % 6]),
                    Column("psflux", "float4", (800 * rng.random(len(f_oid)) - 50).astype(np.float32)),
                    Column("psfluxerr", "float4", np.full(len(f_oid), 25, np.float32)),
                ],
            )
            conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE elasticc2_diaobject, elasticc2_diasource, elasticc2_diaforcedsource")
    return written


def sql_ms(sql: str, params: dict) -> tuple[float, list[tuple]]:
    """One baseline query's milliseconds (executed and every row fetched), and its rows."""
    from django.db import connection

    with connection.cursor() as cur, Timer() as t:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return t.seconds * 1000, rows


def post_ms(session: requests.Session, url: str, body: dict) -> tuple[float, dict, int]:
    """Milliseconds to the answer's last byte, the answer, its size in bytes."""
    start = time.perf_counter()
    r = session.post(url, json=body)
    elapsed = (time.perf_counter() - start) * 1000
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    answer = r.json()
    assert answer["status"] == "ok", answer
    return elapsed, answer, len(r.content)


def points_of(answer: dict, return_format: int) -> tuple[list[int], int]:
    """(object ids, number of points) of an answer, whichever format."""
    objects = answer["diaobject"]
    if return_format == 2:
        return objects["objectid"], sum(len(m) for m in objects["mjd"])
    if return_format == 1:
        return [o["objectid"] for o in objects], sum(len(o["mjd"]) for o in objects)
    return [o["objectid"] for o in objects], sum(len(o["photometry"]["mjd"]) for o in objects)


def check(answer: dict, return_format: int, rows: list[tuple]) -> int:
    """The answer holds the baseline's objects and as many points; returns the point count."""
    ids, n_points = points_of(answer, return_format)
    expected = sorted({r[0] for r in rows})
    assert ids == expected, f"objects differ: {len(ids)} answered, {len(expected)} in SQL"
    assert n_points == len(rows), f"points differ: {n_points} answered, {len(rows)} in SQL"
    return n_points


def run(ctx) -> list[Row]:
    n_objects = scaled(1_000_000)
    database_url = ctx.database("bench_followup")  # also sets Django up: import models after it
    from django.contrib.auth.models import User
    from django.db import connection
    from rest_framework.authtoken.models import Token

    print(
        f"generating {n_objects:,} objects, {n_objects * SOURCES_PER_OBJECT:,} sources, "
        f"{n_objects * FORCED_PER_OBJECT:,} forced sources ...",
        flush=True,
    )
    with Timer() as gen:
        seeded = seed(database_url, n_objects)
    print(f"  {seeded:,} rows in {gen.seconds:.1f} s", flush=True)
    user = User.objects.create_user("bench", password="bench-password-123")
    key = Token.objects.get_or_create(user=user)[0].key

    rng = random.Random(5)
    # Windows end between 100 days into the survey and its end: every one is full of detections.
    nows = [SURVEY_START + 100 + rng.random() * (SURVEY_DAYS - 100) for _ in range(SAMPLES + 2)]
    id_sets = [sorted(rng.sample(range(1, n_objects + 1), min(LTCV_OBJECTS, n_objects))) for _ in range(SAMPLES + 2)]
    hot_sql, hot_rows = [], []
    for now in nows:
        ms, rows = sql_ms(HOT_ROWS_SQL, {"since": now - WINDOW_DAYS, "until": now})
        hot_sql.append(ms)
        hot_rows.append(rows)
    ltcv_sql, ltcv_rows = [], []
    for ids in id_sets:
        ms, rows = sql_ms(LTCV_ROWS_SQL, {"object_ids": ids})
        ltcv_sql.append(ms)
        ltcv_rows.append(rows)
    connection.close()

    proc, url = start_gunicorn(database_url, "followup", timeout=120)
    hot_ms, ltcv_ms = [], {0: [], 2: []}
    hot_objects, hot_points, hot_bytes = [], [], []
    try:
        s = requests.Session()
        s.headers["Authorization"] = f"Token {key}"
        for i, now in enumerate(nows):  # the first two warm both workers up
            body = {"detected_in_last_days": WINDOW_DAYS, "mjd_now": now, "return_format": 0}
            ms, answer, size = post_ms(s, f"{url}/elasticc2/gethottransients", body)
            n_points = check(answer, 0, hot_rows[i])
            if i >= 2:
                hot_ms.append(ms)
                hot_objects.append(len(answer["diaobject"]))
                hot_points.append(n_points)
                hot_bytes.append(size)
        for return_format in (0, 2):
            for i, ids in enumerate(id_sets):
                ms, answer, size = post_ms(
                    s, f"{url}/elasticc2/ltcv", {"objectids": ids, "return_format": return_format}
                )
                check(answer, return_format, ltcv_rows[i])
                if i >= 2:
                    ltcv_ms[return_format].append(ms)
    finally:
        proc.terminate()
        proc.wait(10)

    tag = f"({n_objects / 1e6:g}M objects)"
    h95 = percentile(hot_ms, 95)
    rows = [
        Row(f"followup: data generation {tag}", gen.seconds, "s", "", 0.0),
        Row(
            f"followup: gethottransients 30 d p95 (p50 {percentile(hot_ms, 50):.0f})",
            h95,
            "ms",
            "SQL same rows p95",
            percentile(hot_sql[2:], 95),
            f"< {GOAL_MS:g} ms",
            h95 < GOAL_MS,
        ),
        Row(
            f"followup:   answer: {median(hot_objects):,.0f} objects, {median(hot_points):,.0f} points (median)",
            median(hot_ms),
            "ms",
            "SQL same rows median",
            median(hot_sql[2:]),
        ),
    ]
    base = median(ltcv_sql[2:])
    for return_format, samples in ltcv_ms.items():
        p95, p50 = percentile(samples, 95), median(samples)
        rows.append(
            Row(
                f"followup: ltcv {LTCV_OBJECTS} objects fmt {return_format} p50 (p95 {p95:.0f})",
                p50,
                "ms",
                "SQL same rows median",
                base,
                f"p95 < {GOAL_MS:g} ms, ratio <= {LTCV_RATIO_GOAL:g}",
                p95 < GOAL_MS and p50 / base <= LTCV_RATIO_GOAL,
            )
        )
    print(
        f"answers: gethottransients {median(hot_bytes) / 1e6:.1f} MB (median), "
        f"ltcv format 2 {size / 1e6:.2f} MB for {len(ltcv_rows[-1]):,} points",
        flush=True,
    )
    return rows


if __name__ == "__main__":
    main_for(run)
