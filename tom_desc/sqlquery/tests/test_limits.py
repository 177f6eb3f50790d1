"""Byte limits: answers and result files are capped in bytes, and memory holds the cap, not the result."""

from pathlib import Path

import pytest

from sqlquery import encoding, sizing
from sqlquery.models import LongQuery
from sqlquery.tests.conftest import login, own_server, run_sql, runner_env, start_runner, token_session

MB = 1024 * 1024
BIG_ROWS = "SELECT g, repeat('x', 1000000) AS pad FROM generate_series(1, %(n)s) g"


def test_chunks_are_sized_by_bytes():
    """Narrow rows come thousands at a time, rows with unbounded text a few dozen."""
    narrow = sizing.Columns(["a", "b"], [encoding.INT8, encoding.FLOAT8], [20, 24])
    assert sizing.chunk_rows(narrow) == sizing.MAX_CHUNK_ROWS
    text = sizing.Columns(["g", "pad"], [encoding.INT4, encoding.TEXT], [11, None])
    assert 16 <= sizing.chunk_rows(text) <= 64
    assert sizing.chunk_rows(text) * text.row_bytes() <= sizing.FETCH_BYTES
    assert sizing.value_width(encoding.VARCHAR, 40 + 4) == 160  # varchar(40): 40 characters of up to 4 bytes
    many = sizing.Columns([str(i) for i in range(64)], [encoding.TEXT] * 64, [None] * 64)
    assert sizing.chunk_rows(many) == 1


@pytest.mark.django_db
def test_an_answer_over_the_byte_cap_is_an_error(plain_user, settings):
    settings.SQLQUERY_RESULT_MB = 1
    client = login(plain_user)
    status, body = run_sql(client, BIG_ROWS, {"n": 3})
    assert (status, body["status"]) == (200, "error"), body
    assert "more than 1 MB of JSON after 3 rows" in body["error"] and "/db/submitsqlquery/" in body["error"]
    status, body = run_sql(client, "SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 500) g")
    assert status == 200 and len(body["rows"]) == 500


def worker_peak_mb(master_pid: int) -> float:
    """The peak resident memory (VmHWM) of gunicorn's single worker."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    assert len(children) == 1, children
    for line in Path(f"/proc/{children[0]}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.django_db(transaction=True)
def test_a_web_worker_holds_the_byte_cap_not_the_result(plain_user):
    """300 rows of 1 MB: the worker's memory grows by about the cap (64 MB here) and one chunk,
    not by the result three times over (the rows, their objects, their JSON)."""
    with own_server(workers=1, SQLQUERY_RESULT_MB=64) as (url, process):
        session = token_session(plain_user)
        assert session.post(f"{url}/db/runsqlquery/", json={"query": BIG_ROWS, "subdict": {"n": 2}}).ok  # warm up
        before = worker_peak_mb(process.pid)
        body = session.post(f"{url}/db/runsqlquery/", json={"query": BIG_ROWS, "subdict": {"n": 300}}).json()
        assert body["status"] == "error" and "more than 64 MB of JSON" in body["error"], body
        body = session.post(f"{url}/db/runsqlquery/", json={"query": BIG_ROWS, "subdict": {"n": 50}}).json()
        assert body["status"] == "ok" and len(body["rows"]) == 50 and len(body["rows"][49]["pad"]) == 1_000_000
        grown = worker_peak_mb(process.pid) - before
    assert grown < 300, f"the worker grew by {grown:.0f} MB"


def run_long(user, tmp_path, fmt: str, sql: str, params: dict, **limits) -> LongQuery:
    query = LongQuery.objects.create(user=user, queries=[sql], subdicts=[params], format=fmt)
    runner = start_runner(runner_env(tmp_path, **limits), "--exit-when-idle")
    output, _ = runner.communicate(timeout=180)
    assert runner.returncode == 0, output
    query.refresh_from_db()
    return query


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["csv", "parquet", "json", "pandas"])
def test_a_long_query_over_the_file_cap_fails_whole(plain_user, tmp_path, fmt):
    """A result file passing SQLQUERY_LONG_RESULT_MB stops the query; nothing is left behind."""
    sql = "SELECT g, md5(g::text) AS h FROM generate_series(1, %(n)s) g"
    query = run_long(plain_user, tmp_path, fmt, sql, {"n": 200_000}, SQLQUERY_LONG_RESULT_MB=1)
    assert query.status == "error" and "the result file passed 1 MB" in query.error, (query.status, query.error)
    assert not list(tmp_path.iterdir())
    query = run_long(plain_user, tmp_path, fmt, sql, {"n": 2_000}, SQLQUERY_LONG_RESULT_MB=1)
    assert query.status == "finished" and query.rows == 2_000, query.error


@pytest.mark.django_db(transaction=True)
def test_a_pandas_result_is_capped_in_memory(plain_user, tmp_path):
    query = run_long(plain_user, tmp_path, "pandas", BIG_ROWS, {"n": 40}, SQLQUERY_PANDAS_MB=8)
    assert query.status == "error" and "a pandas DataFrame may take" in query.error and "parquet" in query.error
    assert not list(tmp_path.iterdir())
