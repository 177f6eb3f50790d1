"""send_elasticc2_alerts on the real tansu broker and PostgreSQL: the ELAsTiCC2 alert cycle up to
the alerts.

Every alert read back from Kafka is decoded with the published schema (../shared/reference/)
and checked against the independent oracle (alert_oracle.py); the TOM-known tables must hold
exactly what the delivered alerts carried -- their objects, their sources and prvDiaSources,
their prvDiaForcedSources -- with the ppdb's values; DDF objects go to their own two topics.
"""

import math
import signal
import subprocess
import time
from datetime import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from devstack.postgres import free_port
from devstack.pytest_plugin import SHARED_DIR, require
from elasticc.loading.tests.snana_sample import extract
from elasticc.tests.alert_helpers import REFERENCE_SCHEMA_DIR, decode_with_reference, manage_py, read_topic
from elasticc2.models import PpdbAlert
from elasticc2.tests.alert_oracle import SampleOracle, as_expected, summarize, write_pair

SAMPLE = SHARED_DIR / "data" / "elasticc2_snana_sample.tar.bz2"
SCHEMA = REFERENCE_SCHEMA_DIR / "elasticc.v0_9_1.alert.avsc"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.kafka]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory) -> SampleOracle:
    require(SAMPLE, "the tests read ../shared/ beside the project (the ELAsTiCC2 sample)")
    return SampleOracle(extract(SAMPLE, tmp_path_factory.mktemp("elasticc2-sample")))


def topics(name: str) -> dict[str, str]:
    return {"wfd": f"{name}-wfd", "ddf-full": f"{name}-ddf-full", "ddf-limited": f"{name}-ddf-limited"}


def send(kafka, name: str, *args) -> str:
    out = StringIO()
    t = topics(name)
    call_command(
        "send_elasticc2_alerts",
        "-k",
        kafka.bootstrap_servers,
        "--wfd-topic",
        t["wfd"],
        "--ddf-full-topic",
        t["ddf-full"],
        "--ddf-limited-topic",
        t["ddf-limited"],
        "--no-progress",
        *args,
        stdout=out,
    )
    return out.getvalue()


def marks() -> dict[int, datetime]:
    return dict(
        PpdbAlert.objects.filter(alertsenttimestamp__isnull=False).values_list("alert_id", "alertsenttimestamp")
    )


def ids(table: str, column: str) -> set[int]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table}")
        return {r[0] for r in cur.fetchall()}


def known_equals_what_was_sent(alerts: list[dict]) -> None:
    """The TOM-known tables hold exactly the rows the alerts carried, with the ppdb's values."""
    objects = {a["diaObject"]["diaObjectId"] for a in alerts}
    sources = {s["diaSourceId"] for a in alerts for s in [a["diaSource"], *a["prvDiaSources"]]}
    forced = {f["diaForcedSourceId"] for a in alerts for f in a["prvDiaForcedSources"]}
    assert ids("elasticc2_diaobject", "diaobject_id") == objects
    assert ids("elasticc2_diasource", "diasource_id") == sources
    assert ids("elasticc2_diaforcedsource", "diaforcedsource_id") == forced
    with connection.cursor() as cur:
        for known, ppdb, key in (
            ("elasticc2_diaobject", "elasticc2_ppdbdiaobject", "diaobject_id"),
            ("elasticc2_diasource", "elasticc2_ppdbdiasource", "diasource_id"),
            ("elasticc2_diaforcedsource", "elasticc2_ppdbdiaforcedsource", "diaforcedsource_id"),
        ):
            cur.execute(
                f"SELECT count(*) FROM {known} k JOIN {ppdb} p USING ({key}) "
                f"WHERE row(k.*) IS NOT DISTINCT FROM row(p.*)"
            )
            assert cur.fetchone()[0] == len(ids(known, key)), known


