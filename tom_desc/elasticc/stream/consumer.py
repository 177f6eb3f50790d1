"""Kafka consumer plumbing shared by the commands that read topics (brokerpoll, fakebroker).

What lives here, so each command is only its own loop body:

- ``BrokerConfig`` and ``load_broker_configs``: a broker described in a YAML/JSON file
  or on the command line (bootstrap servers, topics or a ``^pattern``, group id,
  SASL/SSL options, schema), turned into librdkafka settings. Secrets come from the
  environment or a mounted file, never from the config file itself.
- ``StopFlag``: SIGTERM/SIGINT set a flag; the loop finishes the batch in hand and returns.
- ``ConnectionState``: logs a broker going away and coming back once per change, not
  once per failed request.
- ``BatchConsumer``: subscribe (or assign every partition), seek newly assigned
  partitions to offsets the caller keeps (the database, for exactly-once ingest),
  poll batches, measure lag, rebuild the client with backoff if it fails.
- ``DatabaseOffsets``: the offsets of a consumer group kept in elasticc_kafkaoffset,
  read on assignment and advanced inside the caller's transaction with a row lock
  that fences off a consumer whose partition was handed to another member.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient

log = logging.getLogger(__name__)
# librdkafka's own log lines (one per failed connection attempt); commands silence it unless
# asked to be verbose, and report availability through ConnectionState instead.
LIBRDKAFKA_LOG = logging.getLogger("elasticc.kafka.librdkafka")

DEFAULT_SCHEMA = "elasticc.v0_9_1.brokerClassification"

# Settings brokerpoll must own for its exactly-once design; a config file may not change them.
RESERVED_SETTINGS = {"enable.auto.commit", "enable.auto.offset.store", "group.id", "bootstrap.servers"}

SECURITY_KEYS = {
    # config key -> librdkafka setting
    "protocol": "security.protocol",
    "sasl_mechanism": "sasl.mechanism",
    "sasl_username": "sasl.username",
    "ssl_ca_location": "ssl.ca.location",
    "ssl_certificate_location": "ssl.certificate.location",
    "ssl_key_location": "ssl.key.location",
    "ssl_endpoint_identification_algorithm": "ssl.endpoint.identification.algorithm",
}


class ConfigError(ValueError):
    pass


@dataclass
class BrokerConfig:
    """One broker to poll. ``topics`` entries starting with ``^`` are regular expressions."""

    name: str
    bootstrap_servers: str
    topics: list[str]
    group_id: str
    schema: str = DEFAULT_SCHEMA
    security: dict[str, str] = field(default_factory=dict)
    consumer_config: dict[str, Any] = field(default_factory=dict)
    assign: bool = False  # read every partition without a consumer group (one poller only)

    def consumer_settings(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """librdkafka settings: safe defaults, then SASL/SSL, then the file's and caller's extras."""
        settings: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "group.id": self.group_id,
            "client.id": f"tom_desc-{self.name}-{socket.gethostname()}-{os.getpid()}",
            "enable.auto.commit": False,        # offsets live in the database
            "enable.auto.offset.store": False,
            # Every assigned partition is positioned explicitly (stored offset or beginning); an
            # out-of-range position is reported to the caller instead of silently moved.
            "auto.offset.reset": "error",
            "enable.partition.eof": False,
            "log.connection.close": False,
            "reconnect.backoff.ms": 200,
            "reconnect.backoff.max.ms": 10000,
            "topic.metadata.refresh.interval.ms": 30000,
        }
        settings.update(security_settings(self.security, self.name))
        for source in (self.consumer_config, extra or {}):
            reserved = RESERVED_SETTINGS & set(source)
            if reserved:
                raise ConfigError(f"broker {self.name!r}: {', '.join(sorted(reserved))} cannot be overridden")
            settings.update(source)
        return settings


def security_settings(security: dict[str, str], broker: str) -> dict[str, str]:
    """SASL/SSL options of a config file as librdkafka settings.

    The password is read from ``sasl_password_env`` (an environment variable name) or
    ``sasl_password_file`` (e.g. a mounted Kubernetes secret); a literal password in the
    file is refused so that config files can be committed safely.
    """
    out: dict[str, str] = {}
    for key, value in security.items():
        if key in SECURITY_KEYS:
            out[SECURITY_KEYS[key]] = str(value)
        elif key == "sasl_password_env":
            if str(value) not in os.environ:
                raise ConfigError(f"broker {broker!r}: environment variable {value} (sasl_password_env) is not set")
            out["sasl.password"] = os.environ[str(value)]
        elif key == "sasl_password_file":
            try:
                out["sasl.password"] = Path(value).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"broker {broker!r}: cannot read sasl_password_file: {exc}") from None
        elif key == "sasl_password":
            raise ConfigError(f"broker {broker!r}: put the password in sasl_password_env or "
                              f"sasl_password_file, not in the config file")
        else:
            raise ConfigError(f"broker {broker!r}: unknown security option {key!r} "
                              f"(known: {', '.join(sorted([*SECURITY_KEYS, 'sasl_password_env', 'sasl_password_file']))})")
    return out


def _parse_broker(entry: Any, index: int) -> BrokerConfig:
    if not isinstance(entry, dict):
        raise ConfigError(f"brokers[{index}] must be a mapping")
    known = {"name", "bootstrap_servers", "topics", "topic", "topic_pattern", "group_id", "schema",
             "security", "consumer_config", "assign"}
    unknown = set(entry) - known
    if unknown:
        raise ConfigError(f"brokers[{index}]: unknown keys {', '.join(sorted(unknown))}")
    name = entry.get("name")
    if not name or not isinstance(name, str):
        raise ConfigError(f"brokers[{index}]: name is required")
    topics = entry.get("topics") or []
    if isinstance(topics, str):
        topics = [topics]
    if entry.get("topic"):
        topics = [*topics, entry["topic"]]
    if entry.get("topic_pattern"):
        pattern = entry["topic_pattern"]
        topics = [*topics, pattern if pattern.startswith("^") else "^" + pattern]
    if not topics:
        raise ConfigError(f"broker {name!r}: give topics or topic_pattern")
    for key in ("bootstrap_servers", "group_id"):
        if not entry.get(key):
            raise ConfigError(f"broker {name!r}: {key} is required")
    security = entry.get("security") or {}
    consumer_config = entry.get("consumer_config") or {}
    if not isinstance(security, dict) or not isinstance(consumer_config, dict):
        raise ConfigError(f"broker {name!r}: security and consumer_config must be mappings")
    config = BrokerConfig(
        name=name,
        bootstrap_servers=str(entry["bootstrap_servers"]),
        topics=[str(t) for t in topics],
        group_id=str(entry["group_id"]),
        schema=str(entry.get("schema") or DEFAULT_SCHEMA),
        security={str(k): v for k, v in security.items()},
        consumer_config=dict(consumer_config),
        assign=bool(entry.get("assign", False)),
    )
    if config.assign and any(t.startswith("^") for t in config.topics):
        raise ConfigError(f"broker {name!r}: assign mode needs topic names, not a pattern")
    config.consumer_settings()  # fail now, not at the first poll, on bad security options
    return config


def load_broker_configs(path: str | Path) -> list[BrokerConfig]:
    """Brokers from a YAML (.yaml/.yml) or JSON file: ``{"brokers": [ {...}, ... ]}``."""
    path = Path(path)
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("brokers"), list) or not data["brokers"]:
        raise ConfigError(f"{path}: expected a top-level 'brokers' list")
    configs = [_parse_broker(entry, i) for i, entry in enumerate(data["brokers"])]
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: broker names must be unique")
    return configs


class StopFlag:
    """Set by SIGTERM/SIGINT: the loop finishes the unit of work in hand, then returns."""

    def __init__(self):
        self._event = threading.Event()
        self.signal_name: str | None = None

    def install(self) -> StopFlag:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signal_name = signal.Signals(signum).name
        self._event.set()

    def set(self) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on stop; True when stopping."""
        return self._event.wait(seconds)


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
    KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE, KafkaError._TIMED_OUT,
    KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._UNKNOWN_PARTITION,
    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.REQUEST_TIMED_OUT, KafkaError.NETWORK_EXCEPTION,
    KafkaError._MAX_POLL_EXCEEDED,
}


