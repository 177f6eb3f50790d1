"""Long queries: submit -> a real runner process -> result files equal to the synchronous answer;
ownership; runners that die or are stopped; pruning."""

import csv
import datetime as dt
import io
import json
import re
import signal
import time
import uuid

import pyarrow.parquet as pq
import pytest
from astropy.table import Table
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from elasticc.models import BrokerClassifier
from sqlquery import longqueries, longrunner
from sqlquery.encoding import json_value
from sqlquery.models import LongQuery
from sqlquery.tests.conftest import login, post_json, run_sql, runner_env, start_runner, wait_for_status

QUERY = """
SELECT c."brokerName", g AS i, g * 0.5 AS x, (g * 0.25)::real AS r, 'row ' || g AS label, g %% 2 = 0 AS even,
       timestamptz '2024-01-01' + g * interval '1.5 second' AS t, (g / 3.0)::numeric(10, 4) AS n,
       CASE WHEN g %% 7 = 0 THEN NULL ELSE g END AS maybe, date '2024-01-01' + g AS d
FROM elasticc_brokerclassifier c CROSS JOIN generate_series(1, %(n)s) g
ORDER BY g
"""
SLEEPER = "SELECT x FROM (SELECT pg_sleep(%(s)s)) AS s, (VALUES (1)) AS v(x)"


def submit(client, query, subdict=None, fmt="csv") -> str:
    response = post_json(client, "/db/submitsqlquery/", {"query": query, "subdict": subdict or {}, "format": fmt})
    assert response.status_code == 200, response.content
    return response.json()["queryid"]


