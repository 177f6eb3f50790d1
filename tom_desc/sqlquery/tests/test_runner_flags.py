"""long_query_runner takes the original DESC TOM's flags with their meaning (issue 13): its
deployments ran `long_query_runner -o`, `-l -s 10 -n 4` and `-p 7`; a real runner process."""

from __future__ import annotations

import pytest

from sqlquery.models import LongQuery
from sqlquery.tests.conftest import login, post_json, runner_env, start_runner


def submit(client, sql: str) -> str:
    response = post_json(client, "/db/submitsqlquery/", {"query": sql, "format": "csv"})
    assert response.status_code == 200, response.content
    return response.json()["queryid"]


def run(tmp_path, *flags: str) -> str:
    runner = start_runner(runner_env(tmp_path), *flags)
    output, _ = runner.communicate(timeout=180)
    assert runner.returncode == 0, output
    return output


@pytest.mark.django_db(transaction=True)
def test_once_loop_sleep_time_num_runners_and_prune(plain_user, tmp_path):
    client = login(plain_user)
    first, second = submit(client, "SELECT 1 AS one"), submit(client, "SELECT 2 AS two")

    # -o: at most one query, then exit (the oldest first), even with the other still queued.
    output = run(tmp_path, "-o", "-s", "0.1", "-n", "2")
    assert "1 finished, 0 failed" in output, output
    assert [LongQuery.objects.get(id=q).status for q in (first, second)] == ["finished", "queued"]

    # -l is what the runner does anyway; --exit-when-idle lets the test end it.
    output = run(tmp_path, "--loop", "--sleep-time", "0.1", "--num-runners", "1", "--exit-when-idle")
    assert "1 finished, 0 failed" in output, output
    assert client.get(f"/db/checksqlquery/{second}/").json()["status"] == "finished"
    assert len(list(tmp_path.iterdir())) == 2

    # -p DAYS alone: prune, run nothing (the original's test runs `-p 0.` and expects nothing left).
    third = submit(client, "SELECT 3 AS three")
    output = run(tmp_path, "-p", "0.")
    assert "pruned 3 queries and 2 files" in output and "finished" not in output, output
    assert not LongQuery.objects.exists() and not list(tmp_path.iterdir())
    assert client.get(f"/db/checksqlquery/{third}/").json() == {"status": "error", "error": f"Unknown query {third}"}
