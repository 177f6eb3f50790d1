"""Running user SQL: one read-only transaction on a connection logged in as a limited role.

What keeps a query in its lane, in order of importance:

1. the connection logs in as elasticc_ro / elasticc_admin_ro (sqlquery.roles), which can
   only SELECT from the tables granted to it, whatever the SQL says;
2. every statement goes through the extended query protocol (psycopg's stream()),
   which accepts exactly one statement, so "SELECT 1; DROP ..." is refused by the server;
3. the transaction is READ ONLY and has taken its snapshot before the first user
   statement, so SET TRANSACTION READ WRITE is refused; after every statement the
   transaction must still be the same one (no COMMIT/ROLLBACK [AND CHAIN] escapes);
4. time: statement_timeout on the server and a watchdog thread that cancels the
   query from outside at the deadline, which "SET statement_timeout = 0" cannot undo;
5. rows: the synchronous endpoint reads at most SQLQUERY_ROW_LIMIT rows, streamed in
   chunks, so an enormous result never reaches memory;
6. the transaction is rolled back and the connection closed afterwards, dropping any
   session state a query made.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from psycopg import pq

from sqlquery import roles
from sqlquery.encoding import dumps

T = TypeVar("T")
FETCH_CHUNK = 5000


class QueryError(Exception):
    """A problem with the user's request or SQL; the message is shown to the user."""


@dataclass
class Statement:
    sql: str
    params: dict[str, Any] | None


@dataclass
class Columns:
    names: list[str]
    type_oids: list[int]


# --- the request body -----------------------------------------------------------------------

# psycopg2 (which the original site used) expanded a tuple after IN; with server-side
# binding the same meaning is "= ANY(array)". Only placeholders bound to lists are rewritten.
_IN_PLACEHOLDER = re.compile(r"(?i)\b(NOT\s+)?IN\s*%\((\w+)\)s")


