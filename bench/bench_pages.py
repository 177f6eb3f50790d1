"""Page latency at the REST benchmark's scale: object pages and broker-metrics pages through
gunicorn, after `refresh_metrics`. Baselines measured in the same run on the same database:
the same metrics computed live from the raw tables (brokermetrics/live.py, what a page
would cost without the materialized tables), a live message count per classifier, and the
/healthz probe for the object and cone-search pages.

Synthetic data (generate_series, scaled by BENCH_SCALE): 100k objects, 1M sources and alerts
(sent over ten days), 10M forced sources, object truth, and 3 classifiers each classifying
30 % of the alerts with 3 (classId, probability) pairs per message. Goal: p95 under 300 ms.
Run alone: python bench/bench_pages.py. With BENCH_DATABASE_URL (your own server) and
BENCH_PAGES_REUSE=1 an earlier run's database is kept and generation resumes where it stopped.
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from datetime import date

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Row, Timer, light_curve_steps, main_for, median, percentile, run_step, scaled, start_gunicorn

GOAL_MS = 300.0
LIVE_SAMPLES = 20  # live computations timed for the baseline (each can take seconds)
CLASSIFIERS = 3
SOURCES_PER_OBJECT = 10
FORCED_PER_OBJECT = 100
PASSWORD = "bench-password-123"


def generate(n_objects: int) -> None:
    from django.db import connection

    steps = [
        (
            "objects",
            f"""
            INSERT INTO elasticc_diaobject ("diaObjectId", ra, decl, z_final, mwebv, hostgal_mag_r, hostgal_zphot)
            SELECT o, random() * 360, degrees(asin(2 * random() - 1)), random(), random() * 0.1, 18 + 6 * random(),
                   random()
            FROM generate_series(1, {n_objects}) o""",
        ),
        *light_curve_steps(n_objects, SOURCES_PER_OBJECT, FORCED_PER_OBJECT),
        (
            "alerts",
            """
            INSERT INTO elasticc_diaalert ("alertId", "diaSourceId", "diaObjectId", "alertMidPointTai", "alertSentTimestamp")
            SELECT "diaSourceId", "diaSourceId", "diaObjectId", "midPointTai",
                   TIMESTAMPTZ '2026-01-01 00:00:00+00' + ("diaSourceId" % 10) * INTERVAL '1 day'
                   + ("diaObjectId" % 86400) * INTERVAL '1 second'
            FROM elasticc_diasource""",
        ),
        (
            "truth",
            f"""
            INSERT INTO elasticc_diaobjecttruth ("diaObjectId", gentype)
            SELECT o, (ARRAY[10, 20, 30, 50, 82, 60, 90, 42])[1 + o % 8] FROM generate_series(1, {n_objects}) o""",
        ),
    ]
    classifiers_sql = f"""
        INSERT INTO elasticc_brokerclassifier ("brokerName", "brokerVersion", "classifierName", "classifierParams",
                                               modified)
        SELECT 'Bench' || c, '1.0', 'classifier', 'default', now() FROM generate_series(1, {CLASSIFIERS}) c
        ON CONFLICT DO NOTHING"""
    tables = {
        "objects": "elasticc_diaobject",
        "sources": "elasticc_diasource",
        "forced sources": "elasticc_diaforcedsource",
        "alerts": "elasticc_diaalert",
        "truth": "elasticc_diaobjecttruth",
    }
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        for name, sql in steps:
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM {tables[name]})")
            if cur.fetchone()[0]:
                print(f"  {name}: kept from an earlier run (BENCH_PAGES_REUSE)", flush=True)
                continue
            with Timer() as t:
                n = run_step(cur, sql)
            print(f"  {name}: {n:,} rows in {t.seconds:.1f} s", flush=True)
        cur.execute(classifiers_sql)  # creates each classifier's partitions (trigger)
        cur.execute('SELECT "classifierId" FROM elasticc_brokerclassifier ORDER BY 1')
        for (cid,) in cur.fetchall():
            cur.execute('SELECT EXISTS (SELECT 1 FROM elasticc_brokermessage WHERE "classifierId" = %s)', [cid])
            if cur.fetchone()[0]:
                print(f"  classifier {cid}: messages kept from an earlier run", flush=True)
                continue
            with Timer() as t:
                cur.execute(f"""
                    INSERT INTO elasticc_brokermessage ("classifierId", "brokerMessageId", "alertId", "diaSourceId",
                        "descIngestTimestamp", "elasticcPublishTimestamp", "brokerIngestTimestamp")
                    SELECT {cid}, {cid}::bigint * 1000000000 + "alertId", "alertId", "diaSourceId",
                           "alertSentTimestamp" + random() * INTERVAL '600 seconds', "alertSentTimestamp",
                           "alertSentTimestamp" + random() * INTERVAL '60 seconds'
                    FROM elasticc_diaalert WHERE ("alertId" + {cid}) % 10 < 3""")
                messages = cur.rowcount
                cur.execute(f"""
                    INSERT INTO elasticc_brokerclassification ("classifierId", "classificationId", "brokerMessageId",
                                                               "classId", probability)
                    SELECT {cid}, m."brokerMessageId" * 4 + j, m."brokerMessageId",
                           (ARRAY[111, 112, 113, 121, 122, 132, 221])[1 + (m."alertId" + j * 3) % 7],
                           (ARRAY[0.6, 0.3, 0.1])[j + 1]
                    FROM elasticc_brokermessage m, generate_series(0, 2) j
                    WHERE m."classifierId" = {cid}""")
            print(
                f"  classifier {cid}: {messages:,} messages, {cur.rowcount:,} classifications in {t.seconds:.1f} s",
                flush=True,
            )
        with Timer() as t:
            cur.execute("VACUUM ANALYZE")  # Django runs in autocommit here: VACUUM may run
        print(f"  analyze: {t.seconds:.1f} s", flush=True)


def login(url: str, username: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{url}/accounts/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    r = s.post(
        f"{url}/accounts/login/",
        data={"login": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/accounts/login/"},
    )
    assert "/accounts/login/" not in r.url, "benchmark login failed"
    return s


def timed(session: requests.Session, urls: list[str], check: str | None = None) -> list[float]:
    samples = []
    for u in urls:
        start = time.perf_counter()
        r = session.get(u)
        samples.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (u, r.status_code)
        if check:
            assert check in r.text, (u, check)
    return samples


def run(ctx) -> list[Row]:
    n_objects = scaled(100_000)
    if os.environ.get("BENCH_PAGES_REUSE") and os.environ.get("BENCH_DATABASE_URL"):
        # Keep the database of an earlier run (on your own BENCH_DATABASE_URL server): data
        # generation resumes where it stopped instead of starting over.
        database_url = os.environ["BENCH_DATABASE_URL"].rstrip("/") + "/bench_pages"
        os.environ.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="tom_desc.settings")
        os.environ.setdefault("DJANGO_SECRET_KEY", "bench")
        import django

        django.setup()
    else:
        database_url = ctx.database("bench_pages")  # also sets Django up: import models after it
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from brokermetrics import live

    print(
        f"generating {n_objects:,} objects, {n_objects * SOURCES_PER_OBJECT:,} sources, "
        f"{n_objects * FORCED_PER_OBJECT:,} forced sources ...",
        flush=True,
    )
    with Timer() as gen:
        generate(n_objects)
    with Timer() as ref:
        call_command("refresh_metrics", "--no-progress")
    User.objects.filter(username="bench").delete()
    user = User.objects.create_user("bench", password=PASSWORD)
    user.groups.add(Group.objects.get(name="elasticc_admin"))  # admins see the most: truth and confusion

    from django.db import connection

    with connection.cursor() as cur:
        cur.execute('SELECT "classifierId" FROM elasticc_brokerclassifier ORDER BY 1')
        classifier_ids = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT day FROM brokermetrics_alertssentperday ORDER BY day")
        days = [r[0].isoformat() for r in cur.fetchall()]
    connection.close()

    proc, url = start_gunicorn(database_url, "pages", timeout=120)
    try:
        s = login(url, "bench")
        rng = random.Random(7)
        n = 200
        object_urls = [f"{url}/elasticc/objects/{rng.randint(1, n_objects)}/" for _ in range(n)]
        windows = [(rng.choice(classifier_ids), rng.choice(["all", *days])) for _ in range(n)]
        broker_urls = [f"{url}/elasticc/brokers/{cid}/?window={w}" for cid, w in windows]
        list_urls = [f"{url}/elasticc/brokers/"] * (n // 2)
        cone_urls = [
            f"{url}/elasticc/objects/?mode=cone&ra={rng.uniform(0, 360):.4f}&dec={rng.uniform(-60, 60):.4f}&radius=600"
            for _ in range(n // 2)
        ]
        timed(s, object_urls[:10] + broker_urls[:10] + list_urls[:5])  # warm both workers
        baseline_health = timed(s, [f"{url}/healthz"] * n)
        objects = timed(s, object_urls, check='id="lightcurve-data"')
        brokers = timed(s, broker_urls, check='id="completeness-value"')
        lists = timed(s, list_urls, check='id="classifier-list"')
        cones = timed(s, cone_urls)
        summaries = timed(s, [f"{url}/elasticc/summary"] * (n // 4), check="database summary")
        ranges = (
            timed(
                s,
                [
                    f"{url}/elasticc/brokers/{rng.choice(classifier_ids)}/?from={days[0]}&to={days[-1]}"
                    for _ in range(n // 4)
                ],
                check='id="quantiles-from-bins"',
            )
            if len(days) > 1
            else []
        )
    finally:
        proc.terminate()
        proc.wait(10)

    # Baselines for the metrics pages, same database, same run: what those pages would cost
    # without refresh_metrics. The SQL alone is timed (no HTTP, no template), which flatters it.
    print(f"baseline: live metrics SQL for {LIVE_SAMPLES} of the same (classifier, window) pairs ...", flush=True)
    live_metrics = []
    for cid, w in windows[:LIVE_SAMPLES]:
        with Timer() as t:
            live.compute(cid, None if w == "all" else date.fromisoformat(w))
        live_metrics.append(t.seconds * 1000)
    live_counts = []
    for _ in range(LIVE_SAMPLES):
        with Timer() as t, connection.cursor() as cur:
            cur.execute('SELECT "classifierId", COUNT(*) FROM elasticc_brokermessage GROUP BY 1')
            cur.fetchall()
        live_counts.append(t.seconds * 1000)
    # What the summary page would cost with exact counts: COUNT(*) of the largest table alone.
    exact_counts = []
    for _ in range(3):
        with Timer() as t, connection.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM elasticc_diaforcedsource")
            cur.fetchall()
        exact_counts.append(t.seconds * 1000)

    h95 = percentile(baseline_health, 95)
    scale = f"({n_objects * SOURCES_PER_OBJECT / 1e6:g}M src, {n_objects * FORCED_PER_OBJECT / 1e6:g}M forced)"
    rows = [
        Row(f"pages: data generation {scale}", gen.seconds, "s", "", 0.0),
        Row("pages: refresh_metrics", ref.seconds, "s", "", 0.0),
    ]
    for name, samples, base_name, base in (
        ("object page", objects, "/healthz p95", h95),
        ("broker metrics page", brokers, "live metrics SQL p95", percentile(live_metrics, 95)),
        ("broker list page", lists, "live message count p95", percentile(live_counts, 95)),
        ('cone search 600" page', cones, "/healthz p95", h95),
    ):
        p95 = percentile(samples, 95)
        rows.append(Row(f"pages: {name} p95", p95, "ms", base_name, base, f"< {GOAL_MS:g} ms", p95 < GOAL_MS))
    if ranges:
        p95 = percentile(ranges, 95)
        rows.append(
            Row(
                f"pages: broker metrics, {len(days)}-day range p95",
                p95,
                "ms",
                "day or all-time p95",
                percentile(brokers, 95),
                f"< {GOAL_MS:g} ms",
                p95 < GOAL_MS,
            )
        )
    p95 = percentile(summaries, 95)
    rows.append(
        Row(
            "pages: summary page p95",
            p95,
            "ms",
            "COUNT(*) forced, median",
            median(exact_counts),
            "< 1000 ms",
            p95 < 1000,
        )
    )
    return rows


if __name__ == "__main__":
    main_for(run)
