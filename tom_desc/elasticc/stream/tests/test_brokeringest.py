"""The shared write path for broker messages (Kafka and REST): validation and storing."""

import math
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections, transaction

from devstack.pytest_plugin import a_session_waits_on_a_lock
from elasticc.models import BrokerClassification, BrokerClassifier, BrokerMessage
from elasticc.stream import ingest
from elasticc.stream.ingest import InvalidBrokerMessage, KafkaOrigin, store_broker_messages, validate_classification

T0 = datetime(2023, 10, 1, 12, 0, tzinfo=UTC)


def record(alert_id=1001, broker="TestBroker", classifier="RF", params="p1", probs=((111, 0.7), (112, 0.3)), **kw):
    r = {
        "alertId": alert_id,
        "diaSourceId": alert_id * 10,
        "elasticcPublishTimestamp": T0,
        "brokerIngestTimestamp": T0 + timedelta(seconds=5),
        "brokerName": broker,
        "brokerVersion": "1.0",
        "classifierName": classifier,
        "classifierParams": params,
        "classifications": [{"classId": c, "probability": p} for c, p in probs],
    }
    r.update(kw)
    return r


def origin(offset, topic="t", partition=0):
    return KafkaOrigin(topic, partition, offset, T0 + timedelta(seconds=9))


def table_exists(name):
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cur.fetchone()[0]


# ------------------------------------------------------------------------ validation


def test_valid_record_is_normalised():
    r = record(probs=((111, 1), (121, 0)))
    out = validate_classification(r)
    assert out["classifications"] == [{"classId": 111, "probability": 1.0}, {"classId": 121, "probability": 0.0}]
    assert isinstance(out["classifications"][0]["probability"], float)
    assert out["alertId"] == 1001 and out["brokerName"] == "TestBroker"
    r.pop("brokerIngestTimestamp")
    assert validate_classification(r)["brokerIngestTimestamp"] is None


@pytest.mark.parametrize(
    "change, field",
    [
        ({"alertId": None}, "alertId"),
        ({"alertId": "12"}, "alertId"),
        ({"alertId": True}, "alertId"),
        ({"alertId": 2**63}, "alertId"),
        ({"diaSourceId": 1.5}, "diaSourceId"),
        ({"elasticcPublishTimestamp": None}, "elasticcPublishTimestamp"),
        ({"elasticcPublishTimestamp": "2023-10-01"}, "elasticcPublishTimestamp"),
        ({"elasticcPublishTimestamp": datetime(2023, 10, 1)}, "elasticcPublishTimestamp"),
        ({"brokerIngestTimestamp": 12345}, "brokerIngestTimestamp"),
        ({"brokerName": ""}, "brokerName"),
        ({"brokerName": 3}, "brokerName"),
        ({"classifierName": None}, "classifierName"),
        ({"classifierParams": "a\x00b"}, "classifierParams"),
        ({"brokerVersion": "x" * 5000}, "brokerVersion"),
        ({"classifications": []}, "classifications"),
        ({"classifications": None}, "classifications"),
        ({"classifications": "111:1"}, "classifications"),
        ({"classifications": [7]}, "classifications[0]"),
        (
            {"classifications": [{"classId": 111, "probability": 0.5}, {"classId": 999, "probability": 0.5}]},
            "classifications[1].classId",
        ),
        (
            {"classifications": [{"classId": 111, "probability": 0.5}, {"classId": 111, "probability": 0.5}]},
            "classifications[1].classId",
        ),
        ({"classifications": [{"classId": "111", "probability": 0.5}]}, "classifications[0].classId"),
        ({"classifications": [{"probability": 0.5}]}, "classifications[0].classId"),
        ({"classifications": [{"classId": 111, "probability": math.nan}]}, "classifications[0].probability"),
        ({"classifications": [{"classId": 111, "probability": math.inf}]}, "classifications[0].probability"),
        ({"classifications": [{"classId": 111, "probability": 1.01}]}, "classifications[0].probability"),
        ({"classifications": [{"classId": 111, "probability": -0.1}]}, "classifications[0].probability"),
        ({"classifications": [{"classId": 111, "probability": "0.5"}]}, "classifications[0].probability"),
        ({"classifications": [{"classId": 111}]}, "classifications[0].probability"),
    ],
)
def test_invalid_record_names_the_field(change, field):
    with pytest.raises(InvalidBrokerMessage) as info:
        validate_classification(record(**change))
    assert info.value.field == field
    assert info.value.reason
    assert str(info.value).startswith(field + ":")


