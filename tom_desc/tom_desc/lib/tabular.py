"""Tables as the files astronomers' tools read: CSV, ECSV, VOTable and Parquet, written a chunk
of rows at a time so that a big result is streamed, never held whole.

Why these four: CSV for spreadsheets and pandas; ECSV (astropy's text format) and VOTable
(TOPCAT, the Virtual Observatory) carry each column's type, unit, description and UCD, so
``Table.read`` and TOPCAT need no guessing; Parquet is small and typed, and read by pandas,
pyarrow and astropy alike. The REST API's ``format=`` (elasticc/api/renderers.py) and the long
queries' result files (sqlquery/results.py) both write through here, so a column looks the same
whichever road it took.

A writer is made from the columns (name, kind, unit, description, UCD) and table-wide metadata,
then gives bytes: ``head()``, ``rows(chunk)`` for each chunk of row tuples, ``tail()``. Kinds:
int16/int32/int64, float32/float64, bool, string, timestamp (aware datetimes, UTC), timestamp_naive,
date, time, binary, json (lists and dicts, written as JSON text in the text formats), and
``list:<kind>`` (a list of numbers: Parquet lists, JSON text elsewhere).

Nulls: an empty cell in CSV and ECSV, an empty ``<TD/>`` in VOTable, a null in Parquet; astropy
reads them back as masked values, except a VOTable text cell, which astropy reads as an empty
string (TOPCAT as null). Imports no app (tom_desc/lib).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

NUMERIC = {"int16", "int32", "int64", "float32", "float64"}
VOTABLE_TYPES = {
    "int16": "short",
    "int32": "int",
    "int64": "long",
    "float32": "float",
    "float64": "double",
    "bool": "boolean",
}
# Not allowed in XML 1.0 at all, even escaped: replaced by U+FFFD in VOTable cells.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Column:
    """One column of a table and what it means."""

    name: str
    kind: str = "string"
    unit: str | None = None
    description: str | None = None
    ucd: str | None = None


def kind_of_value(value: Any) -> str | None:
    """The kind a Python value suggests (None for None): for tables built without a schema."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, dt.datetime):
        return "timestamp" if value.tzinfo else "timestamp_naive"
    if isinstance(value, (list, dict, tuple)):
        return "json"
    return "string"


def infer_columns(names: Sequence[str], rows: Iterable[Sequence]) -> list[Column]:
    """Columns whose kinds are read off the first non-null value of each (string if none)."""
    kinds: list[str | None] = [None] * len(names)
    for row in rows:
        for i, value in enumerate(row):
            if kinds[i] is None:
                kinds[i] = kind_of_value(value)
        if all(kinds):
            break
    return [Column(name, kind or "string") for name, kind in zip(names, kinds)]


# ---- cells of the text formats -------------------------------------------------------------


def iso_timestamp(value: dt.datetime) -> str:
    """ISO 8601, UTC written as +00:00 (the SQL interface's form, docs/sqlquery.md)."""
    return value.isoformat()


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def cell_formatter(kind: str, timestamp: Callable[[Any], str] = iso_timestamp) -> Callable[[Any], str]:
    """Non-null value -> its text in CSV/ECSV (booleans are fixed per format by the caller)."""
    if kind in ("float32", "float64"):
        return lambda v: _float_text(float(v))
    if kind in ("int16", "int32", "int64"):
        return lambda v: str(int(v))
    if kind in ("timestamp", "timestamp_naive", "date", "time"):
        return lambda v: v if isinstance(v, str) else timestamp(v) if isinstance(v, dt.datetime) else v.isoformat()
    if kind == "json" or kind.startswith("list:"):
        return lambda v: v if isinstance(v, str) else _json_text(v)
    if kind == "binary":
        return lambda v: base64.b64encode(bytes(v)).decode("ascii")
    return str


class Writer:
    """Bytes of one table format, chunk by chunk (see the module docstring)."""

    media_type = "application/octet-stream"
    extension = "bin"

    def __init__(self, columns: Sequence[Column], meta: dict | None = None, timestamp=iso_timestamp):
        self.columns = list(columns)
        self.meta = dict(meta or {})
        self.timestamp = timestamp

    def head(self) -> bytes:
        return b""

    def rows(self, chunk: Sequence[Sequence]) -> bytes:
        raise NotImplementedError

    def tail(self) -> bytes:
        return b""

    def stream(self, chunks: Iterable[Sequence[Sequence]]) -> Iterable[bytes]:
        """head, each chunk, tail; empty pieces are skipped."""
        for piece in self._pieces(chunks):
            if piece:
                yield piece

    def _pieces(self, chunks):
        yield self.head()
        for chunk in chunks:
            yield self.rows(chunk)
        yield self.tail()


