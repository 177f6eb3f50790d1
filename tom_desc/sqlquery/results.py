"""Writing a long query's rows to a file with bounded memory: CSV, Parquet or JSON lines.

Rows arrive as an iterator fed by a streaming cursor; each writer holds at most one
batch (batch_rows(): 65,536 rows, fewer for results of more than 6 columns) at a time,
so the peak memory grows neither with the result's length nor with its width.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from sqlquery.encoding import arrow_column, csv_converter, dumps
from sqlquery.runner import Columns, QueryError

BATCH = 65_536  # rows per batch (and Parquet row group) at most ...
BATCH_CELLS = 400_000  # ... and fewer for wide results, so memory does not grow with the column count


def batch_rows(columns: Columns) -> int:
    return max(1_000, min(BATCH, BATCH_CELLS // max(1, len(columns.names))))


EXTENSIONS = {"csv": "csv", "parquet": "parquet", "json": "jsonl"}
CONTENT_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "json": "application/x-ndjson"}


def _batches(chunks: Iterator[list[tuple]], size: int) -> Iterator[list[tuple]]:
    """Join the server's chunks into batches of at least `size` rows (the last may be smaller)."""
    batch: list[tuple] = []
    for chunk in chunks:
        batch.extend(chunk)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_csv(path: Path, columns: Columns, chunks: Iterator[list[tuple]]) -> int:
    converters = [csv_converter(oid) for oid in columns.type_oids]
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns.names)
        convert = [(i, c) for i, c in enumerate(converters) if c is not None]
        for batch in _batches(chunks, batch_rows(columns)):
            if convert:  # column by column: one map() per converted column, not a call per cell
                cols = list(zip(*batch))
                for index, converter in convert:
                    cols[index] = [None if v is None else converter(v) for v in cols[index]]
                batch = zip(*cols)
            writer.writerows(batch)
            count += len(batch) if isinstance(batch, list) else len(cols[0])
    return count


def write_parquet(path: Path, columns: Columns, chunks: Iterator[list[tuple]]) -> int:
    """Each chunk from the server becomes Arrow arrays at once (so Python objects exist for one
    chunk only); the compact Arrow batches are gathered into row groups of batch_rows() rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not columns.names:
        raise QueryError("the last statement returns no columns; Parquet needs at least one")
    kinds = [arrow_column(oid) for oid in columns.type_oids]
    schema = pa.schema([pa.field(name, kind[0]) for name, kind in zip(columns.names, kinds)])
    group_rows = batch_rows(columns)
    # Dictionary encoding only for text: for numbers it keeps a dictionary per column in
    # memory and seldom makes the file smaller.
    text_columns = [name for name, kind in zip(columns.names, kinds) if kind[0] == pa.string()]
    count = 0
    pending: list = []
    pending_rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=text_columns) as writer:
        for chunk in chunks:
            if not chunk:
                continue
            arrays = []
            for index, (arrow_type, convert) in enumerate(kinds):
                values = [row[index] for row in chunk]
                if convert is not None:
                    values = [None if v is None else convert(v) for v in values]
                arrays.append(pa.array(values, type=arrow_type))
            pending.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
            pending_rows += len(chunk)
            count += len(chunk)
            if pending_rows >= group_rows:
                writer.write_table(pa.Table.from_batches(pending, schema=schema), row_group_size=pending_rows)
                pending, pending_rows = [], 0
        if pending:
            writer.write_table(pa.Table.from_batches(pending, schema=schema), row_group_size=pending_rows)
        if count == 0:
            writer.write_table(schema.empty_table())
    return count


def write_json_lines(path: Path, columns: Columns, chunks: Iterator[list[tuple]]) -> int:
    names = columns.names
    count = 0
    with open(path, "wb") as out:
        for batch in _batches(chunks, batch_rows(columns)):
            out.write(b"".join(dumps(dict(zip(names, row))) + b"\n" for row in batch))
            count += len(batch)
    return count


WRITERS = {"csv": write_csv, "parquet": write_parquet, "json": write_json_lines}
