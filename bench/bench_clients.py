"""Concurrent clients with one hostile user (issue 12, "Concurrent clients").

BENCH_CLIENTS ordinary clients (default 20; the issue's full run is 50) each loop over a mix of
REST lists, first pages, details, the summary page and a small SQL query, with 0.1-0.5 s of
think time, against gunicorn with the production worker count (3), on loopback. Two phases of
BENCH_CLIENTS_SECONDS each (default 60; the issue's full run is 300):

1. the ordinary clients alone (the baseline of the same run);
2. the same clients while one hostile user runs, from three threads at once (more than the
   per-user SQL slots), `pg_sleep(15)`, `ORDER BY random()` over 3e7 rows, 300 rows of 1 MB
   and long-query submissions.

A probe asks /healthz every 0.5 s in both phases. Reported: the ordinary clients' p95 and p99
in phase 2 against phase 1, /healthz p95 against phase 1, the ordinary clients' failed
requests (a status other than 200 and 429, or no answer within 60 s; goal 0) and, apart, their
429s (the SQL slots were full; Retry-After says when to come back). What the hostile user got is
printed. Run alone with `python bench/bench_clients.py`.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections import Counter
from importlib import import_module

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Row, light_curve_steps, percentile, run_step, scaled, start_gunicorn

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "20"))
SECONDS = float(os.environ.get("BENCH_CLIENTS_SECONDS", "60"))
OBJECTS = scaled(5_000)
SOURCES, FORCED = 20, 50  # per object (common.light_curve_steps ids: object * 100 + k, object * 1000 + k)
HOSTILE_THREADS = 3
HOSTILE = [
    {"query": "SELECT pg_sleep(15)"},
    {"query": "SELECT g FROM generate_series(1, 30000000) g ORDER BY random() LIMIT 1"},
    {"query": "SELECT repeat('x', 1048576) AS mb FROM generate_series(1, 300)"},
]


def _seed() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            'INSERT INTO elasticc_diaobject ("diaObjectId", ra, decl) SELECT g, g %% 360, 0 '
            "FROM generate_series(1, %s) g",
            [OBJECTS],
        )
        for _name, step in light_curve_steps(OBJECTS, SOURCES, FORCED):
            run_step(cur, step)
        cur.execute("ANALYZE")


def _user(name: str, admin: bool) -> tuple[str, str]:
    """(API token, session cookie) of a new user; the session is made in the database, as a login
    would, so that twenty logins do not meet the login page's lockout."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    user = User.objects.create_user(name)
    if admin:
        user.groups.add(Group.objects.get_or_create(name="elasticc_admin")[0])
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return Token.objects.get_or_create(user=user)[0].key, store.session_key


