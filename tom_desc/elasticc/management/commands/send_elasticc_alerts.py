"""Advance simulated time: send the unsent alerts up to a day to Kafka as Avro.

    python manage.py send_elasticc_alerts --through-day 60300 --do
    python manage.py send_elasticc_alerts --added-days 1 --do

Without --do it only says what it would send. With it:

1. take a PostgreSQL advisory lock, so two senders never run at once;
2. stream the unsent alerts up to the chosen day in midPointTai order through a
   server-side cursor (its own connection, so marking can commit meanwhile);
3. per batch: fetch what the alerts need with set-based SQL and serialize them as
   schemaless Avro (elasticc.stream.alerts.AlertStreamEncoder: fastavro encodes each history
   row once per run, not once per alert), then hand them to the Kafka producer;
4. mark alertSentTimestamp (the Kafka message timestamp, which brokers echo back as
   elasticcPublishTimestamp) only for alerts whose delivery the broker confirmed,
   in batched UPDATEs that never overwrite an earlier mark.

A crash at any point leaves delivered-but-unmarked alerts at worst, which the next
run sends again (at least once); nothing is marked that was not delivered, and a mark
is written once.
"""
from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from functools import partial

from confluent_kafka import KafkaException, Producer
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from elasticc.stream import alerts as alert_builder
from elasticc.stream.avro import ALERT_SCHEMA

log = logging.getLogger(__name__)

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


class Command(BaseCommand):
    help = ("Send the unsent ELAsTiCC alerts up to a simulated day to Kafka (schemaless Avro "
            f"{ALERT_SCHEMA}) and mark them sent once the broker confirms delivery. "
            "A dry run unless --do is given.")

    def add_arguments(self, parser):
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument("--through-day", type=float, metavar="MJD",
                          help="send every unsent alert whose source midPointTai is at or before MJD")
        when.add_argument("--added-days", type=float, metavar="N",
                          help="send through N days after the midPointTai of the alert sent last (after "
                               "the first unsent alert's when none has been sent); a window without any "
                               "alert jumps to the next night that has one")
        parser.add_argument("--kafka-server", default=settings.KAFKA_BOOTSTRAP_SERVERS,
                            help="Kafka bootstrap servers (default: settings.KAFKA_BOOTSTRAP_SERVERS, %(default)s)")
        parser.add_argument("--topic", default=settings.ELASTICC_ALERT_TOPIC,
                            help="topic to produce to (default: settings.ELASTICC_ALERT_TOPIC, %(default)s)")
        parser.add_argument("--do", action="store_true", help="really send; without it, only report what would be sent")
        parser.add_argument("--batch-size", type=int, default=1000,
                            help="alerts built, produced and marked per batch (default %(default)s)")
        parser.add_argument("--delivery-timeout", type=float, default=120.0,
                            help="seconds the producer keeps retrying one alert before giving up (default %(default)s)")
        parser.add_argument("--producer-config", action="append", default=[], metavar="KEY=VALUE",
                            help="extra librdkafka producer setting, e.g. security.protocol=SASL_SSL (repeatable)")
        parser.add_argument("--history-rows", type=int, default=2_000_000,
                            help="encoded history rows kept between batches, so each is fetched and encoded "
                                 "once per run (about 100 bytes each; default %(default)s)")
        parser.add_argument("--max-rate", type=float, default=None, metavar="ALERTS_PER_S",
                            help="send at most this many alerts a second on average, e.g. to pace a stream "
                                 "for brokers with limited capacity (default: as fast as possible)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["max_rate"] is not None and options["max_rate"] <= 0:
            raise CommandError("--max-rate must be a positive number of alerts a second")
        if not options["do"]:
            return self.dry_run(options)
        if not self.try_lock():
            raise CommandError("another send_elasticc_alerts is running (PostgreSQL advisory lock "
                               f"{SEND_LOCK_KEY} is held); not starting a second one")
        try:
            self.send(options)
        finally:
            self.unlock()

    # --- the pieces -------------------------------------------------------------------------

    def through_day(self, options) -> float | None:
        if options["through_day"] is not None:
            return options["through_day"]
        with connection.cursor() as cursor:
            cursor.execute(LAST_SENT_SQL)
            last_sent = cursor.fetchone()[0]
            cursor.execute(FIRST_UNSENT_SQL)
            first_unsent = cursor.fetchone()[0]
        if first_unsent is None:
            return last_sent  # everything is sent: nothing to do
        if last_sent is None:
            return first_unsent + options["added_days"]
        # Simulated time skips nights without alerts (season gaps): a window that holds no
        # alert would otherwise leave every later --added-days run stuck on the same day.
        return max(last_sent + options["added_days"], first_unsent)

    def unsent_summary(self, through: float) -> tuple[int, float | None, float | None, int]:
        with connection.cursor() as cursor:
            cursor.execute(UNSENT_SUMMARY_SQL, {"through": through})
            return cursor.fetchone()

    def dry_run(self, options) -> None:
        through = self.through_day(options)
        if through is None:
            self.stdout.write("Dry run: no unsent alerts at all; nothing would be sent.")
            return
        count, first, last, objects = self.unsent_summary(through)
        if count == 0:
            self.stdout.write(f"Dry run: no unsent alerts with midPointTai <= {through:.5f}; nothing would be sent.")
            return
        self.stdout.write(
            f"Dry run: would send {count} alerts of {objects} objects with midPointTai {first:.5f} .. {last:.5f} "
            f"(through day {through:.5f}) to topic {options['topic']} on {options['kafka_server']}. "
            "Add --do to send.")

    def try_lock(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [SEND_LOCK_KEY])
            return cursor.fetchone()[0]

    def unlock(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SEND_LOCK_KEY])

    def send(self, options) -> None:
        through = self.through_day(options)
        if through is None:
            self.stdout.write("No unsent alerts; nothing sent.")
            return
        total = self.unsent_summary(through)[0]
        if total == 0:
            self.stdout.write(f"No unsent alerts with midPointTai <= {through:.5f}; nothing sent.")
            return
        bad = [kv for kv in options["producer_config"] if "=" not in kv]
        if bad:
            raise CommandError(f"--producer-config takes KEY=VALUE, not {bad[0]!r}")
        sender = AlertSender(options["kafka_server"], options["topic"], options["delivery_timeout"],
                             dict(kv.split("=", 1) for kv in options["producer_config"]),
                             history_rows=options["history_rows"], max_rate=options["max_rate"])
        sender.check_reachable()
        started = time.monotonic()
        progress = tqdm(total=total, unit="alert", desc="sent", disable=options["no_progress"] or None,
                        mininterval=0.5)
        stop = _StopFlag()
        try:
            sender.run(through, options["batch_size"], progress, stop)
        finally:
            progress.close()
            stop.restore()
        elapsed = time.monotonic() - started
        summary = (f"send_elasticc_alerts: {sender.marked} alerts sent and marked through day {through:.5f} "
                   f"to {options['topic']} in {elapsed:.1f} s ({sender.marked / max(elapsed, 1e-9):.0f} alerts/s); "
                   f"{sender.produced} produced, {len(sender.failed)} failed, {sender.skipped} skipped"
                   + (f", stopped early by {stop.signal_name}" if stop.signal_name else ""))
        self.stdout.write(summary)
        if sender.failed:
            alert_id, reason = sender.failed[0]
            raise CommandError(f"{len(sender.failed)} alerts were not delivered and stay unsent "
                               f"(first: alert {alert_id}: {reason})")


