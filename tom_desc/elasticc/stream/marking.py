"""What the sender writes once Kafka confirmed an alert: its mark, and what it made public.

``Marker`` runs in a thread of its own, on a connection of its own, and writes each batch of
confirmed alerts in one transaction:

1. the mark: the alert row's sent timestamp (the Kafka message timestamp, which brokers echo
   as elasticcPublishTimestamp), never overwriting an earlier one;
2. for a campaign with TOM-known tables (ELAsTiCC2's ``elasticc2_diaobject``,
   ``_diasource``, ``_diaforcedsource``), what the alert carried, copied from the ppdb
   tables (``KnownFiller``): its object, its source, the sources of its prvDiaSources and the
   forced sources of its prvDiaForcedSources -- exactly the rows inside the windows the
   assembler cut the alert's history with (``alerts.SentWindow``). A DDF alert's 30-day copy
   on ddf-limited carries a subset of its full copy, so the full one's windows say it all.

A mark and the rows it made public commit together, and nothing is written for an alert
whose delivery was not confirmed. The UPDATE and the copies (their index maintenance,
mostly) run in PostgreSQL while the sender's main thread builds the next batch; the queue
is short, so writing cannot fall far behind.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple

from django.db import connection

from elasticc.stream.alertcampaigns import AlertCampaign, AlertTables, KnownTables, quoted
from elasticc.stream.alerts import SentWindow


class SendError(Exception):
    """A failure to report to the operator (its message is the report), not a crash."""


class Delivered(NamedTuple):
    """One alert Kafka confirmed: its key, its mark (ms since the epoch) and what it carried."""

    diaObjectId: int
    alertId: int
    ms: int
    window: SentWindow | None = None


# Relies on the alert table's primary key (object id, alert id). "IS NULL" keeps the first
# mark: an alert re-sent after a crash keeps the timestamp of its first confirmed delivery.
# On small tables the planner hashes all unsent alerts instead of probing the key per row
# (cheap there); at the campaign's size it probes. Most of the cost is index maintenance
# (the update moves the row out of the unsent partial index), hence the thread.
MARK_SENT_SQL = """
    UPDATE {alerts} a
    SET {sent} = to_timestamp(v.ms / 1000.0)
    FROM unnest(%(object_ids)s::bigint[], %(alert_ids)s::bigint[], %(ms)s::bigint[]) AS v(oid, aid, ms)
    WHERE a.{object_id} = v.oid AND a.{alert_id} = v.aid AND a.{sent} IS NULL
"""

# The TOM-known copies. Each relies on the ppdb table's key or (object id, time) index, and on
# the TOM-known table's primary key for ON CONFLICT: a row made public by an earlier alert
# stays as it is. Windows are [lo, hi) -- "strictly before the alert's source", as sliced.
KNOWN_OBJECTS_SQL = """
    INSERT INTO {known} ({columns})
    SELECT {columns} FROM {ppdb} WHERE {object_id} = ANY(%(object_ids)s::bigint[])
    ON CONFLICT DO NOTHING
"""
KNOWN_BY_KEY_SQL = """
    INSERT INTO {known} ({columns})
    SELECT p.* FROM unnest(%(object_ids)s::bigint[], %(ids)s::bigint[]) AS w(oid, id)
    CROSS JOIN LATERAL (
        SELECT {columns} FROM {ppdb} WHERE {object_id} = w.oid AND {id} = w.id OFFSET 0
    ) AS p
    ON CONFLICT DO NOTHING
"""
KNOWN_IN_WINDOWS_SQL = """
    INSERT INTO {known} ({columns})
    SELECT p.* FROM unnest(%(object_ids)s::bigint[], %(lo)s::float8[], %(hi)s::float8[]) AS w(oid, lo, hi)
    CROSS JOIN LATERAL (
        SELECT {columns} FROM {ppdb} WHERE {object_id} = w.oid AND {time} >= w.lo AND {time} < w.hi OFFSET 0
    ) AS p
    ON CONFLICT DO NOTHING
