"""Store broker classification messages: the one write path for Kafka and REST, for every campaign.

``brokerpoll`` (Kafka) and the REST brokermessage endpoints both call
``validate_classification`` on each record, ``admission.screen`` on the batch (the alert
it names, the classifier caps) and ``store_broker_messages`` on what passed, so a message
is checked and stored the same way whichever road it came by. Each call names the
campaign's tables (``brokertables.BrokerTables``; ELAsTiCC's by default): its taxonomy,
its classifier and message tables and their layout, rows or arrays.

``store_broker_messages`` does, in one transaction (the caller's when inside
``atomic``):

1. find or register each classifier (brokerName, brokerVersion, classifierName,
   classifierParams); inserting a classifier row makes the database create its
   partitions (trigger of migration 0003 of each app);
2. drop repeats of the same (classifierId, alertId) inside the batch and look up
   the ones already stored (the unique indexes elasticc_brokermessage_once,
   elasticc2_brokermessage_once);
3. reserve message ids (and, for the rows layout, classification ids) from their sequences;
4. write the new messages with COPY: the rows layout writes each message and one row per
   classification (ELAsTiCC), the arrays layout one row per message with its classIds and
   probabilities as two parallel arrays (ELAsTiCC2).

If another writer stores one of the same (classifierId, alertId) pairs between
steps 2 and 4, the COPY hits the unique index; the batch is retried from step 2
inside a savepoint, so concurrent pollers and REST clients never fail each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from elasticc.stream.brokertables import ARRAYS, ELASTICC, BrokerTables, quoted
from tom_desc.lib.numbers import INT64_MAX, INT64_MIN

MAX_TEXT = 1024
# Probabilities of one message may add up to less than 1 (a broker may send only its likeliest
# classes) but not to more than 1 beyond rounding.
PROBABILITY_SUM_TOLERANCE = 0.01
STRING_FIELDS = ("brokerName", "brokerVersion", "classifierName", "classifierParams")
# Names and classifiers must say something; a version or parameter string may be empty.
NONEMPTY_FIELDS = ("brokerName", "classifierName")
CLASSIFIER_KEY = STRING_FIELDS

# Columns written by COPY (by the engine's names, brokertables.MESSAGE_FIELDS) and their
# PostgreSQL types: the COPY is binary, so no value is printed by Python or parsed by the
# server (about 5x faster than text COPY of the same rows).
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
# The arrays layout: classIds fit a smallint (four digits at most), probabilities are reals.
ARRAY_TYPES = ("int2[]", "float4[]")


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
    first_new: int | None = None  # brokerMessageId of the first message newly stored, in input order


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


def _checked_pair(item, i: int, known, seen: set[int], taxonomy_name: str = "taxonomy") -> dict:
    where = f"classifications[{i}]"
    if not isinstance(item, dict):
        raise InvalidBrokerMessage(where, "must be an object with classId and probability")
    class_id = item.get("classId")
    if class_id is None:
        raise InvalidBrokerMessage(f"{where}.classId", "is required")
    if isinstance(class_id, bool) or not isinstance(class_id, int):
        raise InvalidBrokerMessage(f"{where}.classId", "must be an integer")
    if class_id not in known:
        raise InvalidBrokerMessage(f"{where}.classId", f"{class_id} is not a classId of the {taxonomy_name}")
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


def validate_classification(record: dict, tables: BrokerTables = ELASTICC) -> dict:
    """Check one brokerClassification record and return it normalised.

    Raises InvalidBrokerMessage naming the field (``classifications[2].probability``)
    for a missing or ill-typed field, a probability that is not a finite number in
    [0, 1], a classId outside the campaign's taxonomy (``tables.classes``: a three-digit
    ELAsTiCC id sent for ELAsTiCC2 is refused, and the reason says which taxonomy), a classId
    given twice, probabilities adding up to more than 1 + PROBABILITY_SUM_TOLERANCE, or no
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
    known = tables.classes()
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
        normalised.append(_checked_pair(item, i, known, seen, tables.taxonomy_name))
    total = math.fsum(c["probability"] for c in normalised)
    if total > 1.0 + PROBABILITY_SUM_TOLERANCE:
        raise InvalidBrokerMessage(
            "classifications",
            f"probabilities add up to {total:.4g}; at most 1 (+{PROBABILITY_SUM_TOLERANCE} for rounding) is allowed",
        )
    out["classifications"] = normalised
    return out


