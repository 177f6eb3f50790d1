"""The whole alert cycle on the embedded broker with the real SNANA sample, every piece a
real process.

load_snana_fits loads ../shared/data's ELAsTiCC sample; send_elasticc_alerts --do sends
through a day, then advances with --added-days; fakebroker classifies every alert for
two classifiers; brokerpoll stores what they publish. After each round every sent alert
has exactly one broker message per fake classifier, carrying exactly the probabilities
fakebroker made, and no message exists for an alert that was not sent. Last, a broker
PUTs classifications over REST: they land in the same tables the same way, and sending
them again stores nothing new.
"""

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

from devstack.pytest_plugin import SHARED_DIR
from elasticc import taxonomy
from elasticc.models import BrokerClassifier, DiaAlert
from elasticc.stream.fakebroker import classify
from elasticc.tests.alert_helpers import manage_py
from elasticc.tests.api_data import make_user

SAMPLE = SHARED_DIR / "data" / "elasticc2_snana_sample.tar.bz2"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.kafka, pytest.mark.slow]

CLASSIFIERS = ("CycleAlpha", "CycleBeta")


def sent_alerts() -> dict[int, int]:
    """{alertId: diaSourceId} of the alerts marked sent."""
    return dict(DiaAlert.objects.filter(alertSentTimestamp__isnull=False).values_list("alertId", "diaSourceId"))


