"""brokerpoll serving both campaigns from one process, on the embedded Kafka broker (issue 14, item 5).

Each topic names its campaign; ELAsTiCC2 messages are stored once as one row with classid and
probability arrays, a three-digit classId on an ELAsTiCC2 topic is dead-lettered with the reason,
nothing else is lost, and Kafka redelivery stores nothing new. The kill test repeats the
ELAsTiCC exactly-once test with both campaigns' topics in one consumer: the offsets commit in the
same transaction as the messages, whichever campaign's tables those go to.
"""

from __future__ import annotations

import random
import time

import pytest
from django.db import connection

from elasticc.models import BrokerDeadLetter, KafkaOffset
from elasticc.stream import avro
from elasticc.stream.tests.brokerpoll_helpers import (
    BrokerPoll,
    count,
    encode_all,
    expected_rows,
    make_records,
    produce,
    stored_rows,
    wait_for,
    with_alerts,
)
from elasticc2 import taxonomy
from tom_desc.lib.numbers import float32

pytestmark = [pytest.mark.kafka, pytest.mark.django_db(transaction=True)]

EXACT = sorted(c for c, info in taxonomy.classes().items() if info.gentypes)  # 2222, 2223, ...


def e2_records(n: int, classifiers: int = 2, first_alert: int = 10_000, seed: int = 1) -> list[dict]:
    """ELAsTiCC2 records: five four-digit classIds each (diaSourceId = alertId * 10)."""
    return make_records(n, classifiers, 5, first_alert=first_alert, seed=seed, leaves=EXACT, classifier_prefix="E2clf")


