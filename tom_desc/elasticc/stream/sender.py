"""The alert sender: stream the unsent alerts up to a simulated day to Kafka as Avro and
mark the delivered ones sent. ``send_elasticc_alerts`` is its command; tests drive it directly.

A run (``AlertSender.run``, inside ``send_lock()``):

1. take a PostgreSQL advisory lock, so two senders never run at once;
2. stream the unsent alerts up to the chosen day in midPointTai order through a
   server-side cursor (its own connection, so marking can commit meanwhile);
3. per batch: fetch what the alerts need with set-based SQL and serialize them as
   schemaless Avro (elasticc.stream.alerts.AlertAssembler with the AvroForm: fastavro
   encodes each history row once per run, not once per alert), then hand them to the
   Kafka producer;
4. mark alertSentTimestamp (the Kafka message timestamp, which brokers echo back as
   elasticcPublishTimestamp) only for alerts whose delivery the broker confirmed,
   in batched UPDATEs that never overwrite an earlier mark (the `_Marker` thread).

A crash at any point leaves delivered-but-unmarked alerts at worst, which the next
run sends again (at least once); nothing is marked that was not delivered, and a mark
is written once.

Errors a caller should report rather than crash on are `SendError`s; the command turns
them into CommandError with the same message.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import NamedTuple

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaException, Producer
from django.db import connection

from elasticc.stream.alerts import AlertAssembler, AlertRow, AvroForm

# The command's logger name: log lines carry it, so it stays what it was before the engine moved here.
log = logging.getLogger("elasticc.management.commands.send_elasticc_alerts")

# Session-level advisory lock key of the sender ("elasSend" as a big-endian int64).
SEND_LOCK_KEY = int.from_bytes(b"elasSend", "big")

# Relies on the partial index elasticc_diaalert_unsent_time ("midPointTai") WHERE
# "alertSentTimestamp" IS NULL in every partition: a Merge Append of index scans yields
# the unsent alerts in time order without sorting the table, and sent alerts cost nothing.
UNSENT_ALERTS_SQL = """
    SELECT "alertId", "diaObjectId", "diaSourceId", "midPointTai"
    FROM elasticc_diaalert
    WHERE "alertSentTimestamp" IS NULL AND "midPointTai" <= %(through)s
    ORDER BY "midPointTai", "alertId"
"""

UNSENT_SUMMARY_SQL = """
    SELECT count(*), min("midPointTai"), max("midPointTai"), count(DISTINCT "diaObjectId")
    FROM elasticc_diaalert
    WHERE "alertSentTimestamp" IS NULL AND "midPointTai" <= %(through)s
"""

# Same partial index: the first unsent alert is its first entry.
FIRST_UNSENT_SQL = """SELECT min("midPointTai") FROM elasticc_diaalert WHERE "alertSentTimestamp" IS NULL"""

# The simulated "now": the time of the alert sent last. Runs send in midPointTai order and
# mark with the Kafka timestamp, so the newest marks belong to the latest times sent; reading
# them backwards on elasticc_diaalert_sent is one short index scan per partition instead of a
# scan of the whole (billion-row) table for max("midPointTai").
LAST_SENT_SQL = """
    SELECT max("midPointTai") FROM (
        SELECT "midPointTai" FROM elasticc_diaalert
        WHERE "alertSentTimestamp" = (SELECT max("alertSentTimestamp") FROM elasticc_diaalert)
    ) AS newest
"""

# Relies on the primary key ("diaObjectId", "alertId"). "IS NULL" keeps the first mark:
# an alert re-sent after a crash keeps the timestamp of its first confirmed delivery.
# On small tables the planner hashes all unsent alerts instead of probing the key per row
# (cheap there); at the campaign's size it probes. Most of the cost is index maintenance
# (the update moves the row out of the unsent partial index), hence the marker thread.
MARK_SENT_SQL = """
    UPDATE elasticc_diaalert a
    SET "alertSentTimestamp" = to_timestamp(v.ms / 1000.0)
    FROM unnest(%(object_ids)s::bigint[], %(alert_ids)s::bigint[], %(ms)s::bigint[]) AS v(oid, aid, ms)
    WHERE a."diaObjectId" = v.oid AND a."alertId" = v.aid AND a."alertSentTimestamp" IS NULL
