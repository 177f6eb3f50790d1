"""Alert construction: a campaign's alerts of a batch, as dicts (the REST API) or Avro bytes (the sender).

Public entry points (``campaign`` is ``"elasticc"``, the default, or ``"elasticc2"``; the
campaign's tables and rule come from elasticc.stream.alertcampaigns):

- ``build_alerts(alert_ids, connection=None, campaign="elasticc") -> list[dict]``: the alerts
  with these ``alertId``s, in the order asked, unknown ids left out. Each dict is exactly the
  ``elasticc.v0_9_1.alert`` record the sender streams (``alertId``, ``diaSource``,
  ``prvDiaSources``, ``prvDiaForcedSources``, ``diaObject``): encoding it with
  ``elasticc.stream.avro.encode_alert`` gives the very bytes the sender produces (tests check
  this). This is what ``GET diaalert/<id>/`` and ELAsTiCC2's ``getalert`` return.
- ``build_alert(alert_id)``: one alert or None; ``alert_row_of_source``: the alert row of a source.
- ``build_alerts_for_rows`` / ``encode_alerts_for_rows(rows, cursor)``: the same from
  ``AlertRow``s at hand, as dicts or as schemaless Avro bytes.
- ``AlertAssembler(form, history_rows=0, history_days=None, tables=...)``: the one engine
  behind all of these, for every campaign (``tables``: whose tables and column names). The
  form (``DictForm``, ``AvroForm``) says what a row and an alert become; the sender keeps
  one ``AvroForm`` assembler per history rule for its whole run with ``history_rows``
  (``--history-rows``) of history held between batches, the REST API a fresh one per
  request that holds none.

Floats are what the database holds (4-byte reals for fluxes), as Avro writes them.

An alert is its source, its object, and the object's history as the original DESC TOM
built the alerts of its ``elasticc`` tables (``DiaAlert.reconstruct`` of the first
campaign, whose table and column names these are):

- ``prvDiaSources``: every source of the object strictly earlier than this one; an empty
  list for the first detection.
- ``prvDiaForcedSources``: an empty list (never null) while this source is at most
  FORCED_AFTER_FIRST_DAYS (0.5) day after the object's first source; after that, the
  forced points from FORCED_BEFORE_FIRST_DAYS (30) days before that first source up to,
  and not including, this source's time.

ELAsTiCC2 added a look-back limit, ``history_days`` here (365 days on both lists, 30 on its
ddf-limited topic; ELAsTiCC's sender takes it as ``--history-days``).

"This source" means the source row's own ``midPointTai``: the alert row holds a copy,
which selects what to send and sets the fetch windows, but where the copy disagrees with
the source the source's time decides the history (and the windows widen to it).

A batch is built with at most four set-based queries, whatever its size (the SQL below):
the alerts (unless the caller has them, as the sender does), the objects with each one's
first source time, the sources and the forced sources in one time window per object. Each
fetched row becomes a piece (a dict, or its Avro bytes) once, and an alert takes slices of
its object's pieces (sorted by time: a slice is two bisections).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import connection as default_connection

from elasticc.stream import alertcampaigns
from elasticc.stream.alertcampaigns import FORCED_FIELDS, SOURCE_FIELDS, AlertTables
from elasticc.stream.alertforms import AlertForm, AvroForm, DictForm, object_fields

FORCED_AFTER_FIRST_DAYS = 0.5
FORCED_BEFORE_FIRST_DAYS = 30.0


class AlertRow(NamedTuple):
    """An alert row (what the sender's stream of unsent alerts yields): enough to build the alert."""

    alertId: int
    diaObjectId: int
    diaSourceId: int
    midPointTai: float


class SentWindow(NamedTuple):
    """What an alert carried besides its object, as the windows the assembler cut its history
    with: its source, the sources in [prv_lo, time) and, unless forced_lo is None, the forced
    points in [forced_lo, time). The sender records exactly these rows as delivered."""

    diaObjectId: int
    diaSourceId: int
    time: float
    prv_lo: float
    forced_lo: float | None


# --- SQL ---------------------------------------------------------------------------------------
# Templates over a campaign's tables ({names} from AlertTables.names; formatted once per
# campaign by `sql`). The per-object tables of both campaigns are hash partitioned on the
# object id (16 partitions). Every query below joins on the object id from an unnested array,
# so the executor prunes each lookup to the one partition that can hold the object (run-time
# partition pruning).

# Relies on an index on the alert id in every partition (elasticc_diaalert_id,
# elasticc2_ppdbalert_id): the REST path knows only alert ids, so it probes the index of each
# partition once per batch. ({alert_time} is the alert's copy of its source's time: ELAsTiCC's
# "alertMidPointTai" -- models.DiaAlert says why it is not "midPointTai" -- and ELAsTiCC2's
# midpointtai.)
ALERTS_BY_ID_SQL = """
    SELECT {alert_id}, {object_id}, {source_id}, {alert_time}
    FROM {alerts}
    WHERE {alert_id} = ANY(%(alert_ids)s::bigint[])
"""

# Relies on an index on the source id in every partition (elasticc_diaalert_source,
# elasticc2_ppdbalert_source): ELAsTiCC2's getalert takes a source id.
ALERTS_BY_SOURCE_SQL = """
    SELECT {alert_id}, {object_id}, {source_id}, {alert_time}
    FROM {alerts}
    WHERE {source_id} = ANY(%(source_ids)s::bigint[])
    ORDER BY {alert_id}
"""

# Relies on the primary key of the object table and, for the first source time, on the
# sources' (object id, time) index (elasticc_diasource_obj_time, elasticc2_ppdbsrc_obj_time):
# min() reads one index entry.
OBJECTS_SQL = """
    SELECT w.oid, first_source.t, {object_columns}
    FROM unnest(%(object_ids)s::bigint[]) AS w(oid)
    LEFT JOIN {objects} o ON o.{object_id} = w.oid
    CROSS JOIN LATERAL (
        SELECT min(s.{time}) AS t FROM {sources} s WHERE s.{object_id} = w.oid
    ) AS first_source
"""

# The window queries probe the index once per object through a LATERAL subquery; OFFSET 0
# keeps the planner from flattening it into a join, which on small tables it would run as
# a hash join over the whole table for every batch. Each probe then touches only the one
# partition that can hold its object (run-time pruning), so a batch costs the rows it
# returns, whatever the size of the table.

# Relies on the sources' (object id, time) index: one index range scan per object up to the
# latest alert of the batch (from its first source, or from the earliest alert less
# history_days).
SOURCES_SQL = """
    SELECT s.* FROM unnest(%(object_ids)s::bigint[], %(lo)s::float8[], %(hi)s::float8[]) AS w(oid, lo, hi)
    CROSS JOIN LATERAL (
        SELECT {source_columns}
        FROM {sources} s
        WHERE s.{object_id} = w.oid AND s.{time} >= w.lo AND s.{time} <= w.hi
        OFFSET 0
    ) AS s
    ORDER BY 2, 3, 1
"""

# A source outside its alert's window (an alert whose time disagrees with its source's) is
# fetched by its key: the primary key (object id, source id).
SOURCES_BY_KEY_SQL = """
    SELECT s.* FROM unnest(%(object_ids)s::bigint[], %(source_ids)s::bigint[]) AS w(oid, sid)
    CROSS JOIN LATERAL (
        SELECT {source_columns}
        FROM {sources} s WHERE s.{object_id} = w.oid AND s.{source_id} = w.sid
        OFFSET 0
    ) AS s
"""

# Relies on the forced sources' (object id, time) index (elasticc_diaforced_obj_time,
# elasticc2_ppdbfrc_obj_time): one index range scan per object over [first source - 30 d,
# latest alert needing forced photometry].
FORCED_SOURCES_SQL = """
    SELECT f.* FROM unnest(%(object_ids)s::bigint[], %(lo)s::float8[], %(hi)s::float8[]) AS w(oid, lo, hi)
    CROSS JOIN LATERAL (
        SELECT {forced_columns}
        FROM {forced} f
        WHERE f.{object_id} = w.oid AND f.{time} >= w.lo AND f.{time} <= w.hi
        OFFSET 0
    ) AS f
    ORDER BY 2, 3, 1
"""


_TEMPLATES = (ALERTS_BY_ID_SQL, ALERTS_BY_SOURCE_SQL, OBJECTS_SQL, SOURCES_SQL, SOURCES_BY_KEY_SQL, FORCED_SOURCES_SQL)


class AlertSql(NamedTuple):
    alerts_by_id: str
    alerts_by_source: str
    objects: str
    sources: str
    sources_by_key: str
    forced: str


@lru_cache(maxsize=8)
def sql(tables: AlertTables) -> AlertSql:
    """The templates above over `tables` (the object columns in the diaObject schema's order)."""
    names = {
        **tables.names,
        "object_columns": tables.select_list("o", object_fields()),
        "source_columns": tables.select_list("s", SOURCE_FIELDS),
        "forced_columns": tables.select_list("f", FORCED_FIELDS),
    }
    return AlertSql(*(template.format(**names) for template in _TEMPLATES))


def source_windows(rows: Sequence[AlertRow], history_days: float | None = None) -> dict[int, list[float]]:
    """{diaObjectId: [lo, hi]}: the midPointTai range whose sources the alerts of `rows` need
    (from the object's start, or history_days before its earliest alert, to its latest alert)."""
    windows: dict[int, list[float]] = {}
    for r in rows:
        _widen(windows, r.diaObjectId, r.midPointTai, history_days)
    return windows


def _widen(windows: dict[int, list[float]], object_id: int, t: float, history_days: float | None) -> None:
    """Make the object's window hold the sources an alert at time `t` needs."""
    lo = -math.inf if history_days is None else t - history_days
    w = windows.get(object_id)
    if w is None:
        windows[object_id] = [lo, t]
    else:
        w[0] = min(w[0], lo)
        w[1] = max(w[1], t)


def _query_windows(cursor, sql: str, windows: dict[int, list[float]]) -> list[tuple]:
    object_ids = list(windows)
    cursor.execute(
        sql,
        {
            "object_ids": object_ids,
            "lo": [windows[o][0] for o in object_ids],
            "hi": [windows[o][1] for o in object_ids],
        },
    )
    return cursor.fetchall()


def _forced_due(source_time: float, first: float | None) -> bool:
    return first is not None and source_time - first > FORCED_AFTER_FIRST_DAYS


# --- The engine ------------------------------------------------------------------------------


class _Held:
    """The pieces of one object's rows of one table over [lo, hi], sorted by time."""

    __slots__ = ("by_id", "hi", "items", "lo", "times")

    def __init__(self, keyed: bool):
        self.lo = self.hi = None
        self.times: list[float] = []
        self.items: list = []
        self.by_id: dict[int, tuple[float, Any]] | None = {} if keyed else None  # id -> (time, piece)

    def reset(self, lo: float) -> int:
        """Drop what is held (to refetch from the lower `lo`); returns the rows dropped."""
        dropped = len(self.items)
        self.lo, self.hi, self.times, self.items = lo, None, [], []
        if self.by_id is not None:
            self.by_id = {}
        return dropped


class _ObjectHistory:
    """What the assembler holds of one object: its piece, its first source time, and the
    pieces of its sources and forced sources fetched so far."""

    __slots__ = ("first", "forced", "piece", "sources")

    def __init__(self, piece: Any, first: float | None):
        self.piece = piece
        self.first = first
        self.sources = _Held(keyed=True)
        self.forced = _Held(keyed=False)

    def rows(self) -> int:
        return len(self.sources.items) + len(self.forced.items) + 1


class AlertAssembler:
    """Builds the alerts of batches of `AlertRow`s in the given `form`: one engine for the REST
    API (dicts, a fresh assembler per request) and the sender (Avro bytes, one per run).

    For each batch:

    1. objects not held: their row and first source time (one query);
    2. sources: per object, everything up to its latest alert (from its earliest alert less
       `history_days` when that is set), less what is already held (one query). An alert whose source lies outside that window
       or whose midPointTai copy disagrees with its source's time (rare) has its source looked
       up by key and its object's window widened to the source's time (up to two queries more);
    3. forced sources: per object whose forced history is due, first source - 30 d to its
       latest such source, less what is held (one query);
    4. each alert: its source's piece, a slice of its object's source pieces and of its
       forced pieces, its object's piece, joined by the form.

    Held rows stay for the next batch, up to `history_rows` of them (objects are forgotten
    least recently used first): the sender streams alerts in time order, so an object's next
    alert usually comes a few batches after its previous one and needs the same history
    plus a little; only that little is fetched and converted. An object whose alert needs
    rows before what is held (alerts out of time order) is fetched afresh. The default 0
    holds nothing between batches. Whatever is held, the result is the same (tests check it).

    `tables` says whose tables (ELAsTiCC's by default); `history_days` is the look-back of
    the rule (None: none, as ELAsTiCC's; 365 for ELAsTiCC2's alerts).
    """

    def __init__(
        self,
        form: AlertForm,
        history_rows: int = 0,
        history_days: float | None = None,
        tables: AlertTables | None = None,
    ):
        self.form = form
        self.history_rows = history_rows
        self.history_days = history_days
        self.sql = sql(tables or alertcampaigns.ELASTICC.tables)
        self.kept_rows = 0
        self.objects: OrderedDict[int, _ObjectHistory] = OrderedDict()
        self.rows_fetched = 0  # source and forced rows fetched by the window queries

    def assemble(
        self, rows: Sequence[AlertRow], cursor, windows: list[SentWindow] | None = None
    ) -> list[tuple[AlertRow, Any]]:
        """(row, alert) for each of `rows` whose source exists, in the order of `rows`; with
        `windows`, also appends each of those alerts' SentWindow to it (same order)."""
        if not rows:
            return []
        histories = self._objects(rows, cursor)
        sources = self._sources(rows, histories, cursor)
        self._fetch_forced(rows, sources, histories, cursor)

        make_alert = self.form.alert
        out = []
        for r, source in zip(rows, sources, strict=True):
            if source is None:
                continue
            t, piece = source
            h = histories[r.diaObjectId]
            back = -math.inf if self.history_days is None else t - self.history_days
            times = h.sources.times
            # Strictly earlier: bisect_left stops before points at the source's own time.
            prv = h.sources.items[bisect_left(times, back) : bisect_left(times, t)]
            forced, lo = [], None
            if _forced_due(t, h.first):
                times = h.forced.times
                lo = max(h.first - FORCED_BEFORE_FIRST_DAYS, back)
                forced = h.forced.items[bisect_left(times, lo) : bisect_left(times, t)]
            out.append((r, make_alert(r.alertId, piece, prv, forced, h.piece)))
            if windows is not None:
                windows.append(SentWindow(r.diaObjectId, r.diaSourceId, t, back, lo))
        self._forget()
        return out

    # 1. Objects not held: their row and first source time.
    def _objects(self, rows: Sequence[AlertRow], cursor) -> dict[int, _ObjectHistory]:
        new = sorted({r.diaObjectId for r in rows if r.diaObjectId not in self.objects})
        if new:
            cursor.execute(self.sql.objects, {"object_ids": new})
            for r in cursor.fetchall():
                self.objects[r[0]] = _ObjectHistory(self.form.object_piece(r[2:] if r[2] is not None else None), r[1])
                self.kept_rows += 1
        histories = {}
        for oid in {r.diaObjectId for r in rows}:
            self.objects.move_to_end(oid)
            histories[oid] = self.objects[oid]
        return histories

    # 2. Sources, and each alert's own: (time, piece), or None when it has no source row.
    def _sources(
        self, rows: Sequence[AlertRow], histories: dict[int, _ObjectHistory], cursor
    ) -> list[tuple[float, Any] | None]:
        need = source_windows(rows, self.history_days)
        self._fetch(cursor, self.sql.sources, need, lambda oid: histories[oid].sources, self.form.source_piece)
        found = [histories[r.diaObjectId].sources.by_id.get(r.diaSourceId) for r in rows]
        lost = [r for r, s in zip(rows, found, strict=True) if s is None]
        lost_at: dict[tuple[int, int], float] = {}
        if lost:
            cursor.execute(
                self.sql.sources_by_key,
                {"object_ids": [r.diaObjectId for r in lost], "source_ids": [r.diaSourceId for r in lost]},
            )
            lost_at = {(item[1], item[0]): item[2] for item in cursor.fetchall()}
        widened = False
        for r, s in zip(rows, found, strict=True):
            t = lost_at.get((r.diaObjectId, r.diaSourceId)) if s is None else s[0]
            if t is not None and (s is None or t != r.midPointTai):
                _widen(need, r.diaObjectId, t, self.history_days)
                widened = True
        if not widened:
            return found
        self._fetch(cursor, self.sql.sources, need, lambda oid: histories[oid].sources, self.form.source_piece)
        return [histories[r.diaObjectId].sources.by_id.get(r.diaSourceId) for r in rows]

    # 3. Forced sources from first source - 30 d (or the earliest alert less history_days, if
    # later) to the latest source whose forced history is due. The window includes that
    # source's time (a range scan costs the same); the slices in assemble() leave it out.
    def _fetch_forced(
        self,
        rows: Sequence[AlertRow],
        sources: list[tuple[float, Any] | None],
        histories: dict[int, _ObjectHistory],
        cursor,
    ) -> None:
        need: dict[int, list[float]] = {}
        for r, source in zip(rows, sources, strict=True):
            h = histories[r.diaObjectId]
            if source is None or not _forced_due(source[0], h.first):
                continue
            lo = h.first - FORCED_BEFORE_FIRST_DAYS
            if self.history_days is not None:
                lo = max(lo, source[0] - self.history_days)
            w = need.get(r.diaObjectId)
            if w is None:
                need[r.diaObjectId] = [lo, source[0]]
            else:
                w[0] = min(w[0], lo)
                w[1] = max(w[1], source[0])
        self._fetch(cursor, self.sql.forced, need, lambda oid: histories[oid].forced, self.form.forced_piece)

    def _fetch(
        self,
        cursor,
        sql: str,
        need: dict[int, list[float]],
        held: Callable[[int], _Held],
        piece: Callable[[tuple], Any],
    ) -> None:
        """Make each object's held rows cover its needed window, fetching only what is not held
        (rows after what is held; everything again when the window reaches lower)."""
        windows = {}
        for oid, (lo, hi) in need.items():
            h = held(oid)
            if h.lo is None or lo < h.lo:
                self.kept_rows -= h.reset(lo)
                windows[oid] = [lo, hi]
            elif hi > h.hi:
                windows[oid] = [math.nextafter(h.hi, math.inf), hi]
        if not windows:
            return
        fetched = _query_windows(cursor, sql, windows)
        self.rows_fetched += len(fetched)
        self.kept_rows += len(fetched)
        for item in fetched:
            h = held(item[1])
            converted = piece(item)
            h.times.append(item[2])
            h.items.append(converted)
            if h.by_id is not None:
                h.by_id[item[0]] = (item[2], converted)
        for oid, (_, hi) in windows.items():
            held(oid).hi = hi

    def _forget(self) -> None:
        while self.kept_rows > self.history_rows and self.objects:
            _, h = self.objects.popitem(last=False)
            self.kept_rows -= h.rows()


# --- Entry points ----------------------------------------------------------------------------


def _assembler(form: AlertForm, campaign: str) -> AlertAssembler:
    """A fresh assembler of `campaign`'s alerts by its first stream's rule (what the REST API shows)."""
    c = alertcampaigns.get(campaign)
    return AlertAssembler(form, history_days=c.streams[0].history_days, tables=c.tables)


def build_alerts_for_rows(rows: Sequence[AlertRow], cursor, campaign: str = "elasticc") -> list[dict]:
    """The alert dicts of `rows`, in the same order; an alert whose source is missing is left out."""
    return [alert for _, alert in _assembler(DictForm(), campaign).assemble(rows, cursor)]


def encode_alerts_for_rows(
    rows: Sequence[AlertRow], cursor, campaign: str = "elasticc"
) -> list[tuple[AlertRow, bytes]]:
    """(row, schemaless Avro alert) for each of `rows` whose source exists, in order."""
    return _assembler(AvroForm(), campaign).assemble(rows, cursor)


def fetch_alert_rows(alert_ids: Sequence[int], cursor, campaign: str = "elasticc") -> list[AlertRow]:
    cursor.execute(sql(alertcampaigns.get(campaign).tables).alerts_by_id, {"alert_ids": list(alert_ids)})
    return [AlertRow(*r) for r in cursor.fetchall()]


def build_alerts(alert_ids: Sequence[int], connection=None, campaign: str = "elasticc") -> list[dict]:
    """The alerts `alert_ids` as Avro-shaped dicts, in the order asked; unknown ids are left out."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        rows = fetch_alert_rows(alert_ids, cursor, campaign)
        order = {alert_id: i for i, alert_id in enumerate(alert_ids)}
        rows.sort(key=lambda r: order[r.alertId])
        return build_alerts_for_rows(rows, cursor, campaign)


def build_alert(alert_id: int, connection=None, campaign: str = "elasticc") -> dict | None:
    """One alert, or None when there is no such alert."""
    alerts = build_alerts([alert_id], connection, campaign)
    return alerts[0] if alerts else None


def alert_row_of_source(source_id: int, cursor, campaign: str = "elasticc") -> AlertRow | None:
    """The alert of a source (the first by alert id, should there be several), or None."""
    cursor.execute(sql(alertcampaigns.get(campaign).tables).alerts_by_source, {"source_ids": [source_id]})
    found = cursor.fetchone()
    return None if found is None else AlertRow(*found)
