"""Analysts share a PostgreSQL role, yet cannot see or stop each other's queries; a query stopped
by an administrator is reported as such, not as a timeout."""

import threading

import pytest
from django.db import connection

from sqlquery import sync
from sqlquery.request import QueryError
from sqlquery.tests.conftest import login, run_sql, table_locked, waiting_queries

HELD = "SELECT count(*) AS n FROM elasticc_brokerclassifier -- the secret query of user A"


def run_in_thread(user, outcome: dict) -> threading.Thread:
    """User A's synchronous query, run as the endpoint runs it; its answer or error lands in outcome."""

    def run():
        try:
            outcome["answer"] = b"".join(sync.run_sync(user, {"query": HELD}))
        except QueryError as exc:
            outcome["error"] = exc
        finally:
            connection.close()  # this thread's own Django connection

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def two_users(django_user_model):
    return django_user_model.objects.create_user("session-a"), django_user_model.objects.create_user("session-b")


@pytest.mark.django_db(transaction=True)
def test_users_cannot_see_or_stop_each_others_queries(two_users):
    a, b = two_users
    outcome: dict = {}
    client = login(b)
    with table_locked():
        thread = run_in_thread(a, outcome)
        (pid,) = waiting_queries(1)
        for sql in (
            "SELECT query FROM pg_stat_activity",
            "SELECT * FROM pg_stat_get_activity(NULL)",
            "SELECT pg_stat_get_backend_activity(b) FROM pg_stat_get_backend_idset() b",
            f"SELECT pg_cancel_backend({pid})",
            f"SELECT pg_terminate_backend({pid})",
        ):
            status, body = run_sql(client, sql)
            assert (status, body["status"]) == (200, "error") and "permission denied" in body["error"], (sql, body)
    thread.join(60)
    assert outcome["answer"] == b'{"status":"ok","rows":[{"n":0}]}', outcome


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "how, message",
    [
        ("pg_cancel_backend", "the query was cancelled by a database administrator"),
        # libpq may or may not have read the server's last words before the connection closed
        ("pg_terminate_backend", "administrator"),
    ],
)
def test_a_query_stopped_by_an_administrator_says_so(two_users, how, message):
    a, _b = two_users
    outcome: dict = {}
    with table_locked():
        thread = run_in_thread(a, outcome)
        (pid,) = waiting_queries(1)
        with connection.cursor() as cur:
            cur.execute(f"SELECT {how}(%s)", [pid])
        thread.join(60)
    error = outcome["error"]
    assert message in str(error) and "time limit" not in str(error) and error.kind == "cancelled", error
