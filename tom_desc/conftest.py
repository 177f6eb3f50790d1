"""Fixtures shared by every app's tests: a real gunicorn serving the test database."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack import gunicorn
from devstack.postgres import free_port

PROJECT_DIR = Path(__file__).resolve().parent


def _database_url(settings_dict: dict) -> str:
    user = settings_dict["USER"] or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )


@contextmanager
def serving_site(workers: int = 2, **extra_env: str) -> Iterator[str]:
    """http://127.0.0.1:PORT of a gunicorn serving the test database (its own processes; it sees
    only committed data), stopped on leaving. ``extra_env``: settings of this server only."""
    from django.db import connection

    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(connection.settings_dict),
        DB_CONN_MAX_AGE="0",
        STATIC_MANIFEST="0",
        WHITENOISE_USE_FINDERS="1",
        PYTHONPATH=str(PROJECT_DIR),
        **extra_env,
    )
    log_path = PROJECT_DIR.parent / "var" / f"gunicorn-test-{port}.log"
    log_path.unlink(missing_ok=True)
    proc = gunicorn.start(port, env, log_path, workers=workers, timeout=120, extra_args=["--preload"])
    url = f"http://127.0.0.1:{port}"
    try:
        gunicorn.wait_until_serving(url, proc, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def start_site(django_db_setup):
    """``serving_site``, for a test that needs a server of its own (other settings, several)."""
    return serving_site


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker):
    """http://127.0.0.1:PORT of a gunicorn (2 workers) serving the test database for the session.

    Tests that use it need ``@pytest.mark.django_db(transaction=True)``: it sees only committed
    data. The flush after such a test empties every table; the elasticc app's post_migrate
    handler then restores the taxonomy rows and groups.
    """
    with serving_site() as url:
        yield url


@pytest.fixture(scope="session")
def kafka_broker():
    """A tansu Kafka-protocol broker on a free port for the whole test session.

    Its memory storage is shared by every test: use fresh topic and group names per test
    (see the `unique_name` fixture).
    """
    from devstack.kafka import EmbeddedKafka

    logfile = PROJECT_DIR.parent / "var" / "tansu-test.log"
    logfile.parent.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedKafka(free_port(), logfile)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def unique_name(request):
    """A name no other test uses: for Kafka topics and consumer groups."""
    import uuid

    return f"{request.node.name[:40]}-{uuid.uuid4().hex[:8]}".replace("[", "-").replace("]", "")