def _rewrite_in(sql: str, params: dict[str, Any]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(2)
        if not isinstance(params.get(name), list):
            return match.group(0)
        return f"<> ALL(%({name})s)" if match.group(1) else f"= ANY(%({name})s)"

    return _IN_PLACEHOLDER.sub(replace, sql)


def parse_request(query: Any, subdict: Any = None) -> list[Statement]:
    """Validate {"query": str | [str], "subdict": dict | [dict]} into statements.

    A single subdict applies to every query; a list must match the queries one to one.
    An empty or missing subdict means no substitution (so '%' needs no doubling).
    """
    queries = [query] if isinstance(query, str) else query
    if not isinstance(queries, list) or not queries or not all(isinstance(q, str) and q.strip() for q in queries):
        raise QueryError('"query" must be a non-empty string or a non-empty list of non-empty strings')
    if subdict is None or isinstance(subdict, dict):
        subdicts = [subdict] * len(queries)
    elif isinstance(subdict, list) and all(d is None or isinstance(d, dict) for d in subdict):
        if len(subdict) != len(queries):
            raise QueryError(f'"subdict" has {len(subdict)} entries but there are {len(queries)} queries')
        subdicts = subdict
    else:
        raise QueryError('"subdict" must be an object, or a list of objects, one per query')
    statements = []
    for sql, params in zip(queries, subdicts):
        if params:
            params = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
            sql = _rewrite_in(sql, params)
        statements.append(Statement(sql, params or None))
    return statements


# --- streaming -----------------------------------------------------------------------------


def stream_chunks(cur: psycopg.Cursor, sql: str, params: dict | None, size: int) -> Iterator[list[tuple]]:
    """The rows of one statement in lists of up to `size`, read as the server sends them.

    psycopg's stream() uses the extended query protocol (one statement only) and, with
    size > 1, libpq's chunked mode, so memory holds one chunk at a time. A command that
    returns no result set (SET, ...) yields nothing. Closing the generator early makes
    psycopg cancel the statement and drain the connection.
    """
    rows = cur.stream(sql, params, size=size)
    try:
        while chunk := list(itertools.islice(rows, size)):
            yield chunk
    except psycopg.ProgrammingError as exc:
        if exc.sqlstate is not None:  # an error from the server
            raise
        # psycopg's "the operation in stream() didn't produce a result": a command, no rows
    finally:
        rows.close()


def describe(conn: psycopg.Connection, sql: str, params: dict | None) -> Columns:
    """The result columns of a statement, from the server's description of it (no execution).

    stream() learns the columns from the first row, so a result without rows needs this
    to keep its header. It runs in a savepoint: a statement that cannot be described
    (a command) leaves the transaction as it was, with no columns.
    """
    text = psycopg.ClientCursor(conn).mogrify(sql, params) if params else sql
    with conn.cursor() as cur:
        cur.execute("SAVEPOINT tom_desc_describe")
        result = conn.pgconn.prepare(b"", text.encode(conn.info.encoding))
        if result.status == pq.ExecStatus.COMMAND_OK:
            result = conn.pgconn.describe_prepared(b"")
        if result.status == pq.ExecStatus.COMMAND_OK:
            columns = Columns(
                [result.fname(i).decode(conn.info.encoding) for i in range(result.nfields)],
                [result.ftype(i) for i in range(result.nfields)],
            )
        else:
            columns = Columns([], [])
        cur.execute("ROLLBACK TO SAVEPOINT tom_desc_describe")
    return columns


class Session:
    """A limited-role connection for one request or one long query; use as a context manager."""

    def __init__(self, role: str, timeout_s: float, application_name: str = "tom_desc-sqlquery"):
        self.role = role
        self.timeout_s = timeout_s
        self.application_name = application_name
        self.timed_out = False
        self.cancelled = False
        self.conn: psycopg.Connection | None = None
        self._watchdog: threading.Timer | None = None

    def __enter__(self) -> Session:
        try:
            self.conn = roles.connect(self.role, self.timeout_s, self.application_name)
        except psycopg.OperationalError as exc:
            raise QueryError(f"cannot connect to the database as {self.role}: {exc}".strip()) from None
        self.conn.read_only = True
        # A little after the server's own statement_timeout, so its clearer message wins
        # when it fires; the watchdog catches what SET statement_timeout = 0 would let through.
        self._watchdog = threading.Timer(self.timeout_s + 1.0, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def _expire(self) -> None:
        self.timed_out = True
        if self.conn is not None:
            self.conn.cancel_safe(timeout=10)

    def cancel(self) -> None:
        """Interrupt the running statement from another thread (e.g. a SIGTERM handler)."""
        self.cancelled = True
        if self.conn is not None:
            self.conn.cancel_safe(timeout=10)

    def __exit__(self, *exc) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.conn is not None:
            try:
                if self.conn.info.transaction_status == pq.TransactionStatus.ACTIVE:
                    self.conn.cancel_safe(timeout=5)
            finally:
                self.conn.close()  # closing discards the transaction: nothing a query did survives

    def _error(self, exc: psycopg.Error) -> QueryError:
        if self.cancelled:
            return QueryError("the query was cancelled (the runner is shutting down)")
        if self.timed_out or isinstance(exc, psycopg.errors.QueryCanceled):
            return QueryError(
                f"the query ran into the time limit of {self.timeout_s:g} s "
                "(canceling statement due to statement timeout)"
            )
        message = (exc.diag.message_primary or str(exc)).strip() if hasattr(exc, "diag") else str(exc)
        return QueryError(message or type(exc).__name__)

    def execute(self, statements: list[Statement], consume: Callable[[Columns, Iterator[list[tuple]]], T]) -> T:
        """Run the statements in one read-only transaction; `consume` gets the last one's rows,
        as an iterator of lists of row tuples (the chunks the server sends).

        1. take the transaction's snapshot ourselves (SET TRANSACTION READ WRITE is then refused);
        2. stream each statement; the rows of all but the last are read and dropped;
        3. after each, check the transaction is still ours (no COMMIT/ROLLBACK escapes);
        4. roll back (and the connection closes in __exit__).
        """
        assert self.conn is not None
        conn = self.conn
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_catalog.transaction_timestamp()")
                started = cur.fetchone()[0]
                result: Any = None
                for index, statement in enumerate(statements):
                    chunks = stream_chunks(cur, statement.sql, statement.params, size=FETCH_CHUNK)
                    try:
                        if index < len(statements) - 1:
                            for _ in chunks:
                                pass
                        else:
                            first = list(itertools.islice(chunks, 1))
                            if first:
                                description = cur.description or []
                                columns = Columns([d.name for d in description], [d.type_code for d in description])
                            else:
                                columns = describe(conn, statement.sql, statement.params)
                            result = consume(columns, itertools.chain(first, chunks))
                            for _ in chunks:
                                pass
                    finally:
                        chunks.close()  # a consumer that stopped early: cancel, leave nothing in flight
                    self._check_same_transaction(cur, started)
            conn.rollback()
            return result
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def _check_same_transaction(self, cur: psycopg.Cursor, started) -> None:
        assert self.conn is not None
        if self.conn.info.transaction_status != pq.TransactionStatus.INTRANS:
            raise QueryError("transaction control (COMMIT, ROLLBACK, ...) is not allowed in queries")
        cur.execute("SELECT pg_catalog.transaction_timestamp()")
        if cur.fetchone()[0] != started:
            raise QueryError("transaction control (COMMIT/ROLLBACK AND CHAIN, ...) is not allowed in queries")


# --- the synchronous endpoint ---------------------------------------------------------------


def run_sync(user, body: Any) -> Iterator[bytes]:
    """The JSON answer of /db/runsqlquery/ for this body, {"status": "ok", "rows": [...]}, in pieces.

    1. run the statements and keep the last one's rows as the tuples the server sent,
       refusing more than SQLQUERY_ROW_LIMIT (so every error is known before answering);
    2. the answer is then encoded chunk by chunk while it is sent: the whole JSON text is
       never in memory, and encoding overlaps the transfer.
    """
    if not isinstance(body, dict):
        raise QueryError('the body must be a JSON object with "query" (and optionally "subdict")')
    statements = parse_request(body.get("query"), body.get("subdict"))
    limit = settings.SQLQUERY_ROW_LIMIT

    def collect(columns: Columns, chunks: Iterator[list[tuple]]) -> tuple[Columns, list[list[tuple]]]:
        kept: list[list[tuple]] = []
        count = 0
        for chunk in chunks:
            count += len(chunk)
            if count > limit:
                raise QueryError(
                    f"the query returns more than {limit:,} rows, the limit of /db/runsqlquery/: add a LIMIT, "
                    "or submit it as a long query to /db/submitsqlquery/ (sql_query_tom_db.py --async), "
                    "which has no row limit"
                )
            kept.append(chunk)
        return columns, kept

    with Session(roles.role_for(user), settings.SQLQUERY_STATEMENT_TIMEOUT, f"tom_desc-sqlquery u{user.pk}") as session:
        columns, chunks = session.execute(statements, collect)
    return encode_rows(columns, chunks)


def encode_rows(columns: Columns, chunks: list[list[tuple]]) -> Iterator[bytes]:
    """b'{"status":"ok","rows":[{...},...]}' in pieces, one per chunk of rows (each dropped once
    sent); together the bytes of dumps({"status": "ok", "rows": [dict(zip(names, row)), ...]}).
    (Encoding a column at a time and formatting rows from a template was tried: slower than
    orjson on a dict per row.)"""
    names = columns.names
    yield b'{"status":"ok","rows":['
    separator = b""
    while chunks:
        chunk = chunks.pop(0)
        if chunk:
            yield separator + dumps([dict(zip(names, row)) for row in chunk])[1:-1]
            separator = b","
    yield b"]}"