class _CsvLike(Writer):
    """CSV rows through the csv module, booleans as `true_false`."""

    true_false = ("true", "false")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.formatters = []
        for column in self.columns:
            if column.kind == "bool":
                t, f = self.true_false
                self.formatters.append(lambda v, t=t, f=f: t if v else f)
            else:
                self.formatters.append(cell_formatter(column.kind, self.timestamp))
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\n")

    def _take(self) -> bytes:
        out = self._text.getvalue().encode()
        self._text.seek(0)
        self._text.truncate()
        return out

    def header_row(self) -> bytes:
        self._csv.writerow([c.name for c in self.columns])
        return self._take()

    def rows(self, chunk):
        formatters = self.formatters
        self._csv.writerows(["" if v is None else fmt(v) for v, fmt in zip(row, formatters)] for row in chunk)
        return self._take()


class CsvWriter(_CsvLike):
    media_type = "text/csv"
    extension = "csv"

    def head(self):
        return self.header_row()


def _yaml(value: Any) -> str:
    """A YAML flow scalar: JSON strings and numbers are YAML."""
    return json.dumps(value, ensure_ascii=False)


def ecsv_datatype(kind: str) -> str:
    return kind if kind in NUMERIC or kind == "bool" else "string"


def astropy_header(columns: Sequence[Column], meta: dict, prefix: str = "") -> list[str]:
    """The YAML header astropy reads in ECSV files (each line after "# ") and in Parquet files
    (key table_meta_yaml): every column's datatype, unit, description and UCD, then `meta`."""
    lines = ["datatype:"]
    for c in columns:
        parts = [f"name: {_yaml(c.name)}", f"datatype: {ecsv_datatype(c.kind)}"]
        if c.unit:
            parts.append(f"unit: {_yaml(c.unit)}")
        if c.description:
            parts.append(f"description: {_yaml(c.description)}")
        if c.ucd:
            parts.append(f"meta: {{ucd: {_yaml(c.ucd)}}}")
        lines.append("- {" + ", ".join(parts) + "}")
    if meta:
        lines.append("meta:")
        lines += [f"  {_yaml(str(k))}: {_yaml(v)}" for k, v in meta.items()]
    return [prefix + line for line in lines]


class EcsvWriter(_CsvLike):
    """astropy's Enhanced CSV (ECSV 1.0), comma-delimited: ``Table.read(path)`` (or
    ``format="ascii.ecsv"``) gives typed, masked columns with their units."""

    media_type = "text/x-ecsv"  # no registered type; text/ so that browsers show it
    extension = "ecsv"
    true_false = ("True", "False")

    def head(self):
        lines = ["# %ECSV 1.0", "# ---", *astropy_header(self.columns, self.meta, "# ")]
        lines += ["# delimiter: ','", "# schema: astropy-2.0"]
        return ("\n".join(lines) + "\n").encode() + self.header_row()


def _xml_text(value: str) -> str:
    return escape(XML_ILLEGAL.sub("\ufffd", value))


def _xml_attr(value: str) -> str:
    return quoteattr(XML_ILLEGAL.sub("\ufffd", value))


class VOTableWriter(Writer):
    """VOTable 1.4 with TABLEDATA: FIELDs with datatype, unit, UCD and DESCRIPTION; INFOs for the
    table-wide metadata. TOPCAT and astropy.io.votable read it."""

    media_type = "application/x-votable+xml"
    extension = "vot"

    def __init__(self, *args, name: str = "results", description: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = name
        self.description = description
        self.formatters = [self._formatter(c.kind) for c in self.columns]

    def _formatter(self, kind: str):
        if kind == "bool":
            return lambda v: "T" if v else "F"
        if kind in ("float32", "float64"):
            return lambda v: "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf") if math.isinf(v) else repr(v)
        text = cell_formatter(kind, self.timestamp)
        if kind in NUMERIC:
            return text
        return lambda v: _xml_text(text(v))

    def _field(self, c: Column) -> str:
        attrs = f"name={_xml_attr(c.name)}"
        if c.kind in VOTABLE_TYPES:
            attrs += f' datatype="{VOTABLE_TYPES[c.kind]}"'
        else:
            attrs += ' datatype="unicodeChar" arraysize="*"'
            if c.kind in ("timestamp", "timestamp_naive"):
                attrs += ' xtype="timestamp"'
        if c.unit:
            attrs += f" unit={_xml_attr(c.unit)}"
        if c.ucd:
            attrs += f" ucd={_xml_attr(c.ucd)}"
        if not c.description:
            return f"<FIELD {attrs}/>"
        return f"<FIELD {attrs}><DESCRIPTION>{_xml_text(c.description)}</DESCRIPTION></FIELD>"

    def head(self):
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">',
            '<RESOURCE type="results">',
            '<INFO name="QUERY_STATUS" value="OK"/>',
            *(f"<INFO name={_xml_attr(str(k))} value={_xml_attr(str(v))}/>" for k, v in self.meta.items()),
            f"<TABLE name={_xml_attr(self.name)}>",
        ]
        if self.description:
            parts.append(f"<DESCRIPTION>{_xml_text(self.description)}</DESCRIPTION>")
        parts += [self._field(c) for c in self.columns]
        parts.append("<DATA><TABLEDATA>")
        return ("\n".join(parts) + "\n").encode()

    def rows(self, chunk):
        formatters = self.formatters
        out = []
        for row in chunk:
            cells = "".join("<TD/>" if v is None else f"<TD>{fmt(v)}</TD>" for v, fmt in zip(row, formatters))
            out.append(f"<TR>{cells}</TR>\n")
        return "".join(out).encode()

    def tail(self):
        return b"</TABLEDATA></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n"


