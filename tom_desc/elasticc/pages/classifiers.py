"""Broker classifiers as the pages name them: one label per classifierId.

The object page labels each classifier's history with it, the classification search and the
broker pages (brokermetrics) list the classifiers in a select. One query over the small
elasticc_brokerclassifier table (tens of rows).
"""

from __future__ import annotations

from django.db import connection


def classifier_labels() -> dict[int, str]:
    """{classifierId: "broker version · classifier params"} of every classifier."""
    with connection.cursor() as cur:
        cur.execute(
            'SELECT "classifierId", "brokerName", "brokerVersion", "classifierName", "classifierParams" '
            'FROM elasticc_brokerclassifier ORDER BY "classifierId"'
        )
        rows = cur.fetchall()
    return {r[0]: f"{r[1]} {r[2]} · {r[3]} {r[4]}".strip() for r in rows}


def classifier_choices() -> list[tuple[int, str]]:
    """(classifierId, label) of every classifier, ordered by label, for selects."""
    return sorted(classifier_labels().items(), key=lambda kv: kv[1])
