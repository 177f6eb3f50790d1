"""Which broker messages may be stored: checked against the alerts table and the classifier caps.

Both write paths (the REST brokermessage PUT/POST and brokerpoll's Kafka batches) screen
their validated records here, inside the transaction that then stores the rest, against
the tables of the records' campaign (``brokertables.BrokerTables``, ELAsTiCC's by default):

1. the alert: a message must name an alert of this site (``alertId`` in elasticc_diaalert;
   for ELAsTiCC2 ``alert_id`` in elasticc2_ppdbalert) that has been sent (its sent timestamp
   set: no broker can have seen an unsent one), and its ``diaSourceId`` must be that alert's
   source;
2. new classifiers: a batch may register at most ``new_per_batch`` classifiers the
   database does not know yet, and a broker (the REST account, or the Kafka broker of
   brokerpoll's config) at most ``per_broker`` in all. Each classifier makes two partitions
   and their indexes; a careless client putting a run id into classifierParams would
   otherwise create thousands of relations in one request.

The probability sum (at most 1 + PROBABILITY_SUM_TOLERANCE) is a property of one record
and is checked with the other fields by ingest.validate_classification.

``screen`` returns a reason for each refused record. The REST path refuses the whole
request (HTTP 400 naming the record) when there is any; brokerpoll stores the others and
puts the refused ones in the dead-letter table with their reason. Nothing is stored beside
the accepted messages: the rule is "refused or dead-lettered, never mixed in"
(docs/brokerpoll.md, docs/api.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from elasticc.stream.brokertables import ELASTICC, BrokerTables, quoted

# pg_advisory_xact_lock(namespace, hashtext(broker)): one registering batch per broker at a
# time, so two concurrent batches cannot both pass the per-broker count.
REGISTER_LOCK_NAMESPACE = 7_061_002

# Relies on the alert-id index of every hash partition (AlertTable.id_index: elasticc_diaalert_id,
# elasticc2_ppdbalert_id): one probe per distinct alert of the batch and partition (a batch of
# 5,000 messages names a few hundred alerts).
ALERTS_SQL = "SELECT {alert_id}, {source_id}, {sent} IS NOT NULL FROM {table} WHERE {alert_id} = ANY(%s::bigint[])"


def alerts_sql(tables: BrokerTables) -> str:
    a = tables.alerts
    return ALERTS_SQL.format(
        alert_id=quoted(a.alert_id), source_id=quoted(a.source_id), sent=quoted(a.sent), table=a.table
    )


CLASSIFIER_KEY = ("brokerName", "brokerVersion", "classifierName", "classifierParams")

# How long brokerpoll waits for alerts a batch names to be marked sent before refusing them.
UNSENT_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Limits:
    """The classifier caps (settings ELASTICC_MAX_NEW_CLASSIFIERS_PER_BATCH and
    ELASTICC_MAX_CLASSIFIERS_PER_BROKER)."""

    new_per_batch: int
    per_broker: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(settings.ELASTICC_MAX_NEW_CLASSIFIERS_PER_BATCH, settings.ELASTICC_MAX_CLASSIFIERS_PER_BROKER)


def classifier_key(record: dict) -> tuple[str, str, str, str]:
    return tuple(record[k] for k in CLASSIFIER_KEY)


def check_alerts(records: list[dict], cursor, tables: BrokerTables = ELASTICC) -> dict[int, str]:
    """{index: reason} of the records whose alert is unknown, unsent, or has another source."""
    alert_ids = sorted({r["alertId"] for r in records})
    if not alert_ids:
        return {}
    cursor.execute(alerts_sql(tables), [alert_ids])
    alerts = {alert_id: (source_id, sent) for alert_id, source_id, sent in cursor.fetchall()}
    reasons = {}
    for i, record in enumerate(records):
        found = alerts.get(record["alertId"])
        if found is None:
            reasons[i] = f"alertId {record['alertId']} is not an {tables.alert_noun} of this site"
        elif not found[1]:
            reasons[i] = f"alert {record['alertId']} has not been sent yet"
        elif found[0] != record["diaSourceId"]:
            reasons[i] = (
                f"diaSourceId {record['diaSourceId']} is not the source of alert {record['alertId']} "
                f"(its source is {found[0]})"
            )
    return reasons


def unsent_alerts(records: list[dict], tables: BrokerTables = ELASTICC) -> set[int]:
    """The alertIds among `records` that exist but are not marked sent yet (brokerpoll waits a
    moment for them: the sender marks an alert just after Kafka confirmed it, and a quick
    broker can answer first)."""
    alert_ids = sorted({r["alertId"] for r in records})
    if not alert_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(alerts_sql(tables), [alert_ids])
        return {alert_id for alert_id, _, sent in cursor.fetchall() if not sent}


def wait_until_sent(
    records: list[dict], stop, grace: float = UNSENT_GRACE_SECONDS, tables: BrokerTables = ELASTICC
) -> None:
    """Give the sender up to `grace` seconds to mark the alerts `records` name that exist but are
    not marked sent yet (until `stop` is set). The screening that follows refuses those still
    unsent. A database error ends the wait: storing the batch retries on its own."""
    deadline = time.monotonic() + grace
    try:
        while unsent_alerts(records, tables) and time.monotonic() < deadline:
            if stop.wait(0.25):
                return
    except (OperationalError, InterfaceError):
        return


def _known_classifiers(cursor, keys: list[tuple], tables: BrokerTables) -> set[tuple]:
    columns = ", ".join(tables.k(c) for c in CLASSIFIER_KEY)
    cursor.execute(
        f"SELECT {columns} FROM {tables.classifier_table} "
        f"WHERE ({columns}) IN (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]))",
        [[k[i] for k in keys] for i in range(len(CLASSIFIER_KEY))],
    )
    return {tuple(row) for row in cursor.fetchall()}


def check_classifiers(
    records: list[dict],
    cursor,
    registered_by: str,
    limits: Limits,
    skip: set[int] = frozenset(),
    tables: BrokerTables = ELASTICC,
) -> dict[int, str]:
    """{index: reason} of the records (outside `skip`) whose classifier would be new beyond the
    caps; the first new ones in record order stay within them. Takes the broker's
    registration lock until the end of the transaction."""
    order = list(dict.fromkeys(classifier_key(r) for i, r in enumerate(records) if i not in skip))
    if not order:
        return {}
    new = [k for k in order if k not in _known_classifiers(cursor, order, tables)]
    if not new:
        return {}
    cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [REGISTER_LOCK_NAMESPACE, registered_by])
    cursor.execute(
        f"SELECT count(*) FROM {tables.classifier_table} WHERE {tables.k('registeredBy')} = %s", [registered_by]
    )
    room = max(0, limits.per_broker - cursor.fetchone()[0])
    refused = {}
    for n, key in enumerate(new):
        if n >= limits.new_per_batch:
            refused[key] = (
                f"classifier {key!r} would be new, and one request or batch may register at most "
                f"{limits.new_per_batch} new classifiers (ELASTICC_MAX_NEW_CLASSIFIERS_PER_BATCH)"
            )
        elif n >= room:
            refused[key] = (
                f"classifier {key!r} would be new, and {registered_by} has registered the most classifiers "
                f"allowed ({limits.per_broker}, ELASTICC_MAX_CLASSIFIERS_PER_BROKER); ask an administrator, "
                "and keep run ids out of classifierParams"
            )
    return {
        i: refused[classifier_key(r)] for i, r in enumerate(records) if i not in skip and classifier_key(r) in refused
    }


def screen(
    records: list[dict], registered_by: str, limits: Limits | None = None, tables: BrokerTables = ELASTICC
) -> dict[int, str]:
    """{index: reason} of the validated `records` (all of `tables`' campaign) that must not be
    stored (module docstring). Call it inside the transaction that stores the others."""
    limits = limits or Limits.from_settings()
    with connection.cursor() as cursor:
        reasons = check_alerts(records, cursor, tables)
        reasons.update(check_classifiers(records, cursor, registered_by, limits, skip=set(reasons), tables=tables))
    return reasons