def test_sample_through_a_day_then_more_nights(kafka_broker, unique_name, oracle, tmp_path):
    call_command("load_snana_fits", str(SAMPLE), "--campaign", "elasticc2", "--no-progress", stdout=StringIO())
    expected = oracle.alert_ids(through=60578)
    assert len(expected) == 545  # the original's fixture: 545 alerts of 102 objects through 60578

    dry = send(kafka_broker, unique_name, "-d", "60578")
    assert "would send 545 alerts of 102 objects" in dry and marks() == {}

    running = tmp_path / "sending"
    out = send(kafka_broker, unique_name, "-d", "60578", "-s", str(SCHEMA), "-r", str(running), "-l", "100", "--do")
    assert "send_elasticc2_alerts: 545 alerts sent and marked through day 60578.00000" in out
    assert "newly known to the TOM: 102 objects" in out
    assert not running.exists()
    messages = read_topic(kafka_broker.bootstrap_servers, topics(unique_name)["wfd"], 545)
    alerts = [decode_with_reference(m.value()) for m in messages]
    assert sorted(a["alertId"] for a in alerts) == expected  # each once
    for alert, message in zip(alerts, messages, strict=True):
        assert summarize(alert) == as_expected(oracle.expected(alert["alertId"]))
        assert message.key() == str(alert["diaObject"]["diaObjectId"]).encode()
        assert round(marks()[alert["alertId"]].timestamp() * 1000) == message.timestamp()[1]
    assert read_topic(kafka_broker.bootstrap_servers, topics(unique_name)["ddf-full"]) == []  # no DDF object
    assert set(marks()) == set(expected)
    known_equals_what_was_sent(alerts)

    # -a 100 as the original's fixture ran it: nights end at MJD x.5, counted from the last sent alert.
    last = max(a["diaSource"]["midPointTai"] for a in alerts)
    through = math.floor(last + 0.5) + 100 + 0.5
    out = send(kafka_broker, unique_name, "-a", "100", "--do")
    later = oracle.alert_ids(through=through)
    assert len(later) == 650  # the original's number after its second step
    assert f"{len(later) - 545} alerts sent and marked through day {through:.5f}" in out
    everything = [
        decode_with_reference(m.value())
        for m in read_topic(kafka_broker.bootstrap_servers, topics(unique_name)["wfd"], 650)
    ]
    assert sorted(a["alertId"] for a in everything) == later
    assert all(summarize(a) == as_expected(oracle.expected(a["alertId"])) for a in everything)
    known_equals_what_was_sent(everything)


