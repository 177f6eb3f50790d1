"""SQL endpoint benchmarks.

1. The same 100,000-row query (every column of elasticc_brokermessage) through
   POST /db/runsqlquery/ on gunicorn with sql_query_tom_db.TomClient (request, JSON
   encoding, transfer, client-side JSON decoding) versus psycopg directly as elasticc_ro
   (connect, execute, fetchall of tuples), in the same run. Goal: endpoint / psycopg
   <= 1.5. For information, also against psycopg returning dicts (what the endpoint
   returns) and psql writing its aligned table to a file.
2. A 10-million-row long query through `manage.py long_query_runner` (CSV and Parquet),
   and a 500,000-row, 61-column one (Parquet): the runner process's peak RSS. Goal: < 300 MB.
3. Limits under hostile use (issue 12): a web worker's memory growth for 300 rows of 1 MB
   (against the 300 MB of the rows themselves); /healthz latency while three users run
   pg_sleep (against /healthz idle); another user's SELECT 1 while one user's two 20 s long
   queries run (against SELECT 1 alone); the temporary files of `ORDER BY random()` over
   1e8 rows as elasticc_ro (against the superuser, who has no temp_file_limit).

BENCH_SCALE scales the row counts. Run alone with `python bench/bench_sql.py`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import PROJECT_DIR, REPO_DIR, Row, Timer, main_for, median, percentile, scaled, start_gunicorn

REPEATS = 5


def _seed_messages(n: int) -> None:
    from django.db import connection

    from elasticc.models import BrokerClassifier

    classifier = BrokerClassifier.objects.create(
        brokerName="bench", brokerVersion="1", classifierName="sql", classifierParams=""
    )
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO elasticc_brokermessage ("classifierId", "streamMessageId", "topicName", "kafkaPartition",
                "alertId", "diaSourceId", "msgHdrTimestamp", "elasticcPublishTimestamp", "brokerIngestTimestamp")
            SELECT %s, g, 'bench-topic', g %% 4, g, g * 10,
                   timestamptz '2024-01-01' + g * interval '1 second',
                   timestamptz '2024-01-01' + g * interval '1 second' - interval '5 minutes',
                   timestamptz '2024-01-01' + g * interval '1 second' - interval '1 minute'
            FROM generate_series(1, %s) g
        """,
            [classifier.classifierId, n],
        )
        cur.execute("ANALYZE elasticc_brokermessage")


def _runner_peak_rss(url: str, results_dir: str) -> tuple[float, float, str]:
    """Run one runner until the queue is empty; (seconds, peak RSS in MB, last output line)."""
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SQLQUERY_RESULTS_DIR=results_dir,
        PYTHONPATH=str(PROJECT_DIR),
        DJANGO_SETTINGS_MODULE="sqlquery.runner_settings",
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "bench"),
    )
    log_path = REPO_DIR / "var" / "bench-sql-runner.log"
    start = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "long_query_runner", "--exit-when-idle"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        output, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"long_query_runner failed ({proc.returncode}): {output}; see {log_path}")
    summary = output.strip().splitlines()[-1]
    # The runner reports its own VmHWM: getrusage() of a child counts the parent's pages from before exec.
    peak = float(re.search(r"peak RSS (\d+) MB", summary).group(1))
    return time.perf_counter() - start, peak, summary


