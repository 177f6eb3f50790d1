"""Alert construction: the ELAsTiCC alert dicts (exact Avro shape) for a batch of alerts.

Public entry points:

- ``build_alerts(alert_ids, connection=None) -> list[dict]``: the alerts with these
  ``alertId``s, in the order asked, unknown ids left out. Each dict is exactly the
  ``elasticc.v0_9_1.alert`` record that ``send_elasticc_alerts`` streams (``alertId``,
  ``diaSource``, ``prvDiaSources``, ``prvDiaForcedSources``, ``diaObject``): encoding it
  with ``elasticc.stream.avro.encode_alert`` gives the very bytes the sender produces (tests
  check this). This is what ``GET diaalert/<id>/`` should return.
- ``build_alert(alert_id) -> dict | None``: one alert.
- ``build_alerts_for_rows(rows, cursor)`` / ``encode_alerts_for_rows(rows, cursor)``:
  the same from ``AlertRow``s already at hand, as dicts or as schemaless Avro bytes.
- ``AlertStreamEncoder``: the sender's encoder, keeping encoded history between batches.

Floats are what the database holds (4-byte reals for fluxes); Avro writes them as
4-byte floats, so a dict decoded off the wire equals the built one.

An alert is its source, its object, and the object's history as the original
ELAsTiCC TOM built it:

- ``prvDiaSources``: the object's sources earlier than this one, at most
  PRV_SOURCE_DAYS (365) days earlier; an empty list when there are none.
- ``prvDiaForcedSources``: only when this source is more than FORCED_AFTER_FIRST_DAYS
  (0.5) day after the object's first source; then every forced point from
  FORCED_BEFORE_FIRST_DAYS (30) days before that first source up to and including
  this source's time. Otherwise null.

A batch is built with at most four set-based queries, whatever its size (see the
SQL below): the alerts (skipped when the caller already has them, as the sender
does), the objects with each object's first source time, the sources in one time
window per object, and the forced sources in one time window per object. Each
object's history rows are fetched once and sliced per alert (the lists are sorted
by time, so a slice is two bisections).

Two outputs share that fetch: `build_alerts` / `build_alerts_for_rows` give dicts of
the exact Avro shape (the REST API), and `encode_alerts_for_rows` gives the
schemaless Avro bytes the sender produces, encoding each shared row only once.
"""
from __future__ import annotations

import json
import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

from django.db import connection as default_connection

PRV_SOURCE_DAYS = 365.0
FORCED_AFTER_FIRST_DAYS = 0.5
FORCED_BEFORE_FIRST_DAYS = 30.0


class AlertRow(NamedTuple):
    """What the sender's stream of unsent alerts yields: enough to build the alert."""

    alertId: int
    diaObjectId: int
    diaSourceId: int
    midPointTai: float


# --- SQL ------------------------------------------------------------------------------------
# The per-object tables are hash partitioned on "diaObjectId" (16 partitions). Every query
# below joins on "diaObjectId" from an unnested array, so the executor prunes each lookup
# to the one partition that can hold the object (run-time partition pruning).

# Relies on elasticc_diaalert_id ("alertId") in every partition: the REST path knows only
# alert ids, so it probes the index of each partition once per batch.
ALERTS_BY_ID_SQL = """
    SELECT "alertId", "diaObjectId", "diaSourceId", "midPointTai"
    FROM elasticc_diaalert
    WHERE "alertId" = ANY(%(alert_ids)s::bigint[])
"""

# Relies on the primary key of elasticc_diaobject and, for the first source time, on
# elasticc_diasource_obj_time ("diaObjectId", "midPointTai"): min() reads one index entry.
OBJECTS_SQL = """
    SELECT w.oid, first_source.t, {object_columns}
    FROM unnest(%(object_ids)s::bigint[]) AS w(oid)
    LEFT JOIN elasticc_diaobject o ON o."diaObjectId" = w.oid
    CROSS JOIN LATERAL (
        SELECT min(s."midPointTai") AS t FROM elasticc_diasource s WHERE s."diaObjectId" = w.oid
    ) AS first_source
"""

