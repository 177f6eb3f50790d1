"""Small, fully known data sets and users for the REST API tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import Group, User
from django.db import connection

from elasticc.stream.ingest import store_broker_messages, validate_classification

PASSWORD = "A-long-test-password-42"
T0 = datetime(2023, 10, 1, 12, 0, tzinfo=UTC)


def make_user(username: str, *groups: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", PASSWORD)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def make_users() -> dict[str, User]:
    """user (no group), broker (elasticc_broker), admin (elasticc_admin)."""
    return {
        "user": make_user("plainuser"),
        "broker": make_user("brokeruser", "elasticc_broker"),
        "admin": make_user("adminuser", "elasticc_admin"),
    }


@dataclass
class Seeded:
    object_ids: list[int] = field(default_factory=list)
    source_ids: list[int] = field(default_factory=list)
    forced_ids: list[int] = field(default_factory=list)
    sent_alert_ids: list[int] = field(default_factory=list)
    unsent_alert_ids: list[int] = field(default_factory=list)


def seed(
    n_objects: int = 12, sources_per_object: int = 4, forced_per_object: int = 6, first_object: int = 1000
) -> Seeded:
    """Objects, sources, forced sources, alerts (first half of each object's sent) and truth.

    Ids follow the original's rule (source id = object id * 100000 + index). Written with
    set-based SQL so that large sets (the pagination tests) are quick too.
    """
    last = first_object + n_objects - 1
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO elasticc_diaobject ("diaObjectId", "simVersion", ra, decl, mwebv, z_final)
            SELECT o, 'test', (o %% 360)::float, ((o %% 180) - 90)::float, 0.01, 0.1
            FROM generate_series(%(a)s::bigint, %(b)s::bigint) o""",
            {"a": first_object, "b": last},
        )
        cur.execute(
            """
            INSERT INTO elasticc_diasource ("diaSourceId", "diaObjectId", "midPointTai", "filterName",
                                            ra, decl, "psFlux", "psFluxErr", snr)
            SELECT o * 100000 + i, o, 60000 + i * 2.0, 'r', (o %% 360)::float, ((o %% 180) - 90)::float,
                   100 + i, 10, 10 + i / 10.0
            FROM generate_series(%(a)s::bigint, %(b)s::bigint) o, generate_series(1, %(n)s) i""",
            {"a": first_object, "b": last, "n": sources_per_object},
        )
        cur.execute(
            """
            INSERT INTO elasticc_diaforcedsource ("diaForcedSourceId", "diaObjectId", "midPointTai",
                                                  "filterName", "psFlux", "psFluxErr")
            SELECT o * 100000 + i, o, 59990 + i * 2.0, 'g', 50 + i, 5
            FROM generate_series(%(a)s::bigint, %(b)s::bigint) o, generate_series(1, %(n)s) i""",
            {"a": first_object, "b": last, "n": forced_per_object},
        )
        cur.execute(
            """
            INSERT INTO elasticc_diaalert ("alertId", "diaSourceId", "diaObjectId", "alertMidPointTai",
                                           "alertSentTimestamp")
            SELECT "diaSourceId", "diaSourceId", "diaObjectId", "midPointTai",
                   CASE WHEN "diaSourceId" %% 100000 <= %(half)s THEN %(t0)s END
            FROM elasticc_diasource
            WHERE "diaObjectId" BETWEEN %(a)s AND %(b)s""",
            {"a": first_object, "b": last, "half": sources_per_object // 2, "t0": T0},
        )
        cur.execute(
            """
            INSERT INTO elasticc_diatruth ("diaSourceId", "diaObjectId", mjd, detect, gentype, genmag)
            SELECT "diaSourceId", "diaObjectId", "midPointTai", true, 10, 22.5
            FROM elasticc_diasource WHERE "diaObjectId" BETWEEN %(a)s AND %(b)s""",
            {"a": first_object, "b": last},
        )
        cur.execute(
            """
            INSERT INTO elasticc_diaobjecttruth ("diaObjectId", gentype, zcmb, peakmjd)
            SELECT o, CASE WHEN o %% 2 = 0 THEN 10 ELSE 50 END, 0.1, 60003
            FROM generate_series(%(a)s::bigint, %(b)s::bigint) o""",
            {"a": first_object, "b": last},
        )
        cur.execute(
            'SELECT "diaSourceId" FROM elasticc_diasource WHERE "diaObjectId" BETWEEN %s AND %s ORDER BY 1',
            [first_object, last],
        )
        source_ids = [r[0] for r in cur.fetchall()]
        cur.execute(
            'SELECT "diaForcedSourceId" FROM elasticc_diaforcedsource WHERE "diaObjectId" BETWEEN %s AND %s ORDER BY 1',
            [first_object, last],
        )
        forced_ids = [r[0] for r in cur.fetchall()]
    half = sources_per_object // 2
    return Seeded(
        object_ids=list(range(first_object, last + 1)),
        source_ids=source_ids,
        forced_ids=forced_ids,
        sent_alert_ids=[s for s in source_ids if s % 100000 <= half],
        unsent_alert_ids=[s for s in source_ids if s % 100000 > half],
    )


def classification(
    alert_id: int,
    broker: str = "TestBroker",
    classifier: str = "RF",
    probs=((111, 0.7), (112, 0.3)),
    millis: bool = False,
    **changes,
) -> dict:
    """A brokerClassification record; `millis` gives timestamps as the REST API takes them."""
    publish, ingest = T0, T0 + timedelta(seconds=5)
    record = {
        "alertId": alert_id,
        "diaSourceId": alert_id,
        "elasticcPublishTimestamp": int(publish.timestamp() * 1000) if millis else publish,
        "brokerIngestTimestamp": int(ingest.timestamp() * 1000) if millis else ingest,
        "brokerName": broker,
        "brokerVersion": "1.0",
        "classifierName": classifier,
        "classifierParams": "default",
        "classifications": [{"classId": c, "probability": p} for c, p in probs],
    }
    record.update(changes)
    return record


def sent_alerts(*alert_ids: int, sent=T0) -> None:
    """Alert rows (source id = alert id, object = id // 100000) marked sent at `sent` (None:
    unsent): what a broker message must name to be accepted (elasticc/stream/admission.py)."""
    with connection.cursor() as cur:
        cur.execute(
            'INSERT INTO elasticc_diaalert ("alertId", "diaSourceId", "diaObjectId", "alertMidPointTai", '
            '"alertSentTimestamp") SELECT a, a, a / 100000, 60000, %s FROM unnest(%s::bigint[]) a',
            [sent, list(alert_ids)],
        )


def store_messages(records: list[dict]) -> list[int]:
    """Store records (datetime timestamps) through the shared ingest path; their ids."""
    result = store_broker_messages([(validate_classification(r), None) for r in records])
    return result.brokerMessageIds