class Tally:
    """Latencies (ms) and statuses of one kind of client, from many threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ms: list[float] = []
        self.statuses: Counter = Counter()

    def add(self, ms: float, status) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status == 200:
                self.ms.append(ms)


def _timed(tally: Tally, method, url: str, **kwargs) -> None:
    start = time.perf_counter()
    try:
        status = method(url, **kwargs).status_code
    except requests.RequestException as exc:
        status = type(exc).__name__
    tally.add((time.perf_counter() - start) * 1000, status)


def _ordinary(url: str, token: str, cookie: str, tally: Tally, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    page = requests.Session()
    page.cookies.set("sessionid", cookie)
    while not stop.is_set():
        o = rng.randint(1, OBJECTS)
        kind = rng.randrange(5)
        if kind == 0:
            _timed(tally, api.get, f"{url}/elasticc/diasource/?diaObjectId={o}", timeout=60)
        elif kind == 1:
            _timed(tally, api.get, f"{url}/elasticc/diaforcedsource/", timeout=60)
        elif kind == 2:
            _timed(tally, api.get, f"{url}/elasticc/diasource/{o * 100 + rng.randrange(SOURCES)}/", timeout=60)
        elif kind == 3:
            _timed(tally, page.get, f"{url}/elasticc/summary", timeout=60)
        else:
            sql = 'SELECT count(*) AS n FROM elasticc_brokerclassifier WHERE "classifierId" = %(o)s'
            body = {"query": sql, "subdict": {"o": o}}
            _timed(tally, api.post, f"{url}/db/runsqlquery/", json=body, timeout=60)
        stop.wait(rng.uniform(0.1, 0.5))


def _hostile(url: str, token: str, tally: Tally, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    while not stop.is_set():
        body = rng.choice(HOSTILE)
        _timed(tally, api.post, f"{url}/db/runsqlquery/", json=body, timeout=120)
        long = {"query": "SELECT pg_sleep(600)", "format": "csv"}
        _timed(tally, api.post, f"{url}/db/submitsqlquery/", json=long, timeout=60)


def _probe(url: str, tally: Tally, stop: threading.Event) -> None:
    while not stop.is_set():
        _timed(tally, requests.get, f"{url}/healthz", timeout=60)
        stop.wait(0.5)


def _phase(url: str, users: list[tuple[str, str]], hostile: str | None) -> tuple[Tally, Tally, Tally]:
    ordinary, health, bad = Tally(), Tally(), Tally()
    stop = threading.Event()
    threads = [
        threading.Thread(target=_ordinary, args=(url, token, cookie, ordinary, stop, n))
        for n, (token, cookie) in enumerate(users)
    ]
    threads.append(threading.Thread(target=_probe, args=(url, health, stop)))
    if hostile:
        threads += [
            threading.Thread(target=_hostile, args=(url, hostile, bad, stop, 100 + n)) for n in range(HOSTILE_THREADS)
        ]
    for thread in threads:
        thread.start()
    stop.wait(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(150)
    return ordinary, health, bad


def _summary(name: str, tally: Tally) -> str:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(tally.statuses.items(), key=str))
    return f"  {name}: p50 {percentile(tally.ms, 50):.0f} ms, p95 {percentile(tally.ms, 95):.0f} ms, p99 " \
        f"{percentile(tally.ms, 99):.0f} ms; statuses {statuses}"  # fmt: skip


def run(ctx) -> list[Row]:
    database_url = ctx.database("bench_clients")
    print(f"seeding {OBJECTS:,} objects with light curves; {CLIENTS} clients, {SECONDS:.0f} s a phase", flush=True)
    _seed()
    users = [_user(f"bench-client-{n}", admin=True) for n in range(CLIENTS)]
    hostile_token = _user("bench-hostile", admin=False)[0]
    from django.db import connection

    connection.close()
    proc, url = start_gunicorn(database_url, "clients", workers=3, timeout=120)
    try:
        requests.get(f"{url}/elasticc/diaforcedsource/", headers={"Authorization": f"Token {users[0][0]}"}, timeout=60)
        calm, calm_health, _ = _phase(url, users, None)
        print("phase 1, ordinary clients alone:", flush=True)
        print(_summary("ordinary", calm) + "\n" + _summary("/healthz", calm_health), flush=True)
        busy, busy_health, hostile = _phase(url, users, hostile_token)
        print("phase 2, with the hostile user:", flush=True)
        print(
            "\n".join(_summary(n, t) for n, t in (("ordinary", busy), ("/healthz", busy_health), ("hostile", hostile)))
        )
    finally:
        proc.terminate()
        proc.wait(30)

    failed = sum(v for k, v in busy.statuses.items() if k not in (200, 429))
    failed += sum(v for k, v in busy_health.statuses.items() if k != 200)
    tag = f"({CLIENTS} clients)"
    return [
        Row(f"clients: ordinary p95 with hostile {tag}", percentile(busy.ms, 95), "ms", "alone p95",
            percentile(calm.ms, 95)),
        Row(f"clients: ordinary p99 with hostile {tag}", percentile(busy.ms, 99), "ms", "alone p99",
            percentile(calm.ms, 99)),
        Row("clients: /healthz p95 with hostile", percentile(busy_health.ms, 95), "ms", "/healthz p95 alone",
            percentile(calm_health.ms, 95)),
        Row("clients: ordinary requests failed", failed, "req", "ordinary requests", sum(busy.statuses.values()),
            "0", failed == 0),
        Row("clients: ordinary SQL refused (429)", busy.statuses.get(429, 0), "req", "alone", calm.statuses.get(429, 0)),
    ]  # fmt: skip


if __name__ == "__main__":
    from common import main_for

    main_for(run)
