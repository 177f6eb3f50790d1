"""Start a throw-away embedded PostgreSQL before pytest-django reads the settings.

Loaded with ``-p devstack.pytest_plugin`` (pyproject addopts). When DATABASE_URL
or DB_HOST is already set, the tests use that server instead, so CI can point
them at a real PostgreSQL by configuration alone.
"""

import os
import shutil
import time
from pathlib import Path

import pytest

from devstack.postgres import EmbeddedPostgres, free_port

REPO_DIR = Path(__file__).resolve().parents[2]
_server: EmbeddedPostgres | None = None


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # A hook wrapper runs before pytest-django's own hook imports the settings.
    global _server
    os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")
    # Tests serve static files from the apps directly, without a collectstatic run.
    os.environ.setdefault("STATIC_MANIFEST", "0")
    os.environ.setdefault("WHITENOISE_USE_FINDERS", "1")
    # The cache holds the login lockout counters: one directory per run, shared by the test
    # process and its gunicorn (which inherits the environment), so tests can clear them.
    os.environ.setdefault("CACHE_DIR", str(REPO_DIR / "var" / "test-cache" / str(os.getpid())))
    if not (os.environ.get("DATABASE_URL") or os.environ.get("DB_HOST")):
        # One fresh cluster per pytest process: parallel runs never share state.
        datadir = Path(os.environ.get("TOM_TEST_PGDATA", REPO_DIR / "var" / "test-pg" / str(os.getpid())))
        _server = EmbeddedPostgres(datadir, free_port(), durable=False)
        _server.destroy()
        _server.start()
        os.environ["DATABASE_URL"] = _server.database_url("tom_desc")
    yield


def pytest_unconfigure(config):
    if _server is not None:
        _server.destroy()
    cache_dir = Path(os.environ.get("CACHE_DIR", ""))
    if cache_dir.parent == REPO_DIR / "var" / "test-cache":
        shutil.rmtree(cache_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def embedded_postgres():
    """The embedded server the run started (None when tests use an external database)."""
    return _server


SHARED_DIR = REPO_DIR.parent / "shared"


def require(path: Path, how: str) -> Path:
    """Fail (never skip) a test whose input is missing: a skipped required test reads as a pass.

    `how` says how to get it (e.g. "make browser-deps").
    """
    if not path.exists():
        pytest.fail(f"{path} is missing; {how}", pytrace=False)
    return path


def a_session_waits_on_a_lock(timeout: float = 10.0) -> bool:
    """True once some session of the test database waits on a lock, False after `timeout` s.

    Tests of concurrent writers use it to let the first writer commit only once the second
    is really blocked behind it; otherwise the second may simply run after the first."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cur:
        while True:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cur.fetchone()[0]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
