"""Long queries: submission, what the submitter sees, dead runners' claims, and pruning
(the runner that executes them is sqlquery.longrunner).

Several runners may run at once (on one host or many, each running several queries
at once); they claim queued queries one claim at a time, fairly between users (longrunner).

How a dead runner is noticed: in the claiming transaction the runner also takes a
session-level PostgreSQL advisory lock on the query (claim_lock_key) and holds it on
its own connection until the query is over. When the runner process dies, however it
dies (SIGKILL, OOM, node lost), the kernel closes its socket, its backend exits and the
lock is released at once; so "status = started and nobody holds its lock" means the
runner is gone. As a second signal for connections the server has not yet seen die
(a network partition), a side thread keeps a heartbeat column fresh, and a claim whose
heartbeat is older than SQLQUERY_RUNNER_STALE_AFTER seconds is dead too.

Whoever notices a dead claim (any runner, before each claim, or /db/checksqlquery/
when the submitter looks) puts the query back to queued, or fails it after
SQLQUERY_MAX_ATTEMPTS claims so a query that kills runners cannot loop forever, and
removes the dead runner's partial result file. A query is therefore never "started"
without a live runner for longer than it takes someone to look.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from sqlquery.models import LongQuery
from sqlquery.request import BodyError, normalized, parse_body
from sqlquery.results import WRITERS
from sqlquery.slots import Busy

log = logging.getLogger(__name__)


def results_dir() -> Path:
    return Path(settings.SQLQUERY_RESULTS_DIR)


def result_path(query: LongQuery) -> Path | None:
    return results_dir() / query.result_file if query.result_file else None


def submit(user, body) -> LongQuery:
    """Validate a {query, subdict, format} body and queue it; Busy when the user already has
    SQLQUERY_LONG_QUEUE_PER_USER queries waiting or running."""
    if not isinstance(body, dict):
        raise BodyError("POST data must include 'query': the body must be a JSON object")
    fmt = body.get("format", "csv")
    if fmt not in WRITERS:
        raise BodyError(f"Unknown format {fmt!r}: one of {', '.join(sorted(WRITERS))}")
    parse_body(body)  # refuse a malformed body now, not at run time
    queries, subdicts = normalized(body)
    cap = settings.SQLQUERY_LONG_QUEUE_PER_USER
    pending = LongQuery.objects.filter(user=user, status__in=(LongQuery.QUEUED, LongQuery.STARTED)).count()
    if pending >= cap:
        raise Busy(
            f"you already have {pending} long queries queued or running (the limit per user is {cap}); "
            "wait for some to finish"
        )
    return LongQuery.objects.create(user=user, queries=queries, subdicts=subdicts, format=fmt)


def visible_to(user):
    """The long queries a user may see: their own, or all for a superuser."""
    queryset = LongQuery.objects.all()
    return queryset if user.is_superuser else queryset.filter(user=user)


def describe(query: LongQuery) -> dict:
    iso = lambda t: t.isoformat() if t else None  # noqa: E731
    return {
        "queryid": str(query.id),
        "queries": query.queries,
        "subdicts": query.subdicts,
        "status": query.status,
        "format": query.format,
        "submitted": iso(query.submitted),
        "started": iso(query.started),
        "finished": iso(query.finished),
        "error": query.error or None,
        "rows": query.rows,
        "bytes": query.result_bytes,
        "attempts": query.attempts,
    }


# pg_advisory_lock(namespace, key) keys of claims. The two-int form keeps them apart from
# one-bigint locks (send_elasticc_alerts) and from other namespaces (brokermetrics: 7_061_001).
CLAIM_LOCK_NAMESPACE = 7_061_002


def claim_lock_key(query_id: uuid.UUID) -> int:
    """The second key of a query's claim lock: 32 bits of its UUID. Two queries sharing a key
    only make a dead claim look alive until its heartbeat goes stale."""
    return int.from_bytes(uuid.UUID(str(query_id)).bytes[:4], "big", signed=True)


def partial_paths(query: LongQuery) -> list[Path]:
    """Result files being written for this query (one per claim: <id>.<ext>.<claim>.part)."""
    directory = results_dir()
    return list(directory.glob(f"{query.id}.*.part")) if directory.is_dir() else []


def recover_if_dead(query_id: uuid.UUID, not_runner: str = "") -> str | None:
    """Re-queue (or fail, after too many attempts) a started query whose runner is gone.

    1. lock the row (SKIP LOCKED: a claim or another recovery in progress is left alone);
    2. the claim is dead if its advisory lock is free (the runner's connection is gone)
       or its heartbeat is stale; the lock is tried within this transaction only;
    3. put it back to queued (or error), and remove the dead runner's partial file.
    Returns the new status, or None when nothing was done. Locks are taken row first,
    advisory lock second, the same order as Runner.claim, and never waited for.
    """
    stale_before = timezone.now() - dt.timedelta(seconds=settings.SQLQUERY_RUNNER_STALE_AFTER)
    with transaction.atomic():
        candidates = LongQuery.objects.select_for_update(skip_locked=True).filter(id=query_id, status=LongQuery.STARTED)
        query = (candidates.exclude(runner=not_runner) if not_runner else candidates).first()
        if query is None:
            return None
        with connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [CLAIM_LOCK_NAMESPACE, claim_lock_key(query.id)])
            lock_free = cur.fetchone()[0]
        stale = query.heartbeat is None or query.heartbeat < stale_before
        if not (lock_free or stale):
            return None
        give_up = query.attempts >= settings.SQLQUERY_MAX_ATTEMPTS
        status = LongQuery.ERROR if give_up else LongQuery.QUEUED
        LongQuery.objects.filter(id=query.id).update(
            status=status,
            error=(f"the runner executing this query stopped {query.attempts} times; giving up" if give_up else ""),
            finished=timezone.now() if give_up else None,
            started=query.started if give_up else None,
            runner="",
            heartbeat=None,
        )
        # Nobody is writing them any more (a new claim needs the row lock we hold).
        for path in partial_paths(query):
            path.unlink(missing_ok=True)
    log.warning(
        "query %s: runner %s is gone (%s); %s",
        query.id,
        query.runner,
        "connection closed" if lock_free else "heartbeat stale",
        status,
    )
    return status


def prune(days: float) -> tuple[int, int]:
    """Delete queries submitted more than `days` ago (not those running) and their files,
    plus stray files in the results directory as old. Returns (queries, files) removed."""
    cutoff = timezone.now() - dt.timedelta(days=days)
    old = LongQuery.objects.filter(submitted__lt=cutoff).exclude(status=LongQuery.STARTED)
    files = 0
    for query in old.only("id", "result_file"):
        path = result_path(query)
        if path is not None and path.exists():
            path.unlink()
            files += 1
    deleted = old.delete()[1].get(LongQuery._meta.label, 0)
    directory = results_dir()
    if directory.is_dir():
        known = set(LongQuery.objects.exclude(result_file="").values_list("result_file", flat=True))
        running = {str(i) for i in LongQuery.objects.filter(status=LongQuery.STARTED).values_list("id", flat=True)}
        for path in directory.iterdir():
            if path.name.split(".")[0] in running or path.name in known:
                continue
            if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
                path.unlink()
                files += 1
    return deleted, files
