"""A stand-in alert broker: reads ELAsTiCC alerts, publishes made-up classifications.

    python manage.py fakebroker                       # two classifiers, settings' topics
    python manage.py fakebroker --classifier Alpha --classifier Beta --group demo

For each alert on the alerts topic and each named classifier it publishes one
brokerClassification (schemaless Avro) whose probabilities over the taxonomy's exact
classIds sum to 1. They are pseudo-random but a pure function of (classifier, alertId),
so a re-read alert gets the same classification again. elasticcPublishTimestamp is the
alert's Kafka message timestamp, brokerIngestTimestamp the moment it was read.

Consumer offsets are committed to Kafka only after the classifications of a batch were
delivered (at least once). SIGTERM/SIGINT finish the batch in hand, commit and exit 0.
The consumer plumbing (group handling, reconnects, stop flag) is elasticc.stream.consumer's.
"""
from __future__ import annotations

import logging
import random
import time

from confluent_kafka import KafkaException, Producer, TopicPartition
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from elasticc import taxonomy
from elasticc.stream.avro import ALERT_SCHEMA, BROKER_CLASSIFICATION_SCHEMA, Encoder, decode
from elasticc.stream.consumer import BatchConsumer, BrokerConfig, StopFlag

log = logging.getLogger(__name__)

DEFAULT_CLASSIFIERS = ["FakeClassifierA", "FakeClassifierB"]


def classify(classifier: str, alert_id: int, leaves: list[int]) -> list[dict]:
    """Made-up probabilities over 3-8 of the exact classIds, summing to 1 (as 4-byte floats too)."""
    rng = random.Random(f"{classifier}:{alert_id}")
    chosen = rng.sample(leaves, rng.randint(3, min(8, len(leaves))))
    weights = [rng.gammavariate(1.0, 1.0) + 1e-3 for _ in chosen]
    total = sum(weights)
    # Rounded to the wire's 4-byte floats; the last one takes up the rounding, so what a
    # reader decodes sums to 1 within a float32 step.
    probabilities = [_float32(w / total) for w in weights[:-1]]
    probabilities.append(_float32(max(0.0, 1.0 - sum(probabilities))))
    return [{"classId": c, "probability": p} for c, p in zip(chosen, probabilities)]


def _float32(x: float) -> float:
    import struct

    return struct.unpack("<f", struct.pack("<f", x))[0]