# The window queries probe the index once per object through a LATERAL subquery; OFFSET 0
# keeps the planner from flattening it into a join, which on small tables it would run as
# a hash join over the whole table for every batch. Each probe then touches only the one
# partition that can hold its object (run-time pruning), so a batch costs the rows it
# returns, whatever the size of the table.

# Relies on elasticc_diasource_obj_time ("diaObjectId", "midPointTai"): one index range
# scan per object over [earliest alert - 365 d, latest alert] of the batch.
SOURCES_SQL = """
    SELECT s.* FROM unnest(%(object_ids)s::bigint[], %(lo)s::float8[], %(hi)s::float8[]) AS w(oid, lo, hi)
    CROSS JOIN LATERAL (
        SELECT s."diaSourceId", s."diaObjectId", s."midPointTai", s."filterName", s.ra, s.decl,
               s."psFlux", s."psFluxErr", s.snr
        FROM elasticc_diasource s
        WHERE s."diaObjectId" = w.oid AND s."midPointTai" >= w.lo AND s."midPointTai" <= w.hi
        OFFSET 0
    ) AS s
    ORDER BY s."diaObjectId", s."midPointTai", s."diaSourceId"
"""

# A source outside its alert's window (an alert whose midPointTai disagrees with its
# source's) is fetched by its key: the primary key ("diaObjectId", "diaSourceId").
SOURCES_BY_KEY_SQL = """
    SELECT s.* FROM unnest(%(object_ids)s::bigint[], %(source_ids)s::bigint[]) AS w(oid, sid)
    CROSS JOIN LATERAL (
        SELECT s."diaSourceId", s."diaObjectId", s."midPointTai", s."filterName", s.ra, s.decl,
               s."psFlux", s."psFluxErr", s.snr
        FROM elasticc_diasource s WHERE s."diaObjectId" = w.oid AND s."diaSourceId" = w.sid
        OFFSET 0
    ) AS s
"""

# Relies on elasticc_diaforced_obj_time ("diaObjectId", "midPointTai"): one index range
# scan per object over [first source - 30 d, latest alert needing forced photometry].
FORCED_SOURCES_SQL = """
    SELECT f.* FROM unnest(%(object_ids)s::bigint[], %(lo)s::float8[], %(hi)s::float8[]) AS w(oid, lo, hi)
    CROSS JOIN LATERAL (
        SELECT f."diaForcedSourceId", f."diaObjectId", f."midPointTai", f."filterName", f."psFlux", f."psFluxErr"
        FROM elasticc_diaforcedsource f
        WHERE f."diaObjectId" = w.oid AND f."midPointTai" >= w.lo AND f."midPointTai" <= w.hi
        OFFSET 0
    ) AS f
    ORDER BY f."diaObjectId", f."midPointTai", f."diaForcedSourceId"
"""


@lru_cache(maxsize=1)
def object_fields() -> tuple[str, ...]:
    """The diaObject fields in schema order; the table has a column of each name."""
    from elasticc.stream.avro import NAMESPACE, load_schema

    return tuple(f["name"] for f in load_schema(f"{NAMESPACE}.diaObject")["fields"])


@lru_cache(maxsize=1)
def objects_sql() -> str:
    return OBJECTS_SQL.format(object_columns=", ".join(f'o.{json.dumps(name)}' for name in object_fields()))


# --- Fetching ------------------------------------------------------------------------------

class _Batch(NamedTuple):
    """Everything a batch of alerts needs, each row fetched once."""

    objects: dict[int, tuple | None]                 # diaObjectId -> object row (schema order) or None
    first_source: dict[int, float | None]            # diaObjectId -> time of its first source
    sources: dict[int, tuple[list[float], list]]     # diaObjectId -> (times, rows), sorted by time
    source_by_id: dict[int, tuple]                   # diaSourceId -> row
    forced: dict[int, tuple[list[float], list]]      # diaObjectId -> (times, rows), sorted by time


