"""Counters of events that happen inside web workers, for the operator's /metrics (ops/metrics.py).

Most figures on /metrics are read from the database when Prometheus scrapes (brokerpoll
heartbeats, dead letters, the long-query queue). What only a web worker sees is counted here
with prometheus_client: a login lockout, a synchronous SQL call stopped by its timeout.

gunicorn runs several worker processes; each has its own memory, so a plain counter would
show only the worker that happened to answer the scrape. With PROMETHEUS_MULTIPROC_DIR set
(docker/gunicorn.conf.py sets it for the image; it must be set before prometheus_client is
first imported) every process writes its counts to a file there and /metrics adds them up.
Without it (``manage.py runserver``, a single process) the counts are the process's own.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):
    # A process started with the variable but without the directory (a management command run
    # beside gunicorn, say) counts into a new one rather than failing on its first import.
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

LOGIN_LOCKOUTS = Counter(
    "tom_login_lockouts",
    "Password checks refused because the failed-login limit was reached, by route.",
    ["route"],
)
SQL_TIMEOUTS = Counter(
    "tom_sql_sync_timeouts",
    "Synchronous /db/runsqlquery/ calls stopped by their statement timeout.",
)


def count_login_lockout(route: str) -> None:
    LOGIN_LOCKOUTS.labels(route=route).inc()


def count_sql_timeout() -> None:
    """Call where a synchronous SQL call is stopped by its statement timeout."""
    SQL_TIMEOUTS.inc()


def process_registry() -> CollectorRegistry | None:
    """A registry adding up every worker's counters (multiprocess mode), or None when each
    process counts alone (then the default registry holds this process's counters)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return registry