def running_backends(text: str) -> list[tuple]:
    """Other sessions whose current query contains `text` (as the superuser sees them)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()", [f"%{text}%"]
        )
        return cur.fetchall()


def download(client, queryid) -> bytes:
    response = client.get(f"/db/getsqlqueryresults/{queryid}/")
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@pytest.mark.django_db(transaction=True)
def test_results_in_every_format_equal_the_synchronous_answer(plain_user, tmp_path, settings):
    settings.SQLQUERY_RESULTS_DIR = tmp_path
    BrokerClassifier.objects.create(brokerName="fink", brokerVersion="1", classifierName="c", classifierParams="p")
    client = login(plain_user)
    status, expected = run_sql(client, QUERY, {"n": 2500})
    assert status == 200 and len(expected["rows"]) == 2500
    expected = expected["rows"]
    ids = {fmt: submit(client, QUERY, {"n": 2500}, fmt) for fmt in ("csv", "parquet", "json")}
    refused = submit(client, "SELECT * FROM auth_user")
    assert client.get(f"/db/checksqlquery/{ids['csv']}/").json()["status"] == "queued"

    runner = start_runner(runner_env(tmp_path), "--exit-when-idle")
    output, _ = runner.communicate(timeout=180)
    assert runner.returncode == 0, output
    assert "3 finished, 1 failed" in output

    for _fmt, queryid in ids.items():
        info = client.get(f"/db/checksqlquery/{queryid}/").json()
        assert info["status"] == "finished" and info["rows"] == 2500, info
        assert info["started"] and info["finished"] and info["error"] is None
    rows = list(csv.reader(io.StringIO(download(client, ids["csv"]).decode())))
    assert rows[0] == ["", *expected[0].keys()]  # the original's pandas index column, unnamed
    assert rows[1:] == [[str(n), *(csv_text(v) for v in row.values())] for n, row in enumerate(expected)]

    path = tmp_path / "from-parquet.parquet"
    path.write_bytes(download(client, ids["parquet"]))
    table = pq.read_table(path)
    assert [json_value(row) for row in table.to_pylist()] == expected
    assert str(table.schema.field("t").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("r").type) == "float"

    lines = download(client, ids["json"]).decode().splitlines()
    assert [json.loads(line) for line in lines] == expected

    info = client.get(f"/db/checksqlquery/{refused}/").json()
    assert info["status"] == "error" and "permission denied for table auth_user" in info["error"]
    response = client.get(f"/db/getsqlqueryresults/{refused}/")
    assert response.status_code == 400 and "permission denied" in response.json()["error"]
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.django_db
def test_only_the_submitter_or_a_superuser_sees_a_query(plain_user, admin_user, django_user_model):
    queryid = submit(login(plain_user), "SELECT 1 AS one")
    response = login(admin_user).get(f"/db/checksqlquery/{queryid}/")  # elasticc_admin, but not the owner
    assert response.status_code == 200 and response.json() == {"status": "error", "error": f"Unknown query {queryid}"}
    response = login(admin_user).get(f"/db/getsqlqueryresults/{queryid}/")
    assert response.status_code == 404 and response.json()["status"] == "error"
    superuser = django_user_model.objects.create_superuser("root-lq")
    assert login(superuser).get(f"/db/checksqlquery/{queryid}/").json()["status"] == "queued"
    response = login(plain_user).get(f"/db/getsqlqueryresults/{queryid}/")
    assert response.status_code == 400 and "queued, not finished" in response.json()["error"]
    assert login(plain_user).get("/db/checksqlquery/not-a-uuid/").json()["error"] == "Unknown query not-a-uuid"


@pytest.mark.django_db(transaction=True)
def test_an_empty_result_keeps_its_columns(plain_user, tmp_path, settings):
    """No rows: the CSV still has its header, the Parquet file its schema, ECSV and VOTable their columns."""
    settings.SQLQUERY_RESULTS_DIR = tmp_path
    client = login(plain_user)
    empty = "SELECT g AS i, 'x'::text AS label FROM generate_series(1, %(n)s) g WHERE g > %(n)s AND g = ANY(%(ids)s)"
    ids = {fmt: submit(client, empty, {"n": 5, "ids": [1, 2]}, fmt) for fmt in ("csv", "parquet", "ecsv", "votable")}
    runner = start_runner(runner_env(tmp_path), "--exit-when-idle")
    output, _ = runner.communicate(timeout=120)
    assert runner.returncode == 0 and "4 finished" in output, output
    for fmt, astropy_format in (("ecsv", "ascii.ecsv"), ("votable", "votable")):
        read = Table.read(io.BytesIO(download(client, ids[fmt])), format=astropy_format)
        assert len(read) == 0 and read.colnames == ["i", "label"] and str(read["i"].dtype) == "int32", fmt
    assert download(client, ids["csv"]) == b",i,label\n"
    path = tmp_path / "empty.parquet"
    path.write_bytes(download(client, ids["parquet"]))
    table = pq.read_table(path)
    assert table.num_rows == 0 and table.schema.names == ["i", "label"]
    assert str(table.schema.field("label").type) == "string"


@pytest.mark.django_db(transaction=True)
def test_two_runners_share_the_queue_and_run_each_query_once(plain_user, tmp_path, settings):
    """Eight queries of 1.5 s each, two runners at once: FOR UPDATE SKIP LOCKED hands each
    query to exactly one of them, and both get work."""
    settings.SQLQUERY_RESULTS_DIR = tmp_path
    client = login(plain_user)
    ids = {k: submit(client, "SELECT %(k)s::int AS k FROM (SELECT pg_sleep(1.5)) AS s", {"k": k}) for k in range(8)}
    env = runner_env(tmp_path, SQLQUERY_LONG_RUNNING_PER_USER=8)  # one user: let both runners take its queries
    runners = [start_runner(env, "--exit-when-idle", "--concurrency", "1") for _ in range(2)]
    outputs = [runner.communicate(timeout=180)[0] for runner in runners]
    assert [runner.returncode for runner in runners] == [0, 0], outputs
    finished = [int(re.search(r"long_query_runner \S+: (\d+) finished, ", out).group(1)) for out in outputs]
    assert sum(finished) == 8 and min(finished) >= 1, outputs
    queries = {q.id: q for q in LongQuery.objects.all()}
    for k, queryid in ids.items():
        query = queries[uuid.UUID(queryid)]
        assert (query.status, query.attempts, query.rows) == ("finished", 1, 1), (query.error, outputs)
        assert download(client, queryid).decode() == f",k\n0,{k}\n"
    assert len({q.runner for q in queries.values()}) == 2


@pytest.mark.django_db
def test_submit_validates_the_body(plain_user):
    client = login(plain_user)
    response = post_json(client, "/db/submitsqlquery/", {"query": "SELECT 1", "format": "xlsx"})
    assert response.status_code == 200 and response.json()["error"].startswith("Unknown format 'xlsx'")
    response = post_json(client, "/db/submitsqlquery/", {"query": ["SELECT 1"], "subdict": [{}, {}]})
    assert response.status_code == 200 and "number of queries and subdicts must match" in response.json()["error"]
    assert LongQuery.objects.count() == 0


# Streams rows at once, then sleeps on the last one while a classifier named "slow tail"
# exists: a runner is killed while writing its file, and the test decides when the sleep ends.
SLOW_TAIL = (
    "SELECT g FROM generate_series(1, %(n)s) g "
    "WHERE g < %(n)s OR (SELECT true FROM pg_sleep(CASE WHEN EXISTS (SELECT FROM elasticc_brokerclassifier "
    "WHERE \"classifierName\" = 'slow tail') THEN %(s)s ELSE 0 END))"
)


@pytest.mark.django_db(transaction=True)
def test_a_killed_runner_leaves_no_query_started_forever(plain_user, tmp_path, settings):
    """SIGKILL mid-write: the claim is seen dead at once (its lock went with its connection),
    even with no runner left; the partial file goes; the next runner runs it to the end."""
    settings.SQLQUERY_RESULTS_DIR = tmp_path
    settings.SQLQUERY_RUNNER_STALE_AFTER = 3600  # the heartbeat is not what notices the death here
    client = login(plain_user)
    n = 100_000
    slow = BrokerClassifier.objects.create(
        brokerName="test", brokerVersion="1", classifierName="slow tail", classifierParams=""
    )
    queryid = submit(client, SLOW_TAIL, {"n": n, "s": 120})
    env = runner_env(tmp_path, SQLQUERY_RUNNER_STALE_AFTER=3600)
    first = start_runner(env)
    wait_for_status(queryid, {"started"})
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in tmp_path.glob("*.part")):  # rows are being written
        assert time.monotonic() < deadline and first.poll() is None, "the runner wrote no partial file"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    deadline = time.monotonic() + 10
    while (info := client.get(f"/db/checksqlquery/{queryid}/").json())["status"] == "started":
        assert time.monotonic() < deadline, "the dead runner's claim still looks alive"
        time.sleep(0.05)
    assert info["status"] == "queued" and info["attempts"] == 1, info
    assert not list(tmp_path.iterdir())  # the partial file went with the claim
    # and the server stops the dead runner's query (client_connection_check_interval), long
    # before its 120 s sleep would end
    deadline = time.monotonic() + 30
    while orphans := running_backends("slow tail"):
        assert time.monotonic() < deadline, f"the killed runner's query still runs: {orphans}"
        time.sleep(0.2)

    slow.delete()  # the rerun does not sleep
    second = start_runner(env, "--exit-when-idle")
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output
    query = LongQuery.objects.get(id=queryid)
    assert query.status == "finished" and query.attempts == 2 and query.rows == n, (query.error, output)
    assert download(client, queryid).decode() == ",g\n" + "".join(f"{g - 1},{g}\n" for g in range(1, n + 1))
    assert [p.name for p in tmp_path.iterdir()] == [f"{queryid}.csv"]


@pytest.mark.django_db(transaction=True)
def test_sigterm_gives_the_query_back_and_exits(plain_user, tmp_path, settings):
    settings.SQLQUERY_RESULTS_DIR = tmp_path
    queryid = submit(login(plain_user), SLEEPER, {"s": 60})
    runner = start_runner(runner_env(tmp_path))
    wait_for_status(queryid, {"started"})
    time.sleep(0.5)
    runner.send_signal(signal.SIGTERM)
    output, _ = runner.communicate(timeout=30)
    assert runner.returncode == 0, output
    query = LongQuery.objects.get(id=queryid)
    assert (query.status, query.attempts, query.runner) == ("queued", 0, ""), output
    assert not list(tmp_path.iterdir())


@pytest.mark.django_db(transaction=True)
def test_dead_claims_are_requeued_then_failed(plain_user, tmp_path, settings):
    """A claim is alive while someone holds its lock and its heartbeat is fresh; otherwise it is
    re-queued, or failed once it has had SQLQUERY_MAX_ATTEMPTS tries."""
    import psycopg

    settings.SQLQUERY_MAX_ATTEMPTS = 3
    settings.SQLQUERY_RESULTS_DIR = tmp_path
    old = timezone.now() - dt.timedelta(hours=1)
    fresh = timezone.now()
    common = {"user": plain_user, "queries": ["SELECT 1"], "subdicts": [None], "status": "started"}
    no_lock = LongQuery.objects.create(**common, runner="elsewhere:12:ab", heartbeat=fresh, attempts=1)
    hopeless = LongQuery.objects.create(**common, runner="elsewhere:13:cd", heartbeat=fresh, attempts=3)
    alive = LongQuery.objects.create(**common, runner="elsewhere:14:ef", heartbeat=fresh, attempts=1)
    stale = LongQuery.objects.create(**common, runner="elsewhere:15:gh", heartbeat=old, attempts=1)
    (tmp_path / f"{no_lock.id}.csv.ab.part").write_text("x\n")
    (tmp_path / f"{alive.id}.csv.ef.part").write_text("x\n")
    # Another "runner" (its own connection) holds the locks of `alive` and `stale`.
    conf = connection.settings_dict
    with psycopg.connect(
        host=conf["HOST"], port=conf["PORT"], dbname=conf["NAME"], user=conf["USER"], autocommit=True
    ) as other:
        for query in (alive, stale):
            other.execute(
                "SELECT pg_advisory_lock(%s, %s)",
                [longqueries.CLAIM_LOCK_NAMESPACE, longqueries.claim_lock_key(query.id)],
            )
        assert longrunner.Runner().recover_dead_claims() == 3
        for query in (no_lock, hopeless, alive, stale):
            query.refresh_from_db()
        assert (no_lock.status, no_lock.runner, no_lock.heartbeat) == ("queued", "", None)
        assert hopeless.status == "error" and "stopped 3 times" in hopeless.error and hopeless.finished
        assert alive.status == "started"
        assert stale.status == "queued"  # lock held but no heartbeat for an hour: a partitioned runner
        assert [p.name for p in tmp_path.iterdir()] == [f"{alive.id}.csv.ef.part"]
    # The holder's connection closed: `alive` is dead now, and the submitter's look says so.
    response = login(plain_user).get(f"/db/checksqlquery/{alive.id}/")
    assert response.json()["status"] == "queued"
    assert not list(tmp_path.iterdir())


@pytest.mark.django_db
def test_prune_removes_old_queries_and_files(plain_user, tmp_path, settings):
    settings.SQLQUERY_RESULTS_DIR = tmp_path
    old = LongQuery.objects.create(
        user=plain_user, queries=["SELECT 1"], subdicts=[None], status="finished", result_file="old.csv"
    )
    new = LongQuery.objects.create(
        user=plain_user, queries=["SELECT 1"], subdicts=[None], status="finished", result_file="new.csv"
    )
    LongQuery.objects.filter(id=old.id).update(submitted=timezone.now() - dt.timedelta(days=10))
    (tmp_path / "old.csv").write_text("x\n")
    (tmp_path / "new.csv").write_text("x\n")
    out = io.StringIO()
    call_command("prune_queries", "--days", "7", stdout=out)
    assert "removed 1 queries and 1 files" in out.getvalue()
    assert list(LongQuery.objects.values_list("id", flat=True)) == [new.id]
    assert [p.name for p in tmp_path.iterdir()] == ["new.csv"]
    (tmp_path / "new.csv").unlink()  # a file gone while its query stays: a JSON 410, not a 500
    response = login(plain_user).get(f"/db/getsqlqueryresults/{new.id}/")
    assert response.status_code == 410 and response.json()["status"] == "error", response.content
    assert "have been removed" in response.json()["error"]


def test_parquet_row_groups_are_bounded_in_bytes(tmp_path, monkeypatch):
    """Row groups gather Arrow batches up to ROW_GROUP_BYTES, whatever the rows' width: wide rows
    make smaller groups, narrow rows bigger ones (not a fixed count of rows of any size)."""
    from sqlquery import encoding, results
    from sqlquery.sizing import Columns

    monkeypatch.setattr(results, "ROW_GROUP_BYTES", 1_000_000)
    for width, rows_per_group in ((61, 1_000_000 // (61 * 8) + 1), (1, 1_000_000 // 8)):
        columns = Columns([f"c{i}" for i in range(width)], [encoding.INT8] * width)
        rows = [tuple(range(g, g + width)) for g in range(150_000)]
        size = 500  # rows per chunk from the server
        chunks = iter([rows[i : i + size] for i in range(0, len(rows), size)])
        path = tmp_path / f"w{width}.parquet"
        assert results.write_parquet(path, columns, chunks) == 150_000
        parquet = pq.ParquetFile(path)
        groups = [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
        assert max(groups) <= -(-rows_per_group // size) * size and sum(groups) == 150_000, (width, groups)
        assert parquet.read().column(f"c{width - 1}").to_pylist() == [g + width - 1 for g in range(150_000)]
