"""PostgreSQL binary COPY from numpy columns, without per-row Python.

The loader writes every table of a SNANA pair with it, and the benchmarks fill tables
with it (bench/common.py, bench/bench_load.py), so the encoder lives apart from the
loader's SNANA logic. Text COPY would need a formatted string per value; the binary
format is fixed-width per row layout, so numpy packs whole groups of rows at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_BINARY_DTYPES = {"int8": ">i8", "int4": ">i4", "float8": ">f8", "float4": ">f4", "bool": "?"}
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"


@dataclass
class Column:
    """One column of a COPY: PostgreSQL binary kind, values, and optionally a NULL mask.

    kind is int8/int4/float8/float4/bool or text (values a numpy bytes array). For
    float kinds NaN is NULL unless ``null`` is given.
    """

    name: str
    kind: str
    values: np.ndarray
    null: np.ndarray | None = None

    def null_mask(self) -> np.ndarray | None:
        if self.null is not None:
            return self.null if self.null.any() else None
        if self.kind.startswith("float"):
            mask = np.isnan(self.values)
            return mask if mask.any() else None
        return None


def binary_copy_body(columns: list[Column]) -> bytes:
    """The tuples of a binary COPY (without header and trailer), built by numpy.

    Every row of PostgreSQL's binary format is: int16 field count, then per field an
    int32 byte length (-1 for NULL) and the big-endian value. Rows with the same
    layout (same NULL columns, same text lengths) form one packed numpy structured
    array written in a single ``tobytes()``; rows are grouped by layout (COPY does not
    care about row order). ELAsTiCC rows have one or two layouts, so this is a few
    vectorised passes over the data.
    """
    n = len(columns[0].values)
    if n == 0:
        return b""
    keys, parts = [], []
    for col in columns:
        if col.kind == "text":
            keys.append(np.char.str_len(col.values).astype(np.int64))
        mask = col.null_mask()
        if mask is not None:
            keys.append(mask.astype(np.int64))
    varying = [k for k in keys if k.min() != k.max()]
    if not varying:
        # The common case (no NULLs, one band-name length): one layout, no grouping.
        groups = [(np.array([k[0] for k in keys], dtype=np.int64), None)]
    else:
        # Rows' layouts as fixed-size byte strings (a uint32 per varying key), grouped by np.unique.
        packed = np.ascontiguousarray(np.stack(varying, axis=1).astype(np.uint32))
        code = packed.view(np.dtype((np.void, 4 * len(varying)))).reshape(-1)
        _, first_rows, group_of_row = np.unique(code, return_index=True, return_inverse=True)
        group_of_row = group_of_row.reshape(-1)
        groups = [
            (np.array([k[r] for k in keys], dtype=np.int64), np.flatnonzero(group_of_row == g))
            for g, r in enumerate(first_rows)
        ]
    for layout, rows in groups:
        parts.append(_pack_group(columns, layout, rows, n))
    return b"".join(parts)


def _pack_group(columns: list[Column], layout: np.ndarray, rows: np.ndarray | None, n: int) -> bytes:
    key_iter = iter(layout.tolist())
    fields, values = [("_n", ">i2")], []
    for i, col in enumerate(columns):
        length = None
        if col.kind == "text":
            length = next(key_iter)
        is_null = bool(next(key_iter)) if col.null_mask() is not None else False
        fields.append((f"_l{i}", ">i4"))
        if is_null:
            values.append((i, -1, None, None))
            continue
        if col.kind == "text":
            if length == 0:
                values.append((i, 0, None, None))
                continue
            dtype = f"S{length}"
        else:
            dtype = _BINARY_DTYPES[col.kind]
        fields.append((f"_v{i}", dtype))
        values.append((i, np.dtype(dtype).itemsize, f"_v{i}", col.values if rows is None else col.values[rows]))
    count = n if rows is None else len(rows)
    packed = np.empty(count, dtype=np.dtype(fields))
    packed["_n"] = len(columns)
    for i, length, field_name, data in values:
        packed[f"_l{i}"] = length
        if field_name is not None:
            packed[field_name] = data
    return packed.tobytes()


def copy_binary(cursor, table: str, columns: list[Column]) -> int:
    """COPY the columns into ``table`` (binary format); returns the number of rows."""
    body = binary_copy_body(columns)
    if not body:
        return 0
    names = ", ".join(f'"{c.name}"' for c in columns)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(COPY_HEADER)
        copy.write(body)
        copy.write(COPY_TRAILER)
    return len(columns[0].values)


def copy_binary_staged(cursor, table: str, columns: list[Column]) -> int:
    """COPY through a temporary table and ``INSERT ... ON CONFLICT DO NOTHING``.

    Returns the number of rows actually inserted (the rest already existed).
    """
    if len(columns[0].values) == 0:
        return 0
    stage = f"_load_{table}"
    names = ", ".join(f'"{c.name}"' for c in columns)
    cursor.execute(f"DROP TABLE IF EXISTS {stage}")
    cursor.execute(f"CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS)")
    copy_binary(cursor, stage, columns)
    cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING")
    inserted = cursor.rowcount
    cursor.execute(f"DROP TABLE {stage}")
    return inserted
