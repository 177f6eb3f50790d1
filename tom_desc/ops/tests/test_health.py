"""/healthz and /readyz: JSON, no login, and /readyz reports what is wrong with a 503."""

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.db import connection

from devstack import gunicorn
from devstack.postgres import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]
REPO_DIR = PROJECT_DIR.parent
# Requests a probe makes: Host is localhost, no cookies, no credentials.
PROBE = {"Host": "localhost"}


@pytest.mark.django_db
def test_healthz_answers_json_without_login(client):
    response = client.get("/healthz", headers=PROBE)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_ok_when_database_up_and_migrated(client):
    response = client.get("/readyz", headers=PROBE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok" and body["migrations"] == "applied" and body["database"] == "ok"


@pytest.mark.django_db
def test_anonymous_is_still_refused_elsewhere(client):
    # The probes are open because OPEN_URLS names them, not because the site is open.
    response = client.get("/elasticc/summary", headers=PROBE)
    assert response.status_code in (302, 403)
    assert response.status_code != 200


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["latest", "first"])
def test_readyz_503_lists_unapplied_migrations(client, which):
    """A release whose newest migration has not run yet (latest), or a history with a hole (first)."""
    order = "DESC" if which == "latest" else "ASC"
    # Forget that one migration ran (inside the test's transaction, rolled back afterwards).
    with connection.cursor() as cursor:
        cursor.execute(f"""DELETE FROM django_migrations WHERE id = (
                               SELECT id FROM django_migrations WHERE app = 'elasticc' ORDER BY name {order} LIMIT 1)
                           RETURNING name""")
        (forgotten,) = cursor.fetchone()
    response = client.get("/readyz", headers=PROBE)
    assert response.status_code == 503
    body = response.json()
    assert body["reason"] == "unapplied migrations"
    assert body["unapplied"] == [f"elasticc.{forgotten}"]
    assert body["count"] == 1


@pytest.mark.django_db
def test_probe_paths_only_accept_safe_methods(client):
    assert client.post("/healthz", headers=PROBE).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_probes_over_live_gunicorn(live_server_url):
    for path in ("/healthz", "/readyz"):
        response = requests.get(live_server_url + path, timeout=30, allow_redirects=False)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["status"] == "ok"
    # Not the login page, not a redirect: an anonymous client hitting a page is still turned away.
    page = requests.get(live_server_url + "/elasticc/summary", timeout=30, allow_redirects=False)
    assert page.status_code in (302, 403)


@pytest.mark.django_db(transaction=True)
def test_container_healthcheck_script(live_server_url):
    """docker/healthcheck.py (the image's HEALTHCHECK) passes on a live server, fails on a dead port."""
    port = live_server_url.rsplit(":", 1)[1]
    script = str(REPO_DIR / "docker" / "healthcheck.py")
    ok = subprocess.run(
        [sys.executable, script],
        env=dict(os.environ, GUNICORN_BIND=f"127.0.0.1:{port}"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ok.returncode == 0, ok.stderr
    dead = subprocess.run(
        [sys.executable, script],
        env=dict(os.environ, GUNICORN_BIND=f"127.0.0.1:{free_port()}"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert dead.returncode == 1
    assert "healthcheck" in dead.stderr


@pytest.mark.slow
def test_database_down_means_alive_but_not_ready(tmp_path):
    """A gunicorn (started with docker/gunicorn.conf.py) whose database does not answer:
    /healthz stays 200 so Kubernetes does not restart it, /readyz is 503 with a reason."""
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://nobody@127.0.0.1:{free_port()}/nothing?connect_timeout=2",
        DB_CONN_MAX_AGE="0",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        STATIC_MANIFEST="0",
        PYTHONPATH=str(PROJECT_DIR),
    )
    log_path = tmp_path / "gunicorn.log"
    config = ["--config", str(REPO_DIR / "docker" / "gunicorn.conf.py")]
    proc = gunicorn.start(port, env, log_path, workers=1, extra_args=config)
    try:
        url = f"http://127.0.0.1:{port}"
        gunicorn.wait_until_serving(url, proc, log_path, timeout=120)
        alive = requests.get(url + "/healthz", headers=PROBE, timeout=120)
        assert alive.status_code == 200 and alive.json() == {"status": "ok"}
        ready = requests.get(url + "/readyz", headers=PROBE, timeout=60)
        assert ready.status_code == 503
        body = ready.json()
        assert body == {"status": "unavailable", "reason": "database unreachable", "error": "OperationalError"}
        # The reason is for operators; the database's own message (hosts, users) is not echoed.
        assert "nobody" not in json.dumps(body)
    finally:
        proc.terminate()
        proc.wait(20)


def test_gunicorn_conf_reads_the_environment(monkeypatch):
    for name, value in {
        "GUNICORN_WORKERS": "7",
        "GUNICORN_TIMEOUT": "123",
        "GUNICORN_MAX_REQUESTS": "55",
        "GUNICORN_BIND": "127.0.0.1:9999,[::1]:9999",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(REPO_DIR / "docker" / "gunicorn.conf.py"))
    assert config["workers"] == 7
    assert config["timeout"] == 123
    assert config["bind"] == ["127.0.0.1:9999", "[::1]:9999"]
    assert config["max_requests"] == 55
    assert config["loglevel"] == "warning"
    assert config["preload_app"] is False  # so SIGHUP reloads the application code and settings
    assert callable(config["on_reload"])

    monkeypatch.setenv("GUNICORN_WORKERS", "many")
    with pytest.raises(SystemExit, match="GUNICORN_WORKERS='many' is not an integer"):
        runpy.run_path(str(REPO_DIR / "docker" / "gunicorn.conf.py"))