def arrow_type(kind: str):
    import pyarrow as pa

    simple = {
        "int16": pa.int16(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "float32": pa.float32(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "timestamp_naive": pa.timestamp("us"),
        "date": pa.date32(),
        "time": pa.time64("us"),
        "binary": pa.binary(),
    }
    if kind.startswith("list:"):
        return pa.list_(arrow_type(kind[5:]))
    return simple.get(kind, pa.string())  # string and json (JSON text)


def kind_of_arrow(arrow) -> str:
    """The kind of a pyarrow type (the inverse of ``arrow_type``; string for what it does not map),
    for tables typed by Arrow rather than by a schema (the long queries' result columns)."""
    import pyarrow as pa

    if pa.types.is_list(arrow):
        return "list:" + kind_of_arrow(arrow.value_type)
    if pa.types.is_timestamp(arrow):
        return "timestamp" if arrow.tz else "timestamp_naive"
    for kind in ("int16", "int32", "int64", "float32", "float64", "bool", "date", "time", "binary"):
        if arrow == arrow_type(kind):
            return kind
    return "string"


def parquet_metadata(columns: Sequence[Column], meta: dict, text_lengths: dict[str, int]) -> dict[str, str]:
    """The Parquet key-value metadata through which astropy's ``Table.read`` gets units,
    descriptions and UCDs (``table_meta_yaml``) and the longest text of each string column
    (``table::len::<name>``: astropy sizes its text columns from these and cannot read a null
    text value without them). Written in the footer, so a file written with the Arrow schema
    stored (``store_schema``) would hide it: writers pass ``store_schema=False``."""
    metadata = {"table_meta_yaml": "\n".join(astropy_header(columns, meta)) + "\n"}
    return metadata | {f"table::len::{name}": str(max(length, 1)) for name, length in text_lengths.items()}


class _Sink:
    """A write-only file for pyarrow whose bytes are taken as they come (streamed, not kept)."""

    closed = False

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        data = bytes(data)
        self.parts.append(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts = []
        return out


class ParquetWriter(Writer):
    """Parquet, one row group per chunk, written as it comes. Units, descriptions and UCDs go
    into the file's key-value metadata in astropy's form (``table_meta_yaml``, and
    ``table::len::<name>`` for text columns), so ``astropy.table.Table.read`` attaches them;
    pandas and pyarrow read the file as usual. That metadata is written in the footer, at the end
    (text lengths are known only then), which is why the Arrow schema itself is not stored
    (``store_schema=False``; Parquet's own logical types keep every column's type)."""

    media_type = "application/vnd.apache.parquet"
    extension = "parquet"

    def __init__(self, *args, sink=None, **kwargs):
        import pyarrow as pa
        import pyarrow.parquet as pq

        super().__init__(*args, **kwargs)
        if not self.columns:
            raise ValueError("Parquet needs at least one column")
        self.sink = sink if sink is not None else _Sink()
        self.schema = pa.schema([pa.field(c.name, arrow_type(c.kind)) for c in self.columns])
        self.converters = [self._converter(c.kind) for c in self.columns]
        self.text_lengths = {c.name: 0 for c in self.columns if arrow_type(c.kind) == pa.string()}
        strings = [c.name for c in self.columns if c.name in self.text_lengths]
        self.rows_written = 0
        self._writer = pq.ParquetWriter(
            self.sink, self.schema, compression="zstd", use_dictionary=strings or False, store_schema=False
        )

    @staticmethod
    def _converter(kind: str):
        """Value -> what pyarrow takes for the column (None: the value as it is)."""
        if kind == "json":
            return lambda v: v if isinstance(v, str) else _json_text(v)
        if kind == "binary":
            return bytes
        if kind == "string":
            return lambda v: v if isinstance(v, str) else str(v)
        return None

    def _bytes(self) -> bytes:
        return self.sink.take() if isinstance(self.sink, _Sink) else b""

    def rows(self, chunk):
        import pyarrow as pa

        if not chunk:
            return b""
        arrays = []
        for index, (column, convert) in enumerate(zip(self.columns, self.converters)):
            values = [row[index] for row in chunk]
            if convert is not None:
                values = [None if v is None else convert(v) for v in values]
            if column.name in self.text_lengths:
                longest = max((len(v) for v in values if v is not None), default=0)
                self.text_lengths[column.name] = max(self.text_lengths[column.name], longest)
            arrays.append(pa.array(values, type=self.schema.field(index).type))
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.rows_written += len(chunk)
        return self._bytes()

    def tail(self):
        if self.rows_written == 0:
            self._writer.write_table(self.schema.empty_table())
        self._writer.add_key_value_metadata(parquet_metadata(self.columns, self.meta, self.text_lengths))
        self._writer.close()
        return self._bytes()


WRITERS: dict[str, type[Writer]] = {
    "csv": CsvWriter,
    "ecsv": EcsvWriter,
    "votable": VOTableWriter,
    "parquet": ParquetWriter,
}