def e2_stored() -> list[tuple]:
    """(alert_id, classifiername, classid, probability as float32) of every stored ELAsTiCC2 message."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT m.alert_id, c.classifiername, m.classid, m.probability FROM elasticc2_brokermessage m "
            "JOIN elasticc2_brokerclassifier c USING (classifier_id)"
        )
        return [(a, c, tuple(k), tuple(float32(p) for p in ps)) for a, c, k, ps in cur.fetchall()]


def e2_expected(records: list[dict]) -> set[tuple]:
    return {
        (
            r["alertId"],
            r["classifierName"],
            tuple(c["classId"] for c in r["classifications"]),
            tuple(float32(c["probability"]) for c in r["classifications"]),
        )
        for r in records
    }


def poll_args(kafka_broker, elasticc_topic: str, e2_topic: str, group: str) -> list[str]:
    return [
        "--kafka-server",
        kafka_broker.bootstrap_servers,
        "--topic",
        elasticc_topic,
        "--topic",
        f"elasticc2:{e2_topic}",
        "--group",
        group,
        "--assign",
    ]


def test_one_process_stores_both_campaigns_each_in_its_tables(kafka_broker, unique_name):
    one, two = f"{unique_name}-e1", f"{unique_name}-e2"
    kafka_broker.create_topic(one, partitions=1)
    kafka_broker.create_topic(two, partitions=2)
    elasticc = with_alerts(make_records(6, classifiers=2))
    good = with_alerts(e2_records(10), "elasticc2")
    three_digit = with_alerts(e2_records(1, first_alert=20_000), "elasticc2")[0]
    three_digit["classifications"] = [{"classId": 2222, "probability": 0.5}, {"classId": 111, "probability": 0.5}]
    values = [*encode_all(good[:5]), avro.encode_classification(three_digit), b"\x00junk", *encode_all(good[5:])]
    produce(kafka_broker.bootstrap_servers, one, encode_all(elasticc))
    where = produce(kafka_broker.bootstrap_servers, two, values)

    poller = BrokerPoll([*poll_args(kafka_broker, one, two, unique_name), "--exit-when-idle", "2"], unique_name)
    try:
        assert poller.wait(120) == 0, poller.log()
    finally:
        poller.ensure_stopped()

    # ELAsTiCC's messages in ELAsTiCC's tables, a row per classification as always.
    messages, classifications = stored_rows()
    assert (set(messages), set(classifications)) == expected_rows(elasticc)
    assert len(messages) == 6
    # ELAsTiCC2's: one row each, the classifications as parallel arrays, exactly once.
    stored = e2_stored()
    assert len(stored) == 10 and set(stored) == e2_expected(good)
    assert count("elasticc2_brokermessage") == 10
    # The three-digit classId and the undecodable message are dead letters with the reason.
    dead = {(d.topic, d.partition, d.offset): d.reason for d in BrokerDeadLetter.objects.all()}
    assert dead == {
        (two, *where[5]): "invalid: classifications[1].classId: 111 is not a classId of the ELAsTiCC2 taxonomy "
        "(four-digit classIds, e.g. 2222 for SN Ia)",
        (two, *where[6]): dead[(two, *where[6])],
    }
    assert dead[(two, *where[6])].startswith("undecodable:")
    ends = {}
    for partition, offset in where:
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    offsets = {(o.topic, o.partition): o.nextOffset for o in KafkaOffset.objects.filter(groupId=unique_name)}
    assert offsets == {(one, 0): 6, **{(two, p): n for p, n in ends.items()}}

    # Kafka delivers everything again (the offsets forgotten): nothing new is stored.
    again = BrokerPoll(
        [*poll_args(kafka_broker, one, two, unique_name), "--reset", "--exit-when-idle", "2"], f"{unique_name}-again"
    )
    try:
        assert again.wait(120) == 0, again.log()
    finally:
        again.ensure_stopped()
    assert "0 messages, 0 classifications stored, 16 duplicates, 2 dead-lettered" in again.log()
    assert count("elasticc2_brokermessage") == 10 and count("elasticc_brokermessage") == 6
    assert set(e2_stored()) == e2_expected(good)


@pytest.mark.slow
def test_kill_9_with_both_campaigns_in_one_consumer_stores_each_message_once(kafka_broker, unique_name):
    """12,000 messages over an ELAsTiCC and an ELAsTiCC2 topic (1 in 400 malformed), brokerpoll
    killed with SIGKILL five times, each time once it has stored part of a fresh backlog."""
    rng = random.Random(14)
    one, two = f"{unique_name}-e1", f"{unique_name}-e2"
    kafka_broker.create_topic(one, partitions=2)
    kafka_broker.create_topic(two, partitions=2)
    elasticc = with_alerts(make_records(6000, classifiers=3, classes_per_message=3))
    e2 = with_alerts(e2_records(6000, classifiers=3), "elasticc2")
    values = {one: encode_all(elasticc), two: encode_all(e2)}
    malformed = {topic: set(range(200, 6000, 400)) for topic in values}
    for topic, positions in malformed.items():
        for i in positions:
            values[topic][i] = b"\x02not avro" + bytes([i % 256])
    where: dict[str, list] = {one: [], two: []}
    args = [*poll_args(kafka_broker, one, two, unique_name), "--batch-size", "500", "--poll-timeout", "0.2"]

    def publish(k: int, slices: int = 6) -> None:
        for topic, vals in values.items():
            part = range(k * len(vals) // slices, (k + 1) * len(vals) // slices)
            where[topic] += produce(kafka_broker.bootstrap_servers, topic, [vals[i] for i in part])

    def stored_total() -> int:
        return count("elasticc_brokermessage") + count("elasticc2_brokermessage")

    interrupted = 0  # kills that left published messages unstored
    for kill in range(5):
        publish(kill)
        published = sum(
            1 for vals in values.values() for i in range((kill + 1) * len(vals) // 6) if vals[i][:1] != b"\x02"
        )
        before = stored_total()
        poller = BrokerPoll(args, f"{unique_name}-{kill}")
        try:
            target = before + rng.randint(1, 700)
            wait_for(lambda: stored_total() >= target, 60, 0.01, "ingest to resume")  # noqa: B023 (called at once)
            time.sleep(rng.uniform(0.0, 0.05))
        finally:
            poller.kill()
        interrupted += stored_total() < published
    publish(5)
    final = BrokerPoll([*args, "--exit-when-idle", "2"], f"{unique_name}-final")
    try:
        assert final.wait(180) == 0, final.log()
    finally:
        final.ensure_stopped()

    assert interrupted >= 3, f"only {interrupted} of the kills left a backlog"
    good_elasticc = [r for i, r in enumerate(elasticc) if i not in malformed[one]]
    good_e2 = [r for i, r in enumerate(e2) if i not in malformed[two]]
    messages, classifications = stored_rows()
    assert len(messages) == len(good_elasticc) and set(messages) == expected_rows(good_elasticc)[0]
    assert set(classifications) == expected_rows(good_elasticc)[1]
    stored = e2_stored()
    assert len(stored) == len(good_e2) and set(stored) == e2_expected(good_e2)
    dead = sorted(BrokerDeadLetter.objects.values_list("topic", "partition", "offset"))
    want = sorted((topic, *where[topic][i]) for topic, positions in malformed.items() for i in positions)
    assert dead == want, "each malformed message dead-lettered exactly once"
