"""The whole ELAsTiCC2 alert cycle on the embedded broker with the real SNANA sample, every piece a
real process (issue 14's cycle test; elasticc/stream/tests/test_alert_cycle.py is ELAsTiCC's).

load_snana_fits --campaign elasticc2 loads ../shared/data's sample into the ppdb tables;
send_elasticc2_alerts --do sends through a day, then advances with --added-days; one fakebroker
classifies every alert for two classifiers with four-digit classIds; one brokerpoll stores what
it publishes. After each round: every alert read back decodes with the published schema and
obeys the history rule of the independent oracle; the TOM-known tables hold exactly what was
sent; every sent alert has exactly one message per classifier, one row whose classid and
probability arrays are what fakebroker made, and no message names an unsent alert. Then a
broker's three-digit classId on the same topic is dead-lettered with the reason while the
message after it is stored, and over REST the same mistake is a 400 naming it, nothing stored.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.authtoken.models import Token

from elasticc.models import BrokerDeadLetter
from elasticc.stream import alertcampaigns, avro
from elasticc.stream.fakebroker import classify
from elasticc.stream.tests.brokerpoll_helpers import produce, wait_for
from elasticc.tests.alert_helpers import decode_with_reference, manage_py, read_topic
from elasticc.tests.api_data import make_user
from elasticc2.models import BrokerClassifier, BrokerMessage, PpdbAlert
from elasticc2.tests.alert_oracle import as_expected, summarize
from elasticc2.tests.test_send_alerts import (  # noqa: F401 (oracle is a fixture)
    SAMPLE,
    SCHEMA,
    known_equals_what_was_sent,
    oracle,
    send,
    topics,
)
from tom_desc.lib.numbers import float32

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.kafka, pytest.mark.slow]

CLASSIFIERS = ("CycleAlpha2", "CycleBeta2")
THREE_DIGIT_REASON = "111 is not a classId of the ELAsTiCC2 taxonomy (four-digit classIds, e.g. 2222 for SN Ia)"


def sent_alerts() -> dict[int, tuple[int, datetime]]:
    """{alert_id: (diasource_id, alertsenttimestamp)} of the ppdb alerts marked sent."""
    return {
        a: (s, t)
        for a, s, t in PpdbAlert.objects.filter(alertsenttimestamp__isnull=False).values_list(
            "alert_id", "diasource_id", "alertsenttimestamp"
        )
    }


def stored_messages() -> list[tuple]:
    """(classifiername, alert_id, diasource_id, elasticcpublishtimestamp, classid, probability) per row."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.classifiername, m.alert_id, m.diasource_id, m.elasticcpublishtimestamp, m.classid, m.probability "
            "FROM elasticc2_brokermessage m JOIN elasticc2_brokerclassifier c USING (classifier_id)"
        )
        return cur.fetchall()


def wait_for_messages(expected: int, procs: list[subprocess.Popen], timeout: float = 180.0) -> None:
    """Until elasticc2_brokermessage holds `expected` rows, then a settle period for extras."""

    def enough() -> bool:
        for p in procs:
            assert p.poll() is None, f"{p.args[2]} exited early: {p.communicate()}"
        return BrokerMessage.objects.count() >= expected

    wait_for(enough, timeout, 0.25, f"{expected} ELAsTiCC2 broker messages")
    time.sleep(3)  # anything duplicated would arrive now


def check_round(leaves: list[int]) -> int:
    """Every sent alert once per fake classifier, as fakebroker made it; returns the sent count."""
    sent = sent_alerts()
    messages = stored_messages()
    assert len(messages) == len(sent) * len(CLASSIFIERS)
    for name in CLASSIFIERS:
        assert sorted(m[1] for m in messages if m[0] == name) == sorted(sent), name  # each once, nothing else
    for name, alert_id, source_id, published, classid, probability in messages:
        assert source_id == sent[alert_id][0]
        assert published == sent[alert_id][1]  # brokers echo the alert's Kafka timestamp, the sent mark
        made = classify(name, alert_id, leaves)
        assert classid == [c["classId"] for c in made] and all(1000 <= c <= 9999 for c in classid)
        assert [float32(p) for p in probability] == [float32(c["probability"]) for c in made]
        assert math.isclose(sum(probability), 1.0, abs_tol=1e-5)
    return len(sent)


def check_sent(kafka, name: str, oracle, at_least: int) -> None:  # noqa: F811 (the fixture's value)
    """The alerts on the WFD topic: each once, decoded with the published schema, as the oracle says."""
    alerts = [
        decode_with_reference(m.value()) for m in read_topic(kafka.bootstrap_servers, topics(name)["wfd"], at_least)
    ]
    assert sorted(a["alertId"] for a in alerts) == sorted(sent_alerts())
    for alert in alerts:
        assert summarize(alert) == as_expected(oracle.expected(alert["alertId"]))
    known_equals_what_was_sent(alerts)


def messages_of(classifier: str):
    return BrokerMessage.objects.filter(
        classifier_id__in=BrokerClassifier.objects.filter(classifiername=classifier).values("classifier_id")
    )


def broker_message(alert_id: int, source_id: int, classifier: str, classes: list[tuple[int, float]]) -> dict:
    now = datetime.now(UTC)
    return {
        "alertId": alert_id,
        "diaSourceId": source_id,
        "elasticcPublishTimestamp": now,
        "brokerIngestTimestamp": now,
        "brokerName": "CycleLate",
        "brokerVersion": "1.0",
        "classifierName": classifier,
        "classifierParams": "",
        "classifications": [{"classId": c, "probability": p} for c, p in classes],
    }


