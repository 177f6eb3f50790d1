"""brokerpoll refuses what the alerts table contradicts and new classifiers beyond the caps
(issue 12, items 6 and 7): such messages go to the dead-letter table with the reason, the others
are stored, and an alert the sender marks sent a moment after a quick broker answered is accepted."""

import threading
import time

import pytest
from django.db import connection

from elasticc.models import BrokerClassifier, BrokerDeadLetter, DiaAlert
from elasticc.stream import avro
from elasticc.stream.tests.brokerpoll_helpers import (
    BrokerPoll,
    encode_all,
    expected_rows,
    make_records,
    produce,
    stored_rows,
    with_alerts,
)

pytestmark = [pytest.mark.kafka, pytest.mark.django_db(transaction=True)]


def run_poller(kafka_broker, topic: str, *extra: str, env: dict | None = None, timeout: float = 90) -> None:
    args = ["--kafka-server", kafka_broker.bootstrap_servers, "--topic", topic, "--group", topic, "--assign"]
    poller = BrokerPoll([*args, "--exit-when-idle", "3", *extra], topic, env=env)
    try:
        assert poller.wait(timeout) == 0, poller.log()
    finally:
        poller.ensure_stopped()


def reasons() -> dict[int, str]:
    return dict(BrokerDeadLetter.objects.values_list("offset", "reason"))


def test_messages_the_alerts_table_contradicts_are_dead_lettered(kafka_broker, unique_name):
    kafka_broker.create_topic(unique_name, partitions=1)
    good = with_alerts(make_records(4, classifiers=2))
    unknown = make_records(1, first_alert=700)[0]  # no such alert
    wrong_source = dict(with_alerts(make_records(1, first_alert=701))[0], diaSourceId=123456)
    never_sent = make_records(1, first_alert=702)[0]
    with connection.cursor() as cur:  # the alert exists but was never streamed
        cur.execute(
            'INSERT INTO elasticc_diaalert ("alertId", "diaSourceId", "diaObjectId", "alertMidPointTai") '
            "VALUES (702, 7020, 7, 60000)"
        )
    too_likely = dict(with_alerts(make_records(1, first_alert=703))[0])
    too_likely["classifications"] = [{"classId": 111, "probability": 0.9}, {"classId": 112, "probability": 0.9}]
    bad = [unknown, wrong_source, never_sent, too_likely]
    values = encode_all(good[:2]) + [avro.encode_classification(r) for r in bad] + encode_all(good[2:])
    produce(kafka_broker.bootstrap_servers, unique_name, values)

    started = time.monotonic()
    run_poller(kafka_broker, unique_name)
    assert time.monotonic() - started >= 10  # it gave the unsent alert the sender's grace first

    messages, _ = stored_rows()
    assert sorted(messages) == sorted(expected_rows(good)[0])
    found = reasons()
    assert found[2] == "refused: alertId 700 is not an alert of this site"
    assert found[3] == "refused: diaSourceId 123456 is not the source of alert 701 (its source is 7010)"
    assert found[4] == "refused: alert 702 has not been sent yet"
    assert found[5].startswith("invalid: classifications: probabilities add up to 1.8")
    assert len(found) == 4


def test_an_alert_marked_sent_during_the_grace_is_stored(kafka_broker, unique_name):
    """The sender marks an alert sent once Kafka confirmed it; a fast broker may answer first."""
    kafka_broker.create_topic(unique_name, partitions=1)
    records = make_records(2, classifiers=2, first_alert=800)
    with connection.cursor() as cur:
        cur.execute(
            'INSERT INTO elasticc_diaalert ("alertId", "diaSourceId", "diaObjectId", "alertMidPointTai") '
            "VALUES (800, 8000, 8, 60000)"
        )
    produce(kafka_broker.bootstrap_servers, unique_name, encode_all(records))

    def mark_later():
        time.sleep(3)
        DiaAlert.objects.filter(alertId=800).update(alertSentTimestamp="2023-10-01T00:00:00Z")

    marker = threading.Thread(target=mark_later)
    marker.start()
    try:
        run_poller(kafka_broker, unique_name)
    finally:
        marker.join()
    messages, _ = stored_rows()
    assert sorted(messages) == sorted(expected_rows(records)[0])
    assert reasons() == {}


def test_new_classifiers_beyond_the_caps_are_dead_lettered(kafka_broker, unique_name):
    """A run id in classifierParams makes every message a new classifier: the caps stop it."""
    kafka_broker.create_topic(unique_name, partitions=1)
    records = with_alerts(make_records(12, classifiers=1))
    for i, r in enumerate(records):
        r["classifierParams"] = f"run-{i}"
    produce(kafka_broker.bootstrap_servers, unique_name, encode_all(records))
    # One message a batch: the batch cap never binds, the broker's cap of 5 does.
    run_poller(
        kafka_broker,
        unique_name,
        "--batch-size",
        "1",
        env={"ELASTICC_MAX_NEW_CLASSIFIERS_PER_BATCH": "3", "ELASTICC_MAX_CLASSIFIERS_PER_BROKER": "5"},
    )
    assert BrokerClassifier.objects.filter(registeredBy="kafka:default").count() == 5
    assert BrokerClassifier.objects.count() == 5
    found = reasons()
    assert sorted(found) == list(range(5, 12))
    assert all(
        r.startswith("refused: classifier (") and "has registered the most classifiers allowed (5" in r
        for r in found.values()
    )
    messages, _ = stored_rows()
    assert len(messages) == 5
    # A known classifier is no new one: its messages are stored whatever the caps.
    more = with_alerts(make_records(3, classifiers=1, first_alert=50))
    for r in more:
        r["classifierParams"] = "run-0"
    produce(kafka_broker.bootstrap_servers, unique_name, encode_all(more))
    run_poller(kafka_broker, unique_name, env={"ELASTICC_MAX_CLASSIFIERS_PER_BROKER": "5"})
    assert len(stored_rows()[0]) == 8 and BrokerClassifier.objects.count() == 5
