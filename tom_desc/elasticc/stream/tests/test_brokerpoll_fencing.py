"""The offsets kept in the database fence off a member that lost its partition.

Two pollers of one group, in this process, are handed overlapping batches of the same real
Kafka messages, the way a member that stalled past its session timeout still holds a batch
after its partition went to another member. Whatever order they commit in, every message
(and every dead letter, which has no natural key to dedupe on) is stored once and the stored
offset never moves backwards. Also here: a record the database itself refuses is
dead-lettered with its raw bytes while the rest of its batch is stored.
"""

import pytest
from confluent_kafka import Consumer, TopicPartition

from elasticc.models import BrokerDeadLetter, KafkaOffset
from elasticc.stream.brokerconfig import BrokerConfig
from elasticc.stream.offsets import DatabaseOffsets
from elasticc.stream.poller import Poller
from elasticc.stream.tests.brokerpoll_helpers import (
    encode_all,
    expected_rows,
    make_records,
    produce,
    stored_rows,
    with_alerts,
)
from tom_desc.lib.stopping import StopFlag

pytestmark = [pytest.mark.kafka, pytest.mark.django_db(transaction=True)]


def fetch(bootstrap: str, topic: str, n: int) -> list:
    """The first n messages of partition 0, as real confluent-kafka Message objects."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    messages = []
    try:
        for _ in range(100):
            messages += [m for m in consumer.consume(num_messages=n - len(messages), timeout=1.0) if not m.error()]
            if len(messages) >= n:
                break
    finally:
        consumer.close()
    assert len(messages) == n
    return messages


def poller(bootstrap: str, topic: str, group: str) -> Poller:
    return Poller(BrokerConfig(name="fence", bootstrap_servers=bootstrap, topics=[topic], group_id=group), StopFlag())


@pytest.fixture
def published(kafka_broker, unique_name):
    """60 messages on one partition; every tenth one (offsets 5, 15, ...) is not Avro."""
    kafka_broker.create_topic(unique_name, partitions=1)
    records = with_alerts(make_records(60, classifiers=2))
    values = encode_all(records)
    bad = set(range(5, 60, 10))
    for i in bad:
        values[i] = b"\x00garbage"
    produce(kafka_broker.bootstrap_servers, unique_name, values)
    messages = fetch(kafka_broker.bootstrap_servers, unique_name, len(values))
    good = [r for i, r in enumerate(records) if i not in bad]
    return unique_name, messages, good, bad


def assert_stored_once(topic, group, good, bad, end):
    messages, classifications = stored_rows()
    want_messages, want_classifications = expected_rows(good)
    assert sorted(messages) == sorted(want_messages)
    assert len(classifications) == len(want_classifications) and set(classifications) == want_classifications
    assert sorted(BrokerDeadLetter.objects.values_list("offset", flat=True)) == sorted(bad)
    assert KafkaOffset.objects.get(groupId=group, topic=topic, partition=0).nextOffset == end


def test_stale_member_commits_after_the_new_owner(kafka_broker, published):
    topic, messages, good, bad = published
    group = topic
    old, new = (poller(kafka_broker.bootstrap_servers, topic, group) for _ in range(2))
    old.process(messages[:20])  # the old owner stores 0..19
    new.process(messages[20:50])  # the partition moves; the new owner stores 20..49
    old.process(messages[20:40])  # the old owner wakes up with a batch it read before losing it
    assert KafkaOffset.objects.get(groupId=group, topic=topic, partition=0).nextOffset == 50, (
        "a stale batch must not move the offset back"
    )
    assert old.totals["stale"] == 20
    new.process(messages[50:])
    assert_stored_once(topic, group, good, bad, 60)


def test_stale_member_commits_first_and_the_new_owner_skips_its_part(kafka_broker, published):
    topic, messages, good, bad = published
    group = topic
    old, new = (poller(kafka_broker.bootstrap_servers, topic, group) for _ in range(2))
    old.process(messages[:20])
    old.process(messages[20:35])  # committed by the old owner just before the handover ...
    new.process(messages[20:60])  # ... which the new owner, seeked to 20 earlier, read again
    assert new.totals["stale"] == 15
    assert_stored_once(topic, group, good, bad, 60)


def test_offsets_never_move_backwards_except_on_reset(django_db_blocker):
    offsets = DatabaseOffsets("g-reset")
    key = ("t", 3)
    assert offsets.claim({key: 10}) == {key: 10}  # a partition seen for the first time starts at its batch
    offsets.advance({key: 40})
    assert offsets.read([key]) == {key: 40}
    offsets.advance({key: 25})
    assert offsets.read([key]) == {key: 40}
    offsets.advance({key: 7}, reset=[key])  # the topic was recreated from offset 0
    assert offsets.read([key]) == {key: 7}
    assert offsets.read([("t", 4)]) == {}


def test_a_message_the_database_refuses_is_dead_lettered_with_its_bytes(kafka_broker, published):
    """Should the database refuse a record validation let through (here an operator's CHECK
    constraint), the batch is stored message by message: the refused one is dead-lettered
    with its raw bytes and the others are stored."""
    from django.db import connection

    topic, messages, good, _bad = published
    refused_alert = good[7]["alertId"]
    with connection.cursor() as cur:
        cur.execute(
            f'ALTER TABLE elasticc_brokermessage ADD CONSTRAINT test_refuse CHECK ("alertId" <> {refused_alert})'
        )
    try:
        p = poller(kafka_broker.bootstrap_servers, topic, topic)
        p.process(messages)
    finally:
        with connection.cursor() as cur:
            cur.execute("ALTER TABLE elasticc_brokermessage DROP CONSTRAINT test_refuse")
    refused = [r for r in good if r["alertId"] == refused_alert]
    kept = [r for r in good if r["alertId"] != refused_alert]
    messages_stored, _ = stored_rows()
    assert sorted(messages_stored) == sorted(expected_rows(kept)[0])
    letters = BrokerDeadLetter.objects.filter(reason__startswith="database refused")
    assert len(letters) == len(refused) > 0
    by_offset = {m.offset(): m for m in messages}
    for letter in letters:
        assert bytes(letter.value) == by_offset[letter.offset].value()
        assert "test_refuse" in letter.reason
    assert KafkaOffset.objects.get(groupId=topic, topic=topic, partition=0).nextOffset == 60
