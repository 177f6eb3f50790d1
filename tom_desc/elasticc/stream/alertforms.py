"""What an alert is made of: the forms `AlertAssembler` (stream/alerts.py) builds alerts in.

Each fetched row becomes a piece once, and an alert is made of the pieces it shares with
the other alerts of its object. `DictForm` gives dicts of the exact Avro shape (the REST
API, tests); `AvroForm` gives the sender's schemaless Avro bytes, joined from encoded rows,
byte for byte what fastavro writes for the whole alert dict (tests check it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

from elasticc.stream.avro import NAMESPACE, Encoder, load_schema


@lru_cache(maxsize=1)
def object_fields() -> tuple[str, ...]:
    """The diaObject fields in schema order; the table has a column of each name."""
    return tuple(f["name"] for f in load_schema(f"{NAMESPACE}.diaObject")["fields"])


def _source_dict(r: tuple) -> dict:
    return {
        "diaSourceId": r[0],
        "diaObjectId": r[1],
        "midPointTai": r[2],
        "filterName": r[3],
        "ra": r[4],
        "decl": r[5],
        "psFlux": r[6],
        "psFluxErr": r[7],
        "snr": r[8],
    }


def _forced_dict(r: tuple) -> dict:
    return {
        "diaForcedSourceId": r[0],
        "diaObjectId": r[1],
        "midPointTai": r[2],
        "filterName": r[3],
        "psFlux": r[4],
        "psFluxErr": r[5],
    }


class AlertForm(Protocol):
    """The pluggable output of `AlertAssembler`: each fetched row becomes a piece once,
    and an alert is made of the pieces it shares with the other alerts of its object."""

    def source_piece(self, row: tuple) -> Any: ...
    def forced_piece(self, row: tuple) -> Any: ...
    def object_piece(self, row: tuple | None) -> Any: ...  # None: the object has no row
    def alert(self, alert_id: int, source: Any, prv: list, forced: list | None, obj: Any) -> Any: ...


class DictForm:
    """Dicts of the exact Avro shape (the REST API, tests); alerts of one object share the row dicts."""

    source_piece = staticmethod(_source_dict)
    forced_piece = staticmethod(_forced_dict)

    @staticmethod
    def object_piece(row: tuple | None) -> dict | None:
        return None if row is None else dict(zip(object_fields(), row, strict=True))

    @staticmethod
    def alert(alert_id: int, source: dict, prv: list, forced: list | None, obj: dict | None) -> dict:
        return {
            "alertId": alert_id,
            "diaSource": source,
            "prvDiaSources": prv,
            "prvDiaForcedSources": forced,
            "diaObject": obj,
        }


# Avro's binary encoding is positional and concatenative: a record is its fields' encodings
# one after the other, a union is the branch index then the value, an array is a count,
# the items, and a 0. So each source, forced source and object is encoded once with
# fastavro, and an alert is the join of the pieces it shares with the other alerts of its
# object -- byte for byte what fastavro writes for the whole alert dict (tests check that),
# at a fraction of the cost when an object has many alerts with long histories.


def _long(n: int) -> bytes:
    """An Avro long: zigzag, then a little-endian base-128 varint."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_NULL_BRANCH, _VALUE_BRANCH, _END_OF_ARRAY = b"\x00", b"\x02", b"\x00"


def _array(items: list[bytes]) -> bytes:
    if not items:
        return _END_OF_ARRAY
    return _long(len(items)) + b"".join(items) + _END_OF_ARRAY


class AvroForm:
    """Schemaless Avro bytes of ``elasticc.v0_9_1.alert`` (the sender), joined from encoded rows."""

    def __init__(self):
        self._source = Encoder(f"{NAMESPACE}.diaSource")
        self._forced = Encoder(f"{NAMESPACE}.diaForcedSource")
        self._object = Encoder(f"{NAMESPACE}.diaObject")

    def source_piece(self, row: tuple) -> bytes:
        return self._source(_source_dict(row))

    def forced_piece(self, row: tuple) -> bytes:
        return self._forced(_forced_dict(row))

    def object_piece(self, row: tuple | None) -> bytes:
        return (
            _NULL_BRANCH if row is None else _VALUE_BRANCH + self._object(dict(zip(object_fields(), row, strict=True)))
        )

    @staticmethod
    def alert(alert_id: int, source: bytes, prv: list[bytes], forced: list[bytes] | None, obj: bytes) -> bytes:
        forced_part = _NULL_BRANCH if forced is None else _VALUE_BRANCH + _array(forced)
        return b"".join((_long(alert_id), source, _VALUE_BRANCH, _array(prv), forced_part, obj))
