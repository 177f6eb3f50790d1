"""Long queries: submission, the runner that executes them, and pruning.

Several runners may run at once (on one host or many). Each claims the oldest queued
query with UPDATE ... FOR UPDATE SKIP LOCKED, so no two runners take the same one.

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
import os
import socket
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from sqlquery import roles
from sqlquery.models import LongQuery
from sqlquery.results import EXTENSIONS, WRITERS
from sqlquery.runner import QueryError, Session, parse_request

log = logging.getLogger(__name__)


def results_dir() -> Path:
    return Path(settings.SQLQUERY_RESULTS_DIR)


def result_path(query: LongQuery) -> Path | None:
    return results_dir() / query.result_file if query.result_file else None


def submit(user, body) -> LongQuery:
    """Validate a {query, subdict, format} body and queue it."""
    if not isinstance(body, dict):
        raise QueryError('the body must be a JSON object with "query" (and optionally "subdict", "format")')
    fmt = body.get("format", "csv")
    if fmt not in WRITERS:
        raise QueryError(f'"format" must be one of {", ".join(sorted(WRITERS))}')
    query, subdict = body.get("query"), body.get("subdict")
    statements = parse_request(query, subdict)  # refuse a malformed body now, not at run time
    queries = [query] if isinstance(query, str) else list(query)
    subdicts = subdict if isinstance(subdict, list) else [subdict] * len(statements)
    return LongQuery.objects.create(user=user, queries=queries, subdicts=subdicts, format=fmt)


def visible_to(user):
    """The long queries a user may see: their own, or all for a superuser."""
    queryset = LongQuery.objects.all()
    return queryset if user.is_superuser else queryset.filter(user=user)


def describe(query: LongQuery) -> dict:
    iso = lambda t: t.isoformat() if t else None  # noqa: E731
    return {
        "queryid": str(query.id),
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


class Runner:
    """One long-query runner process: claim, run, record; see the module docstring."""

    def __init__(self, poll_interval: float = 2.0):
        self.host = socket.gethostname()
        self.ident = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poll_interval = poll_interval
        self.shutdown = threading.Event()
        self.session: Session | None = None
        self.done = self.failed = 0

    def request_shutdown(self) -> None:
        """SIGTERM/SIGINT: claim nothing more; interrupt the query in hand, which goes back to queued."""
        self.shutdown.set()
        if self.session is not None:
            self.session.cancel()

    # -- claims -----------------------------------------------------------------------------
    def claim(self) -> uuid.UUID | None:
        """Take the oldest queued query, and its claim lock on this connection (held until
        release_claim_lock or until this process's connection goes away)."""
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                """
                UPDATE sqlquery_longquery
                SET status = 'started', started = now(), heartbeat = now(), runner = %s,
                    attempts = attempts + 1, error = ''
                WHERE id = (SELECT id FROM sqlquery_longquery WHERE status = 'queued'
                            ORDER BY submitted, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING id
            """,
                [self.ident],
            )
            row = cur.fetchone()
            if row is None:
                return None
            # Taken before the claim commits, so nobody ever sees the claim without its lock.
            # try_: a key shared with another running query must not make us wait for it.
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [CLAIM_LOCK_NAMESPACE, claim_lock_key(row[0])])
            if not cur.fetchone()[0]:
                log.warning("query %s: claim lock key in use; only the heartbeat shows this runner is alive", row[0])
        return row[0]

    def release_claim_lock(self, query_id: uuid.UUID) -> None:
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", [CLAIM_LOCK_NAMESPACE, claim_lock_key(query_id)])
        except DatabaseError:  # the connection is gone, and the lock with it
            connection.close()

    def recover_dead_claims(self) -> int:
        """Re-queue (or fail) the started queries of other runners that are gone; returns how many."""
        started = LongQuery.objects.filter(status=LongQuery.STARTED).exclude(runner=self.ident)
        return sum(
            recover_if_dead(query_id, not_runner=self.ident) is not None
            for query_id in started.values_list("id", flat=True)
        )

    def _heartbeat(self, query_id: uuid.UUID, stop: threading.Event) -> None:
        try:
            while not stop.wait(settings.SQLQUERY_RUNNER_HEARTBEAT):
                alive = LongQuery.objects.filter(id=query_id, runner=self.ident, status=LongQuery.STARTED).update(
                    heartbeat=timezone.now()
                )
                if not alive and self.session is not None:
                    log.warning("query %s: claim lost (another runner took it over); cancelling", query_id)
                    self.session.cancel()
                    return
        finally:
            connection.close()  # this thread's own Django connection

    # -- running ----------------------------------------------------------------------------
    def run_one(self, query_id: uuid.UUID) -> None:
        """1. load the claimed query; 2. run it as the submitter's role into a .part file of
        this claim's own; 3. holding the row, if the claim is still ours, rename the file and
        record finished; otherwise (error, shutdown, claim lost) record that and drop the file."""
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(query_id, stop), daemon=True)
        beat.start()
        ours = LongQuery.objects.filter(id=query_id, runner=self.ident, status=LongQuery.STARTED)
        part: Path | None = None
        started = time.monotonic()
        try:
            query = LongQuery.objects.select_related("user").get(id=query_id)
            directory = results_dir()
            directory.mkdir(parents=True, exist_ok=True)
            name = f"{query.id}.{EXTENSIONS[query.format]}"
            # A name of this claim's own: a runner wrongly thought dead can never write or
            # rename the file of the runner that took its query over.
            final, part = directory / name, directory / f"{name}.{self.ident.rsplit(':', 1)[1]}.part"
            statements = parse_request(query.queries, query.subdicts)
            writer = WRITERS[query.format]
            session = Session(
                roles.role_for(query.user), settings.SQLQUERY_LONG_STATEMENT_TIMEOUT, f"tom_desc-longquery {query.id}"
            )
            self.session = session
            with session:
                if self.shutdown.is_set():
                    session.cancel()
                count = session.execute(statements, lambda columns, rows: writer(part, columns, rows))
            with transaction.atomic():
                if ours.select_for_update().first() is None:
                    part.unlink(missing_ok=True)
                    log.warning("query %s: claim lost while running; result dropped", query_id)
                    return
                os.replace(part, final)
                ours.update(
                    status=LongQuery.FINISHED,
                    finished=timezone.now(),
                    rows=count,
                    result_bytes=final.stat().st_size,
                    result_file=name,
                    heartbeat=None,
                )
            self.done += 1
            log.info("query %s finished: %s rows in %.1f s", query_id, count, time.monotonic() - started)
        except QueryError as exc:
            if part is not None:
                part.unlink(missing_ok=True)
            if self.session is not None and self.session.cancelled and self.shutdown.is_set():
                # Interrupted by our own shutdown: not the query's fault, give the attempt back.
                ours.update(
                    status=LongQuery.QUEUED, started=None, runner="", heartbeat=None, attempts=F("attempts") - 1
                )
                log.info("query %s re-queued at shutdown", query_id)
            else:
                ours.update(status=LongQuery.ERROR, error=str(exc), finished=timezone.now(), heartbeat=None)
                self.failed += 1
                log.info("query %s failed: %s", query_id, exc)
        except Exception as exc:
            if part is not None:
                part.unlink(missing_ok=True)
            log.exception("query %s: internal error", query_id)
            ours.update(
                status=LongQuery.ERROR,
                error=f"internal error: {type(exc).__name__}: {exc}",
                finished=timezone.now(),
                heartbeat=None,
            )
            self.failed += 1
        finally:
            self.session = None
            stop.set()
            beat.join(timeout=30)
            self.release_claim_lock(query_id)

    def loop(self, exit_when_idle: bool = False, max_queries: int | None = None) -> None:
        """Until shutdown: recover dead claims, claim one query, run it; sleep when idle."""
        handled = 0
        while not self.shutdown.is_set():
            close_old_connections()
            self.recover_dead_claims()
            query_id = None if self.shutdown.is_set() else self.claim()
            if query_id is None:
                if exit_when_idle:
                    return
                self.shutdown.wait(self.poll_interval)
                continue
            self.run_one(query_id)
            handled += 1
            if max_queries is not None and handled >= max_queries:
                return


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
