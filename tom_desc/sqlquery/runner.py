"""Running user SQL: one transaction, always rolled back, on a connection logged in as a limited role.

What keeps a query in its lane, in order of importance:

1. the connection logs in as elasticc_ro / elasticc_admin_ro (sqlquery.roles), which can
   SELECT from the tables granted to it and create temporary objects, and write nothing
   else: no table, sequence, large object or advisory lock is theirs to write or take;
2. every statement goes through the extended query protocol (psycopg's stream()),
   which accepts exactly one statement, so "SELECT 1; DROP ..." is refused by the server;
3. the transaction is rolled back at the end and the connection closed, so temporary
   tables (which the original's users create with SELECT ... INTO TEMP TABLE and read in
   the next statement) live for one call; after every statement the transaction must
   still be the same one (no COMMIT/ROLLBACK [AND CHAIN] or PREPARE TRANSACTION escapes);
4. time: statement_timeout on the server and a watchdog thread that cancels the
   query from outside at the deadline, which "SET statement_timeout = 0" cannot undo;
5. disk: temp_file_limit on the roles (set by grant_readonly; a user cannot raise it),
   and after every statement the call's temporary tables must stay under
   SQLQUERY_TEMP_TABLE_MB (temp_file_limit does not count them) and temp_buffers /
   temp_tablespaces must be those the call started with;
6. memory: rows arrive in chunks sized from the result's column types to about
   FETCH_BYTES and are handed on in batches measured to about BATCH_BYTES (sqlquery.sizing),
   never the whole result at once.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from psycopg import pq, sql

from sqlquery import roles
from sqlquery.request import QueryError, Statement, refusal
from sqlquery.sizing import Columns, chunk_rows, columns_of, rebatch

T = TypeVar("T")

# psycopg's stream() raises this (a ProgrammingError without SQLSTATE) for a statement
# that ran and returned no result set (SET, CREATE TEMP TABLE ...); any other such error
# (a parameter it cannot send, a bad placeholder) is the user's and must be reported.
NO_RESULT_MESSAGE = "didn't produce a result"

# One round trip after each statement: still our transaction? the settings that bound the
# session unchanged? how big are the call's temporary tables? Every name is schema-qualified:
# a temporary table or view called pg_class would otherwise come first in the search path.
AFTER_STATEMENT_SQL = """
SELECT pg_catalog.transaction_timestamp(), pg_catalog.current_setting('temp_buffers'),
       pg_catalog.current_setting('temp_tablespaces'),
       (SELECT pg_catalog.sum(pg_catalog.pg_total_relation_size(c.oid))::bigint FROM pg_catalog.pg_class c
        WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relkind IN ('r', 'm'))
