"""brokerpoll as a process: malformed messages are dead-lettered, SIGTERM stops cleanly, new
classifiers are registered on the fly, throughput/lag are logged and the heartbeat is kept."""

import io
import math
import random

import fastavro
import pytest
from django.db import connection

from elasticc.models import BrokerClassifier, BrokerDeadLetter, BrokerMessage, BrokerPollStatus, KafkaOffset
from elasticc.stream import avro
from elasticc.stream.pollstatus import brokerpoll_status
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

pytestmark = [pytest.mark.kafka, pytest.mark.django_db(transaction=True)]


def schemaless(record, schema_name):
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, avro.load_schema(schema_name), record)
    return buffer.getvalue()


def test_malformed_messages_are_dead_lettered_and_the_good_ones_stored(kafka_broker, unique_name):
    kafka_broker.create_topic(unique_name, partitions=1)
    good = with_alerts(make_records(6, classifiers=2))
    good_bytes = encode_all(good)
    rng = random.Random(5)
    nan_record = dict(with_alerts(make_records(1, first_alert=900))[0])
    nan_record["classifications"] = [{"classId": 111, "probability": math.nan}]
    unknown_class = dict(with_alerts(make_records(1, first_alert=901))[0])
    unknown_class["classifications"] = [{"classId": 111, "probability": 0.5}, {"classId": 999, "probability": 0.5}]
    dia_source = {
        "diaSourceId": 1,
        "diaObjectId": 2,
        "midPointTai": 60000.0,
        "filterName": "r",
        "ra": 1.0,
        "decl": 2.0,
        "psFlux": 1.0,
        "psFluxErr": 0.1,
        "snr": 10.0,
    }
    bad = {
        "random bytes": bytes(rng.getrandbits(8) for _ in range(200)),
        "truncated Avro": good_bytes[0][: len(good_bytes[0]) // 2],
        "wrong schema": schemaless(dia_source, "elasticc.v0_9_1.diaSource"),
        "NaN probability": avro.encode_classification(nan_record),
        "unknown classId": avro.encode_classification(unknown_class),
        "empty": b"",
    }
    expected_reason = {
        "random bytes": "undecodable",
        "truncated Avro": "undecodable",
        "wrong schema": "undecodable",
        "NaN probability": "invalid: classifications[0].probability",
        "unknown classId": "invalid: classifications[1].classId",
        "empty": "undecodable: empty message",
    }
    # good, bad, good, bad, ... so every bad message sits between good ones.
    values, labels = [], []
    for i, label in enumerate(bad):
        values += [good_bytes[i], bad[label]]
        labels += [None, label]
    values.append(good_bytes[-1])
    labels.append(None)
    where = produce(kafka_broker.bootstrap_servers, unique_name, values)

    poller = BrokerPoll(
        [
            "--kafka-server",
            kafka_broker.bootstrap_servers,
            "--topic",
            unique_name,
            "--group",
            unique_name,
            "--assign",
            "--exit-when-idle",
            "2",
        ],
        unique_name,
    )
    try:
        assert poller.wait(60) == 0, poller.log()
    finally:
        poller.ensure_stopped()

    messages, classifications = stored_rows()
    want_messages, want_classifications = expected_rows(good)
    assert sorted(messages) == sorted(want_messages)
    assert set(classifications) == want_classifications and len(classifications) == len(want_classifications)

    dead = {d.offset: d for d in BrokerDeadLetter.objects.all()}
    assert len(dead) == BrokerDeadLetter.objects.count() == len(bad)
    for (partition, offset), label, value in zip(where, labels, values):
        if label is None:
            assert offset not in dead
            continue
        letter = dead[offset]
        assert (letter.topic, letter.partition, letter.pollerName) == (unique_name, partition, "default")
        assert bytes(letter.value or b"") == value, label
        assert letter.reason.startswith(expected_reason[label]), (label, letter.reason)
    # The offsets moved past the whole topic, dead letters included.
    assert KafkaOffset.objects.get(groupId=unique_name, topic=unique_name, partition=0).nextOffset == len(values)
    status = brokerpoll_status()
    mine = [p for p in status["pollers"] if p["groupId"] == unique_name]
    assert len(mine) == 1 and mine[0]["state"] == "stopped" and not mine[0]["alive"]
    assert (mine[0]["messagesStored"], mine[0]["deadLettered"], mine[0]["lag"]) == (len(good), len(bad), 0)
    assert status["deadLetters"] == status["deadLetters24h"] == len(bad)


def test_sigterm_finishes_the_batch_and_exits_0(kafka_broker, unique_name):
    kafka_broker.create_topic(unique_name, partitions=3)
    records = with_alerts(make_records(30000, classifiers=3))
    values = encode_all(records)
    keys = [str(r["alertId"]).encode() for r in records]
    poller = BrokerPoll(
        [
            "--kafka-server",
            kafka_broker.bootstrap_servers,
            "--topic",
            unique_name,
            "--group",
            unique_name,
            "--batch-size",
            "1000",
            "--heartbeat-every",
            "0.5",
            "--consumer-option",
            "session.timeout.ms=2000",
            "--consumer-option",
            "heartbeat.interval.ms=500",
        ],
        unique_name,
    )
    try:
        # A backlog of 30 batches, and SIGTERM once 3 are stored: the stop lands mid-stream
        # (27,000 messages cannot be stored in the few milliseconds the signal takes).
        produce(kafka_broker.bootstrap_servers, unique_name, values, keys)
        wait_for(lambda: count("elasticc_brokermessage") >= 3000, 60, 0.01, what="ingest to start")
        code = poller.terminate(30)
    finally:
        poller.ensure_stopped()
    log = poller.log()
    assert code == 0, log
    assert "brokerpoll stopped on SIGTERM" in log

    stored = count("elasticc_brokermessage")
    assert 3000 <= stored < len(records), "SIGTERM should land mid-stream"
    # Everything consumed was stored: per partition, the stored Kafka offsets are exactly
    # 0 .. nextOffset-1, and nextOffset was committed with them.
    offsets = {o.partition: o.nextOffset for o in KafkaOffset.objects.filter(groupId=unique_name)}
    assert sum(offsets.values()) == stored
    for partition, next_offset in offsets.items():
        stream_ids = sorted(
            BrokerMessage.objects.filter(topicName=unique_name, kafkaPartition=partition).values_list(
                "streamMessageId", flat=True
            )
        )
        assert stream_ids == list(range(next_offset))
    status = BrokerPollStatus.objects.get(pid=poller.pid)
    assert status.state == "stopped"
    assert status.messagesStored == stored


def test_new_classifiers_on_the_fly_and_throughput_lag_heartbeat(kafka_broker, unique_name):
    """A classifier first seen while brokerpoll runs is registered (the trigger makes its
    partitions) and its messages stored; throughput and lag are logged; the heartbeat row
    says running while it polls."""
    kafka_broker.create_topic(unique_name, partitions=2)
    first = with_alerts(make_records(40, classifiers=2))
    late = with_alerts(make_records(30, classifiers=3, first_alert=5000, seed=3))
    for r in late:
        r["classifierName"] = "late-" + r["classifierName"]
    produce(kafka_broker.bootstrap_servers, unique_name, encode_all(first))
    poller = BrokerPoll(
        [
            "--kafka-server",
            kafka_broker.bootstrap_servers,
            "--topic",
            unique_name,
            "--group",
            unique_name,
            "--assign",
            "--poll-timeout",
            "0.2",
            "--heartbeat-every",
            "0.3",
            "--log-every",
            "0.5",
        ],
        unique_name,
    )
    try:
        wait_for(lambda: count("elasticc_brokermessage") == len(first), 60, what="the first classifiers")
        assert not BrokerClassifier.objects.filter(classifierName__startswith="late-").exists()
        running = wait_for(
            lambda: BrokerPollStatus.objects.filter(pid=poller.pid, state="running").first(),
            30,
            what="a running heartbeat",
        )
        produce(kafka_broker.bootstrap_servers, unique_name, encode_all(late))
        wait_for(lambda: count("elasticc_brokermessage") == len(first) + len(late), 60, what="the new classifiers")
        wait_for(lambda: "lag 0" in poller.log(), 30, what="a throughput line with lag 0")
        beat = wait_for(
            lambda: BrokerPollStatus.objects.filter(
                pid=poller.pid, lag=0, messagesStored=len(first) + len(late)
            ).first(),
            30,
            what="a heartbeat with every message stored and no lag",
        )
        assert beat.state == "running" and beat.lastPoll >= running.lastPoll
        assert poller.terminate(30) == 0
    finally:
        poller.ensure_stopped()
    late_ids = list(
        BrokerClassifier.objects.filter(classifierName__startswith="late-").values_list("classifierId", flat=True)
    )
    assert len(late_ids) == 3
    with connection.cursor() as cur:
        for cid in late_ids:
            cur.execute(f'SELECT count(*) FROM "elasticc_brokermessage_c{cid}"')
            assert cur.fetchone()[0] == 10
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", [f"elasticc_brokerclassification_c{cid}"])
            assert cur.fetchone()[0]
    messages, classifications = stored_rows()
    want_messages, want_classifications = expected_rows(first + late)
    assert sorted(messages) == sorted(want_messages) and set(classifications) == want_classifications
    throughput = [line for line in poller.log().splitlines() if "classifications (" in line and "/s)" in line]
    assert throughput and any(" 0 messages" not in line for line in throughput), throughput
