"""/metrics for Prometheus: the figures come from the database and the workers' counters, the
endpoint answers only on the metrics port or to superusers, and the manifests scrape it."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from devstack import gunicorn
from devstack.postgres import free_port
from elasticc.models import BrokerDeadLetter, BrokerPollStatus, DiaAlert
from ops.metrics import exposition
from ops.tests.deploytools import KUSTOMIZATIONS, documents, render
from sqlquery.models import LongQuery

PROJECT_DIR = Path(__file__).resolve().parents[2]
REPO_DIR = PROJECT_DIR.parent
PASSWORD = "A-long-test-password-42"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def seed():
    now = timezone.now()
    BrokerPollStatus.objects.create(
        pollerId="alerce@h:7",
        pollerName="alerce",
        host="h",
        pid=7,
        groupId="g",
        topics="t",
        state="running",
        started=now - timedelta(hours=1),
        lastPoll=now - timedelta(seconds=30),
        messagesStored=1200,
        classificationsStored=3600,
        duplicates=4,
        deadLettered=2,
        lag=17,
    )
    for offset in range(3):
        BrokerDeadLetter.objects.create(
            pollerName="alerce", groupId="g", topic="t", partition=0, offset=offset, reason="not Avro"
        )
    user = User.objects.create_user("analyst", password=PASSWORD)
    LongQuery.objects.create(user=user, queries=["SELECT 1"], subdicts=[{}])
    LongQuery.objects.create(user=user, queries=["SELECT 2"], subdicts=[{}])
    LongQuery.objects.create(
        user=user,
        queries=["SELECT pg_sleep(9)"],
        subdicts=[{}],
        status=LongQuery.ERROR,
        error="the query ran into the time limit of 5 s (canceling statement due to statement timeout)",
    )
    LongQuery.objects.create(user=user, queries=["SELEC"], subdicts=[{}], status=LongQuery.ERROR, error="syntax")
    DiaAlert.objects.bulk_create(
        DiaAlert(alertId=i, diaSourceId=i, diaObjectId=1, midPointTai=60000.0 + i, alertSentTimestamp=sent)
        for i, sent in [(1, now), (2, now - timedelta(hours=1)), (3, None)]
    )


@pytest.mark.django_db
def test_the_figures_come_from_the_database():
    seed()
    body, content_type = exposition()
    assert content_type.startswith("text/plain")
    got = samples(body.decode())
    poller = (("name", "alerce"), ("poller", "alerce@h:7"))
    assert got[("tom_brokerpoll_up", poller)] == 1.0
    assert got[("tom_brokerpoll_lag", poller)] == 17.0
    assert 29 <= got[("tom_brokerpoll_last_poll_age_seconds", poller)] < 300
    assert got[("tom_brokerpoll_messages_stored_total", poller)] == 1200.0
    assert got[("tom_brokerpoll_classifications_stored_total", poller)] == 3600.0
    assert got[("tom_brokerpoll_dead_lettered_total", poller)] == 2.0
    assert got[("tom_broker_dead_letters", (("window", "all"),))] == 3.0
    assert got[("tom_alerts_sent", ())] == 2.0 and got[("tom_alerts_unsent", ())] == 1.0
    assert got[("tom_alerts_sent_last_5m", ())] == 1.0
    assert got[("tom_alerts_last_sent_timestamp_seconds", ())] > timezone.now().timestamp() - 600
    assert got[("tom_sql_long_queries", (("status", "queued"),))] == 2.0
    assert got[("tom_sql_long_queries", (("status", "error"),))] == 2.0
    assert got[("tom_sql_long_query_oldest_queued_seconds", ())] >= 0
    assert got[("tom_sql_long_query_timeouts", ())] == 1.0
    assert all(value == 0.0 for (name, _), value in got.items() if name == "tom_metrics_errors")


@pytest.mark.django_db
def test_who_may_read_it(client):
    anonymous = client.get("/metrics")
    assert anonymous.status_code != 200 and b"tom_" not in anonymous.content
    client.force_login(User.objects.create_user("plain", password=PASSWORD))
    assert client.get("/metrics").status_code != 200
    client.force_login(User.objects.create_superuser("root", password=PASSWORD))
    answer = client.get("/metrics")
    assert answer.status_code == 200 and b"tom_brokerpoll_up" in answer.content


def database_url(conf: dict) -> str:
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    return f"postgres://{conf['USER'] or 'postgres'}{password}@{conf['HOST']}:{conf['PORT'] or 5432}/{conf['NAME']}"


def scrape(url: str) -> dict:
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    return samples(answer.text)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_metrics_port_of_the_image_config(tmp_path):
    """gunicorn as the image runs it (docker/gunicorn.conf.py), with the site and metrics ports:
    Prometheus scrapes the metrics port without a login, the site's port refuses it whatever
    Host header is sent, and counters of both workers add up (multiprocess mode)."""
    cache.clear()
    User.objects.create_user("victim", password=PASSWORD)
    analyst = Token.objects.get_or_create(user=User.objects.create_user("analyst", password=PASSWORD))[0].key
    site, metrics = free_port(), free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url(connection.settings_dict),
        DB_CONN_MAX_AGE="0",
        GUNICORN_BIND=f"127.0.0.1:{site}",
        METRICS_PORT=str(metrics),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        SQLQUERY_STATEMENT_TIMEOUT="1",
        STATIC_MANIFEST="0",
        WHITENOISE_USE_FINDERS="1",
        PYTHONPATH=str(PROJECT_DIR),
    )
    config = ["--config", str(REPO_DIR / "docker" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{metrics}"]
    log_path = tmp_path / "gunicorn.log"
    proc = gunicorn.start(site, env, log_path, workers=2, extra_args=config)
    try:
        gunicorn.wait_until_serving(f"http://127.0.0.1:{site}", proc, log_path, timeout=120)
        refused = requests.get(
            f"http://127.0.0.1:{site}/metrics",
            headers={"Host": f"127.0.0.1:{metrics}"},
            allow_redirects=False,
            timeout=30,
        )
        assert refused.status_code in (302, 403) and "tom_" not in refused.text

        first = scrape(f"http://127.0.0.1:{metrics}/metrics")
        assert ("tom_metrics_errors", (("part", "brokerpoll"),)) in first
        lockouts = ("tom_login_lockouts_total", (("route", "token_auth"),))
        before = first.get(lockouts, 0.0)
        for i in range(8):  # five failures lock the name out; the last three are refused as locked out
            requests.post(
                f"http://127.0.0.1:{site}/api/token-auth/", data={"username": "victim", "password": f"x{i}"}, timeout=30
            )
        counts = {scrape(f"http://127.0.0.1:{metrics}/metrics").get(lockouts) for _ in range(6)}
        assert counts == {before + 3}, counts  # the same sum whichever worker answers

        timeouts = ("tom_sql_sync_timeouts_total", ())
        slow = requests.post(
            f"http://127.0.0.1:{site}/db/runsqlquery/",
            json={"query": "SELECT pg_sleep(5)"},
            headers={"Authorization": f"Token {analyst}"},
            timeout=60,
        )
        assert "time limit" in slow.text, slow.text[:300]
        assert scrape(f"http://127.0.0.1:{metrics}/metrics")[timeouts] == first.get(timeouts, 0.0) + 1
    finally:
        proc.terminate()
        proc.wait(20)
        cache.clear()


def test_the_manifests_scrape_the_metrics_port():
    docs = documents(render(KUSTOMIZATIONS["base"]))
    web = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "tom-desc-web")
    annotations = web["spec"]["template"]["metadata"]["annotations"]
    ports = {p["name"]: p["containerPort"] for p in web["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("tom-desc-config"))
    assert int(config["data"]["METRICS_PORT"]) == ports["metrics"]
    assert f"0.0.0.0:{ports['metrics']}" in config["data"]["GUNICORN_BIND"].split(",")
    service = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "tom-desc-web")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]  # the metrics port is not exposed
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "tom-desc-web")
    rules = {rule["ports"][0]["port"]: rule.get("from") for rule in policy["spec"]["ingress"]}
    assert rules[ports["http"]] is None  # the site: from anywhere
    assert rules[ports["metrics"]][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
