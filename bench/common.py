"""Shared plumbing for benchmarks: a fresh migrated database, timing, result rows."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = REPO_DIR / "tom_desc"
sys.path.insert(0, str(PROJECT_DIR))

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))


@dataclass
class Row:
    """One benchmark figure. ratio = value / baseline; `goal` says which way is good."""

    name: str
    value: float
    unit: str
    baseline_name: str
    baseline: float
    goal: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")


def scaled(n: int) -> int:
    return max(1, int(n * SCALE))


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(samples: list[float]) -> float:
    return statistics.median(samples)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


class BenchContext:
    """A running embedded PostgreSQL with one migrated database per benchmark.

    Set BENCH_DATABASE_URL to a server of your own to benchmark against it instead
    (a database per benchmark is created on it).
    """

    def __init__(self):
        from devstack.postgres import EmbeddedPostgres, free_port

        self.server = None
        base = os.environ.get("BENCH_DATABASE_URL")
        if base:
            self.base_url = base.rstrip("/") + "/"
        else:
            # One server per process: two benchmark runs at once never wipe each other's data.
            self.server = EmbeddedPostgres(REPO_DIR / "var" / "bench-pg" / str(os.getpid()), free_port(), durable=False)
            self.server.destroy()
            self.server.start()
            self.base_url = self.server.url

    def database(self, name: str) -> str:
        """Create (fresh) and migrate database `name`; return its URL and make it Django's default."""
        import psycopg

        with psycopg.connect(self.base_url + "postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = self.base_url + name
        env = dict(os.environ, DATABASE_URL=url, DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "bench"))
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=PROJECT_DIR, env=env, check=True
        )
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SECRET_KEY", "bench")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tom_desc.settings")
        import django
        from django.conf import settings

        if not settings.configured or not getattr(self, "_django_ready", False):
            django.setup()
            self._django_ready = True
        else:
            from django.db import connections

            connections.close_all()
            settings.DATABASES["default"].update(_parse(url))
        return url

    def close(self):
        if self.server is not None:
            self.server.destroy()


def _parse(url: str) -> dict:
    import dj_database_url

    parsed = dj_database_url.parse(url)
    return {k: parsed[k] for k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}


def print_rows(rows: list[Row]) -> None:
    header = f"{'benchmark':44} {'value':>14} {'baseline':>30} {'ratio':>7}  goal"
    print(header)
    print("-" * len(header))
    for r in rows:
        verdict = "" if r.met is None else ("  ok" if r.met else "  MISSED")
        print(
            f"{r.name:44} {r.value:>10.4g} {r.unit:<3} {r.baseline_name[:18]:>18} {r.baseline:>10.4g} "
            f"{r.ratio:>7.3f}  {r.goal}{verdict}"
        )


def main_for(run) -> None:
    """Let a benchmark script run alone: python bench/bench_x.py."""
    ctx = BenchContext()
    try:
        print_rows(run(ctx))
    finally:
        ctx.close()


def start_gunicorn(
    database_url: str, name: str, workers: int = 2, timeout: int = 300, extra_env: dict | None = None
) -> tuple[subprocess.Popen, str]:
    """gunicorn serving the site on a free port of 127.0.0.1 against `database_url`, once it answers.

    Its log goes to var/bench-<name>-gunicorn.log; the caller terminates the process.
    """
    from devstack import gunicorn
    from devstack.postgres import free_port

    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "bench"),
        DEBUG="0",
        STATIC_MANIFEST="0",
        WHITENOISE_USE_FINDERS="1",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(PROJECT_DIR),
        **(extra_env or {}),
    )
    log_path = REPO_DIR / "var" / f"bench-{name}-gunicorn.log"
    log_path.unlink(missing_ok=True)
    proc = gunicorn.start(port, env, log_path, workers=workers, timeout=timeout)
    url = f"http://127.0.0.1:{port}"
    try:
        gunicorn.wait_until_serving(url, proc, log_path)
    except RuntimeError:
        proc.kill()
        raise
    return proc, url


def light_curve_steps(n_objects: int, sources_per_object: int, forced_per_object: int, seed: int = 1) -> list:
    """(name, step) pairs that fill elasticc_diasource and elasticc_diaforcedsource with synthetic
    light curves of objects 1..n_objects by binary COPY (the loader's own encoder), a block of
    objects at a time. Ids are object * 100 + k for sources and object * 1000 + k for forced
    sources, so id order is (object, k) order. A step takes a cursor and returns its row count."""
    import numpy as np

    from elasticc.loading.copy import Column, copy_binary

    bands = np.array([b"u", b"g", b"r", b"i", b"z", b"Y"])
    rng = np.random.default_rng(seed)
    block = max(1, 2_000_000 // max(sources_per_object, forced_per_object))

    def rows(per_object: int):
        for first in range(1, n_objects + 1, block):
            o = np.repeat(np.arange(first, min(first + block, n_objects + 1), dtype=np.int64), per_object)
            k = np.tile(np.arange(per_object, dtype=np.int64), len(o) // per_object)
            yield o, k

    def sources(cur) -> int:
        n = 0
        for o, k in rows(sources_per_object):
            n += copy_binary(
                cur.cursor,
                "elasticc_diasource",
                [
                    Column("diaSourceId", "int8", o * 100 + k),
                    Column("diaObjectId", "int8", o),
                    Column("midPointTai", "float8", 61000 + (o % 50) + k * 3 + 0.1),
                    Column("filterName", "text", bands[k % 6]),
                    Column("ra", "float8", np.zeros(len(o))),
                    Column("decl", "float8", np.zeros(len(o))),
                    Column("psFlux", "float4", (1000 * rng.random(len(o))).astype(np.float32)),
                    Column("psFluxErr", "float4", np.full(len(o), 30, np.float32)),
                    Column("snr", "float4", (10 + 20 * rng.random(len(o))).astype(np.float32)),
                ],
            )
        return n

    def forced(cur) -> int:
        n = 0
        for o, k in rows(forced_per_object):
            n += copy_binary(
                cur.cursor,
                "elasticc_diaforcedsource",
                [
                    Column("diaForcedSourceId", "int8", o * 1000 + k),
                    Column("diaObjectId", "int8", o),
                    Column("midPointTai", "float8", 60990 + (o % 50) + k * 0.5),
                    Column("filterName", "text", bands[k % 6]),
                    Column("psFlux", "float4", (500 * rng.random(len(o)) - 50).astype(np.float32)),
                    Column("psFluxErr", "float4", np.full(len(o), 25, np.float32)),
                ],
            )
        return n

    return [("sources", sources), ("forced sources", forced)]


def run_step(cur, step) -> int:
    """Run one seeding step: SQL text, or a callable taking the cursor; returns the rows written."""
    if callable(step):
        return step(cur)
    cur.execute(step)
    return cur.rowcount