def source_windows(rows) -> dict[int, list[float]]:
    """{diaObjectId: [lo, hi]}: the midPointTai range whose sources the alerts of `rows` need
    (from PRV_SOURCE_DAYS before an object's earliest alert to its latest alert)."""
    windows: dict[int, list[float]] = {}
    for r in rows:
        w = windows.get(r.diaObjectId)
        if w is None:
            windows[r.diaObjectId] = [r.midPointTai - PRV_SOURCE_DAYS, r.midPointTai]
        else:
            w[0] = min(w[0], r.midPointTai - PRV_SOURCE_DAYS)
            w[1] = max(w[1], r.midPointTai)
    return windows


def _group_by_object(rows: Iterable[tuple]) -> dict[int, tuple[list[float], list]]:
    """Rows sorted by (diaObjectId, midPointTai) -> {diaObjectId: (times, rows)}."""
    grouped: dict[int, tuple[list[float], list]] = {}
    current = None
    times = items = None
    for r in rows:
        if r[1] != current:
            current = r[1]
            times, items = [], []
            grouped[current] = (times, items)
        times.append(r[2])
        items.append(r)
    return grouped


def _query_windows(cursor, sql: str, windows: dict[int, list[float]]) -> list[tuple]:
    object_ids = list(windows)
    cursor.execute(sql, {"object_ids": object_ids,
                         "lo": [windows[o][0] for o in object_ids],
                         "hi": [windows[o][1] for o in object_ids]})
    return cursor.fetchall()


def _forced_due(source_time: float, first: float | None) -> bool:
    return first is not None and source_time - first > FORCED_AFTER_FIRST_DAYS


def fetch_batch(rows: Sequence[AlertRow], cursor) -> _Batch:
    """The rows behind a batch of alerts, in at most four queries.

    1. objects and each object's first source time;
    2. per object, the sources from its earliest alert - 365 d to its latest alert
       (plus, rarely, a source outside that window fetched by key);
    3. per object whose forced history is due, the forced sources from its first
       source - 30 d to its latest such alert.
    """
    object_ids = sorted({r.diaObjectId for r in rows})

    cursor.execute(objects_sql(), {"object_ids": object_ids})
    objects: dict[int, tuple | None] = {}
    first_source: dict[int, float | None] = {}
    for r in cursor.fetchall():
        first_source[r[0]] = r[1]
        objects[r[0]] = r[2:] if r[2] is not None else None

    windows = source_windows(rows)
    sources = _group_by_object(_query_windows(cursor, SOURCES_SQL, windows))
    by_id = {item[0]: item for _, items in sources.values() for item in items}
    missing = [r for r in rows if r.diaSourceId not in by_id]
    if missing:
        cursor.execute(SOURCES_BY_KEY_SQL, {"object_ids": [r.diaObjectId for r in missing],
                                            "source_ids": [r.diaSourceId for r in missing]})
        by_id.update((item[0], item) for item in cursor.fetchall())

    forced_windows: dict[int, list[float]] = {}
    for r in rows:
        source = by_id.get(r.diaSourceId)
        first = first_source.get(r.diaObjectId)
        if source is None or not _forced_due(source[2], first):
            continue
        w = forced_windows.get(r.diaObjectId)
        if w is None:
            forced_windows[r.diaObjectId] = [first - FORCED_BEFORE_FIRST_DAYS, source[2]]
        else:
            w[1] = max(w[1], source[2])
    forced = _group_by_object(_query_windows(cursor, FORCED_SOURCES_SQL, forced_windows)) if forced_windows else {}
    return _Batch(objects, first_source, sources, by_id, forced)


def _history(batch: _Batch, row: AlertRow, source_time: float) -> tuple[slice, slice | None]:
    """Which of the object's fetched sources and forced sources go into this alert."""
    times = batch.sources.get(row.diaObjectId, _EMPTY)[0]
    prv = slice(bisect_left(times, source_time - PRV_SOURCE_DAYS), bisect_left(times, source_time))
    first = batch.first_source.get(row.diaObjectId)
    if not _forced_due(source_time, first):
        return prv, None
    ftimes = batch.forced.get(row.diaObjectId, _EMPTY)[0]
    return prv, slice(bisect_left(ftimes, first - FORCED_BEFORE_FIRST_DAYS), bisect_right(ftimes, source_time))


