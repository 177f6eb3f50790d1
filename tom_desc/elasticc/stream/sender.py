"""The alert sender: stream a campaign's unsent alerts up to a simulated day to Kafka as Avro
and mark the delivered ones sent. ``send_elasticc_alerts`` (ELAsTiCC) and
``send_elasticc2_alerts`` (ELAsTiCC2) are its commands; tests drive it directly.

What differs between campaigns is their ``AlertCampaign`` (elasticc.stream.alertcampaigns):
the tables, the topics (``AlertStream``s: ELAsTiCC's one topic; ELAsTiCC2's WFD topic for
most objects and, for DDF objects, a full and a 30-day copy on two topics of their own),
the history rule of each topic, and the TOM-known tables ELAsTiCC2 records what it sent in.

A run (``AlertSender.run``, inside ``send_lock(campaign)``):

1. take the campaign's PostgreSQL advisory lock, so two senders of it never run at once;
2. stream the unsent alerts up to the chosen day in time order through a server-side
   cursor (its own connection, so marking can commit meanwhile);
3. per batch: which objects are DDF (when a topic depends on it); build each alert once
   per history rule it needs with set-based SQL as schemaless Avro
   (elasticc.stream.alerts.AlertAssembler with the AvroForm: fastavro encodes each history
   row once per run, not once per alert), then hand every copy to the Kafka producer;
4. once Kafka confirmed every copy of an alert, mark it sent (the Kafka message timestamp
   of its first topic, which brokers echo back as elasticcPublishTimestamp), never
   overwriting an earlier mark, and record what it carried in the TOM-known tables
   (elasticc.stream.marking.Marker, a thread of its own).

A crash at any point leaves delivered-but-unmarked alerts at worst, which the next
run sends again (at least once); nothing is marked or made known that was not delivered,
and a mark is written once.

Errors a caller should report rather than crash on are `SendError`s; the command turns
them into CommandError with the same message.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache, partial
from typing import NamedTuple

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaException, Producer
from django.db import connection

from elasticc.stream import alertcampaigns
from elasticc.stream.alertcampaigns import ELASTICC, AlertCampaign, AlertStream, AlertTables
from elasticc.stream.alerts import AlertAssembler, AlertRow, AvroForm, SentWindow
from elasticc.stream.marking import Delivered, Marker, SendError

__all__ = ["SEND_LOCK_KEY", "AlertSender", "SendError", "send_lock", "through_day", "unsent_summary"]

# The command's logger name: log lines carry it, so it stays what it was before the engine moved here.
log = logging.getLogger("elasticc.management.commands.send_elasticc_alerts")

# Session-level advisory lock key of ELAsTiCC's sender ("elasSend" as a big-endian int64);
# every campaign has its own (AlertCampaign.lock_key).
SEND_LOCK_KEY = ELASTICC.lock_key

# Templates over a campaign's tables (AlertTables.names).
# Relies on the partial index of unsent alerts on the alert's time copy in every partition
# (elasticc_diaalert_unsent_time, elasticc2_ppdbalert_unsent): a Merge Append of index scans
# yields the unsent alerts in time order without sorting the table, and sent alerts cost nothing.
UNSENT_ALERTS_SQL = """
    SELECT {alert_id}, {object_id}, {source_id}, {alert_time}
    FROM {alerts}
    WHERE {sent} IS NULL AND {alert_time} <= %(through)s AND {alert_time} >= %(since)s
    ORDER BY {alert_time}, {alert_id}
"""

UNSENT_SUMMARY_SQL = """
    SELECT count(*), min({alert_time}), max({alert_time}), count(DISTINCT {object_id})
    FROM {alerts}
    WHERE {sent} IS NULL AND {alert_time} <= %(through)s AND {alert_time} >= %(since)s
"""

# Same partial index: the first unsent alert is its first entry.
FIRST_UNSENT_SQL = "SELECT min({alert_time}) FROM {alerts} WHERE {sent} IS NULL"

# The simulated "now": the time of the alert sent last. Runs send in time order and mark with
# the Kafka timestamp, so the newest marks belong to the latest times sent; reading them
# backwards on the sent-timestamp index (elasticc_diaalert_sent, elasticc2_ppdbalert_sent) is
# one short index scan per partition instead of a scan of the whole (billion-row) table.
LAST_SENT_SQL = """
    SELECT max({alert_time}) FROM (
        SELECT {alert_time} FROM {alerts}
        WHERE {sent} = (SELECT max({sent}) FROM {alerts})
    ) AS newest
