"""The fake broker's engine: read alerts of one or both campaigns, publish made-up classifications.

For each alert read and each named classifier, ``FakeBroker`` publishes one
brokerClassification (schemaless Avro) whose probabilities over the exact classIds of the
alert's campaign sum to 1 (``classify``): three-digit ids for an ELAsTiCC alert, four-digit
ids for an ELAsTiCC2 alert. Which campaign an alert belongs to is its topic's: each
``FakeRoute`` names a campaign, the alert topics it reads and the topic it publishes to, and
one consumer reads every route's alert topics. The probabilities are pseudo-random but a pure
function of (classifier, alertId), so a re-read alert gets the same classification again.
elasticcPublishTimestamp is the alert's Kafka message timestamp, brokerIngestTimestamp the
moment it was read.

Consumer offsets are committed to Kafka only after the classifications of a batch were
delivered (at least once). The consumer plumbing (group handling, reconnects) is
elasticc.stream.consumer's; the ``fakebroker`` command only parses its arguments, runs
``FakeBroker.run`` and prints the summary.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaException, Producer, TopicPartition

from elasticc.stream import alertcampaigns
from elasticc.stream.avro import ALERT_SCHEMA, BROKER_CLASSIFICATION_SCHEMA, Encoder, decode
from elasticc.stream.brokerconfig import BrokerConfig
from elasticc.stream.consumer import BatchConsumer
from tom_desc.lib.numbers import float32
from tom_desc.lib.stopping import StopFlag

# The name its log lines had when this engine lived in the command; log filters keep working.
log = logging.getLogger("elasticc.management.commands.fakebroker")

DEFAULT_CLASSIFIERS = ["FakeClassifierA", "FakeClassifierB"]
CLASSIFIER_PARAMS = "pseudo-random probabilities, seeded by classifier and alertId"


def classify(classifier: str, alert_id: int, leaves: list[int]) -> list[dict]:
    """Made-up probabilities over 3-8 of the exact classIds, summing to 1 (as 4-byte floats too)."""
    rng = random.Random(f"{classifier}:{alert_id}")
    chosen = rng.sample(leaves, rng.randint(3, min(8, len(leaves))))
    weights = [rng.gammavariate(1.0, 1.0) + 1e-3 for _ in chosen]
    total = sum(weights)
    # Rounded to the wire's 4-byte floats; the last one takes up the rounding, so what a
    # reader decodes sums to 1 within a float32 step.
    probabilities = [float32(w / total) for w in weights[:-1]]
    probabilities.append(float32(max(0.0, 1.0 - sum(probabilities))))
    return [{"classId": c, "probability": p} for c, p in zip(chosen, probabilities)]


@dataclass(frozen=True)
class FakeRoute:
    """Alerts of `campaign` read from `alert_topics` are answered on `topic`."""

    campaign: str
    alert_topics: tuple[str, ...]
    topic: str


class DeliveryFailed(RuntimeError):
    """A batch's classifications did not all reach the topic; its offsets were not committed."""