# --------------------------------------------------------------------------- storing


# The classifier lookup, by the four names (the unique index <table>_unique / elasticc_brokerclassifier_unique).
CLASSIFIER_SELECT_SQL = (
    "SELECT {id}, {names} FROM {table} "
    "WHERE ({names}) IN (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]))"
)
CLASSIFIER_INSERT_SQL = (
    "INSERT INTO {table} ({names}, modified, {registered_by}) "
    "SELECT *, now(), %s FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) ON CONFLICT DO NOTHING"
)
# One query per classifier, so PostgreSQL prunes to that classifier's partition and probes its
# unique (classifier, alert) index with the alert id array.
EXISTING_SQL = "SELECT {alert}, {message} FROM {table} WHERE {classifier} = %s AND {alert} = ANY(%s::bigint[])"


def _classifier_ids(
    cursor, tables: BrokerTables, keys: set[tuple[str, str, str, str]], registered_by: str | None
) -> dict[tuple, int]:
    """classifierId of each key, registering the unknown ones (as `registered_by`).

    No cache across calls: a classifier row can vanish (a test flush, an operator's
    cleanup) and a stale id would route messages to a classifier that is not there.
    One query per batch costs nothing next to the COPY.
    """
    names = ", ".join(tables.k(c) for c in CLASSIFIER_KEY)
    select = CLASSIFIER_SELECT_SQL.format(id=tables.k("classifierId"), names=names, table=tables.classifier_table)

    def columns(of):
        return [[k[i] for k in of] for i in range(len(CLASSIFIER_KEY))]

    cursor.execute(select, columns(keys))
    found = {tuple(row[1:]): row[0] for row in cursor.fetchall()}
    missing = [k for k in keys if k not in found]
    if missing:
        # ON CONFLICT: a concurrent writer may register the same classifier; its row is
        # then visible to the re-select below once it commits (READ COMMITTED).
        insert = CLASSIFIER_INSERT_SQL.format(
            table=tables.classifier_table, names=names, registered_by=tables.k("registeredBy")
        )
        cursor.execute(insert, [registered_by, *columns(missing)])
        cursor.execute(select, columns(missing))
        found.update({tuple(row[1:]): row[0] for row in cursor.fetchall()})
    return found


def _existing_messages(cursor, tables: BrokerTables, wanted: dict[int, list[int]]) -> dict[tuple[int, int], int]:
    """Message id of the (classifierId, alertId) pairs already stored (EXISTING_SQL)."""
    sql = EXISTING_SQL.format(
        alert=tables.m("alertId"),
        message=tables.m("brokerMessageId"),
        table=tables.message_table,
        classifier=tables.m("classifierId"),
    )
    existing = {}
    for classifier_id, alert_ids in wanted.items():
        cursor.execute(sql, [classifier_id, alert_ids])
        for alert_id, message_id in cursor.fetchall():
            existing[(classifier_id, alert_id)] = message_id
    return existing


def _reserve_ids(cursor, sequence: str, n: int) -> list[int]:
    if n == 0:
        return []
    cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, n])
    return [row[0] for row in cursor.fetchall()]