"""

# Which of a batch's objects are DDF: one probe of the objects' primary key each.
DDF_OBJECTS_SQL = "SELECT {object_id} FROM {objects} WHERE {object_id} = ANY(%(object_ids)s::bigint[]) AND {ddf}"


class SenderSql(NamedTuple):
    unsent: str
    unsent_summary: str
    first_unsent: str
    last_sent: str
    ddf_objects: str | None


@lru_cache(maxsize=8)
def sql(tables: AlertTables) -> SenderSql:
    names = tables.names
    ddf = None
    if tables.ddf is not None:
        ddf = DDF_OBJECTS_SQL.format(ddf=alertcampaigns.quoted(tables.ddf), **names)
    return SenderSql(
        UNSENT_ALERTS_SQL.format(**names),
        UNSENT_SUMMARY_SQL.format(**names),
        FIRST_UNSENT_SQL.format(**names),
        LAST_SENT_SQL.format(**names),
        ddf,
    )


# --- Before a run: which day, what is unsent, the lock ---------------------------------------


def through_day(
    through: float | None, added_days: float | None, campaign: str = "elasticc", start_day: float | None = None
) -> float | None:
    """The day to send through: `through` itself, or `added_days` after the alert sent last.
    None when nothing is unsent and nothing was ever sent.

    ELAsTiCC counts days from the last sent alert's time (from the first unsent alert's when
    none was sent). ELAsTiCC2 counts nights as its original sender did: from the last sent
    alert (or `start_day` if later; with nothing sent, `start_day` or a day before the first
    alert) to the end of the night `added_days` later, nights ending at MJD x.5.
    """
    if through is not None:
        return through
    c = alertcampaigns.get(campaign)
    queries = sql(c.tables)
    with connection.cursor() as cursor:
        cursor.execute(queries.last_sent)
        last_sent = cursor.fetchone()[0]
        cursor.execute(queries.first_unsent)
        first_unsent = cursor.fetchone()[0]
    if first_unsent is None:
        return last_sent  # everything is sent: nothing to do
    if c.nights_end_at_noon:
        start = first_unsent - 1 if last_sent is None else last_sent
        if start_day is not None and (last_sent is None or start_day > start):
            start = start_day
        # A window with no alert (a season gap) goes on to the end of the next night that has one.
        return max(math.floor(start + 0.5) + added_days + 0.5, math.floor(first_unsent + 0.5) + 0.5)
    if last_sent is None:
        return first_unsent + added_days
    # Simulated time skips nights without alerts (season gaps): a window that holds no
    # alert would otherwise leave every later --added-days run stuck on the same day.
    return max(last_sent + added_days, first_unsent)


class Unsent(NamedTuple):
    count: int
    first: float | None
    last: float | None
    objects: int


def unsent_summary(through: float, campaign: str = "elasticc", since: float | None = None) -> Unsent:
    """The unsent alerts with a time <= `through` (and >= `since`): how many, their time range, their objects."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql(alertcampaigns.get(campaign).tables).unsent_summary, {"through": through, "since": _since(since)}
        )
        return Unsent(*cursor.fetchone())


def _since(since: float | None) -> float:
    return -math.inf if since is None else since


def describe_dry_run(
    through: float | None,
    added_days: float | None,
    topic: str,
    servers: str,
    campaign: str = "elasticc",
    start_day: float | None = None,
) -> str:
    """What a run with these arguments would send, as the dry run reports it (no lock needed);
    `topic` names the topic(s) in words."""
    day = through_day(through, added_days, campaign, start_day)
    if day is None:
        return "Dry run: no unsent alerts at all; nothing would be sent."
    unsent = unsent_summary(day, campaign, start_day)
    if unsent.count == 0:
        return f"Dry run: no unsent alerts with midPointTai <= {day:.5f}; nothing would be sent."
    return (
        f"Dry run: would send {unsent.count} alerts of {unsent.objects} objects with midPointTai "
        f"{unsent.first:.5f} .. {unsent.last:.5f} (through day {day:.5f}) to topic {topic} on {servers}. "
        "Add --do to send."
    )


@contextmanager
def send_lock(campaign: str = "elasticc") -> Iterator[None]:
    """Hold the campaign's sender lock (on Django's connection) for the block; SendError when
    another sender of the campaign holds it."""
    c = alertcampaigns.get(campaign)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [c.lock_key])
        if not cursor.fetchone()[0]:
            raise SendError(
                f"another {c.command} is running (PostgreSQL advisory lock "
                f"{c.lock_key} is held); not starting a second one"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [c.lock_key])


