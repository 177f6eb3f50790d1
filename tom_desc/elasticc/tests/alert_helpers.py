"""Test helpers for the alert side: hand-built objects, reading a topic, the reference schemas."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import fastavro
import fastavro.schema
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from elasticc.models import DiaAlert, DiaForcedSource, DiaObject, DiaSource

PROJECT_DIR = Path(__file__).resolve().parents[2]
REFERENCE_SCHEMA_DIR = PROJECT_DIR.parent.parent / "shared" / "reference" / "schema"


def reference_schema(name: str) -> dict:
    """A published reference schema (not the project's copy), e.g. reference_schema("alert")."""
    return fastavro.schema.load_schema(str(REFERENCE_SCHEMA_DIR / f"elasticc.v0_9_1.{name}.avsc"))


def decode_with_reference(data: bytes, name: str = "alert") -> dict:
    return fastavro.schemaless_reader(io.BytesIO(data), reference_schema(name), None)


def make_object(
    object_id: int,
    source_times: list[float],
    forced_times: list[float],
    *,
    with_object_row: bool = True,
    ra: float = 10.0,
    decl: float = -20.0,
) -> None:
    """An object with sources (and one alert each) and forced sources at the given MJDs.

    Ids follow SNANA's scheme: object * 100000 + index; a forced source shares its
    index space with nothing else, so ids are unique per table.
    """
    if with_object_row:
        DiaObject.objects.create(
            diaObjectId=object_id, simVersion="test", ra=ra, decl=decl, mwebv=0.125, z_final=0.5, hostgal_mag_Y=22.5
        )
    sources, alerts = [], []
    for i, t in enumerate(source_times):
        sid = object_id * 100000 + i
        flux = 100.0 + i
        sources.append(
            DiaSource(
                diaSourceId=sid,
                diaObjectId=object_id,
                midPointTai=t,
                filterName="ugrizY"[i % 6],
                ra=ra,
                decl=decl,
                psFlux=flux,
                psFluxErr=4.0,
                snr=flux / 4.0,
            )
        )
        alerts.append(DiaAlert(alertId=sid, diaSourceId=sid, diaObjectId=object_id, midPointTai=t))
    DiaSource.objects.bulk_create(sources)
    DiaAlert.objects.bulk_create(alerts)
    DiaForcedSource.objects.bulk_create(
        DiaForcedSource(
            diaForcedSourceId=object_id * 100000 + 50000 + i,
            diaObjectId=object_id,
            midPointTai=t,
            filterName="r",
            psFlux=float(i) - 2.5,
            psFluxErr=3.0,
        )
        for i, t in enumerate(forced_times)
    )


def make_many(
    n_objects: int,
    sources_per_object: int,
    forced_per_object: int,
    *,
    first_object: int = 500,
    start: float = 60000.0,
    spacing: float = 1.0,
) -> list[int]:
    """A simple survey: object k's sources are `spacing` days apart starting at start + k/100.

    Returns the object ids. Built with bulk_create in a few statements.
    """
    objects, sources, alerts, forced = [], [], [], []
    object_ids = list(range(first_object, first_object + n_objects))
    for k, oid in enumerate(object_ids):
        objects.append(DiaObject(diaObjectId=oid, simVersion="test", ra=float(k % 360), decl=-30.0, mwebv=0.01))
        t0 = start + k / 100
        for i in range(sources_per_object):
            sid = oid * 100000 + i
            t = t0 + i * spacing
            sources.append(
                DiaSource(
                    diaSourceId=sid,
                    diaObjectId=oid,
                    midPointTai=t,
                    filterName="ugrizY"[i % 6],
                    ra=float(k % 360),
                    decl=-30.0,
                    psFlux=50.0 + i,
                    psFluxErr=5.0,
                    snr=10.0 + i / 5,
                )
            )
            alerts.append(DiaAlert(alertId=sid, diaSourceId=sid, diaObjectId=oid, midPointTai=t))
        for j in range(forced_per_object):
            forced.append(
                DiaForcedSource(
                    diaForcedSourceId=oid * 100000 + 50000 + j,
                    diaObjectId=oid,
                    midPointTai=t0 - 40 + j * (sources_per_object * spacing + 40) / max(forced_per_object, 1),
                    filterName="g",
                    psFlux=1.5 * j,
                    psFluxErr=2.0,
                )
            )
    DiaObject.objects.bulk_create(objects, batch_size=2000)
    DiaSource.objects.bulk_create(sources, batch_size=2000)
    DiaAlert.objects.bulk_create(alerts, batch_size=2000)
    DiaForcedSource.objects.bulk_create(forced, batch_size=2000)
    return object_ids


def read_topic(servers: str, topic: str, at_least: int = 0, idle: float = 1.5, timeout: float = 60.0) -> list:
    """Every message in `topic` (all partitions, from the start), without a consumer group.

    Reads until at least `at_least` messages arrived and then nothing more for `idle`
    seconds. (tansu's high watermarks count record batches, not records, so they cannot
    say where a partition ends.)
    """
    consumer = Consumer(
        {"bootstrap.servers": servers, "group.id": f"reader-{os.getpid()}", "enable.auto.commit": False, "log_level": 2}
    )
    try:
        deadline = time.monotonic() + timeout
        while True:  # a topic appears with its first message
            info = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if info is not None and info.error is None:
                break
            if at_least == 0:
                return []
            if time.monotonic() > deadline:
                raise AssertionError(f"no topic {topic} after {timeout}s")
            time.sleep(0.2)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in info.partitions])
        messages = []
        last = time.monotonic()
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                messages.append(msg)
                last = time.monotonic()
            elif len(messages) >= at_least and time.monotonic() - last >= idle:
                return messages
        raise AssertionError(f"only {len(messages)} of at least {at_least} messages on {topic} after {timeout}s")
    finally:
        consumer.close()


def database_url() -> str:
    """The URL of the test database, for manage.py subprocesses."""
    from django.db import connection

    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER'] or 'postgres'}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def manage_py(*args: str, **popen_kwargs) -> subprocess.Popen:
    """`python manage.py ARGS` on the test database, as a child process."""
    env = dict(os.environ, DATABASE_URL=database_url(), PYTHONPATH=str(PROJECT_DIR))
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, **popen_kwargs)
