"""Fixtures of the sqlquery tests: users of each kind and clients logged in as them."""

import contextlib
import json

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client


@pytest.fixture
def plain_user(db):
    return User.objects.create_user("analyst")  # no password: tests log in with force_login


@pytest.fixture
def admin_user(db):
    user = User.objects.create_user("truthseer")
    user.groups.add(Group.objects.get_or_create(name="elasticc_admin")[0])
    return user


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client: Client, path: str, body, **extra):
    return client.post(path, data=json.dumps(body), content_type="application/json", **extra)


def run_sql(client: Client, query, subdict=None):
    """POST /db/runsqlquery/; returns (HTTP status, decoded JSON)."""
    body = {"query": query}
    if subdict is not None:
        body["subdict"] = subdict
    response = post_json(client, "/db/runsqlquery/", body)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response["Content-Type"].startswith("application/json"), content[:200]
    return response.status_code, json.loads(content)


PROJECT_DIR = __import__("pathlib").Path(__file__).resolve().parents[2]


def runner_env(results_dir=None, **extra) -> dict:
    """Environment for a manage.py subprocess that uses the test database."""
    import os

    from django.db import connection

    conf = connection.settings_dict
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    env = dict(
        os.environ,
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "test"),
        DATABASE_URL=f"postgres://{conf['USER'] or 'postgres'}{password}@{conf['HOST']}:{conf['PORT']}/{conf['NAME']}",
        PYTHONPATH=str(PROJECT_DIR),
        **{k: str(v) for k, v in extra.items()},
    )
    if results_dir is not None:
        env["SQLQUERY_RESULTS_DIR"] = str(results_dir)
    return env


def start_runner(env: dict, *args: str, lean: bool = True):
    """A long_query_runner process; lean: with sqlquery.runner_settings, as docs/sqlquery.md advises."""
    import subprocess
    import sys

    if lean:
        env = dict(env, DJANGO_SETTINGS_MODULE="sqlquery.runner_settings")
    return subprocess.Popen(
        [sys.executable, "manage.py", "long_query_runner", "--poll-interval", "0.2", *args],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_status(query_id, statuses, timeout: float = 60):
    import time

    from sqlquery.models import LongQuery

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        query = LongQuery.objects.get(id=query_id)
        if query.status in statuses:
            return query
        time.sleep(0.1)
    raise AssertionError(f"query {query_id} still {query.status} after {timeout} s")


@contextlib.contextmanager
def own_server(workers: int = 3, **extra):
    """A gunicorn of its own for the test database, with extra environment (limits under test);
    yields (url, process). Tests using it need django_db(transaction=True)."""
    import os
    import subprocess

    from devstack import gunicorn
    from devstack.postgres import free_port

    port = free_port()
    env = dict(runner_env(**extra), DB_CONN_MAX_AGE="0", STATIC_MANIFEST="0", WHITENOISE_USE_FINDERS="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log_path = PROJECT_DIR.parent / "var" / f"gunicorn-sqlquery-{port}.log"
    log_path.unlink(missing_ok=True)
    process = gunicorn.start(port, env, log_path, workers=workers, timeout=120)
    url = f"http://127.0.0.1:{port}"
    try:
        gunicorn.wait_until_serving(url, process, log_path)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, 9)
            process.wait(5)


def token_session(user):
    """A requests session authenticated with the user's API token."""
    import requests
    from rest_framework.authtoken.models import Token

    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    return session


def waiting_queries(count: int, timeout: float = 60) -> list[int]:
    """Wait until `count` backends of the read-only roles wait for a lock; their pids."""
    import time

    from django.db import connection

    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE usename = ANY(%s) AND wait_event_type = 'Lock' ORDER BY pid",
                [["elasticc_ro", "elasticc_admin_ro"]],
            )
            pids = [row[0] for row in cur.fetchall()]
        if len(pids) >= count:
            return pids
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(pids)} queries waiting for a lock, not {count}, after {timeout} s")
        time.sleep(0.05)


@contextlib.contextmanager
def table_locked(table: str = "elasticc_brokerclassifier"):
    """Hold ACCESS EXCLUSIVE on a table the read-only roles read, on a connection of its own:
    their queries of it wait until the block ends (how tests keep a query running as long as
    they need, without sleeping)."""
    import psycopg
    from django.db import connection

    conf = connection.settings_dict
    with psycopg.connect(
        host=conf["HOST"],
        port=conf["PORT"],
        dbname=conf["NAME"],
        user=conf["USER"] or "postgres",
        password=conf.get("PASSWORD") or None,
    ) as holder:
        holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.rollback()
