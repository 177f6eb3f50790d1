"""Exactly-once ingest under crashes and scale-out: brokerpoll processes on the embedded broker."""

import random
import time

import pytest

from elasticc.models import BrokerClassifier, BrokerDeadLetter, BrokerMessage, BrokerPollStatus, KafkaOffset
from elasticc.stream.tests.brokerpoll_helpers import (
    FAST_GROUP,
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

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def assert_exactly(records, malformed_where=()):
    messages, classifications = stored_rows()
    want_messages, want_classifications = expected_rows(records)
    assert len(messages) == len(want_messages), "stored message count"
    assert set(messages) == want_messages
    assert len(classifications) == len(want_classifications), "stored classification count"
    assert set(classifications) == want_classifications
    dead = sorted(BrokerDeadLetter.objects.values_list("partition", "offset"))
    assert dead == sorted(malformed_where), "each malformed message dead-lettered exactly once"


def test_kill_9_at_random_moments_stores_exactly_the_published_set(kafka_broker, unique_name):
    """50,000 messages (1 in 500 malformed), brokerpoll killed with SIGKILL 10 times.

    Duplicate (classifier, alert) pairs cannot be stored twice anyway (a unique index), so
    the malformed messages are the sharp probe: dead letters have no natural key, and each
    must appear exactly once, which only holds if offsets commit with the rows.

    The messages are published in eleven slices, one before each poller starts and the last
    after the final kill, so there is always a backlog to be killed in, however fast the
    machine is. Four kills come at a random moment after start (start-up, assignment,
    ingest); six come a few milliseconds after the process has stored a random part of the
    backlog, with at least two and a half batches of it still to go, so they land in the
    middle of ingest: while it reads, copies or commits the next batch.
    """
    rng = random.Random(2024)
    kafka_broker.create_topic(unique_name, partitions=4)
    records = with_alerts(make_records(50000, classifiers=5, classes_per_message=3))
    values = encode_all(records)
    malformed_at = set(range(250, len(values), 500))
    for i in malformed_at:
        values[i] = b"\x02not avro" + bytes([i % 256])
    good = [r for i, r in enumerate(records) if i not in malformed_at]
    keys = [str(r["alertId"]).encode() for r in records]
    slices = [range(k * len(values) // 11, (k + 1) * len(values) // 11) for k in range(11)]
    where: list = []

    def publish(part: range) -> int:
        """Publish one slice; returns how many good messages have been published so far."""
        where.extend(
            produce(kafka_broker.bootstrap_servers, unique_name, [values[i] for i in part], [keys[i] for i in part])
        )
        return sum(1 for i in range(part.stop) if i not in malformed_at)

    args = [
        "--kafka-server",
        kafka_broker.bootstrap_servers,
        "--topic",
        unique_name,
        "--group",
        unique_name,
        "--assign",
        "--batch-size",
        "1000",
        "--poll-timeout",
        "0.2",
    ]
    interrupted = 0  # kills that left published messages unstored
    for kill in range(10):
        published = publish(slices[kill])
        before = count("elasticc_brokermessage")
        poller = BrokerPoll(args, f"{unique_name}-{kill}")
        try:
            if kill % 3 == 0:
                time.sleep(rng.uniform(0.2, 3.0))
            else:
                # Some of the backlog stored, at least two and a half batches of it left.
                target = before + rng.randint(1, max(1, published - before - 2500))
                wait_for(lambda: count("elasticc_brokermessage") >= target, 60, 0.01, "ingest to resume")  # noqa: B023 (called at once)
                time.sleep(rng.uniform(0.0, 0.05))
        finally:
            poller.kill()
        stored = count("elasticc_brokermessage")
        interrupted += stored < published
    publish(slices[10])
    final = BrokerPoll([*args, "--exit-when-idle", "2"], f"{unique_name}-final")
    try:
        assert final.wait(180) == 0, final.log()
    finally:
        final.ensure_stopped()
    assert interrupted >= 6, f"only {interrupted} of the kills left a backlog"
    malformed_where = [where[i] for i in malformed_at]
    assert_exactly(good, malformed_where)
    # Every stored message points at the Kafka offset it was published at.
    published = {(r["alertId"], r["classifierName"]): where[i] for i, r in enumerate(records) if i not in malformed_at}
    stored = BrokerMessage.objects.values_list("alertId", "classifierId", "kafkaPartition", "streamMessageId")
    names = dict(BrokerClassifier.objects.values_list("classifierId", "classifierName"))
    assert {(a, names[c]): (p, o) for a, c, p, o in stored} == published
    ends = {}
    for partition, offset in where:
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    assert {o.partition: o.nextOffset for o in KafkaOffset.objects.filter(groupId=unique_name)} == ends


def test_three_pollers_in_one_group_share_the_topic(kafka_broker, unique_name):
    """Three processes in one consumer group; one of them is killed half-way and its
    partitions move to the others. Every message is stored exactly once."""
    kafka_broker.create_topic(unique_name, partitions=6)
    records = with_alerts(make_records(12000, classifiers=3))
    values = encode_all(records)
    keys = [str(r["alertId"]).encode() for r in records]
    args = [
        "--kafka-server",
        kafka_broker.bootstrap_servers,
        "--topic",
        unique_name,
        "--group",
        unique_name,
        "--batch-size",
        "500",
        "--poll-timeout",
        "0.2",
        "--heartbeat-every",
        "0.5",
        *FAST_GROUP,
    ]
    pollers = [BrokerPoll(args, f"{unique_name}-{i}") for i in range(3)]
    try:
        # Wait until the group has settled with all three members reading partitions.
        def settled():
            lasts = [[line for line in p.log().splitlines() if ": reading " in line][-1:] for p in pollers]
            return all(last and ": reading no partitions" not in last[0] for last in lasts)

        wait_for(settled, 60, 0.2, "three members with partitions")
        half = len(values) // 2
        where = produce(kafka_broker.bootstrap_servers, unique_name, values[:half], keys[:half])

        # Kill the first member only once every member has stored (and reported) some of the work.
        def all_storing():
            stored = dict(BrokerPollStatus.objects.filter(groupId=unique_name).values_list("pid", "messagesStored"))
            return all(stored.get(p.pid, 0) > 0 for p in pollers)

        wait_for(all_storing, 60, 0.05, "every member storing")
        pollers[0].kill()
        where += produce(kafka_broker.bootstrap_servers, unique_name, values[half:], keys[half:])
        wait_for(lambda: count("elasticc_brokermessage") >= len(values), 90, 0.2, "all messages stored")
        time.sleep(1.5)  # a late duplicate write, if any, would land now
        codes = [p.terminate(30) for p in pollers[1:]]
    finally:
        for p in pollers:
            p.ensure_stopped()
    assert codes == [0, 0], [p.log()[-2000:] for p in pollers[1:]]
    assert_exactly(records)
    # The work really was shared: each process stored part of it.
    per_process = {s.pid: s.messagesStored for s in BrokerPollStatus.objects.filter(groupId=unique_name)}
    for p in pollers[1:]:
        assert per_process.get(p.pid, 0) > 0, per_process
    # ... and what the killed member had stored was not stored again by the others.
    assert per_process[pollers[0].pid] > 0
    assert sum(per_process.get(p.pid, 0) for p in pollers[1:]) < len(values)
    ends = {}
    for partition, offset in where:
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    assert {o.partition: o.nextOffset for o in KafkaOffset.objects.filter(groupId=unique_name)} == ends