"""


def _merged(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Half-open intervals [lo, hi) merged where they overlap or touch, sorted."""
    out: list[list[float]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        elif lo < hi:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def _minus(interval: tuple[float, float], done: tuple[float, float] | None) -> list[tuple[float, float]]:
    """The parts of [lo, hi) outside the [lo, hi) already done."""
    lo, hi = interval
    if done is None or done[1] <= lo or hi <= done[0]:
        return [interval]
    return [part for part in ((lo, min(hi, done[0])), (max(lo, done[1]), hi)) if part[0] < part[1]]


class KnownFiller:
    """Copies what delivered alerts carried from the ppdb tables into the TOM-known tables.

    Alerts of an object go out in time order, so each new one adds only the history after
    its predecessor's. The filler remembers, per recent object (at most ``memory`` of them),
    the source and forced-source windows it has committed, and copies only the rest: a run
    writes each public row about once instead of once per alert that carries it. Whatever
    it remembers, the result is the same (ON CONFLICT DO NOTHING); only the work differs.
    """

    def __init__(self, tables: AlertTables, known: KnownTables, memory: int = 200_000):
        names = tables.names
        common = {"object_id": names["object_id"], "time": names["time"]}

        def statement(template: str, ppdb: str, target: str, columns: tuple[str, ...], id_column: str = "") -> str:
            return template.format(
                known=quoted(target),
                ppdb=ppdb,
                columns=", ".join(map(quoted, columns)),
                id=id_column,
                **common,
            )

        self.objects_sql = statement(KNOWN_OBJECTS_SQL, names["objects"], known.objects, known.object_columns)
        self.sources_by_key_sql = statement(
            KNOWN_BY_KEY_SQL, names["sources"], known.sources, known.source_columns, names["source_id"]
        )
        self.sources_sql = statement(KNOWN_IN_WINDOWS_SQL, names["sources"], known.sources, known.source_columns)
        self.forced_sql = statement(KNOWN_IN_WINDOWS_SQL, names["forced"], known.forced, known.forced_columns)
        self.memory = memory
        self.done: OrderedDict[int, list] = OrderedDict()  # object -> [sources done, forced done]
        self.added = {"objects": 0, "sources": 0, "forced_sources": 0}

    def fill(self, cursor, windows: list[SentWindow]) -> list[tuple[int, list]]:
        """Copy the rows of `windows` (in the caller's transaction); returns what to remember once
        it committed (``remember``)."""
        by_object: dict[int, tuple[list, list]] = {}
        for w in windows:
            src, frc = by_object.setdefault(w.diaObjectId, ([], []))
            src.append((w.prv_lo, w.time))
            if w.forced_lo is not None:
                frc.append((w.forced_lo, w.time))
        new_objects = [oid for oid in by_object if oid not in self.done]
        if new_objects:
            cursor.execute(self.objects_sql, {"object_ids": new_objects})
            self.added["objects"] += cursor.rowcount
        cursor.execute(
            self.sources_by_key_sql,
            {"object_ids": [w.diaObjectId for w in windows], "ids": [w.diaSourceId for w in windows]},
        )
        self.added["sources"] += cursor.rowcount
        after = []
        for kind, sql, key in ((0, self.sources_sql, "sources"), (1, self.forced_sql, "forced_sources")):
            oids, lows, highs = [], [], []
            for oid, parts in by_object.items():
                merged = _merged(parts[kind])
                done = self.done.get(oid, (None, None))[kind]
                for piece in (p for interval in merged for p in _minus(interval, done)):
                    oids.append(oid)
                    lows.append(piece[0])
                    highs.append(piece[1])
            if oids:
                cursor.execute(sql, {"object_ids": oids, "lo": lows, "hi": highs})
                self.added[key] += cursor.rowcount
        for oid, parts in by_object.items():
            after.append((oid, [_merged(parts[0]), _merged(parts[1])]))
        return after

    def remember(self, after: list[tuple[int, list]]) -> None:
        """Keep, per object, one committed window per table: the union with the one known when
        they meet, else the later one."""
        for oid, merged in after:
            done = self.done.pop(oid, [None, None])
            for kind in (0, 1):
                for lo, hi in merged[kind]:
                    old = done[kind]
                    if old is not None and lo <= old[1] and old[0] <= hi:
                        done[kind] = (min(lo, old[0]), max(hi, old[1]))
                    elif old is None or hi > old[1]:
                        done[kind] = (lo, hi)
            self.done[oid] = done
        while len(self.done) > self.memory:
            self.done.popitem(last=False)


class Marker:
    """Writes the marks (and TOM-known rows) of confirmed alerts in a thread of its own."""

    def __init__(self, campaign: AlertCampaign, depth: int = 4):
        self.marked = 0
        self.error: BaseException | None = None
        self.mark_sql = MARK_SENT_SQL.format(**campaign.tables.names)
        self.filler = KnownFiller(campaign.tables, campaign.known) if campaign.known else None
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._conn = connection.get_new_connection(connection.get_connection_params())
        self._conn.autocommit = True
        self._thread = threading.Thread(target=self._work, name="mark-sent", daemon=True)
        self._thread.start()

    def put(self, batch: list[Delivered]) -> None:
        if self.error is not None:
            raise SendError(f"marking alerts sent failed: {self.error}")
        self._queue.put(batch)

    def _work(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                self._write(batch)
            except BaseException as exc:  # reported by put() and close()
                self.error = exc

    def _write(self, batch: list[Delivered]) -> None:
        after = None
        with self._conn.transaction(), self._conn.cursor() as cursor:
            cursor.execute(
                self.mark_sql,
                {
                    "object_ids": [d.diaObjectId for d in batch],
                    "alert_ids": [d.alertId for d in batch],
                    "ms": [d.ms for d in batch],
                },
            )
            marked = cursor.rowcount
            if self.filler is not None:
                after = self.filler.fill(cursor, [d.window for d in batch if d.window is not None])
        self.marked += marked
        if after is not None:
            self.filler.remember(after)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._conn.close()
        if self.error is not None:
            raise SendError(f"marking alerts sent failed: {self.error}")