class FakeBroker:
    """A stand-in alert broker: one consumer of the alert topics, one producer of classifications.

    `alert_topic` and `topic` are ELAsTiCC's (either may be None when only `routes` are served);
    `routes` add other campaigns' topics (``FakeRoute``).

    ``run`` polls batches until the stop flag is set, ``max_alerts`` were read, or (with
    ``exit_when_idle``) the assigned partitions were read to their end and nothing came for
    that long. Each batch (``handle_batch``):
    1. decode each alert; one that is not an alert is counted in ``bad`` and skipped;
    2. publish one classification per classifier, keyed by alertId;
    3. wait for every delivery; a failure raises DeliveryFailed before anything is committed;
    4. commit the batch's offsets to Kafka, where a restart of the same group resumes.
    ``alerts``, ``published``, ``bad`` and ``elapsed`` are the counts for the summary.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        alert_topic: str | None,
        topic: str | None,
        stop: StopFlag,
        *,
        routes: Sequence[FakeRoute] = (),
        group: str = "fakebroker",
        classifiers: list[str] | None = None,
        broker_name: str = "FakeBroker",
        broker_version: str = "1.0",
        session_timeout_ms: int = 6000,
        log_every: float = 10.0,
    ):
        self.routes = ([FakeRoute("elasticc", (alert_topic,), topic)] if alert_topic else []) + list(routes)
        if not self.routes:
            raise ValueError("the fake broker needs at least one alert topic to read")
        self.route_of = {alert: route for route in self.routes for alert in route.alert_topics}
        self.leaves = {route.campaign: alertcampaigns.get(route.campaign).leaf_classids() for route in self.routes}
        self.topic = ", ".join(dict.fromkeys(route.topic for route in self.routes))
        self.stop = stop
        self.classifiers = list(classifiers or DEFAULT_CLASSIFIERS)
        self.broker_name = broker_name
        self.broker_version = broker_version
        self.log_every = log_every
        config = BrokerConfig(
            name="fakebroker",
            bootstrap_servers=bootstrap_servers,
            topics=list(self.route_of),
            group_id=group,
            schema=ALERT_SCHEMA,
            consumer_config={
                "session.timeout.ms": session_timeout_ms,
                "heartbeat.interval.ms": max(100, session_timeout_ms // 4),
            },
        )
        self.consumer = BatchConsumer(config, start_offsets=self._committed, logger=log)
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "acks": "all",
                "linger.ms": 20,
                "log_level": 2,
                "enable.idempotence": True,
            }
        )
        self.encode = Encoder(BROKER_CLASSIFICATION_SCHEMA)
        self.positions: dict[tuple[str, int], int] = {}  # next offset to read, per partition: for the lag
        self.failures: list[str] = []
        self.alerts = self.published = self.bad = 0
        self.elapsed = 0.0

    def run(self, batch_size: int = 500, max_alerts: int | None = None, exit_when_idle: float | None = None) -> None:
        started = last_log = last_alert = time.monotonic()
        try:
            while not self.stop:
                if max_alerts is not None and self.alerts >= max_alerts:
                    break
                want = batch_size if max_alerts is None else min(batch_size, max_alerts - self.alerts)
                messages = self.consumer.poll_batch(want, 1.0)
                now = time.monotonic()
                if now - last_log >= self.log_every:
                    log.info(
                        "fakebroker: %d alerts read, %d classifications published, %d undecodable",
                        self.alerts,
                        self.published,
                        self.bad,
                    )
                    last_log = now
                if not messages:
                    if exit_when_idle is not None and now - last_alert >= exit_when_idle:
                        # Only once the partitions are assigned and read to their end: a slow group
                        # join is not idleness.
                        if self.consumer.lag(self.positions) == 0:
                            break
                        last_alert = now
                    continue
                last_alert = now
                self.handle_batch(messages)
        finally:
            self.consumer.close()
            self.elapsed = time.monotonic() - started

    def handle_batch(self, messages: list) -> None:
        """Steps 1-4 of the class docstring for one polled batch."""
        ingest_ms = int(time.time() * 1000)
        next_offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            next_offsets[(message.topic(), message.partition())] = message.offset() + 1
            try:
                alert = decode(message.value(), ALERT_SCHEMA)
            except Exception as exc:  # not an alert: skip it, keep going
                self.bad += 1
                log.warning(
                    "undecodable alert at %s[%d]@%d: %s", message.topic(), message.partition(), message.offset(), exc
                )
                continue
            self.alerts += 1
            publish_ms = message.timestamp()[1]
            route = self.route_of[message.topic()]
            for name in self.classifiers:
                value = self.classification(alert, name, publish_ms, ingest_ms, route.campaign)
                self._produce(value, str(alert["alertId"]).encode(), route.topic)
                self.published += 1
        self.producer.flush(60)
        if self.failures or len(self.producer):
            raise DeliveryFailed(
                f"classifications not delivered to {self.topic}: "
                f"{self.failures[0] if self.failures else 'timed out'}; offsets not committed"
            )
        self._commit(next_offsets)
        self.positions.update(next_offsets)

    def classification(
        self, alert: dict, classifier: str, publish_ms: int, ingest_ms: int, campaign: str = "elasticc"
    ) -> bytes:
        """One brokerClassification message for `alert` of `campaign`, Avro-encoded."""
        return self.encode(
            {
                "alertId": alert["alertId"],
                "diaSourceId": alert["diaSource"]["diaSourceId"],
                "elasticcPublishTimestamp": publish_ms,
                "brokerIngestTimestamp": max(ingest_ms, publish_ms),
                "brokerName": self.broker_name,
                "brokerVersion": self.broker_version,
                "classifierName": classifier,
                "classifierParams": CLASSIFIER_PARAMS,
                "classifications": classify(classifier, alert["alertId"], self.leaves[campaign]),
            }
        )

    def _delivered(self, err, msg) -> None:
        if err is not None:
            self.failures.append(str(err))

    def _produce(self, value: bytes, key: bytes, topic: str) -> None:
        """Queue one message, waiting for room while the producer's buffer is full."""
        while True:
            try:
                self.producer.produce(topic, value, key, on_delivery=self._delivered)
                return
            except BufferError:
                self.producer.poll(0.1)

    def _committed(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Start offsets for newly assigned partitions: the group's offsets committed in Kafka."""
        committed = self.consumer.consumer.committed([TopicPartition(t, p) for t, p in partitions], timeout=10)
        found = {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}
        self.positions.update(found)
        return found

    def _commit(self, next_offsets: dict[tuple[str, int], int]) -> None:
        if self.consumer.consumer is None or not next_offsets:
            return
        try:
            self.consumer.consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in next_offsets.items()], asynchronous=False
            )
        except KafkaException as exc:
            # Not fatal: the batch would be classified again after a restart (same values).
            log.warning("offset commit failed: %s", exc)
