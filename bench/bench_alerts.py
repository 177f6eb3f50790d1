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

ELAsTiCC2 (same sizes, in the elasticc2 ppdb tables, one object in 20 a DDF object whose alerts
go to two topics): the same engine with ELAsTiCC2's campaign (365-day history, WFD / ddf-full /
ddf-limited topics), against the same kind of baseline, fastavro encoding the very ELAsTiCC2
alerts from ready-made dicts:
- built and produced: AlertSender.send_batch over every unsent alert, in process, until Kafka
  confirmed every copy (no marking). Goal: at least 10,000 alerts/s.
- the whole `send_elasticc2_alerts --do` command: also marking each alert and copying what it
  carried into the TOM-known tables, in the same transaction (its summary line's rate).
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
E2_GOAL = 10000.0
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
            'COPY elasticc_diaalert ("alertId", "diaSourceId", "diaObjectId", "alertMidPointTai") FROM STDIN'
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
            'SELECT "alertId", "diaObjectId", "diaSourceId", "alertMidPointTai" FROM elasticc_diaalert '
            'ORDER BY "alertMidPointTai", "alertId"'
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
    from elasticc.stream.alertcampaigns import FORCED_FIELDS, SOURCE_FIELDS
    from elasticc.stream.alerts import FORCED_AFTER_FIRST_DAYS, FORCED_BEFORE_FIRST_DAYS, object_fields

    source_fields, forced_fields = SOURCE_FIELDS, FORCED_FIELDS
    alert = DiaAlert.objects.get(alertId=alert_id)
    sources = DiaSource.objects.filter(diaObjectId=alert.diaObjectId)
    source = sources.filter(diaSourceId=alert.diaSourceId).values(*source_fields).get()
    t = source["midPointTai"]
    first = sources.aggregate(first=Min("midPointTai"))["first"]
    prv = list(sources.filter(midPointTai__lt=t).order_by("midPointTai", "diaSourceId").values(*source_fields))
    forced = []
    if t - first > FORCED_AFTER_FIRST_DAYS:
        forced = list(
            DiaForcedSource.objects.filter(
                diaObjectId=alert.diaObjectId, midPointTai__gte=first - FORCED_BEFORE_FIRST_DAYS, midPointTai__lt=t
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
        cur.execute('SELECT "alertId", "diaObjectId", "diaSourceId", "alertMidPointTai" FROM elasticc_diaalert')
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


def seed_elasticc2(url: str, n_objects: int) -> tuple[int, int]:
    """COPY the same synthetic survey into the ELAsTiCC2 ppdb tables (binary COPY, numpy);
    every 20th object is a DDF object. Returns (alerts, DDF alerts)."""
    import numpy as np
    import psycopg

    from elasticc.loading.copy import Column, copy_binary

    k = np.arange(n_objects, dtype=np.int64)
    oid = k + 1
    ddf = k % 20 == 0
    t0 = 60000.0 + k % 300 + (k % 7) * 0.01
    s_oid, s_i = np.repeat(oid, SOURCES_PER_OBJECT), np.tile(np.arange(SOURCES_PER_OBJECT), n_objects)
    s_t = np.repeat(t0, SOURCES_PER_OBJECT) + 3 * s_i
    s_id = s_oid * 100000 + s_i
    f_oid, f_j = np.repeat(oid, FORCED_PER_OBJECT), np.tile(np.arange(FORCED_PER_OBJECT), n_objects)
    bands = np.array([b"u", b"g", b"r", b"i", b"z", b"Y"])
    flux = (500.0 + 40 * s_i).astype(np.float32)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        copy_binary(
            cur,
            "elasticc2_ppdbdiaobject",
            [
                Column("diaobject_id", "int8", oid),
                Column("isddf", "bool", ddf),
                Column("simversion", "text", np.full(n_objects, b"bench")),
                Column("ra", "float8", (k * 0.37) % 360),
                Column("decl", "float8", -60 + (k * 0.11) % 90),
                Column("mwebv", "float4", np.full(n_objects, 0.02, np.float32)),
                Column("z_final", "float4", np.full(n_objects, 0.3, np.float32)),
                Column("hostgal_mag_r", "float4", np.full(n_objects, 21.5, np.float32)),
            ],
        )
        copy_binary(
            cur,
            "elasticc2_ppdbdiasource",
            [
                Column("diasource_id", "int8", s_id),
                Column("diaobject_id", "int8", s_oid),
                Column("midpointtai", "float8", s_t),
                Column("filtername", "text", bands[s_i % 6]),
                Column("ra", "float8", np.repeat((k * 0.37) % 360, SOURCES_PER_OBJECT)),
                Column("decl", "float8", np.repeat(-60 + (k * 0.11) % 90, SOURCES_PER_OBJECT)),
                Column("psflux", "float4", flux),
                Column("psfluxerr", "float4", np.full(len(s_id), 25.0, np.float32)),
                Column("snr", "float4", flux / np.float32(25.0)),
            ],
        )
        copy_binary(
            cur,
            "elasticc2_ppdbalert",
            [
                Column("alert_id", "int8", s_id),
                Column("diasource_id", "int8", s_id),
                Column("diaobject_id", "int8", s_oid),
                Column("midpointtai", "float8", s_t),
            ],
        )
        copy_binary(
            cur,
            "elasticc2_ppdbdiaforcedsource",
            [
                Column("diaforcedsource_id", "int8", f_oid * 100000 + 50000 + f_j),
                Column("diaobject_id", "int8", f_oid),
                Column("midpointtai", "float8", np.repeat(t0, FORCED_PER_OBJECT) - 30 + 2 * f_j + 0.001),
                Column("filtername", "text", bands[f_j % 6]),
                Column("psflux", "float4", (10.0 * f_j).astype(np.float32)),
                Column("psfluxerr", "float4", np.full(len(f_j), 20.0, np.float32)),
            ],
        )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return len(s_id), int(ddf.sum()) * SOURCES_PER_OBJECT


def elasticc2_encode_baseline() -> float:
    """fastavro alone on the ELAsTiCC2 alerts (WFD rule), built beforehand: alerts/s."""
    from django.db import connection

    from elasticc.stream.alerts import AlertRow, build_alerts_for_rows
    from elasticc.stream.avro import ALERT_SCHEMA, Encoder

    with connection.cursor() as cur:
        cur.execute("SELECT alert_id, diaobject_id, diasource_id, midpointtai FROM elasticc2_ppdbalert ORDER BY 4, 1")
        rows = [AlertRow(*r) for r in cur.fetchall()]
        built = []
        for i in range(0, len(rows), 1000):
            built.extend(build_alerts_for_rows(rows[i : i + 1000], cur, "elasticc2"))
    encode = Encoder(ALERT_SCHEMA)
    with Timer() as t:
        for alert in built:
            encode(alert)
    return len(built) / t.seconds


def elasticc2_build_and_produce(servers: str) -> tuple[float, int, int]:
    """AlertSender with ELAsTiCC2's campaign over every unsent alert, in process: built, produced
    and confirmed by Kafka, not marked. (alerts/s, alerts, messages)."""
    from django.db import connection

    from elasticc.stream.alerts import AlertRow
    from elasticc.stream.sender import AlertSender, sql

    topics = {"wfd": "bench2-wfd", "ddf-full": "bench2-ddf-full", "ddf-limited": "bench2-ddf-limited"}
    engine = AlertSender(servers, topics, 120.0, campaign="elasticc2")
    engine.check_reachable()
    with connection.cursor() as cur:
        cur.execute(sql(engine.campaign.tables).unsent, {"through": 1e9, "since": float("-inf")})
        rows = [AlertRow(*r) for r in cur.fetchall()]
        with Timer() as t:
            for i in range(0, len(rows), 1000):
                engine.send_batch(rows[i : i + 1000], cur)
                engine.producer.poll(0)
            engine.producer.flush(120)
    if engine.failed or len(engine.producer) or len(engine.delivered) != len(rows):
        raise RuntimeError(f"ELAsTiCC2 build-and-produce: {len(engine.delivered)} of {len(rows)} confirmed")
    return len(rows) / t.seconds, len(rows), engine.messages


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
        e2_rows = run_elasticc2(ctx, broker, n_objects)
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
        *e2_rows,
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


def run_elasticc2(ctx, broker, n_objects: int) -> list[Row]:
    """The ELAsTiCC2 figures, on their own database, against the same broker."""
    url = ctx.database("bench_alerts2")
    with Timer() as t:
        n_alerts, n_ddf = seed_elasticc2(url, n_objects)
    print(f"ELAsTiCC2: seeded {n_alerts} alerts ({n_ddf} of DDF objects) with COPY in {t.seconds:.1f} s", flush=True)
    baseline = elasticc2_encode_baseline()
    rate, alerts, messages = elasticc2_build_and_produce(broker.bootstrap_servers)
    print(
        f"ELAsTiCC2: {alerts} alerts ({messages} messages) built and produced at {rate:,.0f} alerts/s; "
        f"fastavro alone encodes {baseline:,.0f} alerts/s",
        flush=True,
    )
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(PROJECT_DIR))
    proc = subprocess.run(
        [sys.executable, "manage.py", "send_elasticc2_alerts", "-d", "1e9", "--do", "--no-progress", "-k",
         broker.bootstrap_servers, "--wfd-topic", "bench3-wfd", "--ddf-full-topic", "bench3-ddf-full",
         "--ddf-limited-topic", "bench3-ddf-limited"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"send_elasticc2_alerts failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    print(proc.stdout.strip(), flush=True)
    match = re.search(r": (\d+) alerts sent and marked .* in ([\d.]+) s", proc.stdout)
    sent, seconds = int(match.group(1)), float(match.group(2))
    if sent != n_alerts:
        raise RuntimeError(f"send_elasticc2_alerts sent {sent} of {n_alerts} alerts")
    return [
        Row(
            "ELAsTiCC2 alerts built+produced (engine)",
            rate,
            "/s",
            "fastavro encode only",
            baseline,
            goal=f">= {E2_GOAL:,.0f} alerts/s",
            met=rate >= E2_GOAL,
        ),
        Row(
            "ELAsTiCC2 send+mark+TOM-known (command)",
            sent / seconds,
            "/s",
            "fastavro encode only",
            baseline,
            goal=f">= {GOAL:,.0f} alerts/s",
            met=sent / seconds >= GOAL,
        ),
    ]


if __name__ == "__main__":
    main_for(run)