def _copy(cursor, table: str, columns: list[tuple[str, str]], rows) -> None:
    """Binary COPY of rows into table (columns: (quoted name, PostgreSQL type)); the parent of
    a partitioned table routes each row to its classifier's partition."""
    column_list = ", ".join(name for name, _ in columns)
    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
    # wrap_database_errors turns psycopg's UniqueViolation into Django's IntegrityError.
    with connection.wrap_database_errors, raw.copy(f"COPY {table} ({column_list}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([pg_type for _, pg_type in columns])
        write = copy.write_row
        for row in rows:
            write(row)


def _store_once(
    cursor, tables: BrokerTables, records: list[dict], origins: list[KafkaOrigin | None], keys: list[tuple[int, int]]
) -> StoreResult:
    """Steps 2-4 of the module docstring for already-classified records."""
    by_classifier: dict[int, list[int]] = {}
    for classifier_id, alert_id in dict.fromkeys(keys):
        by_classifier.setdefault(classifier_id, []).append(alert_id)
    existing = _existing_messages(cursor, tables, by_classifier)

    # The first occurrence of each new key is stored; later ones point at it.
    new_index: dict[tuple[int, int], int] = {}
    for i, key in enumerate(keys):
        if key not in existing and key not in new_index:
            new_index[key] = i
    message_ids = _reserve_ids(cursor, tables.message_sequence, len(new_index))
    assigned = dict(zip(new_index, message_ids))
    n_classifications = sum(len(records[i]["classifications"]) for i in new_index.values())
    arrays = tables.layout == ARRAYS

    def message_rows():
        for key, i in new_index.items():
            record, origin = records[i], origins[i]
            row = (
                assigned[key],
                key[0],
                origin.offset if origin else tables.rest_offset,
                origin.topic if origin else tables.rest_topic,
                origin.partition if origin else None,
                record["alertId"],
                record["diaSourceId"],
                # Kafka: the message's timestamp; REST: the broker's publish time (or receipt).
                origin.timestamp if origin else record.get("msgHdrTimestamp"),
                record["elasticcPublishTimestamp"],
                record["brokerIngestTimestamp"],
            )
            if arrays:
                pairs = record["classifications"]
                row += ([c["classId"] for c in pairs], [c["probability"] for c in pairs])
            yield row

    if new_index:
        columns = [(tables.m(name), pg_type) for name, pg_type in MESSAGE_COLUMNS]
        if arrays:
            columns += [(quoted(name), pg_type) for name, pg_type in zip(tables.array_columns, ARRAY_TYPES)]
        _copy(cursor, tables.message_table, columns, message_rows())
        if not arrays:
            _copy_classifications(cursor, tables, records, new_index, assigned, n_classifications)

    ids = [existing.get(key) or assigned[key] for key in keys]
    return StoreResult(
        brokerMessageIds=ids,
        stored=len(new_index),
        duplicates=len(keys) - len(new_index),
        classifications=n_classifications,
        first_new=message_ids[0] if message_ids else None,
    )


def _copy_classifications(cursor, tables: BrokerTables, records, new_index, assigned, n: int) -> None:
    """The rows layout: one classification row per (classId, probability) of each new message."""
    classification_ids = iter(_reserve_ids(cursor, tables.classification_sequence, n))
    names = {
        "classificationId": tables.classification_columns["classificationId"],
        "classifierId": tables.message_columns["classifierId"],
        "brokerMessageId": tables.message_columns["brokerMessageId"],
        "classId": tables.classification_columns["classId"],
        "probability": tables.classification_columns["probability"],
    }

    def rows():
        for key, i in new_index.items():
            classifier_id, message_id = key[0], assigned[key]
            for c in records[i]["classifications"]:
                yield (next(classification_ids), classifier_id, message_id, c["classId"], c["probability"])

    columns = [(quoted(names[name]), pg_type) for name, pg_type in CLASSIFICATION_COLUMNS]
    _copy(cursor, tables.classification_table, columns, rows())


def store_broker_messages(
    items: list[tuple[dict, KafkaOrigin | None]],
    *,
    tables: BrokerTables = ELASTICC,
    registered_by: str | None = None,
    retries: int = 5,
) -> StoreResult:
    """Store validated brokerClassification records in a campaign's tables (ELAsTiCC's by
    default); see the module docstring for the steps.

    Returns the message id of each item (new or already stored) in input order. New
    classifiers are registered as `registered_by` (admission.screen has capped them; callers
    that bypass it, such as benchmarks seeding tables, register without caps).
    """
    if not items:
        return StoreResult()
    records = [record for record, _ in items]
    origins = [origin for _, origin in items]
    with transaction.atomic(), connection.cursor() as cursor:
        classifier_ids = _classifier_ids(
            cursor, tables, {tuple(r[k] for k in CLASSIFIER_KEY) for r in records}, registered_by
        )
        keys = [(classifier_ids[tuple(r[k] for k in CLASSIFIER_KEY)], r["alertId"]) for r in records]
        for attempt in range(retries + 1):
            try:
                with transaction.atomic():  # a savepoint: a lost race retries, not fails
                    return _store_once(cursor, tables, records, origins, keys)
            except IntegrityError:
                if attempt == retries:
                    raise
    raise AssertionError("unreachable")
