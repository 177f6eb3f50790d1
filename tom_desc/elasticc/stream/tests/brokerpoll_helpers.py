"""Helpers for the brokerpoll tests: publish classifications, run brokerpoll as a real process."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Producer
from django.db import connection

from elasticc import taxonomy
from elasticc.stream import avro, brokertables
from elasticc.stream.brokertables import quoted
from tom_desc.lib.numbers import float32  # what an Avro float (and a PostgreSQL real) keeps

PROJECT_DIR = Path(__file__).resolve().parents[3]
LOG_DIR = PROJECT_DIR.parent / "var" / "test-brokerpoll"
# Fast group joins on tansu (a join waits about half the session timeout).
FAST_GROUP = ["--consumer-option", "session.timeout.ms=2000", "--consumer-option", "heartbeat.interval.ms=500"]


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER'] or 'postgres'}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def make_records(
    n: int,
    classifiers: int = 3,
    classes_per_message: int = 4,
    first_alert: int = 1,
    seed: int = 0,
    leaves: list[int] | None = None,
    classifier_prefix: str = "clf",
) -> list[dict]:
    """n records, `classifiers` classifiers taking turns on each alert; classIds drawn from
    `leaves` (ELAsTiCC's exact classes unless given); diaSourceId = alertId * 10."""
    rng = random.Random(seed)
    leaves = leaves or taxonomy.leaf_classids()
    t0 = datetime(2023, 10, 1, tzinfo=UTC)
    records = []
    for i in range(n):
        alert = first_alert + i // classifiers
        chosen = rng.sample(leaves, classes_per_message)
        weights = [rng.random() for _ in chosen]
        total = sum(weights)
        records.append(
            {
                "alertId": alert,
                "diaSourceId": alert * 10,
                "elasticcPublishTimestamp": t0 + timedelta(seconds=alert),
                "brokerIngestTimestamp": t0 + timedelta(seconds=alert + 1),
                "brokerName": "TestBroker",
                "brokerVersion": "1.0",
                "classifierName": f"{classifier_prefix}{i % classifiers}",
                "classifierParams": "",
                "classifications": [{"classId": c, "probability": w / total} for c, w in zip(chosen, weights)],
            }
        )
    return records


def with_alerts(records: list[dict], campaign: str = "elasticc") -> list[dict]:
    """Insert the sent alerts `records` name (with their diaSourceId) in the campaign's alerts
    table, as brokerpoll accepts only messages about sent alerts of this site
    (elasticc/stream/admission.py); returns `records`."""
    alerts = brokertables.get(campaign).alerts
    pairs = sorted({(r["alertId"], r["diaSourceId"]) for r in records})
    names = (alerts.alert_id, alerts.source_id, alerts.object_id, alerts.midpointtai, alerts.sent)
    columns = ", ".join(quoted(c) for c in names)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {alerts.table} ({columns}) SELECT a, s, a, 60000, now() "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS p(a, s) ON CONFLICT DO NOTHING",
            [[a for a, _ in pairs], [s for _, s in pairs]],
        )
    return records


def produce(bootstrap: str, topic: str, values: list[bytes], keys: list[bytes | None] | None = None) -> list:
    """Publish values in order; returns the (partition, offset) of each, from the delivery reports."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    where: list = [None] * len(values)
    errors = []

    def report(index):
        def callback(err, msg):
            if err is not None:
                errors.append(err)
            else:
                where[index] = (msg.partition(), msg.offset())

        return callback

    for i, value in enumerate(values):
        while True:
            try:
                producer.produce(topic, value, key=keys[i] if keys else None, on_delivery=report(i))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    assert not errors, errors[:3]
    assert None not in where
    return where


def encode_all(records: list[dict]) -> list[bytes]:
    encoder = avro.Encoder(avro.BROKER_CLASSIFICATION_SCHEMA)
    return [encoder(r) for r in records]


def expected_rows(records: list[dict]) -> tuple[set, set]:
    messages = {(r["alertId"], r["classifierName"]) for r in records}
    classifications = {
        (r["alertId"], r["classifierName"], c["classId"], float32(c["probability"]))
        for r in records
        for c in r["classifications"]
    }
    return messages, classifications


def stored_rows() -> tuple[list, list]:
    """(alertId, classifierName) of every stored message and of every classification row, as lists
    so that a duplicate would show."""
    with connection.cursor() as cur:
        cur.execute(
            'SELECT m."alertId", c."classifierName" FROM elasticc_brokermessage m '
            'JOIN elasticc_brokerclassifier c USING ("classifierId")'
        )
        messages = cur.fetchall()
        cur.execute(
            'SELECT m."alertId", c."classifierName", bc."classId", bc.probability '
            "FROM elasticc_brokerclassification bc "
            'JOIN elasticc_brokermessage m USING ("classifierId", "brokerMessageId") '
            'JOIN elasticc_brokerclassifier c USING ("classifierId")'
        )
        # A real arrives as its shortest decimal; round both sides to float32 to compare.
        classifications = [(a, c, k, float32(p)) for a, c, k, p in cur.fetchall()]
    return messages, classifications


def count(table: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        return cur.fetchone()[0]


def wait_for(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class BrokerPoll:
    """`python manage.py brokerpoll ...` as a real process against the test database."""

    def __init__(self, args: list[str], name: str, env: dict[str, str] | None = None):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}.log"
        env = dict(
            os.environ, DATABASE_URL=database_url(), PYTHONPATH=str(PROJECT_DIR), LOG_LEVEL="INFO", **(env or {})
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # cached bytecode: restarts in ~2 s instead of ~6 s
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "brokerpoll", *args],
            cwd=PROJECT_DIR,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.log_file.close()

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.log_file.close()
        return code

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.log_file.close()

    def ensure_stopped(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self.log_file.closed:
            self.log_file.close()
