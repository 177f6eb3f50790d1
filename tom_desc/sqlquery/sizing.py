"""How many rows to hold at once: rows are counted in bytes, from the result's column types.

libpq's chunked mode (psycopg's stream(size=n)) hands over n rows at a time and holds
them all until then, so n decides the memory a chunk takes, and must be chosen before the
first row arrives. The server describes the statement first (runner.describe): each
column's type gives the most bytes one value can take in text form (an int8 is at most 20
characters, a varchar(40) at most 160 bytes), and a column of unbounded width (text,
bytea, json, arrays, numeric) is counted as UNBOUNDED_FIELD_BYTES. n is then FETCH_BYTES
divided by the row's width, between 1 and MAX_CHUNK_ROWS.

So a chunk of narrow rows holds thousands of rows, and a chunk of rows with a text column
a few dozen: 300 rows of 1 MB arrive about 30 at a time, not all at once. Values far above
UNBOUNDED_FIELD_BYTES make a chunk proportionally bigger; the byte caps of the answers
(runsqlquery, long queries) bound what is kept beyond one chunk.

Small chunks cost libpq and psycopg almost nothing (the per-chunk cost disappears above a
dozen rows), but the work after them (encoding a JSON piece, building Arrow arrays) has a
cost per batch. rebatch() therefore joins chunks into batches of about BATCH_BYTES, measured
on the rows themselves (the lengths of their unbounded values, the widths of the rest, and
Python's own overhead per row and value): a batch holds 100,000 short rows or 8 of 1 MB.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlquery import encoding as enc

FETCH_BYTES = 8 * 1024 * 1024  # a chunk from the server, estimated
MAX_CHUNK_ROWS = 5000
UNBOUNDED_FIELD_BYTES = 256 * 1024
FIELD_OVERHEAD = 16  # libpq keeps a length and a pointer per value
BATCH_BYTES = 8 * 1024 * 1024  # rows handed on at once, measured
MAX_BATCH_ROWS = 100_000
PYTHON_ROW_BYTES, PYTHON_VALUE_BYTES = 56, 40  # a tuple, and a value object with its pointer

# Most bytes of one value in text form (what psycopg receives).
TEXT_WIDTHS = {
    enc.BOOL: 1,
    enc.CHAR: 1,
    enc.INT2: 6,
    enc.INT4: 11,
    enc.INT8: 20,
    enc.OID: 10,
    enc.FLOAT4: 15,
    enc.FLOAT8: 24,
    enc.DATE: 13,
    enc.TIME: 15,
    enc.TIMESTAMP: 29,
    enc.TIMESTAMPTZ: 35,
    enc.INTERVAL: 80,
    enc.UUID: 36,
    enc.NAME: 64,
}


@dataclass
class Columns:
    """A result's column names, type OIDs and most bytes per value (None: unbounded)."""

    names: list[str] = field(default_factory=list)
    type_oids: list[int] = field(default_factory=list)
    widths: list[int | None] | None = None

    def row_bytes(self) -> int:
        """The most bytes one row can take, counting an unbounded value as UNBOUNDED_FIELD_BYTES."""
        widths = self.widths if self.widths is not None else [None] * len(self.names)
        return sum((UNBOUNDED_FIELD_BYTES if w is None else w) + FIELD_OVERHEAD for w in widths) or FIELD_OVERHEAD


def value_width(type_oid: int, type_mod: int) -> int | None:
    """Most bytes of a value of this type in text form; None when the type does not bound it."""
    if type_oid in TEXT_WIDTHS:
        return TEXT_WIDTHS[type_oid]
    if type_oid in (enc.VARCHAR, enc.BPCHAR) and type_mod > 4:
        return (type_mod - 4) * 4  # characters, up to 4 bytes each in UTF-8
    if type_oid == enc.NUMERIC and type_mod > 4:
        return ((type_mod - 4) >> 16) + 3  # digits, sign and point
    return None


def columns_of(result, encoding: str) -> Columns:
    """Columns from a libpq result describing a statement (PQdescribePrepared)."""
    count = result.nfields
    oids = [result.ftype(i) for i in range(count)]
    return Columns(
        [result.fname(i).decode(encoding) for i in range(count)],
        oids,
        [value_width(oid, result.fmod(i)) for i, oid in enumerate(oids)],
    )


def chunk_rows(columns: Columns, budget: int = FETCH_BYTES) -> int:
    """Rows per chunk so that a chunk takes about `budget` bytes."""
    return max(1, min(MAX_CHUNK_ROWS, budget // columns.row_bytes()))


def _measurer(type_oid: int):
    """How to measure a column of unbounded values: text and bytes by their length; JSON and
    arrays by their JSON text (psycopg makes nested lists and dicts, whose shallow size would
    hide their contents); anything else (numeric, ...) by the object's own size."""
    if type_oid in enc.STRINGS or type_oid == enc.BYTEA:
        return lambda values: sum(map(len, filter(None, values)))
    if type_oid in (enc.JSON, enc.JSONB) or type_oid in enc.ARRAYS:
        return lambda values: sum(len(enc.dumps(v)) for v in values if v is not None)
    return lambda values: sum(map(sys.getsizeof, values))


def rebatch(columns: Columns, chunks: Iterator[list[tuple]], budget: int = BATCH_BYTES) -> Iterator[list[tuple]]:
    """The rows of `chunks` in lists of about `budget` bytes (or MAX_BATCH_ROWS rows), measured."""
    widths = columns.widths if columns.widths is not None else [None] * len(columns.names)
    oids = columns.type_oids or [0] * len(widths)
    unbounded = [(i, _measurer(oids[i])) for i, w in enumerate(widths) if w is None]
    per_row = PYTHON_ROW_BYTES + sum(PYTHON_VALUE_BYTES + (w or 0) for w in widths)
    batch: list[tuple] = []
    size = 0
    for chunk in chunks:
        batch.extend(chunk)
        size += len(chunk) * per_row
        for index, measure in unbounded:
            size += measure([row[index] for row in chunk])
        if size >= budget or len(batch) >= MAX_BATCH_ROWS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