"""


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
        if NO_RESULT_MESSAGE not in str(exc):
            raise QueryError(f"cannot run the statement: {exc}") from None
    finally:
        rows.close()


def describe(conn: psycopg.Connection, sql: str, params: dict | None) -> Columns:
    """The result columns of a statement, from the server's description of it (no execution).

    Runs in a savepoint: a statement that cannot be described (a syntax error, which running
    it will report) leaves the transaction as it was, with no columns. A parameter psycopg
    cannot send is the user's error and is reported here.
    """
    try:
        text = psycopg.ClientCursor(conn).mogrify(sql, params) if params else sql
    except (psycopg.ProgrammingError, psycopg.DataError, TypeError, ValueError) as exc:
        raise QueryError(f"cannot use the parameters of this statement: {exc}") from None
    with conn.cursor() as cur:
        cur.execute("SAVEPOINT tom_desc_describe")
        result = conn.pgconn.prepare(b"", text.encode(conn.info.encoding))
        if result.status == pq.ExecStatus.COMMAND_OK:
            result = conn.pgconn.describe_prepared(b"")
        if result.status == pq.ExecStatus.COMMAND_OK:
            columns = columns_of(result, conn.info.encoding)
        else:
            _raise_if_stopped(conn, result)
            columns = Columns()
        cur.execute("ROLLBACK TO SAVEPOINT tom_desc_describe")
    return columns


# Errors of classes 57 (operator intervention: cancel, timeout, shutdown), 55P03 (lock timeout)
# and 08 (connection) stop the call; any other error of the description is the statement's,
# and running it reports it.
def _raise_if_stopped(conn: psycopg.Connection, result) -> None:
    encoding = conn.info.encoding
    raw = result.error_field(pq.DiagnosticField.SQLSTATE)
    sqlstate = raw.decode() if raw else ""
    if sqlstate.startswith(("57", "08")) or sqlstate == "55P03":
        message = (result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode(encoding, "replace")
        raise psycopg.errors.lookup(sqlstate)(message)
    if conn.pgconn.status != pq.ConnStatus.OK:  # the server ended the connection
        raise psycopg.OperationalError(result.error_message.decode(encoding, "replace").strip())


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
        # Read-write only so that temporary tables can be created: the role's privileges are
        # the fence (module docstring), and the transaction is always rolled back.
        self.conn.read_only = False
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
        """The user's message for a failed statement, telling a cancel from a timeout."""
        message = (exc.diag.message_primary or str(exc)).strip() if hasattr(exc, "diag") else str(exc)
        message = message or type(exc).__name__
        if self.cancelled:
            return QueryError("the query was cancelled (the runner is shutting down)", kind="cancelled")
        if self.timed_out or "statement timeout" in message:
            return QueryError(
                f"the query ran into the time limit of {self.timeout_s:g} s "
                "(canceling statement due to statement timeout)",
                kind="timeout",
            )
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return QueryError(f"the query was cancelled by a database administrator ({message})", kind="cancelled")
        if isinstance(exc, psycopg.errors.AdminShutdown) or "administrator command" in message:
            return QueryError(
                f"the query's connection was ended by a database administrator ({message})", kind="cancelled"
            )
        if isinstance(exc, psycopg.OperationalError) and self.conn is not None and self.conn.closed:
            return QueryError(
                f"the connection to the database was lost while the query ran ({message}): ended by an "
                "administrator, or the server restarted",
                kind="cancelled",
            )
        if "temp_file_limit" in message:
            return QueryError(
                f"the query needs more temporary disk space (for sorting, hashing ...) than the "
                f"{settings.SQLQUERY_TEMP_FILE_MB:,} MB allowed ({message}); narrow it down or add a LIMIT "
                "inside the subquery that sorts",
                kind="limit",
            )
        return QueryError(message)

    def execute(self, statements: list[Statement], consume: Callable[[Columns, Iterator[list[tuple]]], T]) -> T:
        """Run the statements in one transaction; `consume` gets the last one's columns and its rows,
        as an iterator of lists of row tuples (batches of about BATCH_BYTES, sqlquery.sizing).

        1. note the transaction and the session settings the checks compare with;
        2. for each statement: describe it (its columns size the chunks), stream it (the rows
           of all but the last are read and dropped), then check the transaction, settings
           and temporary tables (after_statement);
        3. roll back (and the connection closes in __exit__).
        """
        assert self.conn is not None
        conn = self.conn
        try:
            with conn.cursor() as cur:
                cur.execute(AFTER_STATEMENT_SQL)
                start = cur.fetchone()
                result: Any = None
                for index, statement in enumerate(statements):
                    problem = refusal(statement.sql)
                    if problem:
                        raise QueryError(problem)
                    columns = describe(conn, statement.sql, statement.params)
                    chunks = stream_chunks(cur, statement.sql, statement.params, size=chunk_rows(columns))
                    try:
                        if index < len(statements) - 1:
                            for _ in chunks:
                                pass
                        else:
                            result = consume(columns, rebatch(columns, chunks))
                            for _ in chunks:
                                pass
                    finally:
                        chunks.close()  # a consumer that stopped early: cancel, leave nothing in flight
                    self.after_statement(cur, start)
            conn.rollback()
            return result
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def after_statement(self, cur: psycopg.Cursor, start: tuple) -> None:
        """Refuse a statement that left the transaction, changed a bounding setting, or made the
        call's temporary tables bigger than SQLQUERY_TEMP_TABLE_MB."""
        assert self.conn is not None
        if self.conn.info.transaction_status != pq.TransactionStatus.INTRANS:
            self._end_prepared_transactions()
            raise QueryError(
                "transaction control (COMMIT, ROLLBACK, PREPARE TRANSACTION ...) is not allowed in queries"
            )
        cur.execute(AFTER_STATEMENT_SQL)
        now = cur.fetchone()
        if now[0] != start[0]:
            raise QueryError("transaction control (COMMIT/ROLLBACK AND CHAIN, ...) is not allowed in queries")
        for name, before, after in (("temp_buffers", start[1], now[1]), ("temp_tablespaces", start[2], now[2])):
            if before != after:
                raise QueryError(
                    f"{name} bounds the server's memory and disk for every user: it cannot be changed here"
                )
        limit_mb = settings.SQLQUERY_TEMP_TABLE_MB
        if now[3] and now[3] > limit_mb * 1024 * 1024:
            raise QueryError(
                f"the temporary tables of this call hold {now[3] / 1048576:,.0f} MB, more than the {limit_mb:,} MB "
                "allowed; keep only the rows and columns the next statement needs",
                kind="limit",
            )

    def _end_prepared_transactions(self) -> None:
        """PREPARE TRANSACTION would keep the transaction (and its locks) after the connection
        closes, on servers that allow prepared transactions: roll back every one of this role."""
        assert self.conn is not None
        if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            return
        self.conn.autocommit = True
        rows = self.conn.execute(
            "SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE owner = current_user AND database = current_database()"
        ).fetchall()
        for (gid,) in rows:
            self.conn.execute(sql.SQL("ROLLBACK PREPARED {}").format(sql.Literal(gid)))