class BatchConsumer:
    """A confluent-kafka consumer that polls batches and takes its start offsets from the caller.

    ``start_offsets(partitions)`` returns {(topic, partition): next offset} for the ones the
    caller has stored; others start at the beginning. It is called on every assignment
    (a rebalance hands a partition over with exactly the caller's offset, whatever Kafka
    holds). ``on_revoke(partitions)`` lets the caller drop state for lost partitions.
    """

    def __init__(self, config: BrokerConfig, start_offsets: Callable[[list[tuple[str, int]]], dict],
                 extra_settings: dict | None = None, on_revoke: Callable[[list[tuple[str, int]]], None] | None = None,
                 logger: logging.Logger = log):
        self.config = config
        self.start_offsets = start_offsets
        self.on_revoke_cb = on_revoke
        self.extra_settings = extra_settings or {}
        self.log = logger
        self.state = ConnectionState(f"Kafka broker {config.name} ({config.bootstrap_servers})", logger)
        self.consumer: Consumer | None = None
        self.assigned: set[tuple[str, int]] = set()
        self._backoff = 0.5
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
            self.consumer.subscribe(self.config.topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                                    on_lost=self._on_revoke)

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
        self.log.info("broker %s: reading %s", self.config.name,
                      ", ".join(f"{tp.topic}[{tp.partition}]@{'start' if tp.offset < 0 else tp.offset}" for tp in out)
                      or "no partitions")
        return out

    def _on_assign(self, consumer, partitions):
        try:
            consumer.assign(self._seek_positions(partitions))
        except Exception:
            # An exception escaping a rebalance callback is swallowed by librdkafka; make sure
            # nothing is read from a position we could not establish.
            self.log.exception("broker %s: could not set start offsets; leaving partitions unassigned",
                               self.config.name)
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
                self._next_attempt = now + self._backoff
                self._backoff = min(self._backoff * 2, 30.0)
                return []
        try:
            messages = self.consumer.consume(num_messages=max_messages, timeout=timeout)
        except (KafkaException, RuntimeError) as exc:
            self.state.down(str(exc))
            self.close()
            self._next_attempt = time.monotonic() + self._backoff
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
                self.log.warning("broker %s: %s[%s] position out of range (%s)", self.config.name,
                                 key[0], key[1], err.str())
                self.out_of_range.add(key)
            else:
                self.state.down(err.str())
        if good:
            self.state.up()
            self._backoff = 0.5
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
                low, high = self.consumer.get_watermark_offsets(TopicPartition(*key), cached=True)
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
            settings = {"bootstrap.servers": self.config.bootstrap_servers,
                        "client.id": f"tom_desc-{self.config.name}-admin-{os.getpid()}",
                        "log.connection.close": False}
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
            self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in next_offsets.items()],
                                 asynchronous=True)
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


