"""Writing a long query's rows to a file with bounded memory and a bounded size.

Rows arrive in batches measured in bytes (sqlquery.sizing: about BATCH_BYTES each, whatever
their width). Each writer turns a batch into bytes at once and keeps nothing of it
afterwards, except Parquet, which gathers Arrow batches into a row group of at most
ROW_GROUP_BYTES, and pandas, which must hold the whole frame (capped by SQLQUERY_PANDAS_MB).

A file that would grow past SQLQUERY_LONG_RESULT_MB stops the query with an error (the
runner removes the partial file): a long query's result is whole or absent.

Formats: csv (a header row, the row number first as pandas writes it, then the values as
docs/sqlquery.md says), parquet, json (JSON lines), pandas (a pickled pandas DataFrame, as the
original site produced: written here, never read by the site; the client unpickles it, so it
must trust the server), ecsv and votable (astropy's and TOPCAT's typed text formats).

Units: ECSV and VOTable headers and the Parquet file's metadata give each result column whose
name is a known column (elasticc/units.py, the one home of units, either campaign's spelling:
``psFlux``, ``psflux``) its unit, description and UCD, so ``Table.read`` and TOPCAT need no
guessing; a computed column with a name of its own gets none. The match is by name only (SQL
may rename anything), so ``SELECT 1 AS ra`` is labelled degrees: name columns for what they hold.
The writers of those three formats are the REST API's (tom_desc/lib/tabular.py), so a column
looks the same in a long query's file and in a ``format=`` list.

VOTable is written in bounded memory too: TABLEDATA is one ``<TR>`` per row, so the writer
emits the header, then each batch's rows, then the closing tags (astropy's own writer would need
the whole table in memory first).
"""

from __future__ import annotations

import csv
import decimal
import io
import pickle
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from elasticc import units
from sqlquery import encoding as enc
from sqlquery.encoding import arrow_column, csv_converter, dumps
from sqlquery.request import QueryError
from sqlquery.sizing import Columns
from tom_desc.lib import tabular

MB = 1024 * 1024
ROW_GROUP_BYTES = 32 * MB  # Arrow bytes gathered into one Parquet row group

EXTENSIONS = {
    "csv": "csv",
    "parquet": "parquet",
    "json": "jsonl",
    "pandas": "pkl",
    "ecsv": tabular.EcsvWriter.extension,
    "votable": tabular.VOTableWriter.extension,
}
CONTENT_TYPES = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/x-ndjson",
    "pandas": "application/octet-stream",  # what the original's clients check for
    "ecsv": tabular.EcsvWriter.media_type + "; charset=utf-8",
    "votable": tabular.VOTableWriter.media_type + "; charset=utf-8",
}


def _too_big(size: int) -> QueryError:
    return QueryError(
        f"the result file passed {settings.SQLQUERY_LONG_RESULT_MB:,} MB ({size / MB:,.0f} MB written), the limit of "
        "long queries: select fewer rows or columns, or split the query (for example by a range of ids)",
        kind="limit",
    )


class _Counted:
    """A binary file that refuses to grow past the long-query size limit."""

    def __init__(self, path: Path):
        self.out = open(path, "wb")  # noqa: SIM115 (closed by the writer's with block)
        self.size = 0
        self.limit = settings.SQLQUERY_LONG_RESULT_MB * MB

    def write(self, data) -> None:
        self.size += memoryview(data).nbytes
        if self.size > self.limit:
            raise _too_big(self.size)
        self.out.write(data)

    def __enter__(self) -> _Counted:
        return self

    def __exit__(self, *exc) -> None:
        self.out.close()


