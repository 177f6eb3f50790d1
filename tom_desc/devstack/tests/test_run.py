"""`make run` end to end: the supervisor starts its own PostgreSQL and Kafka-protocol broker,
loads the demo sky into both campaigns, serves the site, closes the alert loop of both (alert
clock -> one fakebroker -> one brokerpoll) and stops every process on Ctrl-C."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import requests

from devstack.postgres import free_port

REPO_DIR = Path(__file__).resolve().parents[3]


def _wait(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}; supervisor log:\n{log.read_text()[-4000:]}")


def _count(dsn: str, sql: str) -> int:
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            return conn.execute(sql).fetchone()[0]
    except psycopg.Error:
        return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.kafka
def test_make_run_serves_the_site_and_closes_the_alert_loop(tmp_path):
    pg_port, kafka_port, web_port = free_port(), free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DATABASE_URL", "DB_", "DJANGO_SECRET_KEY", "KAFKA_", "STATIC_MANIFEST", "WHITENOISE_USE_FINDERS")
        )
    }
    # Not under pytest's tmp_path: other pytest runs reset its root to 0700, which would lock
    # the embedded server's own user out of its data directory.
    var = REPO_DIR / "var" / "test-run" / str(os.getpid())
    shutil.rmtree(var, ignore_errors=True)
    env.update(
        TOM_VAR_DIR=str(var),
        TOM_PG_PORT=str(pg_port),
        TOM_KAFKA_PORT=str(kafka_port),
        TOM_PORT=str(web_port),
        TOM_WEB_WORKERS="1",
        TOM_DEMO_OBJECTS="25",
        TOM_ALERT_INTERVAL="3",
        TOM_ADMIN_USERNAME="admin",
        TOM_ADMIN_PASSWORD="make-run-test-password",
    )
    log = tmp_path / "supervisor.log"
    with open(log, "wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "devstack.run"], cwd=REPO_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{web_port}"
    dsn = f"postgresql://postgres@127.0.0.1:{pg_port}/tom_desc"
    try:
        _wait(lambda: "tom_desc is running" in log.read_text(), 300, "the site to start", log)

        session = requests.Session()
        login_page = session.get(f"{url}/accounts/login/", timeout=30)
        assert login_page.status_code == 200
        answer = session.post(
            f"{url}/accounts/login/",
            timeout=30,
            headers={"Referer": f"{url}/accounts/login/"},
            data={
                "login": "admin",
                "username": "admin",
                "password": "make-run-test-password",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
        )
        assert answer.status_code == 200
        summary = session.get(f"{url}/elasticc/summary", timeout=30, allow_redirects=False)
        assert summary.status_code == 200 and "elasticc_diaobject" in summary.text
        css = session.get(f"{url}/static/tom_common/css/custom.css", timeout=30)
        assert css.status_code == 200  # collected and served by whitenoise

        assert _count(dsn, "SELECT count(*) FROM elasticc_diaobject") == 25
        assert _count(dsn, "SELECT count(*) FROM elasticc2_ppdbdiaobject") == 25
        # The original README's example keeps finding data.
        objects = session.get(f"{url}/elasticc/diaobject/", timeout=30)
        assert objects.status_code == 200 and len(objects.json()["results"]) == 25
        # The clock sends alerts, the fake broker classifies them, brokerpoll stores the result.
        _wait(
            lambda: _count(dsn, 'SELECT count(*) FROM elasticc_diaalert WHERE "alertSentTimestamp" IS NOT NULL'),
            120,
            "alerts to be sent",
            log,
        )
        _wait(
            lambda: _count(dsn, "SELECT count(*) FROM elasticc_brokermessage"), 120, "classifications to be stored", log
        )
        _wait(
            lambda: _count(dsn, "SELECT count(*) FROM elasticc_brokerpollstatus WHERE state = 'running'"),
            60,
            "a brokerpoll heartbeat",
            log,
        )
        # ELAsTiCC2 too, through the same processes: alerts sent from the ppdb, what they carried
        # made known to the TOM in the same transaction as their marks, four-digit answers stored.
        _wait(
            lambda: _count(dsn, "SELECT count(*) FROM elasticc2_ppdbalert WHERE alertsenttimestamp IS NOT NULL"),
            120,
            "ELAsTiCC2 alerts to be sent",
            log,
        )
        assert (
            _count(
                dsn,
                "SELECT count(*) FROM (SELECT (SELECT count(*) FROM elasticc2_diaobject) "
                "= (SELECT count(DISTINCT diaobject_id) FROM elasticc2_ppdbalert WHERE alertsenttimestamp IS NOT NULL) "
                "AS same) AS t WHERE same",
            )
            == 1
        )
        _wait(
            lambda: _count(dsn, "SELECT count(*) FROM elasticc2_brokermessage WHERE 2000 <= ALL(classid)"),
            120,
            "ELAsTiCC2 classifications to be stored",
            log,
        )
        sent = _count(dsn, "SELECT min(alert_id) FROM elasticc2_ppdbalert WHERE alertsenttimestamp IS NOT NULL")
        alert = session.post(
            f"{url}/elasticc2/getalert",
            json={"alertid": sent},
            headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{url}/"},
            timeout=30,
        )
        assert alert.status_code == 200 and alert.json()["alertId"] == sent
    finally:
        supervisor.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            code = supervisor.wait(90)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            raise
    assert code == 0, log.read_text()[-4000:]
    children = [int(pid) for pid in re.findall(r"started \S+\s+pid (\d+)", log.read_text())]
    started = re.findall(r"started (\S+)\s+pid", log.read_text())
    assert {"web", "brokerpoll", "fakebroker", "long_query_runner"} <= set(started)
    assert started.count("brokerpoll") == started.count("fakebroker") == 1  # one of each for both campaigns
    assert children and not [pid for pid in children if _alive(pid)]
    assert _count(dsn, "SELECT 1") == 0  # the database stopped with the supervisor
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)

    # The next `make run` reuses the data: nothing loaded twice, and the loop goes on (the
    # in-memory broker starts empty; brokerpoll sees the recreated topic and keeps storing).
    log2 = tmp_path / "supervisor-2.log"
    with open(log2, "wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "devstack.run"], cwd=REPO_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait(lambda: "tom_desc is running" in log2.read_text(), 300, "the site to start again", log2)
        assert "added (skipped as already present): 0 (25) objects" in log2.read_text()
        assert "the ELAsTiCC2 ppdb tables: " in log2.read_text()
        assert log2.read_text().count("added (skipped as already present): 0 (25) objects") == 2
        assert _count(dsn, "SELECT count(*) FROM elasticc_diaobject") == 25
        assert _count(dsn, "SELECT count(*) FROM auth_user WHERE username = 'admin'") == 1
        stored = _count(dsn, "SELECT count(*) FROM elasticc_brokermessage")
        _wait(
            lambda: _count(dsn, "SELECT count(*) FROM elasticc_brokermessage") > stored,
            120,
            "classifications after the restart",
            log2,
        )
    finally:
        supervisor.send_signal(signal.SIGINT)
        try:
            code = supervisor.wait(90)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            raise
    assert code == 0, log2.read_text()[-4000:]
    shutil.rmtree(var, ignore_errors=True)
