"""Broker-classification ingest: messages/s from Kafka into PostgreSQL by one brokerpoll process.

Starts an embedded Kafka-protocol broker, publishes N brokerClassification messages (60,000
at BENCH_SCALE=1; 5 classifiers, 20 classifications each, 4 partitions), and measures in
the same run:

- baseline: the raw consume rate of the same messages (confluent-kafka consume + fastavro
  schemaless decode, nothing stored);
- the figure: one `manage.py brokerpoll --assign` process decoding, validating, screening
  (each message's alert must exist, be sent and have its source: elasticc/stream/admission.py;
  the alerts are seeded first) and storing every message (COPY, offsets in the same transaction). The rate is taken from the
  database side, from the first stored batch to the last, so interpreter start-up and
  the first fetch are not counted.

Goal: at least 5,000 messages/s (about 100,000 classifications/s) on the 2-core machine.

Then, in the same process and database, the storing step alone (no Kafka):
``store_broker_messages`` (COPY, batches of 5,000) against Django ORM ``bulk_create`` of
the same records (batches of 5,000, ids reserved from the same sequences, no duplicate
check, so the baseline does strictly less work). The ratio is printed. And the screening
each batch goes through first (``admission.unsent_alerts`` and ``admission.screen``: the
alerts the messages name, the classifiers they need) against that COPY, per batch.

And the two message layouts (issue 14), same messages (ELAsTiCC2's four-digit classIds, 20
classifications each), same store path (``store_broker_messages``, COPY, batches of 5,000, one
transaction each), the only difference the campaign's tables: ELAsTiCC2's arrays layout (one
row per message, ``classid smallint[]``, ``probability real[]``) against ELAsTiCC's
row-per-classification layout (a message row plus 20 classification rows). Messages/s (goal:
at least 1.5x) and rows written (goal: 20x fewer), and the bytes the two layouts take on disk.
The messages are stored in two halves, alternating which layout goes first, so that neither
layout always meets the warmer cache.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PROJECT_DIR, REPO_DIR, Row, main_for, scaled
from ingest_layouts import CLASSIFICATIONS, CLASSIFIERS, bench_records, layout_rates

GOAL_MESSAGES = 5000.0
GOAL_ARRAYS_SPEEDUP = 1.5
PARTITIONS = 4


def publish(bootstrap: str, topic: str, n: int) -> None:
    from confluent_kafka import Producer

    from elasticc import taxonomy
    from elasticc.stream import avro

    rng = random.Random(1)
    leaves = taxonomy.leaf_classids()
    encoder = avro.Encoder(avro.BROKER_CLASSIFICATION_SCHEMA)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10000})
    for i in range(n):
        alert = i // CLASSIFIERS + 1
        weights = [rng.random() for _ in range(CLASSIFICATIONS)]
        total = sum(weights)
        value = encoder(
            {
                "alertId": alert,
                "diaSourceId": alert,
                "elasticcPublishTimestamp": t0 + timedelta(seconds=alert),
                "brokerIngestTimestamp": t0 + timedelta(seconds=alert + 2),
                "brokerName": "BenchBroker",
                "brokerVersion": "1",
                "classifierName": f"classifier{i % CLASSIFIERS}",
                "classifierParams": "",
                "classifications": [
                    {"classId": c, "probability": w / total}
                    for c, w in zip(rng.sample(leaves, CLASSIFICATIONS), weights)
                ],
            }
        )
        while True:
            try:
                producer.produce(topic, value, key=str(alert).encode())
                break
            except BufferError:
                producer.poll(0.05)
        if i % 5000 == 0:
            producer.poll(0)
    producer.flush(120)


def seed_sent_alerts(url: str, n_messages: int) -> None:
    """The sent alerts the messages name (alertId = diaSourceId = 1 .. n / CLASSIFIERS)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            'INSERT INTO elasticc_diaalert ("alertId", "diaSourceId", "diaObjectId", "alertMidPointTai", '
            '"alertSentTimestamp") SELECT a, a, a, 60000 + a / 1000.0, now() FROM generate_series(1, %s) a',
            [n_messages // CLASSIFIERS + 1],
        )
        conn.execute("ANALYZE elasticc_diaalert")


def raw_consume_rate(bootstrap: str, topic: str, n: int) -> float:
    """Messages/s of consume + fastavro decode alone, timed from the first message."""
    import fastavro
    from confluent_kafka import Consumer, TopicPartition

    from elasticc.stream import avro

    schema = avro.load_schema(avro.BROKER_CLASSIFICATION_SCHEMA)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-raw", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen, start = 0, None
    deadline = time.monotonic() + 300
    while seen < n and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=5000, timeout=1.0):
            if message.error():
                continue
            if start is None:
                start = time.perf_counter()
            fastavro.schemaless_reader(io.BytesIO(message.value()), schema, None)
            seen += 1
    seconds = time.perf_counter() - start
    consumer.close()
    if seen < n:
        raise RuntimeError(f"raw consumer saw only {seen} of {n} messages")
    return seen / seconds


