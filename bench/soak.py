"""Live-rate soak: the whole alert cycle at Rubin's peak rate, measured end to end.

    python bench/soak.py                         # 1,000 alerts/s for 600 s (make soak)
    SOAK_RATE=500 SOAK_SECONDS=120 python bench/soak.py
    SOAK_POLL_TIMEOUT=1 python bench/soak.py      # brokerpoll's default batch wait instead of 0.2 s

What `make run` runs, on loopback only: an embedded PostgreSQL and Kafka-protocol broker,
`brokerpoll`, `fakebroker` (two classifiers) and `send_elasticc_alerts --max-rate RATE` over a
demo sky big enough to keep the sender busy for SOAK_SECONDS. Bounded: the sender stops at
the day that holds RATE x SECONDS alerts, and the run gives the pipeline at most SOAK_DRAIN
seconds to store the last classifications.

It reports, from the tables themselves:
- publish -> stored latency p50/p99/max: `descIngestTimestamp - elasticcPublishTimestamp` of each
  broker message (the alert's Kafka timestamp, echoed by the broker, to the moment brokerpoll's
  transaction stored it), so it includes the fake broker's turn and brokerpoll's batching;
- the sender's achieved rate, the largest consumer lag brokerpoll reported (heartbeats every 2 s);
- exact counts: alerts sent, messages expected (sent x classifiers), stored, lost (expected -
  stored), duplicated (brokerpoll's duplicate count plus any (classifier, alert) stored twice),
  dead-lettered.
The goal of the issue is p99 < 2 s with 0 lost and 0 duplicated. This is not part of `make bench`
(it takes minutes by design); its figures go into docs/benchmarks.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PROJECT_DIR, REPO_DIR, BenchContext, Row

RATE = float(os.environ.get("SOAK_RATE", "1000"))  # alerts/s
SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
DRAIN = float(os.environ.get("SOAK_DRAIN", "120"))  # s allowed after the sender ends
# Latency settings of a live-rate deployment: brokerpoll waits at most this long for a batch to
# fill (its default, 1 s, suits catching up, where batches fill at once), and the fake broker
# classifies this many alerts at a time (a tenth of a second of alerts at 1,000/s).
POLL_TIMEOUT = os.environ.get("SOAK_POLL_TIMEOUT", "0.2")
FAKEBROKER_BATCH = os.environ.get("SOAK_FAKEBROKER_BATCH", str(max(10, int(RATE // 10))))
CLASSIFIERS = ("SoakA", "SoakB")
ALERTS_PER_OBJECT = 30  # roughly what the demo sky gives; only sizes the sky, never a result
LOG_DIR = REPO_DIR / "var" / "soak"


def _manage(env: dict, *args: str, log: str | None = None) -> subprocess.Popen:
    out = open(LOG_DIR / log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _one(cursor, sql: str, params=None):
    cursor.execute(sql, params or [])
    return cursor.fetchone()


def _stop(process: subprocess.Popen, grace: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()


def run(ctx: BenchContext) -> list[Row]:
    import psycopg

    from devstack.kafka import EmbeddedKafka
    from devstack.postgres import free_port

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for old in LOG_DIR.glob("*.log"):
        old.unlink()
    url = ctx.database("bench_soak")
    kafka = EmbeddedKafka(free_port(), LOG_DIR / "tansu.log")
    kafka.start()
    alerts_topic, classifications_topic = "soak-alerts", "soak-classifications"
    kafka.create_topic(alerts_topic)
    kafka.create_topic(classifications_topic)
    env = dict(
        os.environ,
        DATABASE_URL=url,
        KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
        ELASTICC_ALERT_TOPIC=alerts_topic,
        ELASTICC_FAKEBROKER_TOPIC=classifications_topic,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(PROJECT_DIR),
    )
    processes: list[subprocess.Popen] = []
    try:
        wanted = int(RATE * SECONDS)
        objects = wanted // ALERTS_PER_OBJECT + 100
        sky = REPO_DIR / "var" / f"soak-sky-{objects}"
        if not (sky / ".complete").exists():
            print(f"generating a demo sky of {objects} objects in {sky}", flush=True)
            subprocess.run(
                [sys.executable, "manage.py", "generate_demo_sky", "--objects", str(objects), "--seed", "7",
                 "--out", str(sky), "--no-progress"],
                cwd=PROJECT_DIR, env=env, check=True,
            )  # fmt: skip
            (sky / ".complete").touch()
        subprocess.run(
            [sys.executable, "manage.py", "load_snana_fits", str(sky), "--no-progress"],
            cwd=PROJECT_DIR, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            # The simulated day that holds `wanted` alerts: the sender stops there.
            through, available = _one(
                cur,
                'SELECT max(t), count(*) FROM (SELECT "alertMidPointTai" AS t FROM elasticc_diaalert '
                'ORDER BY "alertMidPointTai" LIMIT %s) AS first',
                [wanted],
            )
        print(f"{available} alerts through MJD {through:.4f} at {RATE:.0f}/s", flush=True)

        processes.append(
            _manage(env, "brokerpoll", "--name", "soak", "--topic", classifications_topic, "--group", "soak",
                    "--heartbeat-every", "2", "--consumer-option", "session.timeout.ms=6000",
                    "--poll-timeout", POLL_TIMEOUT, log="brokerpoll.log")
        )  # fmt: skip
        processes.append(
            _manage(env, "fakebroker", "--group", "soak-fakebroker", *[a for c in CLASSIFIERS for a in ("--classifier", c)],
                    "--batch-size", FAKEBROKER_BATCH, log="fakebroker.log")
        )  # fmt: skip
        time.sleep(5)  # both consumers join their groups before the first alert
        started = time.monotonic()
        sender = _manage(env, "send_elasticc_alerts", "--through-day", repr(through), "--do", "--no-progress",
                         "--max-rate", str(RATE), log="sender.log")  # fmt: skip
        processes.append(sender)
        max_lag = 0
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            while sender.poll() is None:
                time.sleep(2)
                lag = _one(cur, "SELECT coalesce(max(lag), 0) FROM elasticc_brokerpollstatus")[0]
                max_lag = max(max_lag, lag or 0)
            send_seconds = time.monotonic() - started
            if sender.returncode != 0:
                raise RuntimeError(
                    f"send_elasticc_alerts exited with {sender.returncode}; see {LOG_DIR / 'sender.log'}"
                )
            sent = _one(cur, 'SELECT count(*) FROM elasticc_diaalert WHERE "alertSentTimestamp" IS NOT NULL')[0]
            expected = sent * len(CLASSIFIERS)
            deadline = time.monotonic() + DRAIN
            while (stored := _one(cur, "SELECT count(*) FROM elasticc_brokermessage")[0]) < expected:
                if time.monotonic() > deadline:
                    break
                time.sleep(1)
            (p50, p99), worst = _one(  # percentile_cont over an array of fractions: one array
                cur,
                "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY d), max(d) FROM ("
                ' SELECT EXTRACT(EPOCH FROM "descIngestTimestamp" - "elasticcPublishTimestamp") AS d'
                " FROM elasticc_brokermessage) AS delays",
            )
            twice = _one(
                cur,
                'SELECT count(*) FROM (SELECT 1 FROM elasticc_brokermessage GROUP BY "classifierId", "alertId" '
                "HAVING count(*) > 1) AS t",
            )[0]
            reported_duplicates, dead = _one(
                cur,
                'SELECT coalesce(sum(duplicates), 0), coalesce(sum("deadLettered"), 0) FROM elasticc_brokerpollstatus',
            )
    finally:
        for process in reversed(processes):
            _stop(process)
        kafka.stop()
    rate = sent / send_seconds
    # EXTRACT(EPOCH ...) and sum(bigint) are numeric (Decimal): plain numbers for the rows
    p50, p99, worst, dead = float(p50), float(p99), float(worst), int(dead)
    lost = expected - stored
    duplicated = int(twice) + int(reported_duplicates)
    print(
        f"soak: {sent} alerts in {send_seconds:.0f} s ({rate:.0f}/s); {stored} of {expected} classifications stored; "
        f"lost {lost}, duplicated {duplicated}, dead-lettered {dead}; latency p50 {p50:.3f} s p99 {p99:.3f} s "
        f"max {worst:.3f} s; largest lag {max_lag}",
        flush=True,
    )
    exact = lost == 0 and duplicated == 0 and dead == 0
    return [
        Row("soak publish->stored p50", p50, "s", "goal p99", 2.0),
        Row("soak publish->stored p99", p99, "s", "goal p99", 2.0, "< 2 s", p99 < 2.0),
        Row("soak publish->stored max", worst, "s", "goal p99", 2.0),
        Row("soak sender rate", rate, "/s", "--max-rate", RATE, "> 0.95", rate > 0.95 * RATE),
        Row("soak largest brokerpoll lag", max_lag, "msg", "alerts/s", RATE),
        Row("soak messages lost + duplicated", lost + duplicated + dead, "msg", "expected", expected, "0", exact),
    ]


if __name__ == "__main__":
    from common import main_for

    main_for(run)
