"""The long-query runner: claim queued queries fairly between users, run them, record the outcome.

The queue model. A runner process runs up to SQLQUERY_RUNNER_CONCURRENCY queries at once
(one thread each, each with its own connections); any number of runner processes may work
the same queue. Claims are made one at a time in the whole site (a transaction-level
advisory lock serialises them, so two runners never judge the queue from the same stale
view), and a claim takes:

1. only queries of users with fewer than SQLQUERY_LONG_RUNNING_PER_USER queries running,
   so one user never holds every free runner;
2. among those, the users with the fewest queries running first,
3. then the oldest submission.

So a user who queued ten 40-second queries gets one runner (or the per-user share), and
another user's `SELECT 1` submitted afterwards goes to the next free runner at once instead
of waiting behind the ten. Submissions themselves are capped per user
(SQLQUERY_LONG_QUEUE_PER_USER, at /db/submitsqlquery/).

Each claim also takes a session-level advisory lock on its query (longqueries.claim_lock_key),
held on the thread's connection until the query is over, and a side thread refreshes the
query's heartbeat: that is how a dead runner is seen (longqueries.recover_if_dead).
"""

from __future__ import annotations

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
from sqlquery.longqueries import CLAIM_LOCK_NAMESPACE, claim_lock_key, recover_if_dead, results_dir
from sqlquery.models import LongQuery
from sqlquery.request import QueryError, parse_request
from sqlquery.results import EXTENSIONS, WRITERS
from sqlquery.runner import Session

log = logging.getLogger(__name__)

# pg_advisory_xact_lock(namespace, 0): one claim at a time, site-wide.
CLAIM_QUEUE_NAMESPACE = 7_061_005

CLAIM_SQL = """
UPDATE sqlquery_longquery
SET status = 'started', started = now(), heartbeat = now(), runner = %(runner)s,
    attempts = attempts + 1, error = ''
WHERE id = (
    SELECT q.id FROM sqlquery_longquery q
    CROSS JOIN LATERAL (SELECT count(*) AS running FROM sqlquery_longquery r
                        WHERE r.user_id = q.user_id AND r.status = 'started') mine
    WHERE q.status = 'queued' AND mine.running < %(cap)s
    ORDER BY mine.running, q.submitted, q.id
    LIMIT 1 FOR UPDATE OF q SKIP LOCKED)
RETURNING id
"""


class Runner:
    """One long-query runner process: claim, run, record; see the module docstring."""

    def __init__(self, poll_interval: float = 2.0, concurrency: int | None = None):
        self.host = socket.gethostname()
        self.ident = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poll_interval = poll_interval
        self.concurrency = max(1, concurrency or settings.SQLQUERY_RUNNER_CONCURRENCY)
        self.shutdown = threading.Event()
        self.sessions: dict[int, Session] = {}  # thread id -> the session it is running
        self.done = self.failed = 0
        self._lock = threading.Lock()
        self._handled = 0

    def request_shutdown(self) -> None:
        """SIGTERM/SIGINT: claim nothing more; interrupt the queries in hand, which go back to queued."""
        self.shutdown.set()
        for session in list(self.sessions.values()):
            session.cancel()

    # -- claims -----------------------------------------------------------------------------
    def claim(self) -> uuid.UUID | None:
        """Take the next query by the rules of the module docstring, and its claim lock on this
        thread's connection (held until release_claim_lock or until the connection goes away)."""
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, 0)", [CLAIM_QUEUE_NAMESPACE])
            cur.execute(CLAIM_SQL, {"runner": self.ident, "cap": settings.SQLQUERY_LONG_RUNNING_PER_USER})
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

    def _heartbeat(self, query_id: uuid.UUID, stop: threading.Event, session_of: int) -> None:
        try:
            while not stop.wait(settings.SQLQUERY_RUNNER_HEARTBEAT):
                alive = LongQuery.objects.filter(id=query_id, runner=self.ident, status=LongQuery.STARTED).update(
                    heartbeat=timezone.now()
                )
                session = self.sessions.get(session_of)
                if not alive and session is not None:
                    log.warning("query %s: claim lost (another runner took it over); cancelling", query_id)
                    session.cancel()
                    return
        finally:
            connection.close()  # this thread's own Django connection

    # -- running ----------------------------------------------------------------------------
    def run_one(self, query_id: uuid.UUID) -> None:
        """1. load the claimed query; 2. run it as the submitter's role into a .part file of
        this claim's own; 3. holding the row, if the claim is still ours, rename the file and
        record finished; otherwise (error, shutdown, claim lost) record that and drop the file."""
        me = threading.get_ident()
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(query_id, stop, me), daemon=True)
        beat.start()
        ours = LongQuery.objects.filter(id=query_id, runner=self.ident, status=LongQuery.STARTED)
        part: Path | None = None
        session: Session | None = None
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
            self.sessions[me] = session
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
            self._count(done=1)
            log.info("query %s finished: %s rows in %.1f s", query_id, count, time.monotonic() - started)
        except QueryError as exc:
            if part is not None:
                part.unlink(missing_ok=True)
            if session is not None and session.cancelled and self.shutdown.is_set():
                # Interrupted by our own shutdown: not the query's fault, give the attempt back.
                ours.update(
                    status=LongQuery.QUEUED, started=None, runner="", heartbeat=None, attempts=F("attempts") - 1
                )
                log.info("query %s re-queued at shutdown", query_id)
            else:
                ours.update(status=LongQuery.ERROR, error=str(exc), finished=timezone.now(), heartbeat=None)
                self._count(failed=1)
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
            self._count(failed=1)
        finally:
            self.sessions.pop(me, None)
            stop.set()
            beat.join(timeout=30)
            self.release_claim_lock(query_id)

    def _count(self, done: int = 0, failed: int = 0) -> None:
        with self._lock:
            self.done += done
            self.failed += failed

    def _take_turn(self, max_queries: int | None) -> bool:
        """Whether this process may start one more query (--max-queries counts them all)."""
        with self._lock:
            if max_queries is not None and self._handled >= max_queries:
                return False
            self._handled += 1
            return True

    def _give_back_turn(self) -> None:
        with self._lock:
            self._handled -= 1

    def _work(self, exit_when_idle: bool, max_queries: int | None) -> None:
        """One worker: until shutdown, recover dead claims, claim one query, run it; sleep when idle."""
        try:
            while not self.shutdown.is_set():
                close_old_connections()
                if not self._take_turn(max_queries):
                    return
                self.recover_dead_claims()
                query_id = None if self.shutdown.is_set() else self.claim()
                if query_id is None:
                    self._give_back_turn()
                    if exit_when_idle:
                        return
                    self.shutdown.wait(self.poll_interval)
                    continue
                self.run_one(query_id)
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()

    def loop(self, exit_when_idle: bool = False, max_queries: int | None = None) -> None:
        """Run `concurrency` workers (this thread is one of them) until shutdown, or until idle
        with exit_when_idle, or until max_queries have been started."""
        others = [
            threading.Thread(target=self._work, args=(exit_when_idle, max_queries), name=f"runner-{n}", daemon=True)
            for n in range(1, self.concurrency)
        ]
        for thread in others:
            thread.start()
        self._work(exit_when_idle, max_queries)
        for thread in others:
            while thread.is_alive():  # a join with a timeout lets SIGTERM's handler run meanwhile
                thread.join(timeout=0.5)