def put_over_rest(client, token: Token, body: list[dict]) -> tuple[int, dict]:
    for record in body:  # over REST timestamps are milliseconds
        for key in ("elasticcPublishTimestamp", "brokerIngestTimestamp"):
            record[key] = int(record[key].timestamp() * 1000)
    answer = client.put(
        "/elasticc2/brokermessage/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    return answer.status_code, answer.json()


def test_sent_alerts_come_back_classified_once_per_classifier_as_arrays(kafka_broker, unique_name, oracle, client):  # noqa: F811
    call_command("load_snana_fits", str(SAMPLE), "--campaign", "elasticc2", "--no-progress", stdout=StringIO())
    servers = kafka_broker.bootstrap_servers
    alert_topics, class_topic = topics(unique_name), f"{unique_name}-class"
    for topic in (*alert_topics.values(), class_topic):
        kafka_broker.create_topic(topic, partitions=2)
    fakebroker = manage_py(
        "fakebroker", "--kafka-server", servers, "--campaign", "elasticc2",
        "--elasticc2-alert-topic", alert_topics["wfd"], "--elasticc2-alert-topic", alert_topics["ddf-full"],
        "--elasticc2-topic", class_topic, "--group", f"{unique_name}-fb", "--session-timeout-ms", "2000",
        *[arg for name in CLASSIFIERS for arg in ("--classifier", name)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    brokerpoll = manage_py(
        "brokerpoll", "--kafka-server", servers, "--topic", f"elasticc2:{class_topic}",
        "--group", f"{unique_name}-poll", "--name", "cycle2",
        "--consumer-option", "session.timeout.ms=2000", "--consumer-option", "heartbeat.interval.ms=500",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    procs = [fakebroker, brokerpoll]
    leaves = alertcampaigns.get("elasticc2").leaf_classids()
    try:
        # Round 1: through day 60578, as the original's fixture (545 alerts).
        out = send(kafka_broker, unique_name, "-d", "60578", "-s", str(SCHEMA), "--do")
        assert "545 alerts sent and marked" in out
        check_sent(kafka_broker, unique_name, oracle, 545)
        wait_for_messages(545 * len(CLASSIFIERS), procs)
        assert check_round(leaves) == 545

        # Round 2: 100 more simulated nights from the last sent alert.
        out = send(kafka_broker, unique_name, "-a", "100", "--do")
        assert "105 alerts sent and marked" in out
        check_sent(kafka_broker, unique_name, oracle, 650)
        wait_for_messages(650 * len(CLASSIFIERS), procs)
        assert check_round(leaves) == 650

        # A broker's three-digit classId on the ELAsTiCC2 topic, then a good message behind it.
        (first, (source, _)), (second, (source2, _)) = sorted(sent_alerts().items())[:2]
        bad = broker_message(first, source, "Late", [(2222, 0.5), (111, 0.5)])
        good = broker_message(second, source2, "Late", [(2222, 0.25), (2242, 0.75)])
        where = produce(servers, class_topic, [avro.encode_classification(bad), avro.encode_classification(good)])
        wait_for(lambda: BrokerMessage.objects.count() == 650 * len(CLASSIFIERS) + 1, 60, 0.25, "the good message")
        dead = wait_for(lambda: list(BrokerDeadLetter.objects.filter(topic=class_topic)), 30, 0.25, "a dead letter")
        assert [(d.partition, d.offset, d.reason) for d in dead] == [
            (*where[0], f"invalid: classifications[1].classId: {THREE_DIGIT_REASON}")
        ]
        (late,) = messages_of("Late")
        assert (late.alert_id, late.classid, late.probability) == (second, [2222, 2242], [0.25, 0.75])
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        results = [p.communicate(timeout=60) for p in procs]
    for p, (_out, err) in zip(procs, results):
        assert p.returncode == 0, f"{p.args[2]}: {err[-3000:]}"
    assert f"650 alerts read, {650 * len(CLASSIFIERS)} classifications published" in results[0][0]
    total = BrokerMessage.objects.count()
    assert total == 650 * len(CLASSIFIERS) + 1  # nothing else lost, nothing doubled

    # Over REST: the three-digit id is a 400 naming it and nothing of the request is stored;
    # with four-digit ids the same upload goes in once, as arrays, and a resend stores nothing.
    token, _ = Token.objects.get_or_create(user=make_user("cycle2-broker", "elasticc_broker"))
    some = sorted(sent_alerts().items())[:20]
    body = [broker_message(a, s, "RestRF", [(2222, 0.5), (2232, 0.5)]) for a, (s, _) in some]
    body[-1]["classifications"][1]["classId"] = 111
    status, answer = put_over_rest(client, token, body)
    assert status == 400 and answer["errors"][answer["field"]] == [THREE_DIGIT_REASON], answer
    assert answer["field"] == f"[{len(some) - 1}].classifications[1].classId"
    assert BrokerMessage.objects.count() == total
    body = [broker_message(a, s, "RestRF", [(2222, 0.5), (2232, 0.5)]) for a, (s, _) in some]
    status, answer = put_over_rest(client, token, body)
    assert status == 201 and answer["num_loaded"] == len(some), answer
    rest = messages_of("RestRF")
    assert sorted(rest.values_list("alert_id", flat=True)) == [a for a, _ in some]
    assert {(tuple(m.classid), tuple(m.probability)) for m in rest} == {((2222, 2232), (0.5, 0.5))}
    status, answer = put_over_rest(client, token, [broker_message(a, s, "RestRF", [(2222, 1.0)]) for a, (s, _) in some])
    assert status == 201 and answer["num_loaded"] == 0, answer
    assert BrokerMessage.objects.count() == total + len(some)
