"""The broker metrics of one classifier and window computed straight from the raw tables.

This is what a page would have to run on every view without refresh_metrics: it joins the
classifier's messages with the alerts sent in the window, their classifications and the
objects' truth. The pages never call it. It serves as
- the benchmark's baseline (bench/bench_pages.py: materialized page vs live computation), and
- an independent check of refresh.py: the same definitions (docs/pages.md) written as plain
  SELECTs, which the tests compare cell by cell with the materialized tables.

Indexes used: elasticc_diaalert_sent (alertSentTimestamp) for a one-day window, the
classifier's partitions of elasticc_brokermessage / elasticc_brokerclassification, and
elasticc_diaobjecttruth's primary key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection

from brokermetrics.queries import WindowFigures

# The classified sent alerts of the window: one row per message (a classifier classifies
# an alert at most once). %(window)s is replaced by the window's condition on `a`.
_MESSAGES = """
    SELECT m."brokerMessageId", a."diaObjectId",
           EXTRACT(EPOCH FROM m."descIngestTimestamp" - a."alertSentTimestamp")::float8 AS delay
    FROM elasticc_brokermessage m
    JOIN elasticc_diaalert a ON a."alertId" = m."alertId"
    WHERE m."classifierId" = %(c)s AND a."alertSentTimestamp" IS NOT NULL AND {window}
"""

_SUMMARY = """
    WITH msg AS ({messages})
    SELECT (SELECT COUNT(*) FROM elasticc_diaalert a WHERE a."alertSentTimestamp" IS NOT NULL AND {window}),
           COUNT(*), percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY delay), MAX(delay)
    FROM msg
"""

_EXACT = """
    WITH msg AS ({messages}), best AS (
        SELECT DISTINCT ON (c."brokerMessageId") c."brokerMessageId", c."classId"
        FROM elasticc_brokerclassification c
        JOIN msg ON msg."brokerMessageId" = c."brokerMessageId"
        WHERE c."classifierId" = %(c)s
        ORDER BY c."brokerMessageId", c.probability DESC, c."classId"
    )
    SELECT t."classId", b."classId", COUNT(*)
    FROM msg JOIN best b ON b."brokerMessageId" = msg."brokerMessageId"
    LEFT JOIN elasticc_diaobjecttruth ot ON ot."diaObjectId" = msg."diaObjectId"
    LEFT JOIN elasticc_classidofgentype t ON t.gentype = ot.gentype AND t.exactmatch
    GROUP BY 1, 2
"""

_CATEGORY = """
    WITH msg AS ({messages}), summed AS (
        SELECT c."brokerMessageId",
               CASE WHEN c."classId" >= 100 THEN c."classId" / 10 ELSE c."classId" END AS category,
               SUM(c.probability) AS p
        FROM elasticc_brokerclassification c
        JOIN msg ON msg."brokerMessageId" = c."brokerMessageId"
        WHERE c."classifierId" = %(c)s
        GROUP BY 1, 2
    ), best AS (
        SELECT DISTINCT ON ("brokerMessageId") "brokerMessageId", category
        FROM summed ORDER BY "brokerMessageId", p DESC, category
    )
    SELECT t."classId", b.category, COUNT(*)
    FROM msg JOIN best b ON b."brokerMessageId" = msg."brokerMessageId"
    LEFT JOIN elasticc_diaobjecttruth ot ON ot."diaObjectId" = msg."diaObjectId"
    LEFT JOIN elasticc_classidofgentype t ON t.gentype = ot.gentype AND t.categorymatch AND NOT t.exactmatch
    GROUP BY 1, 2
"""


@dataclass
class LiveMetrics(WindowFigures):
    confusion: dict[str, dict[tuple[int | None, int], int]] = field(default_factory=dict)


def compute(classifier_id: int, day: date | None, cutoff: datetime | None = None) -> LiveMetrics:
    """Completeness, delay quantiles and both confusion matrices of one classifier in one
    window (a UTC day of sending, or all time when day is None), counting alerts sent by
    `cutoff` (default: now)."""
    params: dict = {"c": classifier_id, "cutoff": cutoff or datetime.now(UTC)}
    window = 'a."alertSentTimestamp" <= %(cutoff)s'
    if day is not None:
        params["start"] = datetime.combine(day, time(0), tzinfo=UTC)
        params["end"] = params["start"] + timedelta(days=1)
        window += ' AND a."alertSentTimestamp" >= %(start)s AND a."alertSentTimestamp" < %(end)s'
    messages = _MESSAGES.format(window=window)
    with connection.cursor() as cur:
        cur.execute(_SUMMARY.format(messages=messages, window=window), params)
        sent, classified, quantiles, delay_max = cur.fetchone()
        q = quantiles or [None, None, None]
        result = LiveMetrics(sent, classified, q[0], q[1], q[2], delay_max)
        for level, sql in (("exact", _EXACT), ("category", _CATEGORY)):
            cur.execute(sql.format(messages=messages), params)
            result.confusion[level] = {(t, p): n for t, p, n in cur.fetchall()}
    return result
