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
            self.server = EmbeddedPostgres(REPO_DIR / "var" / "bench-pg" / str(os.getpid()), free_port(),
                                           durable=False)
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
        subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=PROJECT_DIR, env=env,
                       check=True)
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
        print(f"{r.name:44} {r.value:>10.4g} {r.unit:<3} {r.baseline_name[:18]:>18} {r.baseline:>10.4g} "
              f"{r.ratio:>7.3f}  {r.goal}{verdict}")


def main_for(run) -> None:
    """Let a benchmark script run alone: python bench/bench_x.py."""
    ctx = BenchContext()
    try:
        print_rows(run(ctx))
    finally:
        ctx.close()
