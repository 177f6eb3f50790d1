"""Consume broker classification topics and store them, each message exactly once.

See docs/brokerpoll.md for the config file and the exactly-once design.
"""
from __future__ import annotations

import io
import logging
import os
import socket
import time
from datetime import datetime
from datetime import timezone as dt_timezone

import fastavro
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from elasticc.stream import avro
from elasticc.stream.ingest import InvalidBrokerMessage, KafkaOrigin, store_broker_messages, validate_classification
from elasticc.stream.consumer import (LIBRDKAFKA_LOG, BatchConsumer, BrokerConfig, ConfigError, ConnectionState, DatabaseOffsets,
                                     StopFlag, load_broker_configs)

log = logging.getLogger("elasticc.brokerpoll")

EXIT_DATABASE_UNAVAILABLE = 3


class Undecodable(ValueError):
    pass


def decode_message(value: bytes | None, schema) -> dict:
    """Schemaless Avro bytes to a record; every byte must belong to the record."""
    if not value:
        raise Undecodable("empty message")
    buffer = io.BytesIO(value)
    try:
        record = fastavro.schemaless_reader(buffer, schema, None)
    except Exception as exc:  # arbitrary bytes fail in arbitrary ways (EOF, bad UTF-8, ...)
        raise Undecodable(f"not a {schema.get('name', 'record')} Avro record: {type(exc).__name__}: {exc}") from None
    if buffer.tell() != len(value):
        raise Undecodable(f"{len(value) - buffer.tell()} bytes left after the record (wrong schema?)")
    return record


def kafka_timestamp(message):
    kind, millis = message.timestamp()
    if kind == 0 or millis is None or millis < 0:  # TIMESTAMP_NOT_AVAILABLE
        return None
    return datetime.fromtimestamp(millis / 1000, tz=dt_timezone.utc)