def test_non_dict_is_rejected():
    with pytest.raises(InvalidBrokerMessage) as info:
        validate_classification([1, 2])
    assert info.value.field == "message"


# ------------------------------------------------------------------------ storing


@pytest.mark.django_db
def test_new_classifier_is_registered_with_its_partitions():
    result = store_broker_messages([(validate_classification(record(classifier="Brand-New")), origin(5))])
    classifier = BrokerClassifier.objects.get(classifierName="Brand-New")
    assert (classifier.brokerName, classifier.brokerVersion, classifier.classifierParams) == ("TestBroker", "1.0", "p1")
    cid = classifier.classifierId
    assert table_exists(f"elasticc_brokermessage_c{cid}")
    assert table_exists(f"elasticc_brokerclassification_c{cid}")
    assert (result.stored, result.duplicates, result.classifications) == (1, 0, 2)

    msg = BrokerMessage.objects.get(brokerMessageId=result.brokerMessageIds[0])
    assert (msg.classifierId, msg.alertId, msg.diaSourceId) == (cid, 1001, 10010)
    assert (msg.topicName, msg.kafkaPartition, msg.streamMessageId) == ("t", 0, 5)
    assert msg.msgHdrTimestamp == T0 + timedelta(seconds=9)
    assert msg.elasticcPublishTimestamp == T0
    assert msg.brokerIngestTimestamp == T0 + timedelta(seconds=5)
    assert msg.descIngestTimestamp is not None
    rows = sorted(
        BrokerClassification.objects.filter(brokerMessageId=msg.brokerMessageId).values_list(
            "classifierId", "classId", "probability"
        )
    )
    assert rows == [(cid, 111, pytest.approx(0.7)), (cid, 112, pytest.approx(0.3))]
    # The row really lives in the classifier's own partition.
    with connection.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "elasticc_brokermessage_c{cid}"')
        assert cur.fetchone()[0] == 1


@pytest.mark.django_db
def test_known_classifier_is_reused():
    store_broker_messages([(validate_classification(record(alert_id=1)), None)])
    store_broker_messages([(validate_classification(record(alert_id=2)), None)])
    assert BrokerClassifier.objects.filter(classifierName="RF").count() == 1
    assert BrokerMessage.objects.values("classifierId").distinct().count() == 1


@pytest.mark.django_db
def test_rest_message_has_no_kafka_origin():
    result = store_broker_messages([(validate_classification(record(brokerIngestTimestamp=None)), None)])
    msg = BrokerMessage.objects.get(brokerMessageId=result.brokerMessageIds[0])
    assert (msg.topicName, msg.kafkaPartition, msg.streamMessageId, msg.msgHdrTimestamp, msg.brokerIngestTimestamp) == (
        None,
        None,
        None,
        None,
        None,
    )


@pytest.mark.django_db
def test_duplicates_across_calls_are_skipped():
    batch = [(validate_classification(record(alert_id=a)), origin(a)) for a in (1, 2, 3)]
    first = store_broker_messages(batch)
    assert (first.stored, first.duplicates, first.classifications) == (3, 0, 6)
    # Same messages again (a re-delivery), one with different probabilities: nothing new.
    again = [(validate_classification(record(alert_id=a, probs=((113, 1.0),))), origin(a + 100)) for a in (1, 2, 3)]
    second = store_broker_messages(again)
    assert (second.stored, second.duplicates, second.classifications) == (0, 3, 0)
    assert second.brokerMessageIds == first.brokerMessageIds
    assert BrokerMessage.objects.count() == 3
    assert BrokerClassification.objects.count() == 6
    assert not BrokerClassification.objects.filter(classId=113).exists()


@pytest.mark.django_db
def test_duplicates_within_a_batch_are_skipped_and_ids_aligned():
    items = [
        (validate_classification(record(alert_id=10)), origin(0)),
        (validate_classification(record(alert_id=11)), origin(1)),
        (validate_classification(record(alert_id=10, probs=((121, 1.0),))), origin(2)),  # repeat of item 0
        (validate_classification(record(alert_id=10, classifier="Other")), origin(3)),  # other classifier
    ]
    result = store_broker_messages(items)
    assert (result.stored, result.duplicates, result.classifications) == (3, 1, 6)
    ids = result.brokerMessageIds
    assert len(ids) == 4 and ids[0] == ids[2] and len({ids[0], ids[1], ids[3]}) == 3
    # The first occurrence wins.
    assert sorted(BrokerClassification.objects.filter(brokerMessageId=ids[0]).values_list("classId", flat=True)) == [
        111,
        112,
    ]
    assert BrokerMessage.objects.get(brokerMessageId=ids[0]).streamMessageId == 0
    for (rec, _), message_id in zip(items, ids):
        msg = BrokerMessage.objects.get(brokerMessageId=message_id)
        assert msg.alertId == rec["alertId"]
        assert BrokerClassifier.objects.get(classifierId=msg.classifierId).classifierName == rec["classifierName"]