"""


class SendError(Exception):
    """A failure to report to the operator (its message is the report), not a crash."""


# --- Before a run: which day, what is unsent, the lock ---------------------------------------


def through_day(through: float | None, added_days: float | None) -> float | None:
    """The day to send through: `through` itself, or `added_days` after the alert sent last
    (after the first unsent alert's when none has been sent). None when nothing is unsent
    and nothing was ever sent."""
    if through is not None:
        return through
    with connection.cursor() as cursor:
        cursor.execute(LAST_SENT_SQL)
        last_sent = cursor.fetchone()[0]
        cursor.execute(FIRST_UNSENT_SQL)
        first_unsent = cursor.fetchone()[0]
    if first_unsent is None:
        return last_sent  # everything is sent: nothing to do
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


def unsent_summary(through: float) -> Unsent:
    """The unsent alerts with midPointTai <= `through`: how many, their time range, their objects."""
    with connection.cursor() as cursor:
        cursor.execute(UNSENT_SUMMARY_SQL, {"through": through})
        return Unsent(*cursor.fetchone())


def describe_dry_run(through: float | None, added_days: float | None, topic: str, servers: str) -> str:
    """What a run with these arguments would send, as the dry run reports it (no lock needed)."""
    day = through_day(through, added_days)
    if day is None:
        return "Dry run: no unsent alerts at all; nothing would be sent."
    unsent = unsent_summary(day)
    if unsent.count == 0:
        return f"Dry run: no unsent alerts with midPointTai <= {day:.5f}; nothing would be sent."
    return (
        f"Dry run: would send {unsent.count} alerts of {unsent.objects} objects with midPointTai "
        f"{unsent.first:.5f} .. {unsent.last:.5f} (through day {day:.5f}) to topic {topic} on {servers}. "
        "Add --do to send."
    )


@contextmanager
def send_lock() -> Iterator[None]:
    """Hold the sender's advisory lock (on Django's connection) for the block; SendError when
    another sender holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SEND_LOCK_KEY])
        if not cursor.fetchone()[0]:
            raise SendError(
                "another send_elasticc_alerts is running (PostgreSQL advisory lock "
                f"{SEND_LOCK_KEY} is held); not starting a second one"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SEND_LOCK_KEY])