def write_csv(path: Path, columns: Columns, chunks: Iterator[list[tuple]]) -> int:
    """CSV as the original site's DataFrame.to_csv wrote it: a first, unnamed column holding the
    row number from 0 (its scripts read it back with pandas.read_csv(..., index_col=0)), then
    the values (docs/sqlquery.md, "Value encoding")."""
    converters = [csv_converter(oid) for oid in columns.type_oids]
    convert = [(i, c) for i, c in enumerate(converters) if c is not None]
    count = 0
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    with _Counted(path) as out:
        writer.writerow(["", *columns.names])
        for chunk in chunks:
            if not chunk:
                continue
            numbers = range(count, count + len(chunk))
            if convert:  # column by column: one comprehension per converted column, not a call per cell
                cols = list(zip(*chunk))
                for index, converter in convert:
                    cols[index] = [None if v is None else converter(v) for v in cols[index]]
                writer.writerows(zip(numbers, *cols))
            else:
                writer.writerows((number, *row) for number, row in zip(numbers, chunk))
            count += len(chunk)
            out.write(text.getvalue().encode())
            text.seek(0)
            text.truncate()
        out.write(text.getvalue().encode())  # the header of an empty result
    return count


def _arrow_batches(columns: Columns, chunks: Iterator[list[tuple]]):
    """(schema, iterator of (RecordBatch, rows)): each chunk becomes Arrow arrays at once, so
    Python objects exist for one chunk only."""
    import pyarrow as pa

    kinds = [arrow_column(oid) for oid in columns.type_oids]
    schema = pa.schema([pa.field(name, kind[0]) for name, kind in zip(columns.names, kinds)])

    def batches():
        for chunk in chunks:
            if not chunk:
                continue
            arrays = []
            for index, (arrow_type, convert) in enumerate(kinds):
                values = [row[index] for row in chunk]
                if convert is not None:
                    values = [None if v is None else convert(v) for v in values]
                arrays.append(pa.array(values, type=arrow_type))
            yield pa.RecordBatch.from_arrays(arrays, schema=schema), len(chunk)

    return schema, kinds, batches()


def described_columns(columns: Columns) -> list[tabular.Column]:
    """The result's columns as the table writers take them: the kind of each from its PostgreSQL
    type (through its Arrow type, encoding.arrow_column), and the unit, description and UCD of a
    known column name (elasticc/units.py; see the module docstring)."""
    out = []
    for name, oid in zip(columns.names, columns.type_oids):
        kind = tabular.kind_of_arrow(arrow_column(oid)[0])
        found = units.info(name)
        if found is None:
            out.append(tabular.Column(name, kind))
        else:
            out.append(tabular.Column(name, kind, found.unit, found.description, found.ucd))
    return out


