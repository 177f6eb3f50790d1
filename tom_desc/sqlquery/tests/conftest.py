"""Fixtures of the sqlquery tests: users of each kind and clients logged in as them."""

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
