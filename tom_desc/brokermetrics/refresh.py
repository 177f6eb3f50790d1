"""Set-based SQL that materializes the broker metrics (see models.py, docs/pages.md).

refresh_all():
1. fixes a cutoff time, so everything below counts the same alerts even while
   send_elasticc_alerts keeps sending;
2. counts sent alerts per UTC day of sending and per simulated day (one scan of the
   sent alerts);
3. for each classifier, in its own transaction (readers see its old or its new rows,
   never a mix):
   a. joins its broker-message partition with the sent alerts into a temporary table
      (one row per classified alert: object, day sent, delay);
   b. writes completeness and delay quantiles per day and all time (GROUPING SETS),
      the delay histogram, and the exact- and category-level confusion matrices
      (most probable class against the object's truth via elasticc_classidofgentype);
4. drops the metrics of classifiers that no longer exist and records the run.

Indexes relied on: elasticc_diaalert_id (alertId) for the message→alert join when a
classifier is small (a hash join otherwise), the classifier's partitions of the
broker tables (partition pruning on classifierId), elasticc_diaobjecttruth's primary key
and elasticc_coge_gentype for the truth lookup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

# Delay histogram bin edges in seconds. Bin 0 holds negative delays (clock skew), bin i
# (1 <= i < len) holds [EDGES[i-1], EDGES[i]), the last bin everything from a week on.
DELAY_EDGES = [
    0,
    1,
    2,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
]

LOCK_NAMESPACE = 7_061_001  # pg_advisory_xact_lock(namespace, classifierId): one refresh per classifier

SENT_ALERTS_SQL = """
    WITH sent AS (
        SELECT ("alertSentTimestamp" AT TIME ZONE 'UTC')::date AS day,
               floor("midPointTai")::int AS mjd
        FROM elasticc_diaalert
        WHERE "alertSentTimestamp" IS NOT NULL AND "alertSentTimestamp" <= %(cutoff)s
    )
    SELECT GROUPING(day), GROUPING(mjd), day, mjd, COUNT(*)
    FROM sent
    GROUP BY GROUPING SETS ((day), (mjd))
"""

# (a) One row per alert the classifier classified, among the alerts sent by the cutoff.
MESSAGES_SQL = """
    CREATE TEMP TABLE bm_msg ON COMMIT DROP AS
    SELECT m."brokerMessageId",
           a."diaObjectId",
           (a."alertSentTimestamp" AT TIME ZONE 'UTC')::date AS day,
           EXTRACT(EPOCH FROM m."descIngestTimestamp" - a."alertSentTimestamp")::float8 AS delay
    FROM elasticc_brokermessage m
    JOIN elasticc_diaalert a ON a."alertId" = m."alertId"
    WHERE m."classifierId" = %(c)s
      AND a."alertSentTimestamp" IS NOT NULL AND a."alertSentTimestamp" <= %(cutoff)s
"""

# (b) Completeness and delay quantiles: every day alerts were sent gets a row, also days the
# classifier missed entirely (completeness 0); day null is all time.
WINDOWS_SQL = """
    INSERT INTO brokermetrics_classifierwindow
        ("classifierId", day, "alertsSent", "alertsClassified", "delayP50", "delayP90", "delayP99", "delayMax")
    WITH agg AS (
        SELECT GROUPING(day) AS alltime, day, COUNT(*) AS n,
               percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY delay) AS q,
               MAX(delay) AS dmax
        FROM bm_msg
        GROUP BY GROUPING SETS ((day), ())
    ), sent AS (
        SELECT 0 AS alltime, day, alerts FROM brokermetrics_alertssentperday
        UNION ALL
        SELECT 1, NULL, COALESCE(SUM(alerts), 0) FROM brokermetrics_alertssentperday
    )
    SELECT %(c)s, s.day, s.alerts, COALESCE(a.n, 0), a.q[1], a.q[2], a.q[3], a.dmax
    FROM sent s
    LEFT JOIN agg a ON a.alltime = s.alltime AND a.day IS NOT DISTINCT FROM s.day
