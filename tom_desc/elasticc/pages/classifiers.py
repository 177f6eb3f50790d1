"""Broker classifiers as the pages name them: one label per classifier id, for either campaign.

The object page labels each classifier's history with it, the classification search and the
broker pages (brokermetrics) list the classifiers in a select. One query over the small
classifier table (tens of rows) of the campaign (elasticc.stream.brokertables; ELAsTiCC's by
default).
"""

from __future__ import annotations

from django.db import connection

from elasticc.stream.brokertables import CLASSIFIER_FIELDS, ELASTICC, BrokerTables


def classifier_labels(tables: BrokerTables = ELASTICC) -> dict[int, str]:
    """{classifier id: "broker version · classifier params"} of every classifier of the campaign."""
    columns = ", ".join(tables.k(c) for c in ("classifierId", *CLASSIFIER_FIELDS))
    with connection.cursor() as cur:
        cur.execute(f"SELECT {columns} FROM {tables.classifier_table} ORDER BY 1")
        rows = cur.fetchall()
    return {r[0]: f"{r[1]} {r[2] or ''} · {r[3]} {r[4] or ''}".strip() for r in rows}


def classifier_choices(tables: BrokerTables = ELASTICC) -> list[tuple[int, str]]:
    """(classifier id, label) of every classifier of the campaign, ordered by label, for selects."""
    return sorted(classifier_labels(tables).items(), key=lambda kv: kv[1])
