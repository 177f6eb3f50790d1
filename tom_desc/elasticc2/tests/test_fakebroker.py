"""One fakebroker process answering both campaigns: three-digit classIds for ELAsTiCC alerts,
four-digit ones for ELAsTiCC2 alerts, each on its campaign's classification topic."""

import math
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from elasticc import taxonomy as elasticc_taxonomy
from elasticc.models import DiaAlert
from elasticc.tests.alert_helpers import decode_with_reference, make_many, read_topic
from elasticc2 import taxonomy
from elasticc2.models import PpdbAlert
from elasticc2.tests.alert_oracle import write_pair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.kafka]


def classifications(kafka, topic: str, at_least: int) -> list[dict]:
    return [
        decode_with_reference(m.value(), "brokerClassification")
        for m in read_topic(kafka.bootstrap_servers, topic, at_least)
    ]


def test_one_process_answers_both_campaigns_with_their_taxonomies(kafka_broker, unique_name, tmp_path):
    make_many(5, 3, 4)  # 15 ELAsTiCC alerts
    write_pair(tmp_path / "HAND", {8001: 1001, 8002: 50})  # ELAsTiCC2: 101 DDF alerts, 5 WFD alerts
    call_command("load_snana_fits", str(tmp_path), "--campaign", "elasticc2", "--no-progress", stdout=StringIO())
    servers = kafka_broker.bootstrap_servers
    call_command(
        "send_elasticc_alerts", "-d", "1e9", "--do", "--no-progress", "-k", servers, "--topic", f"{unique_name}-a1",
        stdout=StringIO(),
    )  # fmt: skip
    call_command(
        "send_elasticc2_alerts", "-d", "1e9", "--do", "--no-progress", "-k", servers,
        "--wfd-topic", f"{unique_name}-wfd", "--ddf-full-topic", f"{unique_name}-full",
        "--ddf-limited-topic", f"{unique_name}-limited", stdout=StringIO(),
    )  # fmt: skip
    elasticc_alerts = set(DiaAlert.objects.values_list("alertId", flat=True))
    elasticc2_alerts = set(PpdbAlert.objects.values_list("alert_id", flat=True))
    assert (len(elasticc_alerts), len(elasticc2_alerts)) == (15, 106)

    out = StringIO()
    call_command(
        "fakebroker", "--kafka-server", servers, "--campaign", "elasticc", "--campaign", "elasticc2",
        "--alert-topic", f"{unique_name}-a1", "--topic", f"{unique_name}-c1",
        "--elasticc2-alert-topic", f"{unique_name}-wfd", "--elasticc2-alert-topic", f"{unique_name}-full",
        "--elasticc2-topic", f"{unique_name}-c2", "--group", unique_name, "--exit-when-idle", "4",
        "--session-timeout-ms", "2000", stdout=out,
    )  # fmt: skip
    # The ddf-limited copies are not read (as the original's fake broker): each alert is answered once.
    assert f"fakebroker: {15 + 106} alerts read, {2 * (15 + 106)} classifications published" in out.getvalue()
    assert f"{unique_name}-c1, {unique_name}-c2" in out.getvalue()

    first = classifications(kafka_broker, f"{unique_name}-c1", 30)
    second = classifications(kafka_broker, f"{unique_name}-c2", 212)
    assert Counter(c["alertId"] for c in first) == dict.fromkeys(elasticc_alerts, 2)
    assert Counter(c["alertId"] for c in second) == dict.fromkeys(elasticc2_alerts, 2)
    three_digit = set(elasticc_taxonomy.leaf_classids())
    four_digit = {c for c in taxonomy.classes() if c in taxonomy.exact_classid_of_gentype().values()}
    assert len(four_digit) == 19 and all(1000 <= c <= 9999 for c in four_digit)
    for messages, allowed in ((first, three_digit), (second, four_digit)):
        for message in messages:
            ids = [c["classId"] for c in message["classifications"]]
            assert ids and set(ids) <= allowed
            assert math.isclose(sum(c["probability"] for c in message["classifications"]), 1.0, abs_tol=1e-5)
    assert {m["diaSourceId"] for m in second} == elasticc2_alerts  # the loader's alert_id is the source's id


def test_elasticc2_flags_without_the_campaign_are_refused():
    with pytest.raises(CommandError, match="--elasticc2-alert-topic given, but not --campaign elasticc2"):
        call_command("fakebroker", "--elasticc2-alert-topic", "x", stdout=StringIO())