class _StopFlag:
    """SIGTERM/SIGINT stop reading new alerts; what was produced is still delivered and marked."""

    def __init__(self):
        self.signal_name: str | None = None
        self._previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. called from a test thread)
                pass

    def _handle(self, signum, frame):
        self.signal_name = signal.Signals(signum).name

    def __bool__(self) -> bool:
        return self.signal_name is not None

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class AlertSender:
    """Produces alerts and marks the delivered ones; one instance per run."""

    def __init__(self, servers: str, topic: str, delivery_timeout: float, extra_config: dict | None = None,
                 history_rows: int = 2_000_000, max_rate: float | None = None):
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
        self.encoder = alert_builder.AlertStreamEncoder(history_rows)
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
            raise CommandError(f"cannot reach Kafka at {self.servers}: {exc.args[0]}; nothing sent") from None

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
                    rows = [alert_builder.AlertRow(*r) for r in cursor.fetchmany(batch_size)]
                    if not rows:
                        break
                    encoded = self.encoder.encode(rows, build_cursor)
                    if len(encoded) < len(rows):
                        present = {row.alertId for row, _ in encoded}
                        self.skipped += len(rows) - len(encoded)
                        log.warning("alerts without their source row, not sent: %s",
                                    [r.alertId for r in rows if r.alertId not in present][:20])
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
            raise CommandError(f"marking alerts sent failed: {self.error}")
        self._queue.put(batch)

    def _work(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                with self._conn.cursor() as cursor:
                    cursor.execute(MARK_SENT_SQL, {"object_ids": [d[0] for d in batch],
                                                   "alert_ids": [d[1] for d in batch],
                                                   "ms": [d[2] for d in batch]})
                    self.marked += cursor.rowcount
            except BaseException as exc:  # reported by put() and close()
                self.error = exc

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._conn.close()
        if self.error is not None:
            raise CommandError(f"marking alerts sent failed: {self.error}")