_EMPTY: tuple[list[float], list] = ([], [])


# --- As dicts (the REST API, tests) -------------------------------------------------------------

def _source_dict(r: tuple) -> dict:
    return {"diaSourceId": r[0], "diaObjectId": r[1], "midPointTai": r[2], "filterName": r[3],
            "ra": r[4], "decl": r[5], "psFlux": r[6], "psFluxErr": r[7], "snr": r[8]}


def _forced_dict(r: tuple) -> dict:
    return {"diaForcedSourceId": r[0], "diaObjectId": r[1], "midPointTai": r[2], "filterName": r[3],
            "psFlux": r[4], "psFluxErr": r[5]}


class _Memo(dict):
    """Converts each fetched row once; alerts of one object share the converted rows."""

    def __init__(self, convert):
        super().__init__()
        self.convert = convert

    def __missing__(self, row):
        value = self[row] = self.convert(row)
        return value


def build_alerts_for_rows(rows: Sequence[AlertRow], cursor) -> list[dict]:
    """The alert dicts of `rows`, in the same order; an alert whose source is missing is left out."""
    if not rows:
        return []
    batch = fetch_batch(rows, cursor)
    names = object_fields()
    sources, forced = _Memo(_source_dict), _Memo(_forced_dict)
    objects = {oid: None if r is None else dict(zip(names, r)) for oid, r in batch.objects.items()}
    alerts = []
    for r in rows:
        source = batch.source_by_id.get(r.diaSourceId)
        if source is None:
            continue
        prv, frc = _history(batch, r, source[2])
        alerts.append({
            "alertId": r.alertId,
            "diaSource": sources[source],
            "prvDiaSources": [sources[x] for x in batch.sources.get(r.diaObjectId, _EMPTY)[1][prv]],
            "prvDiaForcedSources": None if frc is None else
            [forced[x] for x in batch.forced.get(r.diaObjectId, _EMPTY)[1][frc]],
            "diaObject": objects.get(r.diaObjectId),
        })
    return alerts


