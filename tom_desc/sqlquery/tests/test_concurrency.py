"""One user cannot make the site unavailable: SQL requests leave web workers free, and long
queries are shared fairly between users. Queries are held running by a table lock the test
holds (conftest.table_locked), never by sleeping."""

import threading
import time

import pytest

from sqlquery.models import LongQuery
from sqlquery.tests.conftest import (
    login,
    own_server,
    post_json,
    runner_env,
    start_runner,
    table_locked,
    token_session,
    waiting_queries,
)

BLOCKED = "SELECT count(*) AS n FROM elasticc_brokerclassifier"


@pytest.fixture
def users(django_user_model):
    return [django_user_model.objects.create_user(f"concurrent-{n}") for n in range(3)]


def in_thread(session, url, results, key):
    def run():
        results[key] = session.post(f"{url}/db/runsqlquery/", json={"query": BLOCKED}, timeout=120)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_sql_requests_leave_a_worker_free_and_answer_429_beyond_the_limits(users):
    """3 workers, 2 SQL slots per server, 1 per user: a user's second request and a third
    user's request get 429 at once, /healthz is answered while the two queries run, and the
    slots are free again once they end."""
    sessions = [token_session(user) for user in users]
    results: dict = {}
    with own_server(workers=3, SQLQUERY_SYNC_CONCURRENCY=2, SQLQUERY_USER_CONCURRENCY=1) as (url, _process):
        with table_locked():
            first = in_thread(sessions[0], url, results, "first")
            waiting_queries(1)
            again = sessions[0].post(f"{url}/db/runsqlquery/", json={"query": "SELECT 1"}, timeout=30)
            assert again.status_code == 429 and again.headers["Retry-After"].isdigit()
            assert "you already have 1 SQL requests running" in again.json()["error"]
            second = in_thread(sessions[1], url, results, "second")
            waiting_queries(2)
            busy = sessions[2].post(f"{url}/db/runsqlquery/", json={"query": "SELECT 1"}, timeout=30)
            assert busy.status_code == 429 and "busy" in busy.json()["error"], busy.text
            health = sessions[2].get(f"{url}/healthz", timeout=30)
            assert health.status_code == 200
        for thread in (first, second):
            thread.join(60)
        for key in ("first", "second"):
            assert results[key].json() == {"status": "ok", "rows": [{"n": 0}]}, results[key].text
        after = sessions[2].post(f"{url}/db/runsqlquery/", json={"query": "SELECT 1 AS one"}, timeout=30)
        assert after.json() == {"status": "ok", "rows": [{"one": 1}]}


@pytest.mark.django_db(transaction=True)
def test_a_request_that_finds_the_servers_slots_taken_waits_for_one(users):
    """While two users' queries hold both server slots, a third user's query is neither refused
    nor run: it waits (SQLQUERY_SLOT_WAIT_MS), and runs as soon as a slot is free."""
    sessions = [token_session(user) for user in users]
    results: dict = {}
    with own_server(
        workers=4, SQLQUERY_SYNC_CONCURRENCY=2, SQLQUERY_USER_CONCURRENCY=1, SQLQUERY_SLOT_WAIT_MS=60000
    ) as (
        url,
        _process,
    ):
        with table_locked():
            held = [in_thread(sessions[n], url, results, f"held-{n}") for n in range(2)]
            waiting_queries(2)

            def third():
                results["third"] = sessions[2].post(
                    f"{url}/db/runsqlquery/", json={"query": "SELECT 1 AS one"}, timeout=120
                )

            thread = threading.Thread(target=third, daemon=True)
            thread.start()
            thread.join(2)
            assert "third" not in results, results["third"].text  # waiting for a slot, not refused
            assert sessions[2].get(f"{url}/healthz", timeout=30).status_code == 200  # a worker is still free
        for t in (*held, thread):
            t.join(60)
        assert results["third"].json() == {"status": "ok", "rows": [{"one": 1}]}, results["third"].text
        assert all(results[f"held-{n}"].json()["status"] == "ok" for n in range(2))


def wait_for(predicate, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"still not {what} after {timeout} s"
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_a_users_long_queries_do_not_hold_up_another_users(users, tmp_path, settings):
    """One runner running two at once, one query per user at a time: user A's two queries are
    held running (a lock), user B's SELECT 1 submitted afterwards finishes meanwhile, and A's
    second waits for A's first."""
    settings.SQLQUERY_RESULTS_DIR = tmp_path
    a, b = login(users[0]), login(users[1])
    with table_locked():
        held = [post_json(a, "/db/submitsqlquery/", {"query": BLOCKED}).json()["queryid"] for _ in range(2)]
        quick = post_json(b, "/db/submitsqlquery/", {"query": "SELECT 1 AS one"}).json()["queryid"]
        runner = start_runner(runner_env(tmp_path, SQLQUERY_RUNNER_CONCURRENCY=2, SQLQUERY_LONG_RUNNING_PER_USER=1))
        try:
            wait_for(lambda: LongQuery.objects.get(id=quick).status == "finished", "finished: B's query")
            assert [LongQuery.objects.get(id=q).status for q in held] == ["started", "queued"]
        finally:
            if runner.poll() is not None:
                print(runner.communicate()[0])
    wait_for(lambda: all(LongQuery.objects.get(id=q).status == "finished" for q in held), "finished: A's queries")
    runner.terminate()
    runner.communicate(timeout=60)
    assert b.get(f"/db/getsqlqueryresults/{quick}/").getvalue() == b",one\n0,1\n"


@pytest.mark.django_db
def test_queued_long_queries_are_capped_per_user(users, settings):
    settings.SQLQUERY_LONG_QUEUE_PER_USER = 2
    client = login(users[0])
    for _ in range(2):
        assert post_json(client, "/db/submitsqlquery/", {"query": "SELECT 1"}).json()["status"] == "ok"
    response = post_json(client, "/db/submitsqlquery/", {"query": "SELECT 1"})
    assert response.status_code == 429 and "2 long queries queued or running" in response.json()["error"]
    assert post_json(login(users[1]), "/db/submitsqlquery/", {"query": "SELECT 1"}).json()["status"] == "ok"