class Poller:
    """Polls one broker and stores its batches. One per configured broker.

    Each batch, in one database transaction:
    1. lock the batch's partition rows of elasticc_kafkaoffset and drop messages below
       the stored offset (another member stored them while it held the partition);
    2. store the good messages with store_broker_messages (COPY) and the undecodable or
       invalid ones in elasticc_brokerdeadletter;
    3. move the stored offsets past the batch.
    Only after the commit are the offsets copied to Kafka, for monitoring.
    """

    def __init__(self, config: BrokerConfig, stop: StopFlag, extra_settings: dict | None = None):
        self.config = config
        self.stop = stop
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.poller_id = f"{config.name}@{self.host}:{self.pid}"
        self.schema = avro.load_schema(config.schema)
        self.offsets = DatabaseOffsets(config.group_id)
        self.consumer = BatchConsumer(config, self._start_offsets, extra_settings, on_revoke=self._revoked,
                                      logger=log)
        self.database = ConnectionState("database", log)
        self.positions: dict[tuple[str, int], int] = {}
        self.started = timezone.now()
        self.totals = dict(messages=0, classifications=0, duplicates=0, dead=0, stale=0)
        self._window = dict(self.totals, since=time.monotonic())
        self.lag: int | None = None
        self.rewound: set[tuple[str, int]] = set()
        self.topic_ids: dict[str, str] = {}  # current Kafka topic ids, stored with the offsets
        self._next_topic_id_check = 0.0

    # --- Kafka callbacks
    def _start_offsets(self, partitions):
        """Stored offsets of newly assigned partitions; waits (with backoff) for the database,
        because reading a partition from anywhere else could store a message twice."""
        backoff = 0.5
        while True:
            try:
                stored = self.offsets.read(partitions)
                self.database.up()
                break
            except (OperationalError, InterfaceError) as exc:
                self.database.down(str(exc).strip())
                connection.close()
                if self.stop.wait(backoff):
                    raise
                backoff = min(backoff * 2, 30.0)
        for key in self._recreated_topics(partitions, stored):
            del stored[key]  # read the new topic from its beginning
        self.positions.update(stored)
        return stored

    TOPIC_ID_CHECK_EVERY = 10.0  # seconds

    def _recreated_topics(self, partitions, stored: dict) -> list[tuple[str, int]]:
        """Partitions whose stored offset refers to an earlier topic of the same name: the
        broker lost its data and the topic was created again (its Kafka topic id changed).
        Their offsets mean nothing in the new topic, whatever its length; they are rewound,
        and messages seen twice are caught as duplicates by the (classifierId, alertId) key."""
        current = self.consumer.topic_ids({topic for topic, _ in partitions})
        self.topic_ids.update(current)
        before = self.offsets.stored_topic_ids([key for key in partitions if key in stored])
        found = []
        for key, old_id in sorted(before.items()):
            new_id = current.get(key[0])
            if new_id is not None and new_id != old_id and key not in self.rewound:
                log.warning("broker %s: %s[%d]: the topic was recreated (its id changed from %s to %s); "
                            "reading it again from the beginning", self.config.name, key[0], key[1], old_id, new_id)
                self.rewound.add(key)
                self.positions.pop(key, None)
                found.append(key)
        return found

    def check_topic_ids(self) -> None:
        """Every TOPIC_ID_CHECK_EVERY seconds, compare the assigned topics' ids with the stored
        ones (a recreated topic may be longer than the stored offsets, so its length cannot
        tell)."""
        now = time.monotonic()
        if now < self._next_topic_id_check or not self.consumer.assigned:
            return
        self._next_topic_id_check = now + self.TOPIC_ID_CHECK_EVERY
        assigned = sorted(self.consumer.assigned)
        try:
            keys = self._recreated_topics(assigned, dict.fromkeys(assigned))
        except (OperationalError, InterfaceError):
            connection.close()
            return
        if keys:
            self.consumer.seek_to_beginning(keys)

    def _revoked(self, partitions):
        for key in partitions:
            self.positions.pop(key, None)
            self.rewound.discard(key)

    # --- one batch
    def poll_once(self, timeout: float) -> int:
        messages = self.consumer.poll_batch(max_messages=self.batch_size, timeout=timeout)
        if messages:
            self.process(messages)
        return len(messages)

    batch_size = 5000

    def process(self, messages) -> None:
        items, dead = [], []
        for message in messages:
            origin = KafkaOrigin(message.topic(), message.partition(), message.offset(), kafka_timestamp(message))
            try:
                record = validate_classification(decode_message(message.value(), self.schema))
            except Undecodable as exc:
                dead.append((message, origin, f"undecodable: {exc}"))
                continue
            except InvalidBrokerMessage as exc:
                dead.append((message, origin, f"invalid: {exc}"))
                continue
            items.append((record, origin))
        first: dict[tuple[str, int], int] = {}
        last: dict[tuple[str, int], int] = {}
        for message in messages:
            key = (message.topic(), message.partition())
            first[key] = min(first.get(key, message.offset()), message.offset())
            last[key] = max(last.get(key, -1), message.offset())
        next_offsets = {key: offset + 1 for key, offset in last.items()}

        backoff = 0.5
        while True:
            try:
                counts = self._store(items, dead, first, next_offsets, messages)
                self.database.up()
                break
            except (OperationalError, InterfaceError) as exc:
                # The database went away: nothing of this batch was committed. Keep the batch
                # and retry; the stored offsets still say where a restart would begin.
                self.database.down(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
                connection.close()
                if self.stop.wait(backoff):
                    raise SystemExit(EXIT_DATABASE_UNAVAILABLE)
                backoff = min(backoff * 2, 30)
        for key, value in counts.items():
            self.totals[key] += value
        self.rewound -= set(next_offsets)
        # A partition revoked while this batch was in hand is no longer ours to track.
        self.positions.update({k: v for k, v in next_offsets.items() if k in self.consumer.assigned})
        self.consumer.commit_to_kafka(next_offsets)

    def _store(self, items, dead, first, next_offsets, messages) -> dict[str, int]:
        with transaction.atomic():
            # The offsets commit in this same transaction, so a batch lost by a database crash
            # is lost together with its offsets and read again: waiting for the WAL flush buys
            # nothing here (unlike the REST path, whose client is told "stored").
            with connection.cursor() as cur:
                cur.execute("SET LOCAL synchronous_commit TO off")
            claimed = self.offsets.claim(first)
            claimed = self._recreated_partitions(claimed, first)
            fresh = [(r, o) for r, o in items if o.offset >= claimed[(o.topic, o.partition)]]
            fresh_dead = [d for d in dead if d[1].offset >= claimed[(d[1].topic, d[1].partition)]]
            stale = len(items) + len(dead) - len(fresh) - len(fresh_dead)
            if stale:
                log.warning("broker %s: skipped %d messages another member already stored", self.config.name, stale)
            try:
                with transaction.atomic():
                    result = store_broker_messages(fresh)
                stored, classifications, duplicates = result.stored, result.classifications, result.duplicates
            except (OperationalError, InterfaceError):
                raise
            except DatabaseError as exc:
                # Validation should make this impossible; if the database still refuses the
                # batch, find the messages it refuses one by one rather than stop polling.
                log.error("broker %s: database refused a batch (%s); storing it message by message",
                          self.config.name, exc)
                stored = classifications = duplicates = 0
                by_origin = {(m.topic(), m.partition(), m.offset()): m for m in messages}
                for item in fresh:
                    try:
                        with transaction.atomic():
                            one = store_broker_messages([item])
                        stored, classifications = stored + one.stored, classifications + one.classifications
                        duplicates += one.duplicates
                    except (OperationalError, InterfaceError):
                        raise
                    except DatabaseError as one_exc:
                        origin = item[1]
                        message = by_origin[(origin.topic, origin.partition, origin.offset)]
                        fresh_dead.append((message, origin, f"database refused: {one_exc}"))
            if fresh_dead:
                self._dead_letter(fresh_dead)
            self.offsets.advance(next_offsets, reset=self.rewound & set(next_offsets), topic_ids=self.topic_ids)
        return dict(messages=stored, classifications=classifications, duplicates=duplicates,
                    dead=len(fresh_dead), stale=stale)

    def _recreated_partitions(self, claimed, first):
        """Partitions rewound because their topic was recreated (see check_truncated): their
        messages are new whatever the stored offset says, so the batch starts them afresh."""
        out = dict(claimed)
        for key in list(self.rewound):
            if key in first:
                out[key] = first[key]
        return out

    def check_truncated(self) -> None:
        """A topic recreated by a broker that lost its data starts again at offset 0, below the
        stored offsets: rewind those partitions and let the next batch reset their rows."""
        self.check_topic_ids()
        keys = self.consumer.truncated_partitions(self.positions)
        if keys:
            for key in keys:
                log.warning("broker %s: %s[%d] ends before the stored offset %s: the topic was recreated; "
                            "reading it again from the beginning", self.config.name, key[0], key[1],
                            self.positions.get(key))
                self.rewound.add(key)
            self.consumer.seek_to_beginning(keys)

    def _dead_letter(self, dead) -> None:
        with connection.cursor() as cur:
            cur.executemany(
                'INSERT INTO elasticc_brokerdeadletter ("pollerName", "groupId", topic, "partition", "offset", '
                '"msgHdrTimestamp", key, value, reason, created) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())',
                [(self.config.name, self.config.group_id, origin.topic, origin.partition, origin.offset,
                  origin.timestamp, message.key(), message.value(), reason[:2000])
                 for message, origin, reason in dead],
            )
        for message, origin, reason in dead:
            log.warning("broker %s: dead-lettered %s[%d]@%d: %s", self.config.name, origin.topic, origin.partition,
                        origin.offset, reason[:300])

    # --- reporting
    def state(self) -> str:
        if self.stop:
            return "stopped"
        if self.database.available is False:
            return "database unavailable"
        if self.consumer.state.available is False:
            return "broker unavailable"
        return "running" if self.consumer.state.available else "starting"

    def heartbeat(self, state: str | None = None) -> None:
        if self.consumer.consumer is not None:
            self.lag = self.consumer.lag(self.positions)
        try:
            with connection.cursor() as cur:
                cur.execute(
                    'INSERT INTO elasticc_brokerpollstatus ("pollerId", "pollerName", host, pid, "groupId", topics, '
                    'state, started, "lastPoll", "messagesStored", "classificationsStored", duplicates, '
                    '"deadLettered", lag) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now(), %s, %s, %s, %s, %s) '
                    'ON CONFLICT ("pollerId") DO UPDATE SET state = EXCLUDED.state, "lastPoll" = now(), '
                    '"messagesStored" = EXCLUDED."messagesStored", '
                    '"classificationsStored" = EXCLUDED."classificationsStored", '
                    'duplicates = EXCLUDED.duplicates, "deadLettered" = EXCLUDED."deadLettered", lag = EXCLUDED.lag',
                    [self.poller_id, self.config.name, self.host, self.pid, self.config.group_id,
                     ",".join(self.config.topics), state or self.state(), self.started, self.totals["messages"],
                     self.totals["classifications"], self.totals["duplicates"], self.totals["dead"], self.lag],
                )
        except (OperationalError, InterfaceError) as exc:
            self.database.down(str(exc).strip())
            connection.close()

    def log_throughput(self) -> None:
        now = time.monotonic()
        seconds = max(now - self._window["since"], 1e-9)
        delta = {k: self.totals[k] - self._window[k] for k in self.totals}
        log.info("broker %s: %d messages (%.0f/s), %d classifications (%.0f/s), %d duplicates, "
                 "%d dead-lettered in %.0f s; lag %s", self.config.name, delta["messages"],
                 delta["messages"] / seconds, delta["classifications"], delta["classifications"] / seconds,
                 delta["duplicates"], delta["dead"], seconds, "unknown" if self.lag is None else self.lag)
        self._window = dict(self.totals, since=now)


class Command(BaseCommand):
    help = ("Consume brokerClassification messages from one or more Kafka brokers and store them "
            "(broker messages and classifications, COPY in batches). Offsets are kept in the database "
            "in the same transaction as the messages, so a crash or kill at any moment followed by a "
            "restart stores every message exactly once. Undecodable or invalid messages go to the "
            "dead-letter table elasticc_brokerdeadletter. Stops cleanly on SIGTERM/SIGINT. "
            "Brokers come from --config (YAML or JSON, see tom_desc/elasticc/stream/brokers.example.yaml), "
            "from --kafka-server/--topic/--group, or from the settings (KAFKA_BOOTSTRAP_SERVERS, "
            "ELASTICC_FAKEBROKER_TOPIC).")

    def add_arguments(self, parser):
        parser.add_argument("--config", help="YAML or JSON file listing brokers (see docs/brokerpoll.md)")
        parser.add_argument("--kafka-server", help="bootstrap servers of a single broker to poll")
        parser.add_argument("--topic", action="append",
                            help="topic to read (repeatable); a value starting with ^ is a regular expression")
        parser.add_argument("--group", help="consumer group id (also the key of the offsets kept in the database)")
        parser.add_argument("--name", default="default", help="name of the broker given on the command line")
        parser.add_argument("--schema", default=avro.BROKER_CLASSIFICATION_SCHEMA,
                            help="Avro schema of the messages (default %(default)s)")
        parser.add_argument("--assign", action="store_true",
                            help="read every partition without joining a consumer group (a single poller only)")
        parser.add_argument("--consumer-option", action="append", default=[], metavar="KEY=VALUE",
                            help="extra librdkafka consumer setting for every broker, e.g. session.timeout.ms=6000")
        parser.add_argument("--batch-size", type=int, default=5000, help="messages per transaction (default 5000)")
        parser.add_argument("--poll-timeout", type=float, default=1.0,
                            help="seconds to wait for a batch to fill (default 1)")
        parser.add_argument("--heartbeat-every", type=float, default=5.0,
                            help="seconds between heartbeat rows in elasticc_brokerpollstatus (default 5)")
        parser.add_argument("--log-every", type=float, default=30.0,
                            help="seconds between throughput/lag log lines (default 30)")
        parser.add_argument("--exit-when-idle", type=float, default=None, metavar="SECONDS",
                            help="exit 0 once no message arrived for this long and nothing is left to read "
                                 "(backfills, benchmarks); by default poll forever")

    def brokers(self, options) -> list[BrokerConfig]:
        path = options["config"] or getattr(settings, "ELASTICC_BROKERPOLL_CONFIG", "")
        if path and (options["kafka_server"] or options["topic"]):
            raise CommandError("give either --config or --kafka-server/--topic, not both")
        if path:
            try:
                return load_broker_configs(path)
            except (OSError, ConfigError, ValueError) as exc:
                raise CommandError(f"broker config {path}: {exc}") from None
        return [BrokerConfig(
            name=options["name"],
            bootstrap_servers=options["kafka_server"] or settings.KAFKA_BOOTSTRAP_SERVERS,
            topics=options["topic"] or [settings.ELASTICC_FAKEBROKER_TOPIC],
            group_id=options["group"] or "tom_desc-brokerpoll",
            schema=options["schema"],
            assign=options["assign"],
        )]

    def handle(self, *args, **options):
        extra = {}
        for item in options["consumer_option"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--consumer-option {item!r}: expected KEY=VALUE")
            extra[key.strip()] = value.strip()
        try:
            brokers = self.brokers(options)
            for broker in brokers:
                broker.consumer_settings(extra)
                avro.load_schema(broker.schema)
        except (ConfigError, KeyError) as exc:
            raise CommandError(str(exc)) from None

        if options["verbosity"] < 3:
            LIBRDKAFKA_LOG.setLevel(logging.CRITICAL)
        stop = StopFlag().install()
        pollers = [Poller(b, stop, extra) for b in brokers]
        for poller in pollers:
            poller.batch_size = options["batch_size"]
            log.info("brokerpoll %s: %s topics %s, group %s", poller.poller_id, poller.config.bootstrap_servers,
                     ",".join(poller.config.topics), poller.config.group_id)
            poller.heartbeat("starting")
        code = self.loop(pollers, stop, options)
        for poller in pollers:
            poller.heartbeat("stopped")
            poller.consumer.close()
            poller.log_throughput()
        totals = {k: sum(p.totals[k] for p in pollers) for k in pollers[0].totals}
        log.info("brokerpoll stopped%s: %d messages, %d classifications stored, %d duplicates, %d dead-lettered",
                 f" on {stop.signal_name}" if stop.signal_name else "", totals["messages"],
                 totals["classifications"], totals["duplicates"], totals["dead"])
        if code:
            raise SystemExit(code)

    def loop(self, pollers: list[Poller], stop: StopFlag, options) -> int:
        timeout = max(options["poll_timeout"] / len(pollers), 0.05)
        next_heartbeat = time.monotonic() + options["heartbeat_every"]
        next_log = time.monotonic() + options["log_every"]
        idle_limit = options["exit_when_idle"]
        last_message = time.monotonic()
        next_check = time.monotonic() + 1.0
        try:
            while not stop:
                got = 0
                for poller in pollers:
                    if stop:
                        break
                    got += poller.poll_once(timeout)
                now = time.monotonic()
                if got:
                    last_message = now
                if now >= next_check:
                    for poller in pollers:
                        poller.check_truncated()
                    next_check = now + 1.0
                if now >= next_heartbeat:
                    for poller in pollers:
                        poller.heartbeat()
                    next_heartbeat = now + options["heartbeat_every"]
                if now >= next_log:
                    for poller in pollers:
                        poller.log_throughput()
                    next_log = now + options["log_every"]
                if idle_limit is not None and now - last_message >= idle_limit:
                    lags = [p.consumer.lag(p.positions) for p in pollers]
                    if all(lag == 0 for lag in lags):
                        log.info("brokerpoll: idle for %.0f s with nothing left to read; exiting", idle_limit)
                        return 0
                    last_message = now
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0