def brokerpoll_rate(url: str, bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    """(messages/s from the first stored batch to the last, wall seconds of the process)."""
    import psycopg

    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(PROJECT_DIR))
    log_path = REPO_DIR / "var" / "bench-brokerpoll.log"
    with open(log_path, "wb") as log, psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "brokerpoll",
                "--kafka-server",
                bootstrap,
                "--topic",
                topic,
                "--group",
                "bench",
                "--assign",
                "--batch-size",
                "5000",
                "--exit-when-idle",
                "2",
                "--log-every",
                "5",
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        first = first_count = None
        count = 0
        try:
            while count < n:
                if proc.poll() is not None:
                    raise RuntimeError(f"brokerpoll exited early; see {log_path}")
                count = conn.execute("SELECT count(*) FROM elasticc_brokermessage").fetchone()[0]
                if count and first is None:
                    first, first_count = time.perf_counter(), count
                time.sleep(0.05)
            done = time.perf_counter()
            proc.wait(120)
        finally:
            if proc.poll() is None:
                proc.kill()
        wall = time.perf_counter() - started
        stored = conn.execute("SELECT count(*) FROM elasticc_brokerclassification").fetchone()[0]
    if stored != n * CLASSIFICATIONS:
        raise RuntimeError(f"{stored} classifications stored, expected {n * CLASSIFICATIONS}")
    return (count - first_count) / (done - first), wall


def copy_rate(records: list[dict], batch: int = 5000) -> float:
    """Messages/s of store_broker_messages (COPY), one transaction per batch."""
    from elasticc.stream.ingest import KafkaOrigin, store_broker_messages

    start = time.perf_counter()
    for b in range(0, len(records), batch):
        chunk = records[b : b + batch]
        result = store_broker_messages([(r, KafkaOrigin("bench-copy", 0, b + i, None)) for i, r in enumerate(chunk)])
        if result.stored != len(chunk):
            raise RuntimeError(f"COPY stored {result.stored} of {len(chunk)}")
    return len(records) / (time.perf_counter() - start)


def screening_rate(records: list[dict], batch: int = 5000) -> float:
    """Messages/s of the screening brokerpoll does before storing a batch (its wait check and
    admission.screen, classifiers already known as in steady state), one transaction per batch."""
    from django.db import transaction

    from elasticc.stream import admission

    start = time.perf_counter()
    for b in range(0, len(records), batch):
        chunk = records[b : b + batch]
        with transaction.atomic():
            if admission.unsent_alerts(chunk) or admission.screen(chunk, "kafka:bench"):
                raise RuntimeError("the bench's messages must all pass the screening")
    return len(records) / (time.perf_counter() - start)


def orm_rate(records: list[dict], batch: int = 5000) -> float:
    """Messages/s of the same records through Django's bulk_create, one transaction per batch."""
    from django.db import connection, transaction

    from elasticc.models import BrokerClassification, BrokerClassifier, BrokerMessage

    def reserve(sequence: str, n: int) -> list[int]:
        with connection.cursor() as cur:
            cur.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, n])
            return [row[0] for row in cur.fetchall()]

    start = time.perf_counter()
    classifiers: dict[tuple, int] = {}
    for b in range(0, len(records), batch):
        chunk = records[b : b + batch]
        with transaction.atomic():
            for r in chunk:
                key = (r["brokerName"], r["brokerVersion"], r["classifierName"], r["classifierParams"])
                if key not in classifiers:
                    classifiers[key] = BrokerClassifier.objects.get_or_create(
                        brokerName=key[0], brokerVersion=key[1], classifierName=key[2], classifierParams=key[3]
                    )[0].classifierId
            message_ids = reserve("elasticc_brokermessage_id_seq", len(chunk))
            class_ids = iter(
                reserve("elasticc_brokerclassification_id_seq", sum(len(r["classifications"]) for r in chunk))
            )
            messages, classifications = [], []
            for i, (r, mid) in enumerate(zip(chunk, message_ids)):
                cid = classifiers[(r["brokerName"], r["brokerVersion"], r["classifierName"], r["classifierParams"])]
                messages.append(
                    BrokerMessage(
                        brokerMessageId=mid,
                        classifierId=cid,
                        streamMessageId=b + i,
                        topicName="bench-orm",
                        kafkaPartition=0,
                        alertId=r["alertId"],
                        diaSourceId=r["diaSourceId"],
                        elasticcPublishTimestamp=r["elasticcPublishTimestamp"],
                        brokerIngestTimestamp=r["brokerIngestTimestamp"],
                    )
                )
                classifications += [
                    BrokerClassification(
                        classificationId=next(class_ids),
                        classifierId=cid,
                        brokerMessageId=mid,
                        classId=c["classId"],
                        probability=c["probability"],
                    )
                    for c in r["classifications"]
                ]
            BrokerMessage.objects.bulk_create(messages, batch_size=batch)
            BrokerClassification.objects.bulk_create(classifications, batch_size=batch)
    return len(records) / (time.perf_counter() - start)


