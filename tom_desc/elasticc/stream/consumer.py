"""Kafka consumer plumbing shared by the commands that read topics (brokerpoll, fakebroker).

What lives here, so each engine is only its own loop body:

- ``ConnectionState``: logs a broker going away and coming back once per change, not
  once per failed request.
- ``BatchConsumer``: subscribe (or assign every partition), seek newly assigned
  partitions to offsets the caller keeps (the database for brokerpoll's exactly-once
  ingest, Kafka's committed offsets for the fake broker), poll batches, measure lag,
  rebuild the client with backoff if it fails.

Which brokers to read is ``elasticc.stream.brokerconfig``'s; where brokerpoll keeps its
offsets is ``elasticc.stream.offsets``'s.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient

from elasticc.stream.brokerconfig import BrokerConfig, security_settings
from tom_desc.lib.backoff import Backoff

log = logging.getLogger(__name__)
# librdkafka's own log lines (one per failed connection attempt); commands silence it unless
# asked to be verbose, and report availability through ConnectionState instead.
LIBRDKAFKA_LOG = logging.getLogger("elasticc.kafka.librdkafka")


class ConnectionState:
    """Logs availability changes once: 'unavailable' on the first error, 'available' on recovery."""

    def __init__(self, what: str, logger: logging.Logger = log):
        self.what = what
        self.available: bool | None = None
        self.since = time.monotonic()
        self.log = logger
        self.last_error = ""

    def down(self, reason: str) -> None:
        self.last_error = reason
        if self.available is not False:
            self.available = False
            self.since = time.monotonic()
            self.log.warning("%s unavailable: %s (retrying with backoff)", self.what, reason)

    def up(self) -> None:
        if self.available is False:
            self.log.warning("%s available again after %.1f s", self.what, time.monotonic() - self.since)
        elif self.available is None:
            self.log.info("%s connected", self.what)
        if self.available is not True:
            self.available = True
            self.since = time.monotonic()


# Errors that mean "the broker (or the topic, after a broker restart) is not there right now".
TRANSIENT_ERRORS = {
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TRANSPORT,
    KafkaError._RESOLVE,
    KafkaError._TIMED_OUT,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NETWORK_EXCEPTION,
    KafkaError._MAX_POLL_EXCEEDED,
}


class BatchConsumer:
    """A confluent-kafka consumer that polls batches and takes its start offsets from the caller.

    ``start_offsets(partitions)`` returns {(topic, partition): next offset} for the ones the
    caller has stored; others start at the beginning. It is called on every assignment
    (a rebalance hands a partition over with exactly the caller's offset, whatever Kafka
    holds). ``on_revoke(partitions)`` lets the caller drop state for lost partitions.
    """

    def __init__(
        self,
        config: BrokerConfig,
        start_offsets: Callable[[list[tuple[str, int]]], dict],
        extra_settings: dict | None = None,
        on_revoke: Callable[[list[tuple[str, int]]], None] | None = None,
        logger: logging.Logger = log,
    ):
        self.config = config
        self.start_offsets = start_offsets
        self.on_revoke_cb = on_revoke
        self.extra_settings = extra_settings or {}
        self.log = logger
        self.state = ConnectionState(f"Kafka broker {config.name} ({config.bootstrap_servers})", logger)
        self.consumer: Consumer | None = None
        self.assigned: set[tuple[str, int]] = set()
        self._backoff = Backoff()  # between attempts to rebuild a failed client
        self._next_attempt = 0.0
        self._short_since: dict[tuple[str, int], float] = {}
        self.out_of_range: set[tuple[str, int]] = set()
        self._admin: AdminClient | None = None

    # --- lifecycle
    def _error_cb(self, err: KafkaError) -> None:
        if err.code() in TRANSIENT_ERRORS or not err.fatal():
            self.state.down(err.str())
        else:
            self.log.error("Kafka broker %s: fatal error %s", self.config.name, err.str())

    def open(self) -> None:
        settings = self.config.consumer_settings(self.extra_settings)
        settings["error_cb"] = self._error_cb
        self.consumer = Consumer(settings, logger=LIBRDKAFKA_LOG)
        self.assigned = set()
        if self.config.assign:
            self._assign_all()
        else:
            self.consumer.subscribe(
                self.config.topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke
            )

    def _assign_all(self) -> None:
        """Assign mode: every partition of the configured topics, no group coordination."""
        metadata = self.consumer.list_topics(timeout=10)
        partitions = []
        for topic in self.config.topics:
            info = metadata.topics.get(topic)
            if info is None or info.error is not None:
                raise KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, f"topic {topic} not found"))
            partitions += [TopicPartition(topic, p) for p in sorted(info.partitions)]
        self.consumer.assign(self._seek_positions(partitions))

    def _seek_positions(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        stored = self.start_offsets([(tp.topic, tp.partition) for tp in partitions])
        out = []
        for tp in partitions:
            offset = stored.get((tp.topic, tp.partition))
            out.append(TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING if offset is None else offset))
            self.assigned.add((tp.topic, tp.partition))
        self.log.info(
            "broker %s: reading %s",
            self.config.name,
            ", ".join(f"{tp.topic}[{tp.partition}]@{'start' if tp.offset < 0 else tp.offset}" for tp in out)
            or "no partitions",
        )
        return out

    def _on_assign(self, consumer, partitions):
        try:
            consumer.assign(self._seek_positions(partitions))
        except Exception:
            # An exception escaping a rebalance callback is swallowed by librdkafka; make sure
            # nothing is read from a position we could not establish.
            self.log.exception(
                "broker %s: could not set start offsets; leaving partitions unassigned", self.config.name
            )
            consumer.unassign()
            self.assigned.clear()
            raise

    def _on_revoke(self, consumer, partitions):
        lost = [(tp.topic, tp.partition) for tp in partitions]
        for key in lost:
            self.assigned.discard(key)
        if self.on_revoke_cb:
            self.on_revoke_cb(lost)
        consumer.unassign()

    def close(self) -> None:
        if self.consumer is not None:
            try:
                self.consumer.close()
            except (KafkaException, RuntimeError):
                pass
            self.consumer = None

    # --- polling
    def poll_batch(self, max_messages: int, timeout: float) -> list:
        """Up to max_messages messages, waiting at most `timeout` seconds; error events are
        logged (once per state change) and not returned. Rebuilds the client with backoff
        when it cannot be created or fails."""
        now = time.monotonic()
        if self.consumer is None:
            if now < self._next_attempt:
                time.sleep(min(timeout, self._next_attempt - now))
                return []
            try:
                self.open()
            except (KafkaException, RuntimeError) as exc:
                self.state.down(str(exc))
                self.close()
                self._next_attempt = now + self._backoff.next()
                return []
        try:
            messages = self.consumer.consume(num_messages=max_messages, timeout=timeout)
        except (KafkaException, RuntimeError) as exc:
            self.state.down(str(exc))
            self.close()
            self._next_attempt = time.monotonic() + self._backoff.next()
            return []
        good = []
        for message in messages:
            err = message.error()
            if err is None:
                good.append(message)
            elif err.code() == KafkaError._PARTITION_EOF:
                continue
            elif err.code() in (KafkaError._AUTO_OFFSET_RESET, KafkaError.OFFSET_OUT_OF_RANGE):
                key = (message.topic(), message.partition())
                self.log.warning(
                    "broker %s: %s[%s] position out of range (%s)", self.config.name, key[0], key[1], err.str()
                )
                self.out_of_range.add(key)
            else:
                self.state.down(err.str())
        if good:
            self.state.up()
            self._backoff.reset()
        return good

    def truncated_partitions(self, positions: dict[tuple[str, int], int], confirm_after: float = 2.0) -> list:
        """Assigned partitions whose log now ends before the position the caller stored.

        A healthy log never shrinks, so this means the topic was deleted and recreated (a
        broker that lost its data). The test uses the high watermark of fetch responses
        (librdkafka's cached value: no broker request) and must hold for `confirm_after`
        seconds, so a watermark cached from before a reassignment cannot trigger it.
        Partitions reported out of range by the broker are included at once.
        """
        if self.consumer is None:
            return []
        now = time.monotonic()
        found = sorted(self.out_of_range & self.assigned)
        self.out_of_range.clear()
        for key in sorted(self.assigned):
            position = positions.get(key)
            try:
                _low, high = self.consumer.get_watermark_offsets(TopicPartition(*key), cached=True)
            except KafkaException:
                continue
            if position is None or high < 0 or high >= position:
                self._short_since.pop(key, None)
                continue
            since = self._short_since.setdefault(key, now)
            if now - since >= confirm_after and key not in found:
                found.append(key)
        for key in found:
            self._short_since.pop(key, None)
        return found

    def topic_ids(self, topics: Iterable[str], timeout: float = 5.0) -> dict[str, str]:
        """The current id (Kafka topic UUID) of each topic that exists; {} when the broker cannot
        say (down, or too old to know topic ids): nothing is decided on missing ids."""
        topics = sorted(set(topics))
        if not topics:
            return {}
        if self._admin is None:
            settings = {
                "bootstrap.servers": self.config.bootstrap_servers,
                "client.id": f"tom_desc-{self.config.name}-admin-{os.getpid()}",
                "log.connection.close": False,
            }
            settings.update(security_settings(self.config.security, self.config.name))
            self._admin = AdminClient(settings, logger=LIBRDKAFKA_LOG)
        ids = {}
        try:
            futures = self._admin.describe_topics(TopicCollection(topics), request_timeout=timeout)
            for topic, future in futures.items():
                try:
                    description = future.result(timeout)
                except (KafkaException, TimeoutError):
                    continue
                if description.topic_id is not None:
                    ids[topic] = str(description.topic_id)
        except (KafkaException, RuntimeError, ValueError):
            return {}
        return ids

    def seek_to_beginning(self, keys: list[tuple[str, int]]) -> None:
        for topic, partition in keys:
            try:
                self.consumer.seek(TopicPartition(topic, partition, OFFSET_BEGINNING))
            except KafkaException as exc:
                self.log.warning("broker %s: cannot rewind %s[%s]: %s", self.config.name, topic, partition, exc)

    def commit_to_kafka(self, next_offsets: dict[tuple[str, int], int]) -> None:
        """Copy the stored offsets to Kafka for monitoring tools; failures only cost a stale view."""
        if self.consumer is None or self.config.assign or not next_offsets:
            return
        try:
            self.consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in next_offsets.items()], asynchronous=True
            )
        except KafkaException:
            pass

    def lag(self, positions: dict[tuple[str, int], int]) -> int | None:
        """Messages not yet read on the assigned partitions (high watermark - next offset).

        Uses the high watermarks librdkafka keeps from its fetch responses (no request to
        the broker); None while a partition has not been fetched yet.
        """
        if self.consumer is None or not self.assigned:
            return None
        total = 0
        for topic, partition in sorted(self.assigned):
            try:
                low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            except KafkaException:
                return None
            if high < 0:
                return None
            start = positions.get((topic, partition), max(low, 0))
            total += max(0, high - start)
        return total