def run(ctx) -> list[Row]:
    url = ctx.database("bench_sql")  # sets Django up: imports of models come after
    import psycopg
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from sqlquery.models import LongQuery

    n = scaled(100_000)
    _seed_messages(n)
    user = User.objects.create_user("bench-sql")
    token, _ = Token.objects.get_or_create(user=user)
    sql = 'SELECT * FROM elasticc_brokermessage ORDER BY "brokerMessageId"'
    rows: list[Row] = []

    proc, base = start_gunicorn(url, "sql", extra_env={"DB_CONN_MAX_AGE": "60"})
    try:
        # The analysts' client itself (orjson decoding, as installed with the site), plus a plain
        # requests session to see how much of the time is transfer and how much standard-json decoding.
        spec = importlib.util.spec_from_file_location("sql_query_tom_db", REPO_DIR / "sql_query_tom_db.py")
        client_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(client_module)
        tom = client_module.TomClient(base, token=token.key)
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token.key}"
        from psycopg.rows import dict_row

        from devstack.postgres import bin_dir

        ro_url = url.replace("postgres://postgres@", "postgres://elasticc_ro@")
        psql_out = REPO_DIR / "var" / "bench-sql-psql.txt"
        endpoint, direct, received, stdlib, dicts, psql = [], [], [], [], [], []
        for attempt in range(REPEATS + 1):
            with Timer() as t:
                data = tom.query(sql)
            assert len(data) == n
            with Timer() as s:
                response = session.post(f"{base}/db/runsqlquery/", json={"query": sql}, timeout=300)
                body = response.content
                arrived = time.perf_counter() - s.start
                assert len(json.loads(body)["rows"]) == n
            with Timer() as d, psycopg.connect(ro_url) as conn:
                fetched = conn.execute(sql).fetchall()
            assert len(fetched) == n
            # The same rows as the endpoint answers: a dict per row.
            with Timer() as dd, psycopg.connect(ro_url, row_factory=dict_row) as conn:
                fetched = conn.execute(sql).fetchall()
            with Timer() as p:  # what an analyst with a database account would run
                subprocess.run(
                    [str(bin_dir() / "psql"), "-X", "-q", "-o", str(psql_out), "-c", sql, ro_url], check=True
                )
            if attempt:  # the first round warms caches and the gunicorn workers
                endpoint.append(t.seconds)
                direct.append(d.seconds)
                received.append(arrived)
                stdlib.append(s.seconds)
                dicts.append(dd.seconds)
                psql.append(p.seconds)
        ratio = median(endpoint) / median(direct)
        print(
            f"  {n} rows: client {median(endpoint):.3f} s; body received after {median(received):.3f} s "
            f"({len(body) / 1e6:.1f} MB), with stdlib json {median(stdlib):.3f} s; psycopg {median(direct):.3f} s; "
            f"ratio {ratio:.2f}"
        )
        rows.append(
            Row(f"runsqlquery {n} rows, until body received", median(received), "s", "psycopg fetchall", median(direct))
        )
        rows.append(
            Row(f"runsqlquery {n} rows, requests+stdlib json", median(stdlib), "s", "psycopg fetchall", median(direct))
        )
        rows.append(
            Row(
                f"runsqlquery {n} rows, sql_query_tom_db (median of {REPEATS})",
                median(endpoint),
                "s",
                "psycopg fetchall",
                median(direct),
                "ratio <= 1.5",
                ratio <= 1.5,
            )
        )
        rows.append(
            Row(
                f"runsqlquery {n} rows, sql_query_tom_db",
                median(endpoint),
                "s",
                "psycopg fetchall dict_row",
                median(dicts),
            )
        )
        # The goal names psql or psycopg as the baseline: both are reported against it.
        rows.append(
            Row(
                f"runsqlquery {n} rows, sql_query_tom_db",
                median(endpoint),
                "s",
                "psql (aligned, to a file)",
                median(psql),
                "ratio <= 1.5",
                median(endpoint) / median(psql) <= 1.5,
            )
        )
        psql_out.unlink(missing_ok=True)
    finally:
        proc.terminate()
        proc.wait(30)

    big = scaled(10_000_000)
    long_sql = (
        "SELECT g AS id, g * 0.001 AS x, (g %% 1000)::real AS r, 'obj' || g AS label, "
        "timestamptz '2024-01-01' + g * interval '1 ms' AS t FROM generate_series(1, %(n)s) g"
    )
    results_dir = str(REPO_DIR / "var" / "bench-sqlquery-results")
    for fmt in ("csv", "parquet"):
        query = LongQuery.objects.create(user=user, queries=[long_sql], subdicts=[{"n": big}], format=fmt)
        seconds, peak_mb, summary = _runner_peak_rss(url, results_dir)
        query.refresh_from_db()
        assert query.status == "finished" and query.rows == big, (query.status, query.error)
        size_mb = query.result_bytes / 1e6
        print(
            f"  long query {big} rows {fmt}: {seconds:.1f} s, {size_mb:.0f} MB file, runner peak RSS "
            f"{peak_mb:.0f} MB ({summary})"
        )
        rows.append(
            Row(f"long query {big} rows {fmt}: runner peak RSS", peak_mb, "MB", "goal", 300, "< 300 MB", peak_mb < 300)
        )
        rows.append(Row(f"long query {big} rows {fmt}: wall time", seconds, "s", "(no baseline)", 0))
        os.unlink(os.path.join(results_dir, query.result_file))

    # Wide results: batches shrink with the column count, so memory stays bounded too.
    wide = scaled(500_000)
    wide_sql = (
        "SELECT g AS id, "
        + ", ".join(f"g * {k}.5 AS x{k}, (g + {k})::real AS r{k}" for k in range(30))
        + " FROM generate_series(1, %(n)s) g"
    )
    query = LongQuery.objects.create(user=user, queries=[wide_sql], subdicts=[{"n": wide}], format="parquet")
    seconds, peak_mb, summary = _runner_peak_rss(url, results_dir)
    query.refresh_from_db()
    assert query.status == "finished" and query.rows == wide, (query.status, query.error)
    print(f"  long query {wide} rows x 61 columns parquet: {seconds:.1f} s, runner peak RSS {peak_mb:.0f} MB")
    rows.append(
        Row(
            f"long query {wide} rows x 61 cols parquet: peak RSS", peak_mb, "MB", "goal", 300, "< 300 MB", peak_mb < 300
        )
    )
    os.unlink(os.path.join(results_dir, query.result_file))
    rows += _limits(url)
    return rows


