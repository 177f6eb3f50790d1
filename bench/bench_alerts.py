"""Alert sending: alerts/s from PostgreSQL to Kafka by one send_elasticc_alerts process.

Seeds a synthetic survey with COPY (5,000 objects x 20 sources x 60 forced points at
BENCH_SCALE=1), starts an embedded Kafka-protocol broker, and measures in the same run:

- baseline: the raw fastavro (schemaless) encode rate of the very alerts that are sent,
  built beforehand and encoded in a tight loop;
- the figure: one `manage.py send_elasticc_alerts --do` process streaming every alert
  out of the database, building, encoding, producing and marking it sent (its own
  summary line gives the rate without interpreter start-up; the wall time is printed too).

Goal: at least 3,000 alerts/s on the 2-core machine.

It also measures alert *building* alone (the dicts of elasticc.stream.alerts.build_alerts_for_rows,
set-based: at most four queries per batch of 1,000) against a per-alert ORM baseline (five
ORM queries per alert, the way a naive view would do it), on the same alerts in the same
run, and prints the ratio. Goal: set-based at least 10x the per-alert ORM rate.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PROJECT_DIR, REPO_DIR, Row, Timer, main_for, scaled

GOAL = 3000.0
BUILD_GOAL_RATIO = 10.0
ORM_SAMPLE = 1000  # alerts built the per-alert ORM way (about 5 queries each)
SOURCES_PER_OBJECT = 20
FORCED_PER_OBJECT = 60


def seed(url: str, n_objects: int) -> int:
    """COPY a synthetic survey; returns the number of alerts.

    Object k is first detected on day 60000 + k % 300 and then every 3 days; its forced
    points start 30 days before the first detection, every 2 days, so later alerts carry
    long forced histories as real ones do.
    """
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            'COPY elasticc_diaobject ("diaObjectId", "simVersion", ra, decl, mwebv, z_final, '
            "hostgal_zphot, hostgal_mag_r) FROM STDIN"
        ) as copy:
            for k in range(n_objects):
                copy.write_row((k + 1, "bench", (k * 0.37) % 360, -60 + (k * 0.11) % 90, 0.02, 0.3, 0.31, 21.5))
        with cur.copy(
            'COPY elasticc_diasource ("diaSourceId", "diaObjectId", "midPointTai", "filterName", ra, decl, '
            '"psFlux", "psFluxErr", snr) FROM STDIN'
        ) as copy:
            for k in range(n_objects):
                oid, t0 = k + 1, 60000.0 + k % 300 + (k % 7) * 0.01
                for i in range(SOURCES_PER_OBJECT):
                    flux = 500.0 + 40 * i
                    copy.write_row(
                        (
                            oid * 100000 + i,
                            oid,
                            t0 + 3 * i,
                            "ugrizY"[i % 6],
                            (k * 0.37) % 360,
                            -60 + (k * 0.11) % 90,
                            flux,
                            25.0,
                            flux / 25.0,
                        )
                    )
        with cur.copy(
            'COPY elasticc_diaalert ("alertId", "diaSourceId", "diaObjectId", "midPointTai") FROM STDIN'
        ) as copy:
            for k in range(n_objects):
                oid, t0 = k + 1, 60000.0 + k % 300 + (k % 7) * 0.01
                for i in range(SOURCES_PER_OBJECT):
                    copy.write_row((oid * 100000 + i, oid * 100000 + i, oid, t0 + 3 * i))
        with cur.copy(
            'COPY elasticc_diaforcedsource ("diaForcedSourceId", "diaObjectId", "midPointTai", '
            '"filterName", "psFlux", "psFluxErr") FROM STDIN'
        ) as copy:
            for k in range(n_objects):
                oid, t0 = k + 1, 60000.0 + k % 300 + (k % 7) * 0.01
                for j in range(FORCED_PER_OBJECT):
                    copy.write_row(
                        (oid * 100000 + 50000 + j, oid, t0 - 30 + 2 * j + 0.001, "ugrizY"[j % 6], 10.0 * j, 20.0)
                    )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return n_objects * SOURCES_PER_OBJECT


def encode_baseline() -> tuple[float, int, float]:
    """Build every alert in process, then time fastavro alone on them: (alerts/s, bytes, build s)."""
    from django.db import connection

    from elasticc.stream.alerts import AlertRow, build_alerts_for_rows
    from elasticc.stream.avro import ALERT_SCHEMA, Encoder

    with connection.cursor() as cur:
        cur.execute(
            'SELECT "alertId", "diaObjectId", "diaSourceId", "midPointTai" FROM elasticc_diaalert '
            'ORDER BY "midPointTai", "alertId"'
        )
        rows = [AlertRow(*r) for r in cur.fetchall()]
        with Timer() as build:
            built = []
            for i in range(0, len(rows), 1000):
                built.extend(build_alerts_for_rows(rows[i : i + 1000], cur))
    encode = Encoder(ALERT_SCHEMA)
    with Timer() as t:
        size = sum(len(encode(a)) for a in built)
    return len(built) / t.seconds, size, build.seconds


def orm_build(alert_id: int) -> dict:
    """One alert with the ORM, one query per piece: the per-alert baseline."""
    from django.db.models import Min

    from elasticc.models import DiaAlert, DiaForcedSource, DiaObject, DiaSource
    from elasticc.stream.alerts import FORCED_AFTER_FIRST_DAYS, FORCED_BEFORE_FIRST_DAYS, PRV_SOURCE_DAYS, object_fields

    source_fields = (
        "diaSourceId",
        "diaObjectId",
        "midPointTai",
        "filterName",
        "ra",
        "decl",
        "psFlux",
        "psFluxErr",
        "snr",
    )
    forced_fields = ("diaForcedSourceId", "diaObjectId", "midPointTai", "filterName", "psFlux", "psFluxErr")
    alert = DiaAlert.objects.get(alertId=alert_id)
    sources = DiaSource.objects.filter(diaObjectId=alert.diaObjectId)
    source = sources.filter(diaSourceId=alert.diaSourceId).values(*source_fields).get()
    t = source["midPointTai"]
    first = sources.aggregate(first=Min("midPointTai"))["first"]
    prv = list(
        sources.filter(midPointTai__lt=t, midPointTai__gte=t - PRV_SOURCE_DAYS)
        .order_by("midPointTai", "diaSourceId")
        .values(*source_fields)
    )
    forced = None
    if t - first > FORCED_AFTER_FIRST_DAYS:
        forced = list(
            DiaForcedSource.objects.filter(
                diaObjectId=alert.diaObjectId, midPointTai__gte=first - FORCED_BEFORE_FIRST_DAYS, midPointTai__lte=t
            )
            .order_by("midPointTai", "diaForcedSourceId")
            .values(*forced_fields)
        )
    obj = DiaObject.objects.filter(diaObjectId=alert.diaObjectId).values(*object_fields()).first()
    return {
        "alertId": alert.alertId,
        "diaSource": source,
        "prvDiaSources": prv,
        "prvDiaForcedSources": forced,
        "diaObject": obj,
    }


def build_comparison() -> tuple[float, float, int]:
    """(set-based alerts/s, per-alert ORM alerts/s, alerts compared) on the same random sample."""
    import random

    from django.db import connection

    from elasticc.stream.alerts import AlertRow, build_alerts_for_rows
    from elasticc.stream.avro import encode_alert

    with connection.cursor() as cur:
        cur.execute('SELECT "alertId", "diaObjectId", "diaSourceId", "midPointTai" FROM elasticc_diaalert')
        rows = [AlertRow(*r) for r in cur.fetchall()]
    sample = random.Random(3).sample(rows, min(ORM_SAMPLE, len(rows)))
    sample.sort(key=lambda r: (r.midPointTai, r.alertId))
    with connection.cursor() as cur, Timer() as t_set:
        built = []
        for i in range(0, len(sample), 1000):
            built.extend(build_alerts_for_rows(sample[i : i + 1000], cur))
    with Timer() as t_orm:
        baseline = [orm_build(r.alertId) for r in sample]
    # Same alerts both ways (byte for byte once encoded), or the comparison means nothing.
    if [encode_alert(a) for a in built] != [encode_alert(a) for a in baseline]:
        raise RuntimeError("set-based and per-alert ORM alerts differ")
    return len(built) / t_set.seconds, len(baseline) / t_orm.seconds, len(built)


def run(ctx) -> list[Row]:
    from devstack.kafka import EmbeddedKafka
    from devstack.postgres import free_port

    url = ctx.database("bench_alerts")
    n_objects = scaled(5000)
    with Timer() as t:
        n_alerts = seed(url, n_objects)
    print(
        f"seeded {n_objects} objects, {n_alerts} sources/alerts, {n_objects * FORCED_PER_OBJECT} forced sources "
        f"with COPY in {t.seconds:.1f} s",
        flush=True,
    )

    encode_rate, total_bytes, build_seconds = encode_baseline()
    print(
        f"baseline: fastavro encodes {encode_rate:,.0f} alerts/s (avg {total_bytes / n_alerts:,.0f} bytes); "
        f"building them in process took {build_seconds:.1f} s ({n_alerts / build_seconds:,.0f} alerts/s)",
        flush=True,
    )

    set_rate, orm_rate, compared = build_comparison()
    print(
        f"building {compared} alerts: set-based {set_rate:,.0f} alerts/s, per-alert ORM {orm_rate:,.0f} alerts/s "
        f"(ratio {set_rate / orm_rate:.1f}x)",
        flush=True,
    )

    log = REPO_DIR / "var" / "bench-alerts-tansu.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedKafka(free_port(), log)
    broker.start()
    try:
        env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(PROJECT_DIR))
        started = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "send_elasticc_alerts",
                "--through-day",
                "1e9",
                "--do",
                "--no-progress",
                "--kafka-server",
                broker.bootstrap_servers,
                "--topic",
                "bench-alerts",
            ],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
    finally:
        broker.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"send_elasticc_alerts failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    print(proc.stdout.strip(), flush=True)
    match = re.search(r": (\d+) alerts sent and marked .* in ([\d.]+) s", proc.stdout)
    sent, seconds = int(match.group(1)), float(match.group(2))
    if sent != n_alerts:
        raise RuntimeError(f"sent {sent} of {n_alerts} alerts")
    rate = sent / seconds
    print(
        f"send_elasticc_alerts: {rate:,.0f} alerts/s in the command, {sent / wall:,.0f} alerts/s including "
        f"process start-up ({wall:.1f} s wall)",
        flush=True,
    )
    return [
        Row(
            "alerts DB->Kafka (send_elasticc_alerts)",
            rate,
            "/s",
            "fastavro encode only",
            encode_rate,
            goal=f">= {GOAL:,.0f} alerts/s",
            met=rate >= GOAL,
        ),
        Row(
            "alert building, set-based SQL",
            set_rate,
            "/s",
            "per-alert ORM",
            orm_rate,
            goal=f">= {BUILD_GOAL_RATIO:.0f}x per-alert ORM",
            met=set_rate >= BUILD_GOAL_RATIO * orm_rate,
        ),
    ]


if __name__ == "__main__":
    main_for(run)