"""

DELAYS_SQL = """
    INSERT INTO brokermetrics_delaybin ("classifierId", day, bin, count)
    SELECT %(c)s, CASE WHEN GROUPING(day) = 0 THEN day END, bin, COUNT(*)
    FROM (SELECT day, width_bucket(delay, %(edges)s::float8[]) AS bin FROM bm_msg WHERE delay IS NOT NULL) d
    GROUP BY GROUPING SETS ((day, bin), (bin))
"""

# (b) Confusion matrices. A message's prediction is its most probable classId (ties: the
# smaller id). At category level the probabilities are first summed per category (a
# three-digit id's first two digits; shorter ids stand for themselves). The truth is the
# object's gentype mapped to its exact classId (exactmatch) or its category (categorymatch
# and not exactmatch); an object without truth, or with a gentype outside the taxonomy,
# counts under a null true class.
CONFUSION_EXACT_SQL = """
    INSERT INTO brokermetrics_confusioncell ("classifierId", day, level, "trueClassId", "predClassId", count)
    WITH best AS (
        SELECT DISTINCT ON (c."brokerMessageId") c."brokerMessageId", c."classId"
        FROM elasticc_brokerclassification c
        WHERE c."classifierId" = %(c)s
        ORDER BY c."brokerMessageId", c.probability DESC, c."classId"
    )
    SELECT %(c)s, CASE WHEN GROUPING(m.day) = 0 THEN m.day END, 'exact', t."classId", b."classId", COUNT(*)
    FROM bm_msg m
    JOIN best b ON b."brokerMessageId" = m."brokerMessageId"
    LEFT JOIN elasticc_diaobjecttruth ot ON ot."diaObjectId" = m."diaObjectId"
    LEFT JOIN elasticc_classidofgentype t ON t.gentype = ot.gentype AND t.exactmatch
    GROUP BY GROUPING SETS ((m.day, t."classId", b."classId"), (t."classId", b."classId"))
"""

CONFUSION_CATEGORY_SQL = """
    INSERT INTO brokermetrics_confusioncell ("classifierId", day, level, "trueClassId", "predClassId", count)
    WITH summed AS (
        SELECT c."brokerMessageId",
               CASE WHEN c."classId" >= 100 THEN c."classId" / 10 ELSE c."classId" END AS category,
               SUM(c.probability) AS p
        FROM elasticc_brokerclassification c
        WHERE c."classifierId" = %(c)s
        GROUP BY 1, 2
    ), best AS (
        SELECT DISTINCT ON ("brokerMessageId") "brokerMessageId", category
        FROM summed
        ORDER BY "brokerMessageId", p DESC, category
    )
    SELECT %(c)s, CASE WHEN GROUPING(m.day) = 0 THEN m.day END, 'category', t."classId", b.category, COUNT(*)
    FROM bm_msg m
    JOIN best b ON b."brokerMessageId" = m."brokerMessageId"
    LEFT JOIN elasticc_diaobjecttruth ot ON ot."diaObjectId" = m."diaObjectId"
    LEFT JOIN elasticc_classidofgentype t ON t.gentype = ot.gentype AND t.categorymatch AND NOT t.exactmatch
    GROUP BY GROUPING SETS ((m.day, t."classId", b.category), (t."classId", b.category))
"""

# Totals over the whole partition (also messages about alerts not sent, or sent after the
# cutoff); min/max use elasticc_brokermessage_ingest.
TOTALS_SQL = """
    INSERT INTO brokermetrics_classifiertotals ("classifierId", messages, "firstIngest", "lastIngest")
    SELECT %(c)s, COUNT(*), MIN("descIngestTimestamp"), MAX("descIngestTimestamp")
    FROM elasticc_brokermessage WHERE "classifierId" = %(c)s
