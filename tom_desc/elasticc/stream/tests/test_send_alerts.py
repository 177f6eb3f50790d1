"""send_elasticc_alerts, and its engine (elasticc.stream.sender) driven directly, against the
real embedded Kafka broker and PostgreSQL.

The sender streams through a connection of its own, so these tests commit their
rows (transaction=True).
"""

import signal
import subprocess
import time
from datetime import datetime

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import models

from devstack.postgres import free_port
from devstack.pytest_plugin import SHARED_DIR
from elasticc.models import DiaAlert
from elasticc.stream import sender
from elasticc.stream.sender import SEND_LOCK_KEY
from elasticc.tests.alert_helpers import (
    database_url,
    decode_with_reference,
    make_many,
    manage_py,
    read_topic,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.kafka]

SAMPLE = SHARED_DIR / "data" / "elasticc2_snana_sample.tar.bz2"


def sent_marks() -> dict[int, datetime]:
    return dict(DiaAlert.objects.filter(alertSentTimestamp__isnull=False).values_list("alertId", "alertSentTimestamp"))


def alerts_through(day: float) -> set[int]:
    return set(DiaAlert.objects.filter(midPointTai__lte=day).values_list("alertId", flat=True))


def send(kafka, topic, *args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(
        "send_elasticc_alerts",
        "--kafka-server",
        kafka.bootstrap_servers,
        "--topic",
        topic,
        "--no-progress",
        *args,
        stdout=out,
    )
    return out.getvalue()


def ms(ts: datetime) -> int:
    return round(ts.timestamp() * 1000)


@pytest.fixture
def survey():
    """30 objects x 8 sources, one a day from 60000 + k/100; forced points around them."""
    return make_many(30, 8, 20)


def test_dry_run_sends_and_marks_nothing(kafka_broker, unique_name, survey):
    kafka_broker.create_topic(unique_name)
    out = send(kafka_broker, unique_name, "--through-day", "60003.5")
    assert f"would send {len(alerts_through(60003.5))} alerts of 30 objects" in out
    assert "Add --do" in out
    assert sent_marks() == {}
    assert read_topic(kafka_broker.bootstrap_servers, unique_name) == []


def test_through_day_sends_exactly_those_alerts_and_marks_them(kafka_broker, unique_name, survey):
    expected = alerts_through(60003.5)
    assert 0 < len(expected) < DiaAlert.objects.count()
    out = send(kafka_broker, unique_name, "--through-day", "60003.5", "--do", "--batch-size", "7")
    assert f"{len(expected)} alerts sent and marked" in out

    messages = read_topic(kafka_broker.bootstrap_servers, unique_name, len(expected))
    decoded = [(decode_with_reference(m.value()), m) for m in messages]
    assert sorted(a["alertId"] for a, _ in decoded) == sorted(expected)  # each exactly once
    marks = sent_marks()
    assert set(marks) == expected
    for alert, message in decoded:
        assert alert["diaSource"]["midPointTai"] <= 60003.5
        assert message.key() == str(alert["diaSource"]["diaObjectId"]).encode()
        # The mark is the Kafka timestamp brokers will echo as elasticcPublishTimestamp.
        assert ms(marks[alert["alertId"]]) == message.timestamp()[1]
        # History travels with the alert: the earlier sources of the object that were sent.
        assert [p["midPointTai"] for p in alert["prvDiaSources"]] == sorted(
            p["midPointTai"] for p in alert["prvDiaSources"]
        )
        assert all(p["midPointTai"] < alert["diaSource"]["midPointTai"] for p in alert["prvDiaSources"])

    # A second run through the same day finds nothing new.
    out = send(kafka_broker, unique_name, "--through-day", "60003.5", "--do")
    assert "nothing sent" in out
    assert len(read_topic(kafka_broker.bootstrap_servers, unique_name, len(expected))) == len(expected)


def test_added_days_advances_from_the_last_sent_alert(kafka_broker, unique_name, survey):
    # Nothing sent yet: from the first unsent alert (60000.0), through 60001.0.
    send(kafka_broker, unique_name, "--added-days", "1", "--do")
    assert set(sent_marks()) == alerts_through(60001.0)
    last_sent = max(DiaAlert.objects.filter(alertSentTimestamp__isnull=False).values_list("midPointTai", flat=True))
    send(kafka_broker, unique_name, "--added-days", "2.5", "--do")
    assert set(sent_marks()) == alerts_through(last_sent + 2.5)
    assert len(read_topic(kafka_broker.bootstrap_servers, unique_name, len(alerts_through(last_sent + 2.5)))) == len(
        alerts_through(last_sent + 2.5)
    )


def test_added_days_jumps_over_a_night_without_alerts(kafka_broker, unique_name, survey):
    times = sorted(set(DiaAlert.objects.values_list("midPointTai", flat=True)))
    # Send through just after one night, then move the rest of the survey 30 days later: the
    # next --added-days 1 window is empty, and the run after it must not stay there.
    cut = times[len(times) // 2]
    send(kafka_broker, unique_name, "--through-day", str(cut), "--do")
    DiaAlert.objects.filter(midPointTai__gt=cut).update(midPointTai=models.F("midPointTai") + 30)
    next_night = cut + 30 + min(t - cut for t in times if t > cut)
    out = send(kafka_broker, unique_name, "--added-days", "1", "--do")
    assert set(sent_marks()) == {
        a for a, t in DiaAlert.objects.values_list("alertId", "midPointTai") if t <= next_night
    }
    assert "nothing sent" not in out
    # Back to plain one-day steps from the alert sent last.
    later = [t for t in DiaAlert.objects.values_list("midPointTai", flat=True) if t > next_night]
    assert later and min(later) <= next_night + 1
    send(kafka_broker, unique_name, "--added-days", "1", "--do")
    assert set(sent_marks()) == {
        a for a, t in DiaAlert.objects.values_list("alertId", "midPointTai") if t <= next_night + 1
    }


def test_added_days_dry_run_reports_from_the_first_unsent(kafka_broker, unique_name, survey):
    out = send(kafka_broker, unique_name, "--added-days", "0.001")
    assert "would send 1 alerts of 1 objects with midPointTai 60000.00000 .. 60000.00000" in out


def test_a_second_concurrent_run_is_refused(kafka_broker, unique_name, survey):
    with psycopg.connect(database_url(), autocommit=True) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", [SEND_LOCK_KEY]).fetchone()[0]
        with pytest.raises(CommandError, match="another send_elasticc_alerts is running"):
            send(kafka_broker, unique_name, "--through-day", "60100", "--do")
        assert sent_marks() == {}
        # The dry run does not need the lock.
        assert "would send" in send(kafka_broker, unique_name, "--through-day", "60100")
        other.execute("SELECT pg_advisory_unlock(%s)", [SEND_LOCK_KEY])
    # The holder let go: the next run goes ahead.
    send(kafka_broker, unique_name, "--through-day", "60100", "--do")
    assert len(sent_marks()) == DiaAlert.objects.count()


def sender_lock_held() -> bool:
    with psycopg.connect(database_url(), autocommit=True) as conn:
        return conn.execute(
            "SELECT exists(SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND ((classid::bigint << 32) | objid::bigint) = %s)",
            [SEND_LOCK_KEY],
        ).fetchone()[0]


def test_two_processes_at_once_one_is_refused(kafka_broker, unique_name):
    """A real second process while the first holds the lock (paused with SIGSTOP mid-send)."""
    make_many(60, 10, 5)
    # Paced to take at least 3 s, so the first run is still sending when it is paused.
    args = (
        "send_elasticc_alerts",
        "--through-day",
        "60100",
        "--do",
        "--batch-size",
        "3",
        "--no-progress",
        "--max-rate",
        "200",
        "--kafka-server",
        kafka_broker.bootstrap_servers,
        "--topic",
        unique_name,
    )
    first = manage_py(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Pause the first process as soon as it holds the lock (it takes it before sending).
        deadline = time.monotonic() + 60
        while not sender_lock_held():
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.01)
        first.send_signal(signal.SIGSTOP)
        assert sender_lock_held(), "the first run finished before it could be paused"
        second = manage_py(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        second_out, second_err = second.communicate(timeout=60)
        assert second.returncode != 0, second_out
        assert "another send_elasticc_alerts is running" in second_err
    finally:
        first.send_signal(signal.SIGCONT)
    first_out, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert "600 alerts sent and marked" in first_out
    assert len(sent_marks()) == 600
    assert len(read_topic(kafka_broker.bootstrap_servers, unique_name, 600)) == 600


def test_unreachable_broker_marks_nothing(unique_name, survey):
    port = free_port()  # nothing listens there
    with pytest.raises(CommandError, match="cannot reach Kafka"):
        call_command(
            "send_elasticc_alerts",
            "--through-day",
            "60100",
            "--do",
            "--no-progress",
            "--delivery-timeout",
            "2",
            "--kafka-server",
            f"127.0.0.1:{port}",
            "--topic",
            unique_name,
        )
    assert sent_marks() == {}


def test_broker_gone_mid_run_marks_only_what_was_delivered_and_a_rerun_sends_the_rest(unique_name, tmp_path):
    """A broker that dies while alerts are in flight: delivered ones are marked, the rest stay unsent.

    The restarted broker (memory storage) holds nothing, so what the rerun produces is
    visible on its own: exactly the alerts left unmarked, each once.
    """
    from devstack.kafka import EmbeddedKafka

    make_many(200, 10, 5)
    total = DiaAlert.objects.count()
    port = free_port()
    broker = EmbeddedKafka(port, tmp_path / "tansu.log")
    broker.start()
    try:
        # Paced to take at least 5 s: the broker dies with most of the alerts still to send.
        proc = manage_py(
            "send_elasticc_alerts",
            "--through-day",
            "60100",
            "--do",
            "--batch-size",
            "2",
            "--max-rate",
            "400",
            "--no-progress",
            "--delivery-timeout",
            "3",
            "--kafka-server",
            broker.bootstrap_servers,
            "--topic",
            unique_name,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while DiaAlert.objects.filter(alertSentTimestamp__isnull=False).count() < 100:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        broker.kill()
        out, err = proc.communicate(timeout=120)
    finally:
        broker.stop()
    assert proc.returncode != 0, out
    assert "not delivered and stay unsent" in err
    before = sent_marks()
    assert 100 <= len(before) < total
    unsent = set(DiaAlert.objects.values_list("alertId", flat=True)) - set(before)

    broker = EmbeddedKafka(port, tmp_path / "tansu2.log")
    broker.start()
    try:
        out = send(broker, unique_name, "--through-day", "60100", "--do")
        assert f"{len(unsent)} alerts sent and marked" in out
        rerun = [
            decode_with_reference(m.value())["alertId"]
            for m in read_topic(broker.bootstrap_servers, unique_name, len(unsent))
        ]
    finally:
        broker.stop()
    assert sorted(rerun) == sorted(unsent)  # exactly the rest, each once
    after = sent_marks()
    assert len(after) == total
    assert {k: after[k] for k in before} == before  # earlier marks untouched


def test_killed_mid_run_then_rerun_sends_every_alert_and_marks_each_once(kafka_broker, unique_name):
    """SIGKILL during a large send, then a rerun: at least once on Kafka, marked once, never unconfirmed."""
    if SAMPLE.exists():
        call_command("load_snana_fits", str(SAMPLE), "--no-progress")
        through, batch = 1e9, "4"
    else:
        make_many(300, 8, 10)
        through, batch = 60100.0, "4"
    total = DiaAlert.objects.count()
    args = (
        "send_elasticc_alerts",
        "--through-day",
        str(through),
        "--do",
        "--batch-size",
        batch,
        "--no-progress",
        "--kafka-server",
        kafka_broker.bootstrap_servers,
        "--topic",
        unique_name,
    )
    # The first run is paced to take at least 10 s, so the kill at a fifth lands mid-run.
    proc = manage_py(*args, "--max-rate", str(total / 10), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while DiaAlert.objects.filter(alertSentTimestamp__isnull=False).count() < total // 5:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    before = sent_marks()
    assert 0 < len(before) < total, "the send finished before the kill; make the data bigger"

    # Every mark so far stands for a message the broker holds, with that message's timestamp.
    messages = read_topic(kafka_broker.bootstrap_servers, unique_name, len(before))
    timestamps: dict[int, set[int]] = {}
    for m in messages:
        timestamps.setdefault(decode_with_reference(m.value())["alertId"], set()).add(m.timestamp()[1])
    for alert_id, ts in before.items():
        assert ms(ts) in timestamps[alert_id]

    already_there = {(m.partition(), m.offset()) for m in messages}
    unmarked = set(DiaAlert.objects.values_list("alertId", flat=True)) - set(before)

    rerun = manage_py(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"{len(unmarked)} alerts sent and marked" in out

    after = sent_marks()
    assert len(after) == total
    assert {k: after[k] for k in before} == before  # marked exactly once: the first mark stands
    messages = read_topic(kafka_broker.bootstrap_servers, unique_name, total)
    timestamps = {}
    for m in messages:
        timestamps.setdefault(decode_with_reference(m.value())["alertId"], set()).add(m.timestamp()[1])
    assert set(timestamps) == set(after)  # every alert on Kafka at least once
    for alert_id, ts in after.items():
        assert ms(ts) in timestamps[alert_id]
    # The rerun produced exactly the alerts unmarked at the kill, each once; duplicates on
    # the topic are only alerts delivered but not yet marked when the first run died.
    rerun_sent = [
        decode_with_reference(m.value())["alertId"]
        for m in messages
        if (m.partition(), m.offset()) not in already_there
    ]
    assert sorted(rerun_sent) == sorted(unmarked)


def test_max_rate_paces_the_stream(kafka_broker, unique_name):
    """300 alerts at 150/s: the run cannot take less than 2 s less one batch, and all are sent."""
    make_many(30, 10, 2)
    started = time.monotonic()
    out = send(kafka_broker, unique_name, "--through-day", "60100", "--do", "--batch-size", "10", "--max-rate", "150")
    elapsed = time.monotonic() - started
    assert "300 alerts sent and marked" in out
    assert elapsed >= (300 - 10) / 150
    assert len(read_topic(kafka_broker.bootstrap_servers, unique_name, 300)) == 300
    with pytest.raises(CommandError, match="--max-rate must be a positive"):
        send(kafka_broker, unique_name, "--through-day", "60100", "--do", "--max-rate", "0")


# --- The engine alone (elasticc.stream.sender), as a test or a benchmark drives it ------------


def test_the_engine_sends_and_marks_without_the_command(kafka_broker, unique_name, survey):
    """Through-day, lock, run and marks straight from the engine; the bytes are the REST API's alert."""
    from elasticc.stream.alerts import build_alerts
    from elasticc.stream.avro import encode_alert
    from tom_desc.lib.stopping import StopFlag

    through = sender.through_day(None, 1.0)  # nothing sent yet: from the first unsent alert, 60000.0
    assert through == 60001.0
    expected = alerts_through(through)
    assert sender.unsent_summary(through) == (
        len(expected),
        60000.0,
        max(DiaAlert.objects.filter(midPointTai__lte=through).values_list("midPointTai", flat=True)),
        30,
    )
    engine = sender.AlertSender(kafka_broker.bootstrap_servers, unique_name, 30.0, history_rows=40)
    engine.check_reachable()
    with sender.send_lock():
        engine.run(through, 4, stop=StopFlag())
    assert (engine.marked, engine.produced, engine.failed, engine.skipped) == (len(expected), len(expected), [], 0)
    marks = sent_marks()
    assert set(marks) == expected
    messages = read_topic(kafka_broker.bootstrap_servers, unique_name, len(expected))
    assert sorted(decode_with_reference(m.value())["alertId"] for m in messages) == sorted(expected)
    built = {a["alertId"]: a for a in build_alerts(sorted(expected))}
    for m in messages:
        alert = decode_with_reference(m.value())
        assert m.value() == encode_alert(built[alert["alertId"]])
        assert ms(marks[alert["alertId"]]) == m.timestamp()[1]
    assert (
        sender.through_day(None, 1.0)
        == max(DiaAlert.objects.filter(alertSentTimestamp__isnull=False).values_list("midPointTai", flat=True)) + 1.0
    )


def test_the_engine_stops_before_reading_when_the_flag_is_set(kafka_broker, unique_name, survey):
    from tom_desc.lib.stopping import StopFlag

    stop = StopFlag()
    stop.set()
    engine = sender.AlertSender(kafka_broker.bootstrap_servers, unique_name, 30.0)
    engine.run(60100.0, 10, stop=stop)
    assert (engine.produced, engine.marked) == (0, 0)
    assert sent_marks() == {}


def test_the_engine_reports_with_send_errors(unique_name, survey):
    """What the command reports comes out of the engine as SendError, not Django's CommandError."""
    assert sender.describe_dry_run(60003.5, None, "t", "k:1").startswith(
        f"Dry run: would send {len(alerts_through(60003.5))} alerts of 30 objects"
    )
    with pytest.raises(sender.SendError, match="takes KEY=VALUE, not 'acks'"):
        sender.producer_config(["linger.ms=5", "acks"])
    assert sender.producer_config(["a=b=c"]) == {"a": "b=c"}
    engine = sender.AlertSender(f"127.0.0.1:{free_port()}", unique_name, 2.0)
    with pytest.raises(sender.SendError, match="cannot reach Kafka"):
        engine.check_reachable()
    with psycopg.connect(database_url(), autocommit=True) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", [SEND_LOCK_KEY]).fetchone()[0]
        with pytest.raises(sender.SendError, match="another send_elasticc_alerts is running"), sender.send_lock():
            pass
    with sender.send_lock():  # the other session let go
        assert sender_lock_held()
    assert not sender_lock_held()


def test_cli_help_explains():
    out, _ = manage_py("send_elasticc_alerts", "--help", stdout=subprocess.PIPE, text=True).communicate(timeout=60)
    for option in ("--through-day", "--added-days", "--kafka-server", "--topic", "--do", "--batch-size", "--max-rate"):
        assert option in out


def test_progress_bar_on_a_terminal_and_final_counts(kafka_broker, unique_name, survey):
    """On a terminal the command draws a tqdm bar to stderr, then prints its one-line summary."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    total = DiaAlert.objects.count()
    master, slave = pty.openpty()
    # A terminal of 24 x 120 characters (a fresh pty is 0 x 0, where tqdm draws nothing).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    proc = manage_py(
        "send_elasticc_alerts",
        "--through-day",
        "60100",
        "--do",
        "--batch-size",
        "10",
        "--kafka-server",
        kafka_broker.bootstrap_servers,
        "--topic",
        unique_name,
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    terminal = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, terminal
    assert "sent: 100%" in terminal and f"{total}/{total}" in terminal, terminal
    assert f"{total} alerts sent and marked" in out
    assert "0 failed, 0 skipped" in out
    assert len(sent_marks()) == total