def run(ctx) -> list[Row]:
    from devstack.kafka import EmbeddedKafka
    from devstack.postgres import free_port

    url = ctx.database("bench_ingest")
    n = scaled(60000)
    seed_sent_alerts(url, n)
    broker = EmbeddedKafka(free_port(), REPO_DIR / "var" / "bench-ingest-tansu.log")
    broker.start()
    try:
        topic = "bench-classifications"
        broker.create_topic(topic, partitions=PARTITIONS)
        publish(broker.bootstrap_servers, topic, n)
        raw = raw_consume_rate(broker.bootstrap_servers, topic, n)
        rate, wall = brokerpoll_rate(url, broker.bootstrap_servers, topic, n)
    finally:
        broker.stop()
    print(
        f"ingest: {n} messages ({n * CLASSIFICATIONS} classifications); brokerpoll {rate:.0f} msg/s "
        f"stored, {wall:.1f} s wall including start-up; raw consume+decode {raw:.0f} msg/s "
        f"(ratio {rate / raw:.2f})"
    )

    m = scaled(20000)
    copied = bench_records(m, "BenchCopy", seed=2)
    copy = copy_rate(copied)
    screening = screening_rate(copied)
    orm = orm_rate(bench_records(m, "BenchORM", seed=2))
    layouts = layout_rates(bench_records(m, "BenchLayouts", seed=3, campaign="elasticc2", first_alert=10_000_000))
    arrays, rows = layouts["arrays"], layouts["rows"]
    print(
        f"message layouts, {m} messages of {CLASSIFICATIONS} classifications: arrays (ELAsTiCC2) "
        f"{arrays['rate']:.0f} msg/s, {arrays['rows']} rows, {arrays['bytes'] / m:.0f} B/message; "
        f"row per classification (ELAsTiCC) {rows['rate']:.0f} msg/s, {rows['rows']} rows, "
        f"{rows['bytes'] / m:.0f} B/message; speed-up {arrays['rate'] / rows['rate']:.2f}, "
        f"{rows['rows'] / arrays['rows']:.0f}x fewer rows"
    )
    print(
        f"store step alone, {m} messages ({m * CLASSIFICATIONS} classifications): COPY {copy:.0f} msg/s, "
        f"ORM bulk_create {orm:.0f} msg/s, ratio {copy / orm:.1f}; screening {screening:.0f} msg/s "
        f"({100 * copy / screening:.0f}% of the COPY's time on top of it)"
    )
    return [
        Row(
            "ingest: broker messages/s (brokerpoll)",
            rate,
            "/s",
            "raw consume+decode",
            raw,
            f">= {GOAL_MESSAGES:.0f}/s",
            rate >= GOAL_MESSAGES,
        ),
        Row(
            "ingest: classifications/s (brokerpoll)",
            rate * CLASSIFICATIONS,
            "/s",
            "raw consume+decode",
            raw * CLASSIFICATIONS,
            f">= {GOAL_MESSAGES * CLASSIFICATIONS:.0f}/s",
            rate * CLASSIFICATIONS >= GOAL_MESSAGES * CLASSIFICATIONS,
        ),
        Row(
            "ingest: store step messages/s (COPY)",
            copy,
            "/s",
            "ORM bulk_create",
            orm,
            "faster than bulk_create",
            copy > orm,
        ),
        Row(
            "ingest: arrays layout messages/s (ELAsTiCC2)",
            arrays["rate"],
            "/s",
            "row per classif.",
            rows["rate"],
            f">= {GOAL_ARRAYS_SPEEDUP}x",
            arrays["rate"] >= GOAL_ARRAYS_SPEEDUP * rows["rate"],
        ),
        Row(
            "ingest: arrays layout rows written",
            arrays["rows"],
            "",
            "row per classif.",
            rows["rows"],
            f"<= 1/{CLASSIFICATIONS}",
            arrays["rows"] * CLASSIFICATIONS <= rows["rows"],
        ),
        Row(
            "ingest: arrays layout bytes/message",
            arrays["bytes"] / m,
            "B",
            "row per classif.",
            rows["bytes"] / m,
            "",
            None,
        ),
        Row(
            "ingest: screening messages/s (alerts, classifiers)",
            screening,
            "/s",
            "store step (COPY)",
            copy,
            "ratio >> 1 (small next to storing)",
            screening > 5 * copy,
        ),
    ]


if __name__ == "__main__":
    main_for(run)