class DatabaseOffsets:
    """A consumer group's offsets in elasticc_kafkaoffset (see docs/brokerpoll.md).

    ``read`` serves the consumer's start_offsets. ``claim`` runs inside the caller's
    transaction before storing a batch: it locks the batch's partition rows and says,
    per partition, from which offset the batch is new. A message below that offset
    was already stored by another member that held the partition meanwhile (a consumer
    that stalled past its session timeout), so the caller skips it. ``advance`` then
    moves the rows to the batch's end, still in the same transaction.
    """

    def __init__(self, group_id: str):
        self.group_id = group_id

    def read(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The stored next offsets of these partitions (partitions without a row are left out)."""
        return self._stored('"nextOffset"', partitions)

    def _stored(self, column: str, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], object]:
        """{(topic, partition): column} of this group's rows for these partitions, nulls left out."""
        from django.db import connection

        partitions = list(partitions)
        if not partitions:
            return {}
        with connection.cursor() as cur:
            cur.execute(
                f'SELECT topic, "partition", {column} FROM elasticc_kafkaoffset '
                f'WHERE "groupId" = %s AND {column} IS NOT NULL AND (topic, "partition") IN '
                '(SELECT * FROM unnest(%s::text[], %s::int[]))',
                [self.group_id, [t for t, _ in partitions], [p for _, p in partitions]],
            )
            return {(t, p): value for t, p, value in cur.fetchall()}

    def claim(self, first_offsets: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """Lock the rows of these partitions (creating missing ones at the batch's first
        offset) and return each partition's stored next offset."""
        from django.db import connection

        keys = sorted(first_offsets)  # a fixed lock order: two members never deadlock
        with connection.cursor() as cur:
            cur.execute(
                'INSERT INTO elasticc_kafkaoffset ("groupId", topic, "partition", "nextOffset", updated) '
                'SELECT %s, t, p, o, now() FROM unnest(%s::text[], %s::int[], %s::bigint[]) AS k(t, p, o) '
                'ON CONFLICT DO NOTHING',
                [self.group_id, [t for t, _ in keys], [p for _, p in keys], [first_offsets[k] for k in keys]],
            )
            cur.execute(
                'SELECT topic, "partition", "nextOffset" FROM elasticc_kafkaoffset '
                'WHERE "groupId" = %s AND (topic, "partition") IN (SELECT * FROM unnest(%s::text[], %s::int[])) '
                'ORDER BY topic, "partition" FOR UPDATE',
                [self.group_id, [t for t, _ in keys], [p for _, p in keys]],
            )
            return {(t, p): o for t, p, o in cur.fetchall()}

    def stored_topic_ids(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """The topic ids the stored offsets refer to (partitions without one are left out)."""
        return self._stored('"topicId"', partitions)

    def advance(self, next_offsets: dict[tuple[str, int], int], reset: Iterable[tuple[str, int]] = (),
                topic_ids: dict[str, str | None] | None = None) -> None:
        """Move the rows to the batch's end; never backwards, except for the `reset` partitions
        (a topic recreated from offset 0).

        `topic_ids` ({topic: id}) fills in the topic id of rows that have none, and replaces it
        on reset rows; an id once stored is otherwise kept, so that a recreated topic is still
        seen as such after messages of it were stored.

        A member whose partition went to another member meanwhile may commit a batch that
        was wholly skipped by ``claim``; its end can lie below what the other member already
        stored, and moving the row back would make the next owner read those messages again.
        """
        from django.db import connection

        keys = sorted(next_offsets)
        reset = set(reset)
        topic_ids = topic_ids or {}
        with connection.cursor() as cur:
            cur.execute(
                'UPDATE elasticc_kafkaoffset o SET "nextOffset" = CASE WHEN k.r THEN k.o '
                'ELSE GREATEST(o."nextOffset", k.o) END, '
                '"topicId" = CASE WHEN k.r THEN k.id ELSE coalesce(o."topicId", k.id) END, updated = now() '
                'FROM unnest(%s::text[], %s::int[], %s::bigint[], %s::boolean[], %s::text[]) AS k(t, p, o, r, id) '
                'WHERE o."groupId" = %s AND o.topic = k.t AND o."partition" = k.p',
                [[t for t, _ in keys], [p for _, p in keys], [next_offsets[k] for k in keys],
                 [k in reset for k in keys], [topic_ids.get(t) for t, _ in keys], self.group_id],
            )