def stored_messages() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c."classifierName", m."alertId", m."diaSourceId", m."brokerMessageId", m."classifierId",
                   m."elasticcPublishTimestamp", a."alertSentTimestamp"
            FROM elasticc_brokermessage m
            JOIN elasticc_brokerclassifier c ON c."classifierId" = m."classifierId"
            LEFT JOIN elasticc_diaalert a ON a."alertId" = m."alertId"
        """)
        return cursor.fetchall()


def stored_classifications() -> dict[tuple[int, int], list[tuple[int, float]]]:
    """{(classifierId, brokerMessageId): sorted [(classId, probability)]}."""
    out: dict[tuple[int, int], list[tuple[int, float]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT "classifierId", "brokerMessageId", "classId", probability FROM elasticc_brokerclassification'
        )
        for classifier_id, message_id, class_id, probability in cursor.fetchall():
            out.setdefault((classifier_id, message_id), []).append((class_id, probability))
    return {k: sorted(v) for k, v in out.items()}


def wait_for_messages(expected: int, procs: list[subprocess.Popen], timeout: float = 120.0) -> None:
    """Until the broker message table holds `expected` rows, then a settle period for extras."""
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM elasticc_brokermessage")
            count = cursor.fetchone()[0]
        if count >= expected:
            break
        for p in procs:
            assert p.poll() is None, f"{p.args[2]} exited early: {p.communicate()}"
        assert time.monotonic() < deadline, f"{count} of {expected} broker messages stored after {timeout} s"
        time.sleep(0.25)
    time.sleep(3)  # anything duplicated would arrive now


def check_round(leaves: list[int]) -> int:
    sent = sent_alerts()
    messages = stored_messages()
    assert len(messages) == len(sent) * len(CLASSIFIERS)
    for name in CLASSIFIERS:
        alert_ids = [m[1] for m in messages if m[0] == name]
        assert sorted(alert_ids) == sorted(sent), name  # every sent alert once, nothing else
    classifications = stored_classifications()
    for name, alert_id, source_id, message_id, classifier_id, published, sent_at in messages:
        assert source_id == sent[alert_id]
        # brokers echo the alert's Kafka timestamp, which is what the sender marked
        assert published == sent_at
        made = sorted((c["classId"], c["probability"]) for c in classify(name, alert_id, leaves))
        got = classifications[(classifier_id, message_id)]
        assert [c for c, _ in got] == [c for c, _ in made]
        assert all(math.isclose(p, q, rel_tol=1e-6) for (_, p), (_, q) in zip(got, made))
        assert math.isclose(sum(p for _, p in got), 1.0, abs_tol=1e-5)
    return len(sent)


def send(kafka, topic: str, *args: str) -> str:
    proc = manage_py(
        "send_elasticc_alerts",
        "--do",
        "--no-progress",
        "--kafka-server",
        kafka.bootstrap_servers,
        "--topic",
        topic,
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def put_over_rest(client, token: Token, alerts: dict[int, int]) -> tuple[int, dict]:
    """A broker script PUTting one classification per alert; (status, JSON answer)."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    sent_ms = {
        a: int(t.timestamp() * 1000)
        for a, t in DiaAlert.objects.filter(alertId__in=list(alerts)).values_list("alertId", "alertSentTimestamp")
    }
    body = [
        {
            "alertId": alert_id,
            "diaSourceId": source_id,
            "elasticcPublishTimestamp": sent_ms[alert_id],
            "brokerIngestTimestamp": now_ms,
            "brokerName": "CycleRest",
            "brokerVersion": "2.0",
            "classifierName": "RestRF",
            "classifierParams": "v1",
            "classifications": [{"classId": 111, "probability": 0.25}, {"classId": 221, "probability": 0.75}],
        }
        for alert_id, source_id in alerts.items()
    ]
    answer = client.put(
        "/elasticc/brokermessage/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    return answer.status_code, answer.json()


def test_sent_alerts_come_back_classified_once_per_classifier(kafka_broker, unique_name, client):
    assert SAMPLE.exists(), f"the ELAsTiCC sample is missing: {SAMPLE}"
    call_command("load_snana_fits", str(SAMPLE), "--no-progress", stdout=StringIO())
    times = sorted(DiaAlert.objects.values_list("midPointTai", flat=True))
    assert len(times) > 1000
    first_day = times[len(times) // 10]

    alerts_topic, class_topic = f"{unique_name}-alerts", f"{unique_name}-class"
    kafka_broker.create_topic(alerts_topic, partitions=2)
    kafka_broker.create_topic(class_topic, partitions=2)
    servers = kafka_broker.bootstrap_servers
    fakebroker = manage_py(
        "fakebroker",
        "--kafka-server",
        servers,
        "--alert-topic",
        alerts_topic,
        "--topic",
        class_topic,
        "--group",
        f"{unique_name}-fb",
        "--session-timeout-ms",
        "2000",
        *[arg for name in CLASSIFIERS for arg in ("--classifier", name)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    brokerpoll = manage_py(
        "brokerpoll",
        "--kafka-server",
        servers,
        "--topic",
        class_topic,
        "--group",
        f"{unique_name}-poll",
        "--name",
        "cycle",
        "--consumer-option",
        "session.timeout.ms=2000",
        "--consumer-option",
        "heartbeat.interval.ms=500",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    procs = [fakebroker, brokerpoll]
    leaves = taxonomy.leaf_classids()
    try:
        # Round 1: through a day a third of the way into the survey.
        out = send(kafka_broker, alerts_topic, "--through-day", str(first_day))
        first = len(sent_alerts())
        assert f"{first} alerts sent and marked" in out
        assert 0 < first < len(times)
        wait_for_messages(first * len(CLASSIFIERS), procs)
        assert check_round(leaves) == first

        # Round 2: advance simulated time from the last sent alert.
        out = send(kafka_broker, alerts_topic, "--added-days", "10")
        total = len(sent_alerts())
        assert f"{total - first} alerts sent and marked" in out
        assert total > first
        wait_for_messages(total * len(CLASSIFIERS), procs)
        assert check_round(leaves) == total
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        results = [p.communicate(timeout=60) for p in procs]
    for p, (_out, err) in zip(procs, results):
        assert p.returncode == 0, f"{p.args[2]}: {err[-3000:]}"
    assert f"{total} alerts read, {total * len(CLASSIFIERS)} classifications published" in results[0][0]

    # A broker PUTting over REST lands in the same tables, keyed the same way.
    sent = sent_alerts()
    some = dict(sorted(sent.items())[:50])
    token, _ = Token.objects.get_or_create(user=make_user("cycle-broker", "elasticc_broker"))
    status, answer = put_over_rest(client, token, some)
    assert status == 201, answer
    rest_id = BrokerClassifier.objects.get(brokerName="CycleRest", classifierName="RestRF").classifierId
    rest_messages = [m for m in stored_messages() if m[4] == rest_id]
    assert sorted(m[1] for m in rest_messages) == sorted(some)
    assert all(m[5] == m[6] for m in rest_messages)  # publish timestamp = the alert's sent mark
    assert {key: value for key, value in stored_classifications().items() if key[0] == rest_id} == {
        (rest_id, m[3]): [(111, 0.25), (221, 0.75)] for m in rest_messages
    }
    assert len(stored_messages()) == total * len(CLASSIFIERS) + len(some)
    status, answer = put_over_rest(client, token, some)  # a broker retrying the same request
    assert status in (200, 201), answer
    assert len(stored_messages()) == total * len(CLASSIFIERS) + len(some)