def _tokens(names: list[str]) -> list[str]:
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    return [Token.objects.get_or_create(user=User.objects.get_or_create(username=n)[0])[0].key for n in names]


def _worker_peak_mb(master_pid: int) -> float:
    """Peak resident memory (VmHWM) of gunicorn's single worker."""
    child = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()[0]
    for line in Path(f"/proc/{child}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def _post(token: str, url: str, body: dict, timeout: float = 300) -> requests.Response:
    return requests.post(url, json=body, headers={"Authorization": f"Token {token}"}, timeout=timeout)


def _limits(url: str) -> list[Row]:
    """Section 3 of the module docstring: the site under one hostile user, each figure against a baseline."""
    import threading

    import psycopg

    from sqlquery.models import LongQuery

    rows: list[Row] = []
    tokens = _tokens(["bench-hostile-1", "bench-hostile-2", "bench-hostile-3"])
    big = "SELECT g, repeat('x', 1000000) AS pad FROM generate_series(1, %(n)s) g"

    # 3a. 300 rows of 1 MB through one worker (the default 128 MB cap refuses them).
    proc, base = start_gunicorn(url, "sql-memory", workers=1)
    try:
        _post(tokens[0], f"{base}/db/runsqlquery/", {"query": big, "subdict": {"n": 2}}).raise_for_status()
        before = _worker_peak_mb(proc.pid)
        refused = _post(tokens[0], f"{base}/db/runsqlquery/", {"query": big, "subdict": {"n": 300}}).json()
        assert refused["status"] == "error", refused
        grown = _worker_peak_mb(proc.pid) - before
        answered = _post(tokens[0], f"{base}/db/runsqlquery/", {"query": big, "subdict": {"n": 100}}).json()
        assert len(answered["rows"]) == 100
        grown_ok = _worker_peak_mb(proc.pid) - before
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"  300 x 1 MB rows: worker +{grown:.0f} MB (refused); 100 x 1 MB answered: +{grown_ok:.0f} MB")
    rows.append(Row("runsqlquery 300x1MB: worker growth", grown, "MB", "the rows", 300, "< 300 MB", grown < 300))
    rows.append(Row("runsqlquery 100x1MB answer: worker growth", grown_ok, "MB", "the rows", 100, "(info)"))

    # 3b. /healthz while three users run pg_sleep(10) on three workers (two SQL slots).
    proc, base = start_gunicorn(url, "sql-busy", workers=3)
    try:
        idle = []
        for _ in range(30):
            with Timer() as t:
                requests.get(f"{base}/healthz", timeout=30).raise_for_status()
            idle.append(t.seconds * 1000)
        statuses: list[int] = []
        sleepers = [
            threading.Thread(
                target=lambda tok=tok: statuses.append(
                    _post(tok, f"{base}/db/runsqlquery/", {"query": "SELECT pg_sleep(10)"}).status_code
                )
            )
            for tok in tokens
        ]
        for thread in sleepers:
            thread.start()
        time.sleep(1)
        busy = []
        while any(thread.is_alive() for thread in sleepers):
            with Timer() as t:
                requests.get(f"{base}/healthz", timeout=30).raise_for_status()
            busy.append(t.seconds * 1000)
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(30)
    p95 = percentile(busy, 95)
    print(f"  /healthz with 3 pg_sleep users: p95 {p95:.1f} ms over {len(busy)} probes; sleepers {sorted(statuses)}")
    rows.append(
        Row(
            "healthz p95, 3 users in pg_sleep",
            p95,
            "ms",
            "healthz idle p95",
            percentile(idle, 95),
            "< 100 ms",
            p95 < 100,
        )
    )

    # 3c. One runner (two at once, one per user): B's SELECT 1 while A's two 20 s queries run.
    from django.contrib.auth.models import User

    a, b = User.objects.get(username="bench-hostile-1"), User.objects.get(username="bench-hostile-2")
    env = dict(
        os.environ,
        DATABASE_URL=url,
        PYTHONPATH=str(PROJECT_DIR),
        SQLQUERY_RESULTS_DIR=str(REPO_DIR / "var" / "bench-sqlquery-results"),
        DJANGO_SETTINGS_MODULE="sqlquery.runner_settings",
    )
    runner = subprocess.Popen(
        [sys.executable, "manage.py", "long_query_runner", "--poll-interval", "0.1"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def turnaround(user) -> float:
        query = LongQuery.objects.create(user=user, queries=["SELECT 1 AS one"], subdicts=[{}], format="csv")
        start = time.perf_counter()
        while LongQuery.objects.get(id=query.id).status not in ("finished", "error"):
            time.sleep(0.02)
        return time.perf_counter() - start

    try:
        alone = median([turnaround(b) for _ in range(3)])
        for _ in range(2):
            LongQuery.objects.create(user=a, queries=["SELECT pg_sleep(20)"], subdicts=[{}], format="csv")
        time.sleep(1)
        shared = turnaround(b)
    finally:
        runner.terminate()
        runner.wait(60)
    print(f"  long queries: B's SELECT 1 in {shared:.2f} s while A's two 20 s queries run ({alone:.2f} s alone)")
    rows.append(
        Row("long SELECT 1 while another user's 2x20 s run", shared, "s", "SELECT 1 alone", alone, "< 5 s", shared < 5)
    )

    # 3d. The temp-file query: as elasticc_ro (temp_file_limit) and as the superuser.
    hostile = "SELECT g FROM generate_series(1, 100000000) g ORDER BY random() LIMIT 1"

    def temp_bytes(conn_url: str) -> tuple[float, float, str]:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_stat_clear_snapshot()")
            start_bytes = admin.execute(
                "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()[0]
        outcome = "ok"
        with Timer() as t, psycopg.connect(conn_url) as conn:
            try:
                conn.execute(hostile).fetchall()
            except psycopg.Error as exc:
                outcome = str(exc).splitlines()[0]
        time.sleep(1)  # the statistics collector's flush
        with psycopg.connect(url, autocommit=True) as admin:
            end_bytes = admin.execute(
                "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()[0]
        return (end_bytes - start_bytes) / 1e6, t.seconds, outcome

    limited, limited_s, why = temp_bytes(url.replace("postgres://postgres@", "postgres://elasticc_ro@"))
    unlimited, unlimited_s, _ = temp_bytes(url)
    print(
        f"  ORDER BY random() over 1e8 rows: elasticc_ro {limited:.0f} MB in {limited_s:.1f} s ({why}); superuser {unlimited:.0f} MB in {unlimited_s:.1f} s"
    )
    rows.append(
        Row(
            "1e8 ORDER BY random(): temp MB, elasticc_ro",
            limited,
            "MB",
            "superuser, no limit",
            unlimited,
            "<= temp_file_limit",
        )
    )
    return rows


if __name__ == "__main__":
    main_for(run)