def write_parquet(path: Path, columns: Columns, chunks: Iterator[list[tuple]]) -> int:
    """Arrow batches gathered into row groups of at most ROW_GROUP_BYTES (in memory); units and
    descriptions in the footer's metadata (tabular.parquet_metadata, as the REST files)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not columns.names:
        raise QueryError("the last statement returns no columns; Parquet needs at least one")
    schema, kinds, batches = _arrow_batches(columns, chunks)
    # Dictionary encoding only for text: for numbers it keeps a dictionary per column in
    # memory and seldom makes the file smaller.
    text_columns = [name for name, kind in zip(columns.names, kinds) if kind[0] == pa.string()]
    text_lengths = dict.fromkeys(text_columns, 0)
    limit = settings.SQLQUERY_LONG_RESULT_MB * MB
    count = 0
    pending: list = []
    pending_rows = pending_bytes = 0
    # store_schema=False: a stored Arrow schema would hide the footer's metadata from readers
    # (Parquet's own logical types still give every column its type, time zone included).
    with pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=text_columns, store_schema=False) as writer:

        def flush():
            writer.write_table(pa.Table.from_batches(pending, schema=schema), row_group_size=pending_rows)
            size = path.stat().st_size
            if size > limit:
                raise _too_big(size)

        for batch, rows in batches:
            for name in text_columns:
                longest = pc.max(pc.utf8_length(batch.column(name))).as_py() or 0
                text_lengths[name] = max(text_lengths[name], longest)
            pending.append(batch)
            pending_rows += rows
            pending_bytes += batch.nbytes
            count += rows
            if pending_bytes >= ROW_GROUP_BYTES:
                flush()
                pending, pending_rows, pending_bytes = [], 0, 0
        if pending:
            flush()
        if count == 0:
            writer.write_table(schema.empty_table())
        writer.add_key_value_metadata(tabular.parquet_metadata(described_columns(columns), {}, text_lengths))
    return count


def _write_table(writer: tabular.Writer, path: Path, columns: Columns, chunks: Iterator[list[tuple]]) -> int:
    """A tabular writer's file, a batch at a time: values are first made what the writer takes
    (numeric as its exact text, an interval in seconds, JSON as its text: encoding.arrow_column's
    converters, the same values as in Parquet)."""
    repeated = sorted({name for name in columns.names if columns.names.count(name) > 1})
    if repeated:  # astropy and TOPCAT refuse such a table: say so now, not when it is read
        raise QueryError(
            f"ECSV and VOTable need distinct column names, and these repeat: {', '.join(repeated)} "
            "(rename them with AS)"
        )
    convert = [(i, c) for i, (_, c) in enumerate(arrow_column(oid) for oid in columns.type_oids) if c is not None]
    count = 0
    with _Counted(path) as out:
        out.write(writer.head())
        for chunk in chunks:
            if not chunk:
                continue
            if convert:
                cols = list(zip(*chunk))
                for index, converter in convert:
                    cols[index] = [None if v is None else converter(v) for v in cols[index]]
                chunk = list(zip(*cols))
            out.write(writer.rows(chunk))
            count += len(chunk)
        out.write(writer.tail())
    return count


def write_ecsv(path: Path, columns: Columns, chunks: Iterator[list[tuple]]) -> int:
    """ECSV: the YAML header (types, units, descriptions), then CSV rows; timestamps as in JSON."""
    writer = tabular.EcsvWriter(described_columns(columns), timestamp=enc.iso_text)
    return _write_table(writer, path, columns, chunks)


def write_votable(path: Path, columns: Columns, chunks: Iterator[list[tuple]]) -> int:
    """VOTable with TABLEDATA, streamed (see the module docstring)."""
    writer = tabular.VOTableWriter(described_columns(columns), name="sqlquery", timestamp=enc.iso_text)
    return _write_table(writer, path, columns, chunks)


def write_json_lines(path: Path, columns: Columns, chunks: Iterator[list[tuple]]) -> int:
    names = columns.names
    count = 0
    with _Counted(path) as out:
        for chunk in chunks:
            out.write(b"".join(dumps(dict(zip(names, row))) + b"\n" for row in chunk))
            count += len(chunk)
    return count


def write_pandas(path: Path, columns: Columns, chunks: Iterator[list[tuple]]) -> int:
    """A pickled pandas DataFrame of the rows (pandas.read_pickle reads it), columns typed from
    PostgreSQL's types (numeric as Python Decimal, as psycopg gives it; text as Python str).

    The frame must be whole in memory to be pickled: its Arrow form is capped by
    SQLQUERY_PANDAS_MB (the refusal names Parquet, which pandas.read_parquet reads, for more).
    """
    import pyarrow as pa

    schema, _kinds, batches = _arrow_batches(columns, chunks)
    limit = settings.SQLQUERY_PANDAS_MB * MB
    kept, size, count = [], 0, 0
    for batch, rows in batches:
        kept.append(batch)
        size += batch.nbytes
        count += rows
        if size > limit:
            raise QueryError(
                f"the result is more than the {settings.SQLQUERY_PANDAS_MB:,} MB a pandas DataFrame may take in the "
                f"runner's memory (after {count:,} rows); submit it with format parquet (pandas.read_parquet reads "
                "it) or csv",
                kind="limit",
            )
    frame = pa.Table.from_batches(kept, schema=schema).to_pandas()
    del kept
    for name, oid in zip(columns.names, columns.type_oids):
        if oid == enc.NUMERIC:
            frame[name] = frame[name].map(lambda v: decimal.Decimal(v) if isinstance(v, str) else None).astype(object)
    with _Counted(path) as out:
        pickle.dump(frame, out, protocol=pickle.HIGHEST_PROTOCOL)  # written as it is made
    return count


WRITERS = {
    "csv": write_csv,
    "parquet": write_parquet,
    "json": write_json_lines,
    "pandas": write_pandas,
    "ecsv": write_ecsv,
    "votable": write_votable,
}
