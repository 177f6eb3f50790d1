"""fakebroker on the embedded broker: valid classifications for every alert and classifier."""

import math
import signal
import subprocess
import time
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from elasticc import taxonomy
from elasticc.models import DiaAlert
from elasticc.stream.fakebroker import FakeBroker, classify
from elasticc.tests.alert_helpers import decode_with_reference, make_many, manage_py, read_topic
from tom_desc.lib.stopping import StopFlag

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.kafka]


def send_alerts(kafka, topic: str, through: float) -> dict[int, int]:
    """Send alerts with the real sender; {alertId: Kafka timestamp ms} as read back from the topic."""
    call_command(
        "send_elasticc_alerts",
        "--through-day",
        str(through),
        "--do",
        "--no-progress",
        "--kafka-server",
        kafka.bootstrap_servers,
        "--topic",
        topic,
        stdout=StringIO(),
    )
    expected = DiaAlert.objects.filter(alertSentTimestamp__isnull=False).count()
    return {
        decode_with_reference(m.value())["alertId"]: m.timestamp()[1]
        for m in read_topic(kafka.bootstrap_servers, topic, expected)
    }


def ms(ts: datetime) -> int:
    return round(ts.timestamp() * 1000)


def test_classifications_for_every_alert_and_classifier(kafka_broker, unique_name):
    make_many(10, 5, 10)
    alerts = send_alerts(kafka_broker, f"{unique_name}-alerts", 60100)
    assert len(alerts) == 50
    out = StringIO()
    call_command(
        "fakebroker",
        "--kafka-server",
        kafka_broker.bootstrap_servers,
        "--alert-topic",
        f"{unique_name}-alerts",
        "--topic",
        f"{unique_name}-class",
        "--group",
        unique_name,
        "--classifier",
        "Alpha",
        "--classifier",
        "Beta",
        "--classifier",
        "Gamma",
        "--session-timeout-ms",
        "2000",
        "--exit-when-idle",
        "4",
        stdout=out,
    )
    assert "50 alerts read, 150 classifications published" in out.getvalue()

    messages = read_topic(kafka_broker.bootstrap_servers, f"{unique_name}-class", 150)
    decoded = [decode_with_reference(m.value(), "brokerClassification") for m in messages]
    assert sorted((d["alertId"], d["classifierName"]) for d in decoded) == sorted(
        (a, c) for a in alerts for c in ("Alpha", "Beta", "Gamma")
    )
    leaves = set(taxonomy.leaf_classids())
    sources = dict(DiaAlert.objects.values_list("alertId", "diaSourceId"))
    for d in decoded:
        assert d["brokerName"] == "FakeBroker" and d["brokerVersion"] == "1.0"
        assert d["diaSourceId"] == sources[d["alertId"]]
        assert ms(d["elasticcPublishTimestamp"]) == alerts[d["alertId"]]
        assert d["brokerIngestTimestamp"] >= d["elasticcPublishTimestamp"]
        assert d["brokerIngestTimestamp"] <= datetime.now(UTC)
        ids = [c["classId"] for c in d["classifications"]]
        assert len(ids) == len(set(ids)) >= 3 and set(ids) <= leaves
        probabilities = [c["probability"] for c in d["classifications"]]
        assert all(0 <= p <= 1 for p in probabilities)
        assert math.isclose(sum(probabilities), 1.0, abs_tol=1e-6)  # as read off the wire (float32)
        # Exactly what classify() made: its values are already 4-byte floats.
        assert d["classifications"] == classify(d["classifierName"], d["alertId"], sorted(leaves))


def test_classify_is_deterministic_and_differs_between_classifiers():
    leaves = taxonomy.leaf_classids()
    assert classify("A", 1, leaves) == classify("A", 1, leaves)
    assert classify("A", 1, leaves) != classify("B", 1, leaves)
    for alert_id in range(200):
        assert math.isclose(sum(c["probability"] for c in classify("A", alert_id, leaves)), 1.0, abs_tol=1e-7)


def test_sigterm_finishes_commits_and_a_restart_does_not_repeat(kafka_broker, unique_name):
    make_many(8, 4, 5)
    alerts = send_alerts(kafka_broker, f"{unique_name}-alerts", 60100)
    args = (
        "fakebroker",
        "--kafka-server",
        kafka_broker.bootstrap_servers,
        "--alert-topic",
        f"{unique_name}-alerts",
        "--topic",
        f"{unique_name}-class",
        "--group",
        unique_name,
        "--session-timeout-ms",
        "2000",
    )
    proc = manage_py(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        read_topic(kafka_broker.bootstrap_servers, f"{unique_name}-class", 2 * len(alerts), timeout=90)
    finally:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"{len(alerts)} alerts read, {2 * len(alerts)} classifications published" in out
    assert "stopped by SIGTERM" in out

    # Same group again: the committed offsets say everything was handled.
    started = time.monotonic()
    rerun = StringIO()
    call_command(*args, "--exit-when-idle", "5", stdout=rerun)
    assert "0 alerts read" in rerun.getvalue(), rerun.getvalue()
    assert time.monotonic() - started < 60
    assert len(read_topic(kafka_broker.bootstrap_servers, f"{unique_name}-class", 2 * len(alerts))) == 2 * len(alerts)


def test_the_engine_stops_at_max_alerts_and_the_group_resumes_after_them(kafka_broker, unique_name):
    """FakeBroker without the command: max_alerts stops it after that many alerts, whose
    offsets it committed, so the next run of the same group classifies only the rest."""
    make_many(6, 2, 3)
    alerts = send_alerts(kafka_broker, f"{unique_name}-alerts", 60100)

    def engine() -> FakeBroker:
        return FakeBroker(
            kafka_broker.bootstrap_servers,
            f"{unique_name}-alerts",
            f"{unique_name}-class",
            StopFlag(),
            group=unique_name,
            classifiers=["Solo"],
            session_timeout_ms=2000,
        )

    first = engine()
    first.run(batch_size=4, max_alerts=5)
    assert (first.alerts, first.published, first.bad) == (5, 5, 0)
    assert first.consumer.consumer is None, "run closes its consumer"
    rest = engine()
    rest.run(batch_size=4, exit_when_idle=4)
    assert (rest.alerts, rest.published) == (len(alerts) - 5, len(alerts) - 5)

    decoded = [
        decode_with_reference(m.value(), "brokerClassification")
        for m in read_topic(kafka_broker.bootstrap_servers, f"{unique_name}-class", len(alerts))
    ]
    assert sorted(d["alertId"] for d in decoded) == sorted(alerts)
    assert {d["classifierName"] for d in decoded} == {"Solo"}