"""

METRIC_TABLES = (
    "brokermetrics_classifierwindow",
    "brokermetrics_delaybin",
    "brokermetrics_confusioncell",
    "brokermetrics_classifiertotals",
)


@dataclass
class RefreshResult:
    classifiers: int
    messages: int  # classified sent alerts, summed over classifiers
    days: int
    seconds: float


def delay_bin_label(index: int) -> str:
    """A human label for histogram bin `index` (see DELAY_EDGES)."""

    def fmt(seconds: float) -> str:
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if seconds >= size and seconds % size == 0:
                return f"{int(seconds // size)} {unit}"
        return f"{seconds:g} s"

    if index <= 0:
        return "< 0 s"
    if index >= len(DELAY_EDGES):
        return f"≥ {fmt(DELAY_EDGES[-1])}"
    return f"{fmt(DELAY_EDGES[index - 1])} – {fmt(DELAY_EDGES[index])}"


def refresh_sent_alerts(cursor, cutoff: datetime) -> int:
    """Step 2: sent alerts per UTC day of sending and per simulated day. Returns the day count."""
    cursor.execute(SENT_ALERTS_SQL, {"cutoff": cutoff})
    rows = cursor.fetchall()
    per_day = [(day, n) for g_day, _g_mjd, day, _mjd, n in rows if g_day == 0]
    per_mjd = [(mjd, n) for _g_day, g_mjd, _day, mjd, n in rows if g_mjd == 0]
    cursor.execute("DELETE FROM brokermetrics_alertssentperday")
    cursor.execute("DELETE FROM brokermetrics_alertssentpermjd")
    if per_day:
        cursor.executemany("INSERT INTO brokermetrics_alertssentperday (day, alerts) VALUES (%s, %s)", per_day)
    if per_mjd:
        cursor.executemany("INSERT INTO brokermetrics_alertssentpermjd (mjd, alerts) VALUES (%s, %s)", per_mjd)
    return len(per_day)


def refresh_classifier(cursor, classifier_id: int, cutoff: datetime) -> int:
    """Step 3 for one classifier, inside the caller's transaction. Returns the classified alerts."""
    params = {"c": classifier_id, "cutoff": cutoff, "edges": [float(e) for e in DELAY_EDGES]}
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, classifier_id % 2**31])
    for table in METRIC_TABLES:
        cursor.execute(f'DELETE FROM {table} WHERE "classifierId" = %s', [classifier_id])
    cursor.execute("DROP TABLE IF EXISTS bm_msg")
    cursor.execute(MESSAGES_SQL, params)
    cursor.execute("ANALYZE bm_msg")
    cursor.execute("SELECT COUNT(*) FROM bm_msg")
    classified = cursor.fetchone()[0]
    for sql in (WINDOWS_SQL, DELAYS_SQL, CONFUSION_EXACT_SQL, CONFUSION_CATEGORY_SQL, TOTALS_SQL):
        cursor.execute(sql, params)
    cursor.execute("DROP TABLE bm_msg")
    return classified


def classifier_ids() -> list[int]:
    with connection.cursor() as cur:
        cur.execute('SELECT "classifierId" FROM elasticc_brokerclassifier ORDER BY "classifierId"')
        return [r[0] for r in cur.fetchall()]


def refresh_all(
    only: Iterable[int] | None = None, progress: Callable[[Iterable[int]], Iterable[int]] = lambda it: it
) -> RefreshResult:
    """Steps 1-4. `only` limits step 3 to some classifiers; `progress` wraps the loop (tqdm)."""
    from brokermetrics.models import MetricsRefresh

    start = time.perf_counter()
    cutoff = datetime.now(UTC)
    run = MetricsRefresh.objects.create(started=cutoff)
    with transaction.atomic(), connection.cursor() as cur:
        days = refresh_sent_alerts(cur, cutoff)
    existing = classifier_ids()
    wanted = existing if only is None else [c for c in existing if c in set(only)]
    messages = 0
    for classifier_id in progress(wanted):
        with transaction.atomic(), connection.cursor() as cur:
            messages += refresh_classifier(cur, classifier_id, cutoff)
    if only is None:
        with transaction.atomic(), connection.cursor() as cur:
            for table in METRIC_TABLES:
                cur.execute(f'DELETE FROM {table} WHERE "classifierId" <> ALL(%s)', [existing])
    run.finished = datetime.now(UTC)
    run.classifiers = len(wanted)
    run.messages = messages
    run.save()
    return RefreshResult(len(wanted), messages, days, time.perf_counter() - start)