@pytest.mark.django_db
def test_mixed_new_and_stored_ids_are_aligned():
    old = store_broker_messages([(validate_classification(record(alert_id=a)), None) for a in (2, 4)])
    result = store_broker_messages([(validate_classification(record(alert_id=a)), None) for a in (1, 2, 3, 4, 5)])
    assert (result.stored, result.duplicates) == (3, 2)
    assert result.brokerMessageIds[1] == old.brokerMessageIds[0]
    assert result.brokerMessageIds[3] == old.brokerMessageIds[1]
    stored = dict(BrokerMessage.objects.values_list("brokerMessageId", "alertId"))
    assert [stored[i] for i in result.brokerMessageIds] == [1, 2, 3, 4, 5]


@pytest.mark.django_db
def test_empty_batch():
    assert store_broker_messages([]) == ingest.StoreResult()


@pytest.mark.django_db
def test_messages_and_classifications_are_written_with_copy():
    """A statement trigger records the top-level statement that wrote each table."""
    with connection.cursor() as cur:
        cur.execute("""
            CREATE TEMP TABLE seen_statements (tbl text, query text);
            CREATE FUNCTION pg_temp.note_statement() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO seen_statements VALUES (TG_TABLE_NAME, current_query());
                RETURN NULL;
            END $$;
            CREATE TRIGGER note_bm AFTER INSERT ON elasticc_brokermessage
                FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.note_statement();
            CREATE TRIGGER note_bc AFTER INSERT ON elasticc_brokerclassification
                FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.note_statement();
        """)
    store_broker_messages([(validate_classification(record(alert_id=a)), origin(a)) for a in range(50)])
    with connection.cursor() as cur:
        cur.execute("SELECT tbl, query FROM seen_statements ORDER BY 1")
        seen = cur.fetchall()
    assert [t for t, _ in seen] == ["elasticc_brokerclassification", "elasticc_brokermessage"]
    for table, query in seen:
        assert query.lstrip().upper().startswith(f"COPY {table.upper()} "), query
    assert BrokerClassification.objects.count() == 100


@pytest.mark.django_db
def test_joins_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        store_broker_messages([(validate_classification(record(classifier="Rolled-Back")), None)])
        raise RuntimeError("caller fails after storing")
    assert not BrokerMessage.objects.exists()
    assert not BrokerClassifier.objects.filter(classifierName="Rolled-Back").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writer_of_the_same_message_loses_the_race_gracefully():
    """Writer A holds an uncommitted copy of alert 7; writer B's COPY waits on the unique
    index, fails once A commits, and B's retry reports the message as a duplicate."""
    store_broker_messages([(validate_classification(record(alert_id=1)), None)])  # classifier exists
    a_stored = threading.Event()
    a_commit = threading.Event()
    outcome = {}

    def writer_a():
        try:
            with transaction.atomic():
                outcome["a"] = store_broker_messages([(validate_classification(record(alert_id=7)), origin(70))])
                a_stored.set()
                a_commit.wait(10)
        finally:
            connections.close_all()

    def writer_b():
        try:
            a_stored.wait(10)
            outcome["b"] = store_broker_messages(
                [
                    (validate_classification(record(alert_id=8)), origin(80)),
                    (validate_classification(record(alert_id=7)), origin(71)),
                ]
            )
        except Exception as exc:  # surfaced by the asserts below
            outcome["b"] = exc
        finally:
            connections.close_all()

    ta, tb = threading.Thread(target=writer_a), threading.Thread(target=writer_b)
    ta.start()
    tb.start()
    assert a_stored.wait(10)
    # Wait until B is really blocked on A's row lock, then let A commit.
    if not a_session_waits_on_a_lock():
        pytest.fail("writer B never waited on writer A")
    a_commit.set()
    ta.join(20)
    tb.join(20)
    b = outcome["b"]
    assert not isinstance(b, Exception), b
    assert (b.stored, b.duplicates) == (1, 1)
    assert b.brokerMessageIds[1] == outcome["a"].brokerMessageIds[0]
    assert BrokerMessage.objects.filter(alertId=7).count() == 1
    assert BrokerMessage.objects.get(alertId=7).streamMessageId == 70
    assert BrokerMessage.objects.filter(alertId=8).count() == 1