class Command(BaseCommand):
    help = ("Consume ELAsTiCC alerts and publish fake brokerClassification messages for one or more "
            "named classifiers (probabilities over taxonomy classIds summing to 1). For demos and tests.")

    def add_arguments(self, parser):
        parser.add_argument("--kafka-server", default=settings.KAFKA_BOOTSTRAP_SERVERS,
                            help="Kafka bootstrap servers (default %(default)s)")
        parser.add_argument("--alert-topic", default=settings.ELASTICC_ALERT_TOPIC,
                            help="topic to read alerts from (default %(default)s)")
        parser.add_argument("--topic", default=settings.ELASTICC_FAKEBROKER_TOPIC,
                            help="topic to publish classifications to (default %(default)s)")
        parser.add_argument("--group", default="fakebroker", help="consumer group id (default %(default)s)")
        parser.add_argument("--classifier", action="append", dest="classifiers", metavar="NAME",
                            help=f"a classifier to publish for (repeatable; default {' and '.join(DEFAULT_CLASSIFIERS)})")
        parser.add_argument("--broker-name", default="FakeBroker", help="brokerName (default %(default)s)")
        parser.add_argument("--broker-version", default="1.0", help="brokerVersion (default %(default)s)")
        parser.add_argument("--batch-size", type=int, default=500, help="alerts per poll (default %(default)s)")
        parser.add_argument("--max-alerts", type=int, default=None, help="exit after this many alerts")
        parser.add_argument("--exit-when-idle", type=float, default=None, metavar="SECONDS",
                            help="exit once no alert arrived for this long and the assigned partitions are read to "
                                 "their end (for tests and one-off runs)")
        parser.add_argument("--session-timeout-ms", type=int, default=6000,
                            help="consumer group session timeout; joining takes about half of it (default %(default)s)")
        parser.add_argument("--log-every", type=float, default=10.0, help="seconds between count log lines")

    def handle(self, *args, **options):
        classifiers = options["classifiers"] or DEFAULT_CLASSIFIERS
        if len(set(classifiers)) != len(classifiers):
            raise CommandError("--classifier names must be distinct")
        leaves = taxonomy.leaf_classids()
        params = "pseudo-random probabilities, seeded by classifier and alertId"
        servers = options["kafka_server"]
        config = BrokerConfig(
            name="fakebroker", bootstrap_servers=servers, topics=[options["alert_topic"]], group_id=options["group"],
            schema=ALERT_SCHEMA,
            consumer_config={"session.timeout.ms": options["session_timeout_ms"],
                             "heartbeat.interval.ms": max(100, options["session_timeout_ms"] // 4)})
        positions: dict[tuple[str, int], int] = {}  # next offset to read, per partition: for the lag

        def start_offsets(parts):
            found = self._committed(consumer, parts)
            positions.update(found)
            return found

        consumer = BatchConsumer(config, start_offsets=start_offsets, logger=log)
        producer = Producer({"bootstrap.servers": servers, "acks": "all", "linger.ms": 20, "log_level": 2,
                             "enable.idempotence": True})
        encode = Encoder(BROKER_CLASSIFICATION_SCHEMA)
        stop = StopFlag().install()
        failures: list[str] = []

        def delivered(err, msg):
            if err is not None:
                failures.append(str(err))

        alerts = published = bad = 0
        started = last_log = last_alert = time.monotonic()
        try:
            while not stop:
                if options["max_alerts"] is not None and alerts >= options["max_alerts"]:
                    break
                want = options["batch_size"]
                if options["max_alerts"] is not None:
                    want = min(want, options["max_alerts"] - alerts)
                messages = consumer.poll_batch(want, 1.0)
                now = time.monotonic()
                if now - last_log >= options["log_every"]:
                    log.info("fakebroker: %d alerts read, %d classifications published, %d undecodable",
                             alerts, published, bad)
                    last_log = now
                if not messages:
                    if options["exit_when_idle"] is not None and now - last_alert >= options["exit_when_idle"]:
                        # Only once the partitions are assigned and read to their end: a slow group
                        # join is not idleness.
                        if consumer.lag(positions) == 0:
                            break
                        last_alert = now
                    continue
                last_alert = now
                ingest_ms = int(time.time() * 1000)
                next_offsets: dict[tuple[str, int], int] = {}
                for message in messages:
                    next_offsets[(message.topic(), message.partition())] = message.offset() + 1
                    try:
                        alert = decode(message.value(), ALERT_SCHEMA)
                    except Exception as exc:  # not an alert: skip it, keep going
                        bad += 1
                        log.warning("undecodable alert at %s[%d]@%d: %s", message.topic(), message.partition(),
                                    message.offset(), exc)
                        continue
                    alerts += 1
                    publish_ms = message.timestamp()[1]
                    for name in classifiers:
                        value = encode({
                            "alertId": alert["alertId"],
                            "diaSourceId": alert["diaSource"]["diaSourceId"],
                            "elasticcPublishTimestamp": publish_ms,
                            "brokerIngestTimestamp": max(ingest_ms, publish_ms),
                            "brokerName": options["broker_name"],
                            "brokerVersion": options["broker_version"],
                            "classifierName": name,
                            "classifierParams": params,
                            "classifications": classify(name, alert["alertId"], leaves),
                        })
                        self._produce(producer, options["topic"], value, str(alert["alertId"]).encode(), delivered)
                        published += 1
                producer.flush(60)
                if failures or len(producer):
                    raise CommandError(f"classifications not delivered to {options['topic']}: "
                                       f"{failures[0] if failures else 'timed out'}; offsets not committed")
                self._commit(consumer, next_offsets)
                positions.update(next_offsets)
        finally:
            consumer.close()
        elapsed = time.monotonic() - started
        self.stdout.write(f"fakebroker: {alerts} alerts read, {published} classifications published to "
                          f"{options['topic']} for {len(classifiers)} classifiers in {elapsed:.1f} s"
                          + (f", {bad} undecodable" if bad else "")
                          + (f"; stopped by {stop.signal_name}" if stop.signal_name else ""))

    @staticmethod
    def _produce(producer: Producer, topic: str, value: bytes, key: bytes, callback) -> None:
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=callback)
                return
            except BufferError:
                producer.poll(0.1)

    @staticmethod
    def _committed(consumer: BatchConsumer, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Start offsets for newly assigned partitions: the group's offsets committed in Kafka."""
        committed = consumer.consumer.committed([TopicPartition(t, p) for t, p in partitions], timeout=10)
        return {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}

    @staticmethod
    def _commit(consumer: BatchConsumer, next_offsets: dict[tuple[str, int], int]) -> None:
        if consumer.consumer is None or not next_offsets:
            return
        try:
            consumer.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in next_offsets.items()],
                                     asynchronous=False)
        except KafkaException as exc:
            # Not fatal: the batch would be classified again after a restart (same values).
            log.warning("offset commit failed: %s", exc)
