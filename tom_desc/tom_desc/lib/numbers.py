"""Number bounds and conversions at the edges: request parameters, JSON answers, Avro floats.

PostgreSQL ``bigint`` and Avro ``long`` are int64: a larger id must be refused at the
edge (a clear 400) rather than reach the database (an error there). JSON has no NaN or
infinity, so values that are not finite leave as null. Fluxes are 4-byte floats in the
tables and on the wire; ``float32`` rounds a Python float the same way.
"""

from __future__ import annotations

import math
import struct

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def is_int64(value) -> bool:
    """An int (not a bool) that fits a PostgreSQL bigint / Avro long."""
    return type(value) is int and INT64_MIN <= value <= INT64_MAX


def finite_or_none(value):
    """A float that is NaN or infinite becomes None; anything else is returned as it is."""
    if type(value) is float and not math.isfinite(value):
        return None
    return value


def finite_tree(value):
    """``finite_or_none`` applied through nested dicts and lists (an alert, say)."""
    if isinstance(value, dict):
        return {k: finite_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_tree(v) for v in value]
    return finite_or_none(value)


def float32(value: float) -> float:
    """`value` rounded to the nearest 4-byte float, as a PostgreSQL ``real`` or an Avro ``float`` holds it."""
    return struct.unpack("<f", struct.pack("<f", value))[0]