def test_ddf_objects_go_to_their_two_topics_and_the_rest_to_wfd(kafka_broker, unique_name, tmp_path):
    # Object 8001 has 1001 photometry rows (DDF), 8002 has 300; a detection a day, a point every 0.1 day.
    write_pair(tmp_path / "HAND", {8001: 1001, 8002: 300})
    hand = SampleOracle(tmp_path)
    call_command("load_snana_fits", str(tmp_path), "--campaign", "elasticc2", "--no-progress", stdout=StringIO())
    out = send(kafka_broker, unique_name, "-d", "1e9", "--do", "-f", "7")
    ddf_ids = sorted(i for i in hand.alert_ids() if i // 100000 == 8001)
    wfd_ids = sorted(i for i in hand.alert_ids() if i // 100000 == 8002)
    assert (len(ddf_ids), len(wfd_ids)) == (101, 30)
    assert f"{len(ddf_ids) + len(wfd_ids)} alerts sent and marked" in out
    assert f"({2 * len(ddf_ids) + len(wfd_ids)} messages)" in out

    t = topics(unique_name)
    read = {name: read_topic(kafka_broker.bootstrap_servers, topic, 1) for name, topic in t.items()}
    decoded = {name: [decode_with_reference(m.value()) for m in msgs] for name, msgs in read.items()}
    assert sorted(a["alertId"] for a in decoded["wfd"]) == wfd_ids
    assert sorted(a["alertId"] for a in decoded["ddf-full"]) == ddf_ids
    assert sorted(a["alertId"] for a in decoded["ddf-limited"]) == ddf_ids
    for name, days in (("wfd", 365), ("ddf-full", 365), ("ddf-limited", 30)):
        for alert in decoded[name]:
            assert summarize(alert) == as_expected(hand.expected(alert["alertId"], days)), name
    assert max(len(a["prvDiaSources"]) for a in decoded["ddf-full"]) == 100
    assert max(len(a["prvDiaSources"]) for a in decoded["ddf-limited"]) == 30
    # An alert's mark is its ddf-full copy's Kafka timestamp; every alert is marked once.
    full_ms = {decode_with_reference(m.value())["alertId"]: m.timestamp()[1] for m in read["ddf-full"]}
    assert {a: round(ts.timestamp() * 1000) for a, ts in marks().items() if a in full_ms} == full_ms
    assert set(marks()) == set(ddf_ids + wfd_ids)
    # What was made public: the full copies (a limited copy carries a subset of its full one).
    known_equals_what_was_sent(decoded["wfd"] + decoded["ddf-full"])


def test_killed_mid_run_then_rerun_the_known_tables_hold_what_was_sent(kafka_broker, unique_name):
    """SIGKILL during a send: marks and TOM-known rows commit together, so after a rerun the
    TOM-known tables are exactly what the (at least once) delivered alerts carried."""
    call_command("load_snana_fits", str(SAMPLE), "--campaign", "elasticc2", "--no-progress", stdout=StringIO())
    total = PpdbAlert.objects.count()
    t = topics(unique_name)
    args = [
        "send_elasticc2_alerts",
        "-d",
        "1e9",
        "--do",
        "-f",
        "4",
        "--no-progress",
        "-k",
        kafka_broker.bootstrap_servers,
    ]
    args += ["--wfd-topic", t["wfd"], "--ddf-full-topic", t["ddf-full"], "--ddf-limited-topic", t["ddf-limited"]]
    proc = manage_py(*args, "--max-rate", str(total / 10), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while PpdbAlert.objects.filter(alertsenttimestamp__isnull=False).count() < total // 5:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    before = marks()
    assert 0 < len(before) < total, "the send finished before the kill"
    sent_so_far = [
        decode_with_reference(m.value()) for m in read_topic(kafka_broker.bootstrap_servers, t["wfd"], len(before))
    ]
    marked = [a for a in sent_so_far if a["alertId"] in before]
    assert len({a["alertId"] for a in marked}) == len(before)
    known_equals_what_was_sent(marked)  # nothing known that is not marked, nothing marked not known

    finish = manage_py(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = finish.communicate(timeout=120)
    assert finish.returncode == 0, err
    assert f"{total - len(before)} alerts sent and marked" in out  # exactly the unmarked ones
    after = marks()
    assert len(after) == total and {k: after[k] for k in before} == before  # earlier marks untouched
    everything = [decode_with_reference(m.value()) for m in read_topic(kafka_broker.bootstrap_servers, t["wfd"], total)]
    assert {a["alertId"] for a in everything} == set(after)
    known_equals_what_was_sent(everything)


def test_refusals_change_nothing(kafka_broker, unique_name, tmp_path):
    write_pair(tmp_path / "HAND", {8001: 40})
    call_command("load_snana_fits", str(tmp_path), "--campaign", "elasticc2", "--no-progress", stdout=StringIO())
    running = tmp_path / "running"
    running.write_text("another run\n")
    with pytest.raises(CommandError, match=f"{running} exists: another send_elasticc2_alerts may be running"):
        send(kafka_broker, unique_name, "-d", "1e9", "--do", "-r", str(running))
    assert running.read_text() == "another run\n"
    with pytest.raises(CommandError, match="cannot reach Kafka"):
        call_command(
            "send_elasticc2_alerts", "-d", "1e9", "--do", "--no-progress", "--delivery-timeout", "2",
            "-k", f"127.0.0.1:{free_port()}",
        )  # fmt: skip
    foreign = tmp_path / "other.avsc"
    foreign.write_text('{"type": "record", "name": "x", "fields": [{"name": "a", "type": "long"}]}')
    with pytest.raises(CommandError, match=r"--alert-schema: .* is not the schema this site streams"):
        send(kafka_broker, unique_name, "-d", "1e9", "--do", "-s", str(foreign))
    assert marks() == {} and ids("elasticc2_diaobject", "diaobject_id") == set()


def test_added_days_counts_nights_ending_at_noon(tmp_path):
    """The original's -a: from the last sent alert (or the start day if later; with nothing sent,
    the start day or a day before the first alert) to the end of the night N days later."""
    from elasticc.stream import sender

    write_pair(tmp_path / "HAND", {8001: 40}, start=60010.3, step=1.0, every=1)  # a detection every day
    call_command("load_snana_fits", str(tmp_path), "--campaign", "elasticc2", "--no-progress", stdout=StringIO())
    assert sender.through_day(None, 1, "elasticc2") == math.floor(60009.3 + 0.5) + 1.5  # 60010.5
    assert sender.through_day(None, 2, "elasticc2", start_day=60020.9) == 60021 + 2.5
    PpdbAlert.objects.filter(midpointtai__lte=60015.3).update(alertsenttimestamp="2024-01-01T00:00Z")
    assert sender.through_day(None, 1, "elasticc2") == 60015 + 1.5
    assert sender.through_day(None, 1, "elasticc2", start_day=60012) == 60016.5  # an earlier start day: ignored
    assert sender.through_day(60030.0, 1, "elasticc2") == 60030.0
    # A gap without alerts: the next night that has one.
    PpdbAlert.objects.filter(midpointtai__gt=60015.3, midpointtai__lt=60030).delete()
    assert sender.through_day(None, 1, "elasticc2") == 60030.5
    assert sender.unsent_summary(60049.5, "elasticc2", since=60040).count == 10  # --start-day bounds the run too