def producer_config(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE librdkafka settings (--producer-config) as a dict."""
    bad = [kv for kv in pairs if "=" not in kv]
    if bad:
        raise SendError(f"--producer-config takes KEY=VALUE, not {bad[0]!r}")
    return dict(kv.split("=", 1) for kv in pairs)


# --- A run -----------------------------------------------------------------------------------


class AlertSender:
    """Produces alerts and marks the delivered ones; one instance per run."""

    def __init__(
        self,
        servers: str,
        topic: str,
        delivery_timeout: float,
        extra_config: dict | None = None,
        history_rows: int = 2_000_000,
        max_rate: float | None = None,
    ):
        self.topic = topic
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
        self.assembler = AlertAssembler(AvroForm(), history_rows)
        self.delivered: list[tuple[int, int, int]] = []  # (diaObjectId, alertId, timestamp ms)
        self.failed: list[tuple[int, str]] = []
        self.produced = self.skipped = 0
        self.marker: _Marker | None = None  # started by run(): its connection lives only as long as the run
        self._last_error: str | None = None

    def _on_error(self, err) -> None:
        text = str(err)
        if text != self._last_error:
            log.warning("Kafka %s: %s", self.servers, text)
            self._last_error = text

    def check_reachable(self) -> None:
        try:
            self.producer.list_topics(self.topic, timeout=min(10.0, self.delivery_timeout))
        except KafkaException as exc:
            raise SendError(f"cannot reach Kafka at {self.servers}: {exc.args[0]}; nothing sent") from None

    def _on_delivery(self, object_id: int, alert_id: int, err, msg) -> None:
        if err is not None:
            self.failed.append((alert_id, str(err)))
            return
        kind, ms = msg.timestamp()
        if kind == TIMESTAMP_NOT_AVAILABLE:
            ms = int(time.time() * 1000)
        self.delivered.append((object_id, alert_id, ms))

    def produce(self, value: bytes, object_id: int, alert_id: int) -> None:
        # Keyed by object: an object's alerts share a partition and stay in order.
        key = str(object_id).encode()
        callback = partial(self._on_delivery, object_id, alert_id)
        while True:
            try:
                self.producer.produce(self.topic, value, key, on_delivery=callback)
                break
            except BufferError:  # local queue full: let deliveries drain it
                self.producer.poll(0.1)
        self.produced += 1

    def mark_delivered(self, progress=None) -> None:
        """Hand the alerts confirmed since the last call to the marker (one UPDATE per call)."""
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

    def pace(self, started: float, progress=None, stop=None) -> None:
        """With a max rate, wait (serving delivery reports) until the alerts produced so far are
        no longer ahead of it."""
        if self.max_rate is None:
            return
        due = started + self.produced / self.max_rate
        while not stop and (left := due - time.monotonic()) > 0:
            self.producer.poll(min(left, 0.1))
            self.mark_delivered(progress)

    def run(self, through: float, batch_size: int, progress=None, stop=None) -> None:
        """Stream, build, produce and mark until done, a delivery fails or `stop` turns true."""
        started = time.monotonic()
        self.marker = _Marker()
        try:
            stream = connection.get_new_connection(connection.get_connection_params())
        except BaseException:
            self.marker.close()
            raise
        try:
            with stream.cursor(name="elasticc_unsent_alerts") as cursor, connection.cursor() as build_cursor:
                cursor.itersize = batch_size
                cursor.execute(UNSENT_ALERTS_SQL, {"through": through})
                while not (stop or self.failed):
                    rows = [AlertRow(*r) for r in cursor.fetchmany(batch_size)]
                    if not rows:
                        break
                    encoded = self.assembler.assemble(rows, build_cursor)
                    if len(encoded) < len(rows):
                        present = {row.alertId for row, _ in encoded}
                        self.skipped += len(rows) - len(encoded)
                        log.warning(
                            "alerts without their source row, not sent: %s",
                            [r.alertId for r in rows if r.alertId not in present][:20],
                        )
                    for row, value in encoded:
                        self.produce(value, row.diaObjectId, row.alertId)
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


class _Marker:
    """Writes alertSentTimestamp in a thread of its own, on a connection of its own.

    The UPDATE of a batch (its index maintenance, mostly) then runs in PostgreSQL while
    the main thread fetches and encodes the next batch: on two cores that overlap is
    worth a third of the run time. The queue is short, so marking cannot fall far behind;
    a mark is only ever queued after Kafka confirmed the alert's delivery.
    """

    def __init__(self, depth: int = 4):
        self.marked = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._conn = connection.get_new_connection(connection.get_connection_params())
        self._conn.autocommit = True
        self._thread = threading.Thread(target=self._work, name="mark-sent", daemon=True)
        self._thread.start()

    def put(self, batch: list[tuple[int, int, int]]) -> None:
        if self.error is not None:
            raise SendError(f"marking alerts sent failed: {self.error}")
        self._queue.put(batch)

    def _work(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                with self._conn.cursor() as cursor:
                    cursor.execute(
                        MARK_SENT_SQL,
                        {
                            "object_ids": [d[0] for d in batch],
                            "alert_ids": [d[1] for d in batch],
                            "ms": [d[2] for d in batch],
                        },
                    )
                    self.marked += cursor.rowcount
            except BaseException as exc:  # reported by put() and close()
                self.error = exc

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._conn.close()
        if self.error is not None:
            raise SendError(f"marking alerts sent failed: {self.error}")
