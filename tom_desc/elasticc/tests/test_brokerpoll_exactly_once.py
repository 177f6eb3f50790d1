"""Exactly-once ingest under crashes and scale-out: brokerpoll processes on the embedded broker."""
import random
import threading
import time

import pytest

from elasticc.models import BrokerClassifier, BrokerDeadLetter, BrokerMessage, BrokerPollStatus, KafkaOffset
from elasticc.tests.brokerpoll_helpers import (FAST_GROUP, BrokerPoll, count, encode_all, expected_rows,
                                              make_records, produce, stored_rows, wait_for)

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
    """50,000 messages (1 in 500 malformed), brokerpoll killed with SIGKILL 10+ times.

    Duplicate (classifier, alert) pairs cannot be stored twice anyway (a unique index), so
    the malformed messages are the sharp probe: dead letters have no natural key, and each
    must appear exactly once, which only holds if offsets commit with the rows.
    """
    rng = random.Random(2024)
    kafka_broker.create_topic(unique_name, partitions=4)
    records = make_records(50000, classifiers=5, classes_per_message=3)
    values = encode_all(records)
    malformed_at = set(range(250, len(values), 500))
    for i in malformed_at:
        values[i] = b"\x02not avro" + bytes([i % 256])
    good = [r for i, r in enumerate(records) if i not in malformed_at]
    keys = [str(r["alertId"]).encode() for r in records]
    where: list = []
    producer = threading.Thread(target=lambda: where.extend(
        produce(kafka_broker.bootstrap_servers, unique_name, values, keys)))
    producer.start()

    args = ["--kafka-server", kafka_broker.bootstrap_servers, "--topic", unique_name, "--group", unique_name,
            "--assign", "--batch-size", "1000", "--poll-timeout", "0.2"]
    kills = 0
    killed_mid_ingest = 0
    try:
        while kills < 10:
            before = count("elasticc_brokermessage")
            poller = BrokerPoll(args, f"{unique_name}-{kills}")
            try:
                if kills % 3 == 0:
                    # Any moment: during start-up, assignment or ingest.
                    time.sleep(rng.uniform(0.2, 3.0))
                else:
                    # Wait until this process is writing, then kill it a random moment later.
                    wait_for(lambda: count("elasticc_brokermessage") > before, 60, 0.02, "ingest to resume")
                    time.sleep(rng.uniform(0.0, 0.4))
                    killed_mid_ingest += 1
            finally:
                poller.kill()
            kills += 1
        producer.join(120)
        assert count("elasticc_brokermessage") < len(good), "the kills should all land before the end"
        final = BrokerPoll([*args, "--exit-when-idle", "2"], f"{unique_name}-final")
        try:
            assert final.wait(180) == 0, final.log()
        finally:
            final.ensure_stopped()
    finally:
        producer.join(120)
    assert kills >= 10 and killed_mid_ingest >= 6
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
    records = make_records(12000, classifiers=3)
    values = encode_all(records)
    keys = [str(r["alertId"]).encode() for r in records]
    args = ["--kafka-server", kafka_broker.bootstrap_servers, "--topic", unique_name, "--group", unique_name,
            "--batch-size", "500", "--poll-timeout", "0.2", "--heartbeat-every", "0.5", *FAST_GROUP]
    pollers = [BrokerPoll(args, f"{unique_name}-{i}") for i in range(3)]
    try:
        # Wait until the group has settled with all three members reading partitions.
        def settled():
            logs = [p.log() for p in pollers]
            return all("reading" in log and "reading no partitions" not in log.split("reading")[-1][:30]
                       for log in logs)
        wait_for(settled, 60, 0.2, "three members with partitions")
        half = len(values) // 2
        where = produce(kafka_broker.bootstrap_servers, unique_name, values[:half], keys[:half])
        wait_for(lambda: count("elasticc_brokermessage") >= half // 2, 60, 0.05, "ingest")
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
    assert sum(per_process.get(p.pid, 0) for p in pollers[1:]) < len(values)
    ends = {}
    for partition, offset in where:
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    assert {o.partition: o.nextOffset for o in KafkaOffset.objects.filter(groupId=unique_name)} == ends
