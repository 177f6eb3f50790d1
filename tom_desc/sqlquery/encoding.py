"""How query values become JSON, CSV cells and Parquet columns (docs/sqlquery.md lists the rules).

The same rules hold for /db/runsqlquery/ and for long-query result files:

| PostgreSQL                 | JSON                        | CSV cell                | Parquet             |
|----------------------------|-----------------------------|-------------------------|---------------------|
| NULL                       | null                        | empty                   | null                |
| integers, bool             | number, true/false          | 12, true/false          | int16/32/64, bool   |
| real, double precision     | number; NaN/±Infinity→null  | 0.5, nan, inf, -inf     | float32/float64     |
| numeric                    | string with the exact value | the exact value         | string              |
| text, varchar, char, name  | string                      | the text                | string              |
| timestamptz / timestamp    | ISO 8601 (+00:00 / no zone) | ISO 8601                | timestamp[us]       |
| date, time                 | ISO 8601                    | ISO 8601                | date32, time64[us]  |
| interval                   | seconds (number)            | seconds                 | float64 seconds     |
| bytea                      | base64 string               | base64                  | binary              |
| uuid                       | string                      | string                  | string              |
| json, jsonb                | the JSON value itself       | JSON text               | string (JSON text)  |
| arrays                     | arrays, elements as above   | JSON text               | list or JSON text   |
| anything else              | its text form               | its text form           | string              |
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import ipaddress
import math
from collections.abc import Callable
from typing import Any

import orjson

# PostgreSQL type OIDs (pg_type.oid is fixed for built-in types).
BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT4, TEXT, OID = 16, 17, 18, 19, 20, 21, 23, 25, 26
JSON, FLOAT4, FLOAT8, BPCHAR, VARCHAR, DATE, TIME = 114, 700, 701, 1042, 1043, 1082, 1083
TIMESTAMP, TIMESTAMPTZ, INTERVAL, NUMERIC, UUID, JSONB = 1114, 1184, 1186, 1700, 2950, 3802
ARRAYS = {
    1000: BOOL,
    1005: INT2,
    1007: INT4,
    1016: INT8,
    1021: FLOAT4,
    1022: FLOAT8,
    1009: TEXT,
    1015: VARCHAR,
    1014: BPCHAR,
    1231: NUMERIC,
    1115: TIMESTAMP,
    1185: TIMESTAMPTZ,
}
STRINGS = {TEXT, VARCHAR, BPCHAR, NAME, CHAR}


def json_default(value: Any) -> Any:
    """orjson's hook for what it does not encode itself (it does datetimes, UUIDs, NaN→null)."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(
        value,
        (
            ipaddress.IPv4Address,
            ipaddress.IPv6Address,
            ipaddress.IPv4Network,
            ipaddress.IPv6Network,
            ipaddress.IPv4Interface,
            ipaddress.IPv6Interface,
        ),
    ):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=json_default)


def json_value(value: Any) -> Any:
    """A value as it appears after a JSON round trip (what a client of /db/runsqlquery/ sees)."""
    return orjson.loads(dumps(value))


# --- CSV ----------------------------------------------------------------------------------


def _csv_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _csv_bool(value: bool) -> str:
    return "true" if value else "false"


def _csv_json_text(value: Any) -> str:
    return dumps(value).decode()


def _csv_generic(value: Any) -> str:
    if isinstance(value, bool):
        return _csv_bool(value)
    if isinstance(value, float):
        return _csv_float(value)
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return iso_text(value)
    if isinstance(value, (list, dict)):
        return _csv_json_text(value)
    encoded = json_default(value)
    return encoded if isinstance(encoded, str) else repr(encoded)


def iso_text(value: Any) -> str:
    # orjson writes the same ISO 8601 text as the JSON answers, and ten times faster than isoformat().
    return orjson.dumps(value)[1:-1].decode()


def csv_converter(type_oid: int) -> Callable[[Any], str] | None:
    """A function turning a non-null value of this type into its CSV cell; None if csv's own
    formatting will do (str for text and integers, repr for floats: nan, inf, -inf)."""
    if type_oid in STRINGS or type_oid in (INT2, INT4, INT8, OID, FLOAT4, FLOAT8):
        return None
    if type_oid == BOOL:
        return _csv_bool
    if type_oid in (TIMESTAMP, TIMESTAMPTZ, DATE, TIME):
        return iso_text
    if type_oid == NUMERIC:
        return str
    if type_oid in (JSON, JSONB) or type_oid in ARRAYS:
        return _csv_json_text
    return _csv_generic


# --- Parquet (Arrow) ----------------------------------------------------------------------


def arrow_column(type_oid: int):
    """(pyarrow type, converter or None) for a column of this PostgreSQL type."""
    import pyarrow as pa

    simple = {
        BOOL: pa.bool_(),
        INT2: pa.int16(),
        INT4: pa.int32(),
        INT8: pa.int64(),
        OID: pa.int64(),
        FLOAT4: pa.float32(),
        FLOAT8: pa.float64(),
        DATE: pa.date32(),
        TIME: pa.time64("us"),
        TIMESTAMP: pa.timestamp("us"),
        TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
        BYTEA: pa.binary(),
    }
    if type_oid in STRINGS:
        return pa.string(), None
    if type_oid in simple:
        return simple[type_oid], (bytes if type_oid == BYTEA else None)
    if type_oid == NUMERIC:
        return pa.string(), str
    if type_oid == INTERVAL:
        return pa.float64(), lambda v: v.total_seconds()
    if type_oid in ARRAYS and ARRAYS[type_oid] in simple | dict.fromkeys(STRINGS):
        element = ARRAYS[type_oid]
        return pa.list_(pa.string() if element in STRINGS else simple[element]), None
    if type_oid in (JSON, JSONB) or type_oid in ARRAYS:
        return pa.string(), _csv_json_text
    if type_oid == UUID:
        return pa.string(), str
    return pa.string(), _csv_generic
