"""brokerpoll's engine: read broker classifications from Kafka and store each exactly once.

- ``Poller``: one configured broker; each batch is decoded, validated and stored with its
  offsets in one transaction (docs/brokerpoll.md, "Exactly-once design"). Each topic names
  its campaign (``BrokerConfig.campaign_of``): a message is validated against that campaign's
  taxonomy, screened against its alerts and stored in its tables
  (``elasticc.stream.brokertables``), and one transaction commits the messages of both
  campaigns with the offsets of the batch;
- ``decode_message`` / ``Undecodable`` and ``kafka_timestamp``: what a Kafka message becomes.

``elasticc.stream.pollloop.PollLoop`` runs the pollers of one process. The ``brokerpoll``
command only turns its arguments into broker configs and runs a ``PollLoop``; tests drive
``Poller`` and ``PollLoop`` directly.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import time
from datetime import UTC, datetime

import fastavro
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from elasticc.stream import admission, avro, brokertables
from elasticc.stream.brokerconfig import BrokerConfig
from elasticc.stream.consumer import BatchConsumer, ConnectionState
from elasticc.stream.ingest import InvalidBrokerMessage, KafkaOrigin, store_broker_messages, validate_classification
from elasticc.stream.offsets import DatabaseOffsets
from elasticc.stream.pollstatus import record_heartbeat
from tom_desc.lib.backoff import Backoff
from tom_desc.lib.stopping import StopFlag

# The name operators' log filters (and the broker-restart test) look for.
log = logging.getLogger("elasticc.brokerpoll")

EXIT_DATABASE_UNAVAILABLE = 3


class Undecodable(ValueError):
    """Bytes that are not one record of the expected Avro schema."""


class DatabaseUnavailable(Exception):
    """Stopped while the database was away: the batch in hand was not stored (nor its offsets)."""


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
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


class Poller:
    """Polls one broker and stores its batches. One per configured broker.

    Each batch, in one database transaction:
    1. lock the batch's partition rows of elasticc_kafkaoffset and drop messages below
       the stored offset (another member stored them while it held the partition);
    2. store the good messages with store_broker_messages (COPY) and the undecodable,
       invalid or refused ones (admission.screen: unknown or unsent alert, another source,
       a new classifier beyond the caps) in elasticc_brokerdeadletter with the reason;
    3. move the stored offsets past the batch.
    Only after the commit are the offsets copied to Kafka, for monitoring.
    """

    def __init__(
        self, config: BrokerConfig, stop: StopFlag, extra_settings: dict | None = None, batch_size: int = 5000
    ):
        self.config = config
        self.stop = stop
        self.batch_size = batch_size  # messages per transaction
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.poller_id = f"{config.name}@{self.host}:{self.pid}"
        self.schema = avro.load_schema(config.schema)
        self.offsets = DatabaseOffsets(config.group_id)
        self.consumer = BatchConsumer(config, self._start_offsets, extra_settings, on_revoke=self._revoked, logger=log)
        self.database = ConnectionState("database", log)
        self.positions: dict[tuple[str, int], int] = {}
        self.started = timezone.now()
        self.totals = dict(messages=0, classifications=0, duplicates=0, dead=0, stale=0)
        self._window = dict(self.totals, since=time.monotonic())
        self.lag: int | None = None
        self.rewound: set[tuple[str, int]] = set()
        self.topic_ids: dict[str, str] = {}  # current Kafka topic ids, stored with the offsets
        self._next_topic_id_check = 0.0
        self._tables: dict[str, brokertables.BrokerTables] = {}

    def tables_of(self, topic: str) -> brokertables.BrokerTables:
        """The broker tables of the campaign the topic names (config.campaign_of), remembered."""
        tables = self._tables.get(topic)
        if tables is None:
            tables = self._tables[topic] = brokertables.get(self.config.campaign_of(topic))
        return tables

    def _by_campaign(self, items):
        """The (record, origin) items grouped by their topic's campaign, in first-seen order."""
        groups: dict[str, tuple[brokertables.BrokerTables, list]] = {}
        for item in items:
            tables = self.tables_of(item[1].topic)
            groups.setdefault(tables.campaign, (tables, []))[1].append(item)
        return list(groups.values())

    # --- Kafka callbacks
    def _start_offsets(self, partitions):
        """Stored offsets of newly assigned partitions; waits (with backoff) for the database,
        because reading a partition from anywhere else could store a message twice."""
        backoff = Backoff()
        while True:
            try:
                stored = self.offsets.read(partitions)
                self.database.up()
                break
            except (OperationalError, InterfaceError) as exc:
                self.database.down(str(exc).strip())
                connection.close()
                if self.stop.wait(backoff.next()):
                    raise
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
                log.warning(
                    "broker %s: %s[%d]: the topic was recreated (its id changed from %s to %s); "
                    "reading it again from the beginning",
                    self.config.name,
                    key[0],
                    key[1],
                    old_id,
                    new_id,
                )
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

    def process(self, messages) -> None:
        """Store one batch (the steps of the class docstring); while the database is away, keep
        the batch and retry with backoff. Raises DatabaseUnavailable if stopped meanwhile."""
        items, dead = [], []
        for message in messages:
            origin = KafkaOrigin(message.topic(), message.partition(), message.offset(), kafka_timestamp(message))
            try:
                record = validate_classification(
                    decode_message(message.value(), self.schema), self.tables_of(origin.topic)
                )
            except Undecodable as exc:
                dead.append((message, origin, f"undecodable: {exc}"))
                continue
            except InvalidBrokerMessage as exc:
                dead.append((message, origin, f"invalid: {exc}"))
                continue
            items.append((record, origin))
        # The sender marks an alert sent just after Kafka confirmed it: give it a moment.
        deadline = time.monotonic() + admission.UNSENT_GRACE_SECONDS
        for tables, group in self._by_campaign(items):
            grace = max(0.0, deadline - time.monotonic())
            admission.wait_until_sent([record for record, _ in group], self.stop, grace, tables=tables)
        first: dict[tuple[str, int], int] = {}
        last: dict[tuple[str, int], int] = {}
        for message in messages:
            key = (message.topic(), message.partition())
            first[key] = min(first.get(key, message.offset()), message.offset())
            last[key] = max(last.get(key, -1), message.offset())
        next_offsets = {key: offset + 1 for key, offset in last.items()}

        backoff = Backoff()
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
                if self.stop.wait(backoff.next()):
                    raise DatabaseUnavailable(self.database.last_error) from None
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
            by_origin = {(m.topic(), m.partition(), m.offset()): m for m in messages}
            stored = classifications = duplicates = 0
            for tables, group in self._by_campaign(fresh):
                counts = self._store_campaign(tables, group, by_origin, fresh_dead)
                stored, classifications, duplicates = (
                    stored + counts[0],
                    classifications + counts[1],
                    duplicates + counts[2],
                )
            if fresh_dead:
                self._dead_letter(fresh_dead)
            self.offsets.advance(next_offsets, reset=self.rewound & set(next_offsets), topic_ids=self.topic_ids)
        return dict(
            messages=stored, classifications=classifications, duplicates=duplicates, dead=len(fresh_dead), stale=stale
        )

    def _store_campaign(self, tables, group, by_origin, dead) -> tuple[int, int, int]:
        """Screen and store one campaign's fresh messages of the batch (inside its transaction);
        the refused ones, and any the database still refuses, are added to `dead`. Returns
        (messages stored, classifications stored, duplicates)."""
        registered_by = f"kafka:{self.config.name}"
        refused = admission.screen([r for r, _ in group], registered_by, tables=tables)
        for i in sorted(refused):
            origin = group[i][1]
            dead.append((by_origin[(origin.topic, origin.partition, origin.offset)], origin, f"refused: {refused[i]}"))
        accepted = [item for i, item in enumerate(group) if i not in refused]
        try:
            with transaction.atomic():
                result = store_broker_messages(accepted, tables=tables, registered_by=registered_by)
            return result.stored, result.classifications, result.duplicates
        except (OperationalError, InterfaceError):
            raise
        except DatabaseError as exc:
            # Validation should make this impossible; if the database still refuses the
            # batch, find the messages it refuses one by one rather than stop polling.
            log.error("broker %s: database refused a batch (%s); storing it message by message", self.config.name, exc)
        stored = classifications = duplicates = 0
        for item in accepted:
            try:
                with transaction.atomic():
                    one = store_broker_messages([item], tables=tables, registered_by=registered_by)
                stored, classifications = stored + one.stored, classifications + one.classifications
                duplicates += one.duplicates
            except (OperationalError, InterfaceError):
                raise
            except DatabaseError as one_exc:
                origin = item[1]
                message = by_origin[(origin.topic, origin.partition, origin.offset)]
                dead.append((message, origin, f"database refused: {one_exc}"))
        return stored, classifications, duplicates

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
                log.warning(
                    "broker %s: %s[%d] ends before the stored offset %s: the topic was recreated; "
                    "reading it again from the beginning",
                    self.config.name,
                    key[0],
                    key[1],
                    self.positions.get(key),
                )
                self.rewound.add(key)
            self.consumer.seek_to_beginning(keys)

    def _dead_letter(self, dead) -> None:
        with connection.cursor() as cur:
            cur.executemany(
                'INSERT INTO elasticc_brokerdeadletter ("pollerName", "groupId", topic, "partition", "offset", '
                '"msgHdrTimestamp", key, value, reason, created) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())',
                [
                    (
                        self.config.name,
                        self.config.group_id,
                        origin.topic,
                        origin.partition,
                        origin.offset,
                        origin.timestamp,
                        message.key(),
                        message.value(),
                        reason[:2000],
                    )
                    for message, origin, reason in dead
                ],
            )
        for _message, origin, reason in dead:
            log.warning(
                "broker %s: dead-lettered %s[%d]@%d: %s",
                self.config.name,
                origin.topic,
                origin.partition,
                origin.offset,
                reason[:300],
            )

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
            record_heartbeat(
                poller_id=self.poller_id,
                name=self.config.name,
                host=self.host,
                pid=self.pid,
                group_id=self.config.group_id,
                topics=self.config.topics,
                state=state or self.state(),
                started=self.started,
                totals=self.totals,
                lag=self.lag,
            )
        except (OperationalError, InterfaceError) as exc:
            self.database.down(str(exc).strip())
            connection.close()

    def log_throughput(self) -> None:
        now = time.monotonic()
        seconds = max(now - self._window["since"], 1e-9)
        delta = {k: self.totals[k] - self._window[k] for k in self.totals}
        log.info(
            "broker %s: %d messages (%.0f/s), %d classifications (%.0f/s), %d duplicates, "
            "%d dead-lettered in %.0f s; lag %s",
            self.config.name,
            delta["messages"],
            delta["messages"] / seconds,
            delta["classifications"],
            delta["classifications"] / seconds,
            delta["duplicates"],
            delta["dead"],
            seconds,
            "unknown" if self.lag is None else self.lag,
        )
        self._window = dict(self.totals, since=now)
