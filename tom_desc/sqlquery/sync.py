"""The answer of /db/runsqlquery/: run the statements now and encode the last one's rows as JSON.

The answer is either whole or an error, never half of one: the rows are encoded to JSON
chunk by chunk while the server sends them, and only the encoded bytes are kept (a few
times smaller than Python's objects for the same rows), counted against
SQLQUERY_ROW_LIMIT rows and SQLQUERY_RESULT_MB megabytes. Past either, the query is
cancelled and the answer is an error; otherwise the kept pieces are sent and dropped one by
one. A web worker therefore holds at most the byte cap plus one chunk (sqlquery.sizing),
whatever the rows are made of.

Two shapes, as in the original (its "format"): 0, {"status": "ok", "rows": [{column: value}]};
1, {"status": "ok", "data": {column: [values]}}.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings

from sqlquery import roles
from sqlquery.encoding import dumps
from sqlquery.request import COLUMNS, QueryError, answer_format, parse_body
from sqlquery.runner import Session
from sqlquery.sizing import Columns
from tom_desc.lib.metrics import count_sql_timeout

MB = 1024 * 1024


class Answer:
    """The JSON pieces of an answer, kept encoded until they are sent."""

    def __init__(self, columns: Columns, shape: int):
        self.names = columns.names
        self.shape = shape
        self.rows = 0
        self.size = 0
        if shape == COLUMNS:
            # Like the rows' objects, a name given to two columns keeps the later one.
            last = {name: index for index, name in enumerate(self.names)}
            self.kept = sorted(last.values())
            self.parts: list[list[memoryview]] = [[] for _ in self.kept]
        else:
            self.parts = [[]]

    def add(self, chunk: list[tuple]) -> None:
        if not chunk:
            return
        if self.shape == COLUMNS:
            for part, index in zip(self.parts, self.kept):
                piece = memoryview(dumps([row[index] for row in chunk]))[1:-1]  # the list's items, not copied
                part.append(piece)
                self.size += len(piece) + 1
        else:
            names = self.names
            piece = memoryview(dumps([dict(zip(names, row)) for row in chunk]))[1:-1]
            self.parts[0].append(piece)
            self.size += len(piece) + 1
        self.rows += len(chunk)

    def pieces(self) -> Iterator[bytes]:
        """The answer's bytes, each piece dropped once handed over."""
        if self.shape == COLUMNS:
            yield b'{"status":"ok","data":{'
            for number, (part, index) in enumerate(zip(self.parts, self.kept)):
                yield (b"," if number else b"") + dumps(self.names[index]) + b":["
                yield from _joined(part)
                yield b"]"
            yield b"}}"
        else:
            yield b'{"status":"ok","rows":['
            yield from _joined(self.parts[0])
            yield b"]}"


def _joined(part: list[memoryview]) -> Iterator[bytes]:
    first = True
    while part:
        piece = part.pop(0)
        if not first:
            yield b","
        yield bytes(piece)  # one piece copied at a time, as the server wants bytes
        first = False


def collect(columns: Columns, chunks: Iterator[list[tuple]], shape: int) -> Answer:
    """Encode the rows as they arrive; refuse more than the row or byte cap."""
    row_limit, byte_limit = settings.SQLQUERY_ROW_LIMIT, settings.SQLQUERY_RESULT_MB * MB
    answer = Answer(columns, shape)
    for chunk in chunks:
        if answer.rows + len(chunk) > row_limit:
            raise QueryError(
                f"the query returns more than {row_limit:,} rows, the limit of /db/runsqlquery/: add a LIMIT, "
                "or submit it as a long query to /db/submitsqlquery/ (sql_query_tom_db.py --async)",
                kind="limit",
            )
        answer.add(chunk)
        if answer.size > byte_limit:
            raise QueryError(
                f"the answer is more than {settings.SQLQUERY_RESULT_MB:,} MB of JSON after {answer.rows:,} rows, "
                "the limit of /db/runsqlquery/: select fewer columns or rows, or submit it as a long query to "
                "/db/submitsqlquery/ (sql_query_tom_db.py --async)",
                kind="limit",
            )
    return answer


def run_sync(user, body) -> Iterator[bytes]:
    """The JSON answer of /db/runsqlquery/ for this body, in pieces; QueryError when it fails."""
    statements = parse_body(body)
    shape = answer_format(body)
    try:
        with Session(
            roles.role_for(user), settings.SQLQUERY_STATEMENT_TIMEOUT, f"tom_desc-sqlquery u{user.pk}"
        ) as session:
            answer = session.execute(statements, lambda columns, chunks: collect(columns, chunks, shape))
    except QueryError as exc:
        if exc.kind == "timeout":
            count_sql_timeout()
        raise
    return answer.pieces()
