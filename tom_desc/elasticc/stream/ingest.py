"""Store broker classification messages: the one write path for Kafka and REST.

``brokerpoll`` (Kafka) and the REST brokermessage endpoint both call
``validate_classification`` on each record and ``store_broker_messages`` on a
batch, so a message is checked and stored the same way whichever road it came by.

``store_broker_messages`` does, in one transaction (the caller's when inside
``atomic``):

1. find or register each classifier (brokerName, brokerVersion, classifierName,
   classifierParams); inserting a classifier row makes the database create its
   partitions (trigger of migration 0003);
2. drop repeats of the same (classifierId, alertId) inside the batch and look up
   the ones already stored (the unique index elasticc_brokermessage_once);
3. reserve brokerMessageIds and classificationIds from their sequences;
4. write the new messages and their classifications with COPY.

If another writer stores one of the same (classifierId, alertId) pairs between
steps 2 and 4, the COPY hits the unique index; the batch is retried from step 2
inside a savepoint, so concurrent pollers and REST clients never fail each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from elasticc import taxonomy
from tom_desc.lib.numbers import INT64_MAX, INT64_MIN

MAX_TEXT = 1024
STRING_FIELDS = ("brokerName", "brokerVersion", "classifierName", "classifierParams")
# Names and classifiers must say something; a version or parameter string may be empty.
NONEMPTY_FIELDS = ("brokerName", "classifierName")
CLASSIFIER_KEY = STRING_FIELDS

# Columns written by COPY and their PostgreSQL types: the COPY is binary, so no value is
# printed by Python or parsed by the server (about 5x faster than text COPY of the same rows).
MESSAGE_COLUMNS = (
    ("brokerMessageId", "int8"),
    ("classifierId", "int8"),
    ("streamMessageId", "int8"),
    ("topicName", "text"),
    ("kafkaPartition", "int4"),
    ("alertId", "int8"),
    ("diaSourceId", "int8"),
    ("msgHdrTimestamp", "timestamptz"),
    ("elasticcPublishTimestamp", "timestamptz"),
    ("brokerIngestTimestamp", "timestamptz"),
)
CLASSIFICATION_COLUMNS = (
    ("classificationId", "int8"),
    ("classifierId", "int8"),
    ("brokerMessageId", "int8"),
    ("classId", "int4"),
    ("probability", "float4"),
)


class InvalidBrokerMessage(ValueError):
    """A record that cannot be stored; ``field`` names the offending part of it."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class KafkaOrigin:
    """Where a message was read on Kafka (None for messages that came over REST)."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime | None  # the Kafka message timestamp, stored as msgHdrTimestamp


@dataclass
class StoreResult:
    brokerMessageIds: list[int] = field(default_factory=list)  # aligned with the input items
    stored: int = 0  # messages newly stored
    duplicates: int = 0  # messages already present, or repeated within the batch
    classifications: int = 0  # classification rows newly stored


# --------------------------------------------------------------------------- validation


def _int64(record: dict, name: str) -> int:
    value = record.get(name)
    if value is None:
        raise InvalidBrokerMessage(name, "is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidBrokerMessage(name, "must be an integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidBrokerMessage(name, "does not fit in a 64-bit integer")
    return int(value)


def _timestamp(record: dict, name: str, required: bool) -> datetime | None:
    value = record.get(name)
    if value is None:
        if required:
            raise InvalidBrokerMessage(name, "is required")
        return None
    if not isinstance(value, datetime):
        raise InvalidBrokerMessage(name, "must be a timestamp")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidBrokerMessage(name, "must carry a time zone")
    return value


def _text(record: dict, name: str) -> str:
    value = record.get(name)
    if value is None:
        raise InvalidBrokerMessage(name, "is required")
    if not isinstance(value, str):
        raise InvalidBrokerMessage(name, "must be a string")
    if name in NONEMPTY_FIELDS and not value.strip():
        raise InvalidBrokerMessage(name, "must not be empty")
    if len(value) > MAX_TEXT:
        raise InvalidBrokerMessage(name, f"is longer than {MAX_TEXT} characters")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL; COPY would fail the whole batch
        raise InvalidBrokerMessage(name, "must not contain NUL characters")
    return value


def _checked_pair(item, i: int, known, seen: set[int]) -> dict:
    where = f"classifications[{i}]"
    if not isinstance(item, dict):
        raise InvalidBrokerMessage(where, "must be an object with classId and probability")
    class_id = item.get("classId")
    if class_id is None:
        raise InvalidBrokerMessage(f"{where}.classId", "is required")
    if isinstance(class_id, bool) or not isinstance(class_id, int):
        raise InvalidBrokerMessage(f"{where}.classId", "must be an integer")
    if class_id not in known:
        raise InvalidBrokerMessage(f"{where}.classId", f"{class_id} is not a classId of the taxonomy")
    if class_id in seen:
        raise InvalidBrokerMessage(f"{where}.classId", f"{class_id} is given more than once")
    seen.add(class_id)
    probability = item.get("probability")
    if probability is None:
        raise InvalidBrokerMessage(f"{where}.probability", "is required")
    if isinstance(probability, bool) or not isinstance(probability, (int, float)):
        raise InvalidBrokerMessage(f"{where}.probability", "must be a number")
    probability = float(probability)
    if not (math.isfinite(probability) and 0.0 <= probability <= 1.0):
        raise InvalidBrokerMessage(f"{where}.probability", "must be a finite number between 0 and 1")
    return {"classId": int(class_id), "probability": probability}


def validate_classification(record: dict) -> dict:
    """Check one brokerClassification record and return it normalised.

    Raises InvalidBrokerMessage naming the field (``classifications[2].probability``)
    for a missing or ill-typed field, a probability that is not a finite number in
    [0, 1], a classId outside the taxonomy, a classId given twice, or no
    classifications at all. Keys other than the schema's are ignored.
    """
    if not isinstance(record, dict):
        raise InvalidBrokerMessage("message", "must be an object")
    out = {
        "alertId": _int64(record, "alertId"),
        "diaSourceId": _int64(record, "diaSourceId"),
        "elasticcPublishTimestamp": _timestamp(record, "elasticcPublishTimestamp", required=True),
        "brokerIngestTimestamp": _timestamp(record, "brokerIngestTimestamp", required=False),
    }
    for name in STRING_FIELDS:
        out[name] = _text(record, name)

    classifications = record.get("classifications")
    if classifications is None:
        raise InvalidBrokerMessage("classifications", "is required")
    if not isinstance(classifications, (list, tuple)):
        raise InvalidBrokerMessage("classifications", "must be a list")
    if not classifications:
        raise InvalidBrokerMessage("classifications", "must not be empty")
    known = taxonomy.classes()
    seen: set[int] = set()
    normalised = []
    for i, item in enumerate(classifications):
        # Fast path for the common well-formed pair; anything else gets the precise error below.
        if type(item) is dict:
            class_id, probability = item.get("classId"), item.get("probability")
            if (
                type(class_id) is int
                and class_id in known
                and class_id not in seen
                and type(probability) is float
                and 0.0 <= probability <= 1.0
            ):
                seen.add(class_id)
                normalised.append({"classId": class_id, "probability": probability})
                continue
        normalised.append(_checked_pair(item, i, known, seen))
    out["classifications"] = normalised
    return out


# --------------------------------------------------------------------------- storing


def _classifier_ids(cursor, keys: set[tuple[str, str, str, str]]) -> dict[tuple, int]:
    """classifierId of each key, registering the unknown ones.

    No cache across calls: a classifier row can vanish (a test flush, an operator's
    cleanup) and a stale id would route messages to a classifier that is not there.
    One query per batch costs nothing next to the COPY.
    """
    columns = ", ".join(f'"{c}"' for c in CLASSIFIER_KEY)
    arrays = [[k[i] for k in keys] for i in range(len(CLASSIFIER_KEY))]
    select = (
        f'SELECT "classifierId", {columns} FROM elasticc_brokerclassifier '
        f"WHERE ({columns}) IN (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]))"
    )
    cursor.execute(select, arrays)
    found = {tuple(row[1:]): row[0] for row in cursor.fetchall()}
    missing = [k for k in keys if k not in found]
    if missing:
        # ON CONFLICT: a concurrent writer may register the same classifier; its row is
        # then visible to the re-select below once it commits (READ COMMITTED).
        cursor.execute(
            f"INSERT INTO elasticc_brokerclassifier ({columns}, modified) "
            f"SELECT *, now() FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) "
            f"ON CONFLICT DO NOTHING",
            [[k[i] for k in missing] for i in range(len(CLASSIFIER_KEY))],
        )
        cursor.execute(select, [[k[i] for k in missing] for i in range(len(CLASSIFIER_KEY))])
        found.update({tuple(row[1:]): row[0] for row in cursor.fetchall()})
    return found


def _existing_messages(cursor, wanted: dict[int, list[int]]) -> dict[tuple[int, int], int]:
    """brokerMessageId of the (classifierId, alertId) pairs already stored.

    One query per classifier so PostgreSQL prunes to that classifier's partition and
    probes its unique index (elasticc_brokermessage_once) with the alertId array.
    """
    existing = {}
    for classifier_id, alert_ids in wanted.items():
        cursor.execute(
            'SELECT "alertId", "brokerMessageId" FROM elasticc_brokermessage '
            'WHERE "classifierId" = %s AND "alertId" = ANY(%s::bigint[])',
            [classifier_id, alert_ids],
        )
        for alert_id, message_id in cursor.fetchall():
            existing[(classifier_id, alert_id)] = message_id
    return existing


def _reserve_ids(cursor, sequence: str, n: int) -> list[int]:
    if n == 0:
        return []
    cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, n])
    return [row[0] for row in cursor.fetchall()]


def _copy(cursor, table: str, columns: tuple[tuple[str, str], ...], rows) -> None:
    """Binary COPY of rows into table; the parent of a partitioned table routes each row to
    its classifier's partition."""
    column_list = ", ".join(f'"{name}"' for name, _ in columns)
    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
    # wrap_database_errors turns psycopg's UniqueViolation into Django's IntegrityError.
    with connection.wrap_database_errors, raw.copy(f"COPY {table} ({column_list}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([pg_type for _, pg_type in columns])
        write = copy.write_row
        for row in rows:
            write(row)


def _store_once(
    cursor, records: list[dict], origins: list[KafkaOrigin | None], keys: list[tuple[int, int]]
) -> StoreResult:
    """Steps 2-4 of the module docstring for already-classified records."""
    by_classifier: dict[int, list[int]] = {}
    for classifier_id, alert_id in dict.fromkeys(keys):
        by_classifier.setdefault(classifier_id, []).append(alert_id)
    existing = _existing_messages(cursor, by_classifier)

    # The first occurrence of each new key is stored; later ones point at it.
    new_index: dict[tuple[int, int], int] = {}
    for i, key in enumerate(keys):
        if key not in existing and key not in new_index:
            new_index[key] = i
    message_ids = _reserve_ids(cursor, "elasticc_brokermessage_id_seq", len(new_index))
    assigned = dict(zip(new_index, message_ids))
    n_classifications = sum(len(records[i]["classifications"]) for i in new_index.values())
    classification_ids = iter(_reserve_ids(cursor, "elasticc_brokerclassification_id_seq", n_classifications))

    def message_rows():
        for key, i in new_index.items():
            record, origin = records[i], origins[i]
            yield (
                assigned[key],
                key[0],
                origin.offset if origin else None,
                origin.topic if origin else None,
                origin.partition if origin else None,
                record["alertId"],
                record["diaSourceId"],
                origin.timestamp if origin else None,
                record["elasticcPublishTimestamp"],
                record["brokerIngestTimestamp"],
            )

    def classification_rows():
        for key, i in new_index.items():
            classifier_id, message_id = key[0], assigned[key]
            for c in records[i]["classifications"]:
                yield (next(classification_ids), classifier_id, message_id, c["classId"], c["probability"])

    if new_index:
        _copy(cursor, "elasticc_brokermessage", MESSAGE_COLUMNS, message_rows())
        _copy(cursor, "elasticc_brokerclassification", CLASSIFICATION_COLUMNS, classification_rows())

    ids = [existing.get(key) or assigned[key] for key in keys]
    return StoreResult(
        brokerMessageIds=ids,
        stored=len(new_index),
        duplicates=len(keys) - len(new_index),
        classifications=n_classifications,
    )


def store_broker_messages(items: list[tuple[dict, KafkaOrigin | None]], *, retries: int = 5) -> StoreResult:
    """Store validated brokerClassification records; see the module docstring for the steps.

    Returns the brokerMessageId of each item (new or already stored) in input order.
    """
    if not items:
        return StoreResult()
    records = [record for record, _ in items]
    origins = [origin for _, origin in items]
    with transaction.atomic(), connection.cursor() as cursor:
        classifier_ids = _classifier_ids(cursor, {tuple(r[k] for k in CLASSIFIER_KEY) for r in records})
        keys = [(classifier_ids[tuple(r[k] for k in CLASSIFIER_KEY)], r["alertId"]) for r in records]
        for attempt in range(retries + 1):
            try:
                with transaction.atomic():  # a savepoint: a lost race retries, not fails
                    return _store_once(cursor, records, origins, keys)
            except IntegrityError:
                if attempt == retries:
                    raise
    raise AssertionError("unreachable")