def producer_config(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE librdkafka settings (--producer-config) as a dict."""
    bad = [kv for kv in pairs if "=" not in kv]
    if bad:
        raise SendError(f"--producer-config takes KEY=VALUE, not {bad[0]!r}")
    return dict(kv.split("=", 1) for kv in pairs)


# --- A run -----------------------------------------------------------------------------------


class _Route(NamedTuple):
    stream: AlertStream
    topic: str
    days: float | None  # the history rule its alerts are built by


class AlertSender:
    """Produces a campaign's alerts and marks the delivered ones; one instance per run.

    `topic` is the topic of a one-topic campaign (ELAsTiCC), or {stream name: topic} for
    every stream of the campaign. `history_days`, when given, replaces every stream's look-back.
    """

    def __init__(
        self,
        servers: str,
        topic: str | Mapping[str, str],
        delivery_timeout: float,
        extra_config: dict | None = None,
        history_rows: int = 2_000_000,
        max_rate: float | None = None,
        history_days: float | None = None,
        campaign: str | AlertCampaign = "elasticc",
    ):
        self.campaign = alertcampaigns.get(campaign)
        self.routes = self._routes(topic, history_days)
        self.topic = ", ".join(dict.fromkeys(r.topic for r in self.routes))
        self.max_rate = max_rate
        self.servers = servers
        self.delivery_timeout = delivery_timeout
        config = {
            "bootstrap.servers": servers,
            "acks": "all",
            # Retries never duplicate or reorder a partition's alerts.
            "enable.idempotence": True,
            "linger.ms": 20,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 500000,
            "queue.buffering.max.kbytes": 1048576,
            "message.timeout.ms": int(delivery_timeout * 1000),
            # librdkafka logs every failed connection attempt; error_cb reports state changes once.
            "log_level": 2,
            "error_cb": self._on_error,
        }
        config.update(extra_config or {})
        self.producer = Producer(config)
        tables = self.campaign.tables
        self.assemblers = {
            days: AlertAssembler(AvroForm(), history_rows, days, tables) for days in {r.days for r in self.routes}
        }
        # The widest rule's windows say what an alert made public (a narrower copy carries a subset).
        self.widest = None if None in self.assemblers else max(self.assemblers)
        self.needs_ddf = tables.ddf is not None and any(r.stream.objects != "all" for r in self.routes)
        self.windows: dict[int, SentWindow] | None = {} if self.campaign.known else None
        self.parts: dict[int, list] = {}  # alertId -> [copies unconfirmed, mark ms, a copy failed] (several copies)
        self.delivered: list[Delivered] = []
        self.failed: list[tuple[int, str]] = []
        self.produced = self.messages = self.skipped = 0
        self.marker: Marker | None = None  # started by run(): its connection lives only as long as the run
        self._last_error: str | None = None

    def _routes(self, topic: str | Mapping[str, str], history_days: float | None) -> list[_Route]:
        streams = self.campaign.streams
        if isinstance(topic, str):
            if len(streams) != 1:
                raise SendError(f"{self.campaign.name} streams to {len(streams)} topics; give one for each")
            topic = {streams[0].name: topic}
        missing = [s.name for s in streams if s.name not in topic]
        if missing:
            raise SendError(f"no topic given for the {self.campaign.name} stream(s) {', '.join(missing)}")
        days = (lambda s: history_days) if history_days is not None else (lambda s: s.history_days)
        return [_Route(s, topic[s.name], days(s)) for s in streams]

    def _on_error(self, err) -> None:
        text = str(err)
        if text != self._last_error:
            log.warning("Kafka %s: %s", self.servers, text)
            self._last_error = text

    def check_reachable(self) -> None:
        try:
            self.producer.list_topics(self.routes[0].topic, timeout=min(10.0, self.delivery_timeout))
        except KafkaException as exc:
            raise SendError(f"cannot reach Kafka at {self.servers}: {exc.args[0]}; nothing sent") from None

    def _on_delivery(self, object_id: int, alert_id: int, first: bool, err, msg) -> None:
        parts = self.parts.get(alert_id)
        if err is not None:
            self.failed.append((alert_id, str(err)))
            ms = None
        else:
            kind, ms = msg.timestamp()
            if kind == TIMESTAMP_NOT_AVAILABLE:
                ms = int(time.time() * 1000)
        if parts is not None:  # one of several copies: the alert is delivered when all of them are
            parts[0] -= 1
            if ms is None:
                parts[2] = True
            elif first:
                parts[1] = ms
            if parts[0]:
                return
            del self.parts[alert_id]
            ms = None if parts[2] else parts[1]
        window = self.windows.pop(alert_id, None) if self.windows is not None else None
        if ms is not None:
            self.delivered.append(Delivered(object_id, alert_id, ms, window))

    def produce(
        self, value: bytes, object_id: int, alert_id: int, topic: str | None = None, first: bool = True
    ) -> None:
        # Keyed by object: an object's alerts share a partition and stay in order.
        key = str(object_id).encode()
        callback = partial(self._on_delivery, object_id, alert_id, first)
        topic = topic or self.routes[0].topic
        while True:
            try:
                self.producer.produce(topic, value, key, on_delivery=callback)
                break
            except BufferError:  # local queue full: let deliveries drain it
                self.producer.poll(0.1)
        self.messages += 1

    def send_batch(self, rows: list[AlertRow], cursor) -> list[int]:
        """Build every copy of the alerts of `rows` and hand them to the producer; returns the
        ids of the alerts left out because their source row is missing."""
        ddf = set()
        if self.needs_ddf:
            cursor.execute(sql(self.campaign.tables).ddf_objects, {"object_ids": list({r.diaObjectId for r in rows})})
            ddf = {r[0] for r in cursor.fetchall()}
        taken = [[route for route in self.routes if route.stream.takes(r.diaObjectId in ddf)] for r in rows]
        built: dict[float | None, dict[int, bytes]] = {}
        for days, assembler in self.assemblers.items():
            need = [r for r, routes in zip(rows, taken, strict=True) if any(x.days == days for x in routes)]
            windows = [] if self.windows is not None and days == self.widest else None
            out = assembler.assemble(need, cursor, windows)
            built[days] = {row.alertId: value for row, value in out}
            if windows is not None:
                self.windows.update((row.alertId, w) for (row, _), w in zip(out, windows, strict=True))
        left_out = []
        for r, routes in zip(rows, taken, strict=True):
            copies = [(route.topic, built[route.days][r.alertId]) for route in routes if r.alertId in built[route.days]]
            if not copies:
                left_out.append(r.alertId)
                continue
            if len(copies) > 1:
                self.parts[r.alertId] = [len(copies), None, False]
            for i, (topic, value) in enumerate(copies):
                self.produce(value, r.diaObjectId, r.alertId, topic, first=i == 0)
            self.produced += 1
        self.skipped += len(left_out)
        return left_out

    def mark_delivered(self, progress=None) -> None:
        """Hand the alerts confirmed since the last call to the marker (one transaction per call)."""
        self.producer.poll(0)
        if not self.delivered:
            return
        batch, self.delivered = self.delivered, []
        self.marker.put(batch)
        if progress is not None:
            progress.update(len(batch))

    @property
    def marked(self) -> int:
        return self.marker.marked if self.marker is not None else 0

    @property
    def known_added(self) -> dict[str, int] | None:
        """Rows this run added to the TOM-known tables, per table (None for a campaign without them)."""
        return self.marker.filler.added if self.marker is not None and self.marker.filler else None

    def pace(self, started: float, progress=None, stop=None) -> None:
        """With a max rate, wait (serving delivery reports) until the alerts produced so far are
        no longer ahead of it."""
        if self.max_rate is None:
            return
        due = started + self.produced / self.max_rate
        while not stop and (left := due - time.monotonic()) > 0:
            self.producer.poll(min(left, 0.1))
            self.mark_delivered(progress)

    def run(self, through: float, batch_size: int, progress=None, stop=None, since: float | None = None) -> None:
        """Stream, build, produce and mark until done, a delivery fails or `stop` turns true
        (the unsent alerts with a time <= `through` and, if given, >= `since`)."""
        started = time.monotonic()
        self.marker = Marker(self.campaign)
        try:
            stream = connection.get_new_connection(connection.get_connection_params())
        except BaseException:
            self.marker.close()
            raise
        try:
            with stream.cursor(name="unsent_alerts") as cursor, connection.cursor() as build_cursor:
                cursor.itersize = batch_size
                cursor.execute(sql(self.campaign.tables).unsent, {"through": through, "since": _since(since)})
                while not (stop or self.failed):
                    rows = [AlertRow(*r) for r in cursor.fetchmany(batch_size)]
                    if not rows:
                        break
                    left_out = self.send_batch(rows, build_cursor)
                    if left_out:
                        log.warning("alerts without their source row, not sent: %s", left_out[:20])
                    self.mark_delivered(progress)
                    self.pace(started, progress, stop)
        finally:
            stream.close()
            self.finish(progress)

    def finish(self, progress=None) -> None:
        """Wait for every produced alert's delivery report, mark what was delivered, stop the marker."""
        try:
            deadline = time.monotonic() + self.delivery_timeout + 30
            while len(self.producer) > 0 and time.monotonic() < deadline:
                self.producer.flush(1.0)
                self.mark_delivered(progress)
            self.mark_delivered(progress)
            if len(self.producer) > 0:
                log.error("%d alerts produced but not confirmed in time; they stay unsent", len(self.producer))
        finally:
            self.marker.close()
