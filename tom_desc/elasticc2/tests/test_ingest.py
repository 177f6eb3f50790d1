"""ELAsTiCC2 classifications through the one ingest engine (elasticc/stream/ingest.py, admission.py):
four-digit classIds stored once, one row per message with parallel arrays; three-digit ids refused
naming the taxonomy; the screening against elasticc2_ppdbalert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from elasticc.models import BrokerMessage as ElasticcBrokerMessage
from elasticc.stream import admission, brokertables
from elasticc.stream.ingest import InvalidBrokerMessage, KafkaOrigin, store_broker_messages, validate_classification
from elasticc2.models import BrokerClassifier, BrokerMessage

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
E2 = brokertables.get("elasticc2")


def record(alert_id=501, classifier="RandomSNType", probs=((2222, 0.6), (2223, 0.3), (2242, 0.1)), **kw) -> dict:
    r = {
        "alertId": alert_id,
        "diaSourceId": alert_id,
        "elasticcPublishTimestamp": T0,
        "brokerIngestTimestamp": T0 + timedelta(seconds=3),
        "brokerName": "FakeBroker",
        "brokerVersion": "v1.0",
        "classifierName": classifier,
        "classifierParams": "Perfect",
        "classifications": [{"classId": c, "probability": p} for c, p in probs],
    }
    r.update(kw)
    return r


def sent_alerts(*alert_ids: int, sent: bool = True) -> None:
    """ppdb alerts with alert_id = diasource_id; object = alert id // 100."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO elasticc2_ppdbalert (alert_id, diasource_id, diaobject_id, midpointtai, alertsenttimestamp) "
            "SELECT a, a, a / 100, 60000 + a / 1000.0, %s FROM unnest(%s::bigint[]) a",
            [T0 if sent else None, list(alert_ids)],
        )


def test_the_registry_knows_both_campaigns():
    assert {"elasticc", "elasticc2"} <= set(brokertables.names())
    assert E2.layout == brokertables.ARRAYS and brokertables.get("elasticc").layout == brokertables.ROWS
    with pytest.raises(KeyError, match="unknown campaign 'elasticc3'"):
        brokertables.get("elasticc3")


def test_four_digit_ids_validate_and_three_digit_ids_name_the_taxonomy():
    assert validate_classification(record(), E2)["classifications"][0] == {"classId": 2222, "probability": 0.6}
    with pytest.raises(InvalidBrokerMessage) as info:
        validate_classification(record(probs=((2222, 0.5), (111, 0.5))), E2)
    assert info.value.field == "classifications[1].classId"
    assert info.value.reason.startswith("111 is not a classId of the ELAsTiCC2 taxonomy (four-digit")
    # And the other way round: ELAsTiCC knows no 2222.
    with pytest.raises(InvalidBrokerMessage, match="2222 is not a classId of the taxonomy"):
        validate_classification(record())


@pytest.mark.django_db
def test_a_message_is_one_row_with_parallel_arrays_stored_once():
    items = [(validate_classification(record(alert_id=a), E2), KafkaOrigin("e2", 1, a, T0)) for a in (501, 502)]
    first = store_broker_messages(items, tables=E2, registered_by="kafka:test")
    assert (first.stored, first.duplicates, first.classifications) == (2, 0, 6)
    rows = list(BrokerMessage.objects.order_by("alert_id").values())
    assert len(rows) == 2 and not ElasticcBrokerMessage.objects.exists()
    row = rows[0]
    assert row["classid"] == [2222, 2223, 2242]
    assert row["probability"] == pytest.approx([0.6, 0.3, 0.1])
    assert (row["topicname"], row["kafkapartition"], row["streammessage_id"]) == ("e2", 1, 501)
    assert row["brokermessage_id"] == first.brokerMessageIds[0] == first.first_new
    assert row["msghdrtimestamp"] == T0 and row["descingesttimestamp"] is not None
    classifier = BrokerClassifier.objects.get()
    assert (classifier.classifiername, classifier.registeredby) == ("RandomSNType", "kafka:test")
    with connection.cursor() as cur:  # the classifier's own partition holds the rows
        cur.execute(f"SELECT count(*) FROM elasticc2_brokermessage_c{classifier.classifier_id}")
        assert cur.fetchone()[0] == 2

    # Redelivered (another offset, other probabilities) or resent: nothing new.
    again = [(validate_classification(record(alert_id=a, probs=((2232, 1.0),)), E2), None) for a in (502, 501)]
    second = store_broker_messages(again, tables=E2)
    assert (second.stored, second.duplicates, second.first_new) == (0, 2, None)
    assert second.brokerMessageIds == first.brokerMessageIds[::-1]
    assert BrokerMessage.objects.count() == 2
    assert BrokerMessage.objects.get(alert_id=501).classid == [2222, 2223, 2242]


@pytest.mark.django_db
def test_a_rest_push_is_marked_as_the_original_marked_it():
    pushed = validate_classification(record(alert_id=510), E2)
    store_broker_messages([(pushed, None)], tables=E2)
    row = BrokerMessage.objects.get(alert_id=510)
    assert (row.topicname, row.streammessage_id, row.kafkapartition) == ("REST_push", -1, None)
    assert row.msghdrtimestamp is None  # no brokerPublishTimestamp given


@pytest.mark.django_db
def test_screening_reads_the_ppdb_alerts_and_the_elasticc2_classifiers():
    sent_alerts(601, 602)
    sent_alerts(603, sent=False)
    records = [
        validate_classification(record(alert_id=601), E2),
        validate_classification(record(alert_id=602, diaSourceId=9), E2),
        validate_classification(record(alert_id=603), E2),
        validate_classification(record(alert_id=604), E2),
    ]
    reasons = admission.screen(records, "rest:someone", tables=E2)
    assert reasons == {
        1: "diaSourceId 9 is not the source of alert 602 (its source is 602)",
        2: "alert 603 has not been sent yet",
        3: "alertId 604 is not an ELAsTiCC2 alert of this site",
    }
    assert admission.unsent_alerts(records, E2) == {603}
    # The same alert ids mean nothing to ELAsTiCC.
    assert admission.screen(records[:1], "rest:someone")[0] == "alertId 601 is not an alert of this site"


@pytest.mark.django_db
def test_the_per_broker_cap_counts_elasticc2_classifiers_only():
    sent_alerts(701, 702, 703)
    limits = admission.Limits(new_per_batch=10, per_broker=2)
    first = [validate_classification(record(alert_id=701, classifier=f"C{i}"), E2) for i in range(2)]
    assert admission.screen(first, "rest:b", limits, tables=E2) == {}
    store_broker_messages([(r, None) for r in first], tables=E2, registered_by="rest:b")
    third = [validate_classification(record(alert_id=702, classifier="C2"), E2)]
    assert "has registered the most classifiers allowed (2" in admission.screen(third, "rest:b", limits, tables=E2)[0]
    # ELAsTiCC's count for the same account is its own.
    assert (
        admission.check_classifiers(
            [validate_classification(record(alert_id=1, probs=((111, 1.0),)))],
            connection.cursor(),
            "rest:b",
            limits,
        )
        == {}
    )
