"""How many SQL requests may occupy web workers at once: per user, and per web server.

gunicorn runs a few synchronous workers (3 by default); a request holds its worker until its
answer is sent. Three `SELECT pg_sleep(299)` would hold all of them, and /healthz, pages and
the API would wait. So /db/runsqlquery/ and result downloads take two slots first:

- one of the user's SQLQUERY_USER_CONCURRENCY slots (over every web server), so one user
  cannot hold more than that many workers anywhere;
- one of this web server's SQLQUERY_SYNC_CONCURRENCY slots, kept below its worker count, so
  at least one worker of every server is always free for everything else.

No slot free: HTTP 429 with Retry-After. A user who already holds all of their own slots
gets it at once. A user whose request only found this server's slots taken waits for one up to
SQLQUERY_SLOT_WAIT_MS (half a second by default) first: ordinary queries last milliseconds,
so when one user keeps a slot busy with a long query, the others' short queries queue briefly
for the remaining slot instead of colliding into 429s (bench/bench_clients.py measures it).
The wait holds a worker, so it is short: the worker kept free for everything else is busy
for at most that long. The slots are PostgreSQL
advisory locks (pg_try_advisory_lock, two-key form, in namespaces of their own) held on the
worker's own database connection, so they are shared by every worker process and every
host, and a worker that dies (killed at its timeout, out of memory) lets go of its slots
with its connection. They are released when the answer has been sent (or the client went
away), not when the query ends: a slow reader holds a worker too.
"""

from __future__ import annotations

import socket
import time
import zlib

from django.conf import settings
from django.db import DatabaseError, connection

USER_NAMESPACE = 7_061_003  # next to brokermetrics (7_061_001) and long-query claims (7_061_002)
SERVER_NAMESPACE = 7_061_004
SLOTS_PER_KEY = 64  # room for up to 64 slots under one user or server key
RETRY_AFTER = 5  # seconds suggested to a client that got 429
WAIT_STEP_S = 0.02  # how often a request waiting for a server slot tries again


class Busy(Exception):
    """No slot is free; the message says which limit was reached."""


def _server_key() -> int:
    """This web server (host or pod) as 25 bits, so its slots are its own."""
    return zlib.crc32(socket.gethostname().encode()) & 0x1FFFFFF


def _try(namespace: int, base: int, count: int) -> int | None:
    """Take the first free of `count` locks (namespace, base + i); its key, or None."""
    with connection.cursor() as cur:
        for index in range(min(count, SLOTS_PER_KEY)):
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, base + index])
            if cur.fetchone()[0]:
                return base + index
    return None


def _unlock(namespace: int, key: int) -> None:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])
    except DatabaseError:  # the connection is gone, and the lock with it
        connection.close()


class Slot:
    """A user's slot and a server slot, taken together; release() gives both back (once)."""

    def __init__(self, user):
        self.held: list[tuple[int, int]] = []
        user_base = (user.pk % (1 << 25)) * SLOTS_PER_KEY
        key = _try(USER_NAMESPACE, user_base, settings.SQLQUERY_USER_CONCURRENCY)
        if key is None:
            raise Busy(
                f"you already have {settings.SQLQUERY_USER_CONCURRENCY} SQL requests running (the limit per "
                "user); wait for one to end, or submit long queries to /db/submitsqlquery/"
            )
        self.held.append((USER_NAMESPACE, key))
        key = self._server_slot()
        if key is None:
            self.release()
            raise Busy(
                f"the SQL endpoint of this server is busy ({settings.SQLQUERY_SYNC_CONCURRENCY} requests running); "
                f"try again in a few seconds"
            )
        self.held.append((SERVER_NAMESPACE, key))

    @staticmethod
    def _server_slot() -> int | None:
        """One of this server's slots, waiting up to SQLQUERY_SLOT_WAIT_MS for one to be free."""
        base, count = _server_key() * SLOTS_PER_KEY, settings.SQLQUERY_SYNC_CONCURRENCY
        deadline = time.monotonic() + settings.SQLQUERY_SLOT_WAIT_MS / 1000
        while (key := _try(SERVER_NAMESPACE, base, count)) is None and time.monotonic() < deadline:
            time.sleep(WAIT_STEP_S)
        return key

    def release(self) -> None:
        while self.held:
            _unlock(*self.held.pop())


class Released:
    """An iterable (or file) whose close() releases the slot: what a response closes when it
    has been sent, or when the client went away, even if it was never iterated."""

    def __init__(self, content, slot: Slot):
        self.content = content
        self.slot = slot

    def __iter__(self):
        return iter(self.content)

    def __getattr__(self, name):  # read, name, tell, seek, fileno of a file (FileResponse uses them)
        return getattr(self.content, name)

    def close(self) -> None:
        try:
            close = getattr(self.content, "close", None)
            if close is not None:
                close()
        finally:
            self.slot.release()