def build_alerts(alert_ids: Sequence[int], connection=None) -> list[dict]:
    """The alerts `alert_ids` as Avro-shaped dicts, in the order asked; unknown ids are left out."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        rows = fetch_alert_rows(alert_ids, cursor)
        order = {alert_id: i for i, alert_id in enumerate(alert_ids)}
        rows.sort(key=lambda r: order[r.alertId])
        return build_alerts_for_rows(rows, cursor)


def build_alert(alert_id: int, connection=None) -> dict | None:
    """One alert, or None when there is no such alert."""
    alerts = build_alerts([alert_id], connection)
    return alerts[0] if alerts else None


def fetch_alert_rows(alert_ids: Sequence[int], cursor) -> list[AlertRow]:
    cursor.execute(ALERTS_BY_ID_SQL, {"alert_ids": list(alert_ids)})
    return [AlertRow(*r) for r in cursor.fetchall()]


# --- As Avro bytes (the sender) -----------------------------------------------------------------
# Avro's binary encoding is positional and concatenative: a record is its fields' encodings
# one after the other, a union is the branch index then the value, an array is a count,
# the items, and a 0. So each source, forced source and object of a batch is encoded once
# with fastavro, and an alert is the join of the pieces it shares with the other alerts of
# its object -- byte for byte what fastavro writes for the whole alert dict (tests check
# that), at a fraction of the cost when an object has many alerts with long histories.

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


def encode_alerts_for_rows(rows: Sequence[AlertRow], cursor) -> list[tuple[AlertRow, bytes]]:
    """(row, schemaless Avro alert) for each of `rows` whose source exists, in order."""
    from elasticc.stream.avro import NAMESPACE, Encoder

    if not rows:
        return []
    batch = fetch_batch(rows, cursor)
    source_encoder = Encoder(f"{NAMESPACE}.diaSource")
    forced_encoder = Encoder(f"{NAMESPACE}.diaForcedSource")
    object_encoder = Encoder(f"{NAMESPACE}.diaObject")
    names = object_fields()
    sources = _Memo(lambda r: source_encoder(_source_dict(r)))
    forced = _Memo(lambda r: forced_encoder(_forced_dict(r)))
    objects = {oid: _NULL_BRANCH if r is None else _VALUE_BRANCH + object_encoder(dict(zip(names, r)))
               for oid, r in batch.objects.items()}
    out = []
    for r in rows:
        source = batch.source_by_id.get(r.diaSourceId)
        if source is None:
            continue
        prv, frc = _history(batch, r, source[2])
        prv_items = [sources[x] for x in batch.sources.get(r.diaObjectId, _EMPTY)[1][prv]]
        if frc is None:
            forced_part = _NULL_BRANCH
        else:
            forced_part = _VALUE_BRANCH + _array([forced[x] for x in batch.forced.get(r.diaObjectId, _EMPTY)[1][frc]])
        out.append((r, b"".join((_long(r.alertId), sources[source], _VALUE_BRANCH, _array(prv_items), forced_part,
                                 objects.get(r.diaObjectId, _NULL_BRANCH)))))
    return out


# --- A stream of batches (the sender) -----------------------------------------------------------

class _ObjectHistory:
    """What the stream encoder remembers of one object: its encoded rows up to a time."""

    __slots__ = ("object_bytes", "first", "src_lo", "src_hi", "src_times", "src_items", "src_by_id",
                 "forced_hi", "forced_times", "forced_items")

    def __init__(self, object_bytes: bytes, first: float | None):
        self.object_bytes = object_bytes
        self.first = first
        self.src_lo = self.src_hi = None
        self.src_times: list[float] = []
        self.src_items: list[bytes] = []
        self.src_by_id: dict[int, tuple[float, bytes]] = {}
        self.forced_hi = None
        self.forced_times: list[float] = []
        self.forced_items: list[bytes] = []

    def rows(self) -> int:
        return len(self.src_items) + len(self.forced_items) + 1


class AlertStreamEncoder:
    """Encodes alerts batch after batch, fetching and encoding each history row once per run.

    The sender streams alerts in time order, so an object's next alert usually comes a
    few batches after its previous one and needs the same history plus a little. This
    keeps, per recently seen object, the encoded object, sources and forced sources
    already fetched, and asks the database only for rows after them (the same window
    queries as `fetch_batch`, with the window's lower end moved up). An object whose
    alert needs rows before what is kept (alerts out of time order) is fetched afresh.
    Objects are forgotten least recently used first beyond `max_rows` kept rows.

    The result is byte for byte `encode_alerts_for_rows` (tests check it).
    """

    def __init__(self, max_rows: int = 2_000_000):
        from collections import OrderedDict

        from elasticc.stream.avro import NAMESPACE, Encoder

        self.max_rows = max_rows
        self.kept_rows = 0
        self.objects: OrderedDict[int, _ObjectHistory] = OrderedDict()
        self._source = Encoder(f"{NAMESPACE}.diaSource")
        self._forced = Encoder(f"{NAMESPACE}.diaForcedSource")
        self._object = Encoder(f"{NAMESPACE}.diaObject")
        self.rows_fetched = 0

    def encode(self, rows: Sequence[AlertRow], cursor) -> list[tuple[AlertRow, bytes]]:
        if not rows:
            return []
        histories = self._objects(rows, cursor)
        self._extend_sources(rows, histories, cursor)
        self._extend_forced(rows, histories, cursor)

        out, irregular = [], []
        for r in rows:
            h = histories[r.diaObjectId]
            source = h.src_by_id.get(r.diaSourceId)
            if source is None or source[0] != r.midPointTai:
                irregular.append(r)
                continue
            t = r.midPointTai
            prv = h.src_items[bisect_left(h.src_times, t - PRV_SOURCE_DAYS):bisect_left(h.src_times, t)]
            if _forced_due(t, h.first):
                forced = h.forced_items[bisect_left(h.forced_times, h.first - FORCED_BEFORE_FIRST_DAYS):
                                        bisect_right(h.forced_times, t)]
                forced_part = _VALUE_BRANCH + _array(forced)
            else:
                forced_part = _NULL_BRANCH
            out.append((r, b"".join((_long(r.alertId), source[1], _VALUE_BRANCH, _array(prv), forced_part,
                                     h.object_bytes))))
        if irregular:
            # A source missing, or an alert whose midPointTai disagrees with its source's
            # time (the windows above follow the alerts' times): the stateless path.
            out += encode_alerts_for_rows(irregular, cursor)
            order = {r.alertId: i for i, r in enumerate(rows)}
            out.sort(key=lambda item: order[item[0].alertId])
        self._forget()
        return out

    # 1. Objects not kept: their row and first source time.
    def _objects(self, rows, cursor) -> dict[int, _ObjectHistory]:
        histories = {}
        new = sorted({r.diaObjectId for r in rows if r.diaObjectId not in self.objects})
        if new:
            names = object_fields()
            cursor.execute(objects_sql(), {"object_ids": new})
            for r in cursor.fetchall():
                encoded = _NULL_BRANCH if r[2] is None else _VALUE_BRANCH + self._object(dict(zip(names, r[2:])))
                self.objects[r[0]] = _ObjectHistory(encoded, r[1])
                self.kept_rows += 1
        for oid in {r.diaObjectId for r in rows}:
            self.objects.move_to_end(oid)
            histories[oid] = self.objects[oid]
        return histories

    # 2. Sources: only those after what is kept, unless an alert needs earlier ones.
    def _extend_sources(self, rows, histories, cursor) -> None:
        need = source_windows(rows)
        windows = {}
        for oid, (lo, hi) in need.items():
            h = histories[oid]
            if h.src_lo is None or lo < h.src_lo:
                self.kept_rows -= len(h.src_items)
                h.src_lo, h.src_hi, h.src_times, h.src_items, h.src_by_id = lo, None, [], [], {}
                windows[oid] = [lo, hi]
            elif hi > h.src_hi:
                windows[oid] = [math.nextafter(h.src_hi, math.inf), hi]
        if not windows:
            return
        fetched = _query_windows(cursor, SOURCES_SQL, windows)
        self.rows_fetched += len(fetched)
        for item in fetched:
            h = histories[item[1]]
            encoded = self._source(_source_dict(item))
            h.src_times.append(item[2])
            h.src_items.append(encoded)
            h.src_by_id[item[0]] = (item[2], encoded)
        self.kept_rows += len(fetched)
        for oid, (_, hi) in windows.items():
            histories[oid].src_hi = hi

    # 3. Forced sources from first source - 30 d: only those after what is kept.
    def _extend_forced(self, rows, histories, cursor) -> None:
        windows = {}
        for r in rows:
            h = histories[r.diaObjectId]
            if not _forced_due(r.midPointTai, h.first):
                continue
            lo = h.first - FORCED_BEFORE_FIRST_DAYS
            hi = max(r.midPointTai, windows.get(r.diaObjectId, (None, -math.inf))[1])
            if h.forced_hi is None:
                windows[r.diaObjectId] = (lo, hi)
            elif hi > h.forced_hi:
                windows[r.diaObjectId] = (math.nextafter(h.forced_hi, math.inf), hi)
        if not windows:
            return
        fetched = _query_windows(cursor, FORCED_SOURCES_SQL, {k: list(v) for k, v in windows.items()})
        self.rows_fetched += len(fetched)
        for item in fetched:
            h = histories[item[1]]
            h.forced_times.append(item[2])
            h.forced_items.append(self._forced(_forced_dict(item)))
        self.kept_rows += len(fetched)
        for oid, (_, hi) in windows.items():
            histories[oid].forced_hi = hi

    def _forget(self) -> None:
        while self.kept_rows > self.max_rows and len(self.objects) > 1:
            _, h = self.objects.popitem(last=False)
            self.kept_rows -= h.rows()
