"""Set-based SQL that materializes the broker metrics (see models.py, docs/pages.md), for
every campaign (brokermetrics/campaigns.py: its tables, its taxonomy levels).

refresh_all():
1. fixes a cutoff time, so everything below counts the same alerts even while the
   sender keeps sending;
2. for each campaign, counts sent alerts per UTC day of sending and per simulated day (one
   scan of the sent alerts);
3. for each classifier of the campaign, in its own transaction (readers see its old or its
   new rows, never a mix):
   a. joins its broker-message partition with the sent alerts into a temporary table
      (one row per classified alert: object, day sent, delay);
   b. writes completeness and delay quantiles per day and all time (GROUPING SETS),
      the delay histogram, and a confusion matrix per taxonomy level (the most probable
      class at that level against the object's truth at that level, through the
      campaign's classId-of-gentype table: ELAsTiCC's exact and category, ELAsTiCC2's
      exact, category, general and broad);
4. drops the metrics of classifiers that no longer exist and records the run.

The SQL below is a set of named templates; each campaign fills in its table and column names
and the message layout's classifications (brokertables.BrokerTables.classifications_sql:
classification rows for ELAsTiCC, the unnested classid/probability arrays for ELAsTiCC2).

Indexes relied on: the alert-id index of each hash partition of the alerts table
(elasticc_diaalert_id, elasticc2_ppdbalert_id) for the message→alert join when a classifier is
small (a hash join otherwise), the classifier's partitions of the broker tables (partition
pruning on the classifier id), the truth tables' primary keys and the classId-of-gentype
tables' gentype indexes (elasticc_coge_gentype, elasticc2_coge_gentype) for the truth lookup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

from brokermetrics import campaigns
from brokermetrics.campaigns import Level, MetricsCampaign
from elasticc.stream.brokertables import quoted

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

# pg_advisory_xact_lock(namespace, classifier id): one refresh per classifier; ELAsTiCC2's
# classifiers lock in the namespace after it (each campaign numbers its classifiers on its own).
LOCK_NAMESPACE = 7_061_001
CAMPAIGN_LOCK_NAMESPACES = {"elasticc": LOCK_NAMESPACE, "elasticc2": 7_061_011}

SENT_ALERTS_SQL = """
    WITH sent AS (
        SELECT ({sent} AT TIME ZONE 'UTC')::date AS day, floor({mjd})::int AS mjd
        FROM {alerts}
        WHERE {sent} IS NOT NULL AND {sent} <= %(cutoff)s
    )
    SELECT GROUPING(day), GROUPING(mjd), day, mjd, COUNT(*)
    FROM sent
    GROUP BY GROUPING SETS ((day), (mjd))
"""

# (a) One row per alert the classifier classified, among the alerts sent by the cutoff.
MESSAGES_SQL = """
    CREATE TEMP TABLE bm_msg ON COMMIT DROP AS
    SELECT m.{message_id} AS message_id,
           a.{object_id} AS object_id,
           (a.{sent} AT TIME ZONE 'UTC')::date AS day,
           EXTRACT(EPOCH FROM m.{ingested} - a.{sent})::float8 AS delay
    FROM {messages} m
    JOIN {alerts} a ON a.{alert_id} = m.{message_alert}
    WHERE m.{classifier_id} = %(c)s
      AND a.{sent} IS NOT NULL AND a.{sent} <= %(cutoff)s
"""

# (b) Completeness and delay quantiles: every day alerts were sent gets a row, also days the
# classifier missed entirely (completeness 0); day null is all time.
WINDOWS_SQL = """
    INSERT INTO brokermetrics_classifierwindow
        (campaign, "classifierId", day, "alertsSent", "alertsClassified", "delayP50", "delayP90", "delayP99", "delayMax")
    WITH agg AS (
        SELECT GROUPING(day) AS alltime, day, COUNT(*) AS n,
               percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY delay) AS q,
               MAX(delay) AS dmax
        FROM bm_msg
        GROUP BY GROUPING SETS ((day), ())
    ), sent AS (
        SELECT 0 AS alltime, day, alerts FROM brokermetrics_alertssentperday WHERE campaign = %(campaign)s
        UNION ALL
        SELECT 1, NULL, COALESCE(SUM(alerts), 0) FROM brokermetrics_alertssentperday WHERE campaign = %(campaign)s
    )
    SELECT %(campaign)s, %(c)s, s.day, s.alerts, COALESCE(a.n, 0), a.q[1], a.q[2], a.q[3], a.dmax
    FROM sent s
    LEFT JOIN agg a ON a.alltime = s.alltime AND a.day IS NOT DISTINCT FROM s.day
"""

DELAYS_SQL = """
    INSERT INTO brokermetrics_delaybin (campaign, "classifierId", day, bin, count)
    SELECT %(campaign)s, %(c)s, CASE WHEN GROUPING(day) = 0 THEN day END, bin, COUNT(*)
    FROM (SELECT day, width_bucket(delay, %(edges)s::float8[]) AS bin FROM bm_msg WHERE delay IS NOT NULL) d
    GROUP BY GROUPING SETS ((day, bin), (bin))
"""

# (b) Confusion matrices, one per level. A message's prediction at a level is the class with
# the highest probability once its classes are lifted to that level and their probabilities
# summed (ties: the smaller id); at a level where a class is itself (ELAsTiCC's and ELAsTiCC2's
# exact level) nothing is summed. The truth is the object's gentype mapped through the
# campaign's classId-of-gentype table to the row of that level; an object without truth, or
# with a gentype outside the taxonomy, counts under a null true class.
CLASSES_SQL = "cls (classifier_id, message_id, c, p) AS ({classifications})"
BEST_DIRECT_SQL = """best AS (
        SELECT DISTINCT ON (message_id) message_id, c AS pred FROM cls ORDER BY message_id, p DESC, c
    )"""
BEST_SUMMED_SQL = """summed AS (
        SELECT message_id, {lift} AS pred, SUM(p) AS p FROM cls GROUP BY 1, 2
    ), best AS (
        SELECT DISTINCT ON (message_id) message_id, pred FROM summed ORDER BY message_id, p DESC, pred
    )"""
CONFUSION_SQL = """
    INSERT INTO brokermetrics_confusioncell (campaign, "classifierId", day, level, "trueClassId", "predClassId", count)
    WITH {classes}, {best}
    SELECT %(campaign)s, %(c)s, CASE WHEN GROUPING(m.day) = 0 THEN m.day END, %(level)s, t.{coge_classid}, b.pred, COUNT(*)
    FROM bm_msg m
    JOIN best b ON b.message_id = m.message_id
    LEFT JOIN {truth} ot ON ot.{truth_object_id} = m.object_id
    LEFT JOIN {coge} t ON t.gentype = ot.gentype AND {truth_condition}
    GROUP BY GROUPING SETS ((m.day, t.{coge_classid}, b.pred), (t.{coge_classid}, b.pred))
"""

# Totals over the whole partition (also messages about alerts not sent, or sent after the
# cutoff); min/max use the message table's ingest-time index.
TOTALS_SQL = """
    INSERT INTO brokermetrics_classifiertotals (campaign, "classifierId", messages, "firstIngest", "lastIngest")
    SELECT %(campaign)s, %(c)s, COUNT(*), MIN({ingested}), MAX({ingested})
    FROM {messages} WHERE {classifier_id} = %(c)s
"""

METRIC_TABLES = (
    "brokermetrics_classifierwindow",
    "brokermetrics_delaybin",
    "brokermetrics_confusioncell",
    "brokermetrics_classifiertotals",
)


def names(campaign: MetricsCampaign) -> dict[str, str]:
    """The table and column names the templates take, quoted, for one campaign."""
    broker, alerts = campaign.broker, campaign.broker.alerts
    return {
        "alerts": alerts.table,
        "sent": quoted(alerts.sent),
        "mjd": quoted(alerts.midpointtai),
        "alert_id": quoted(alerts.alert_id),
        "object_id": quoted(alerts.object_id),
        "messages": broker.message_table,
        "message_id": broker.m("brokerMessageId"),
        "message_alert": broker.m("alertId"),
        "classifier_id": broker.m("classifierId"),
        "ingested": broker.m("descIngestTimestamp"),
        "truth": campaign.truth_table,
        "truth_object_id": quoted(campaign.truth_object_id),
        "coge": campaign.coge_table,
        "coge_classid": quoted(campaign.coge_classid),
    }


def confusion_sql(campaign: MetricsCampaign, level: Level) -> str:
    """CONFUSION_SQL for one campaign and level."""
    broker = campaign.broker
    classes = CLASSES_SQL.format(classifications=broker.classifications_sql(f"m.{broker.m('classifierId')} = %(c)s"))
    best = BEST_DIRECT_SQL if level.identity else BEST_SUMMED_SQL.format(lift=level.lift)
    return CONFUSION_SQL.format(classes=classes, best=best, truth_condition=level.truth, **names(campaign))


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


def refresh_sent_alerts(cursor, cutoff: datetime, campaign: MetricsCampaign = campaigns.ELASTICC) -> int:
    """Step 2: a campaign's sent alerts per UTC day of sending and per simulated day. Returns
    the day count."""
    cursor.execute(SENT_ALERTS_SQL.format(**names(campaign)), {"cutoff": cutoff})
    rows = cursor.fetchall()
    per_day = [(campaign.campaign, day, n) for g_day, _g_mjd, day, _mjd, n in rows if g_day == 0]
    per_mjd = [(campaign.campaign, mjd, n) for _g_day, g_mjd, _day, mjd, n in rows if g_mjd == 0]
    cursor.execute("DELETE FROM brokermetrics_alertssentperday WHERE campaign = %s", [campaign.campaign])
    cursor.execute("DELETE FROM brokermetrics_alertssentpermjd WHERE campaign = %s", [campaign.campaign])
    if per_day:
        cursor.executemany(
            "INSERT INTO brokermetrics_alertssentperday (campaign, day, alerts) VALUES (%s, %s, %s)", per_day
        )
    if per_mjd:
        cursor.executemany(
            "INSERT INTO brokermetrics_alertssentpermjd (campaign, mjd, alerts) VALUES (%s, %s, %s)", per_mjd
        )
    return len(per_day)


def refresh_classifier(
    cursor, classifier_id: int, cutoff: datetime, campaign: MetricsCampaign = campaigns.ELASTICC
) -> int:
    """Step 3 for one classifier, inside the caller's transaction. Returns the classified alerts."""
    params = {
        "c": classifier_id,
        "campaign": campaign.campaign,
        "cutoff": cutoff,
        "edges": [float(e) for e in DELAY_EDGES],
    }
    namespace = CAMPAIGN_LOCK_NAMESPACES.get(campaign.campaign, LOCK_NAMESPACE)
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [namespace, classifier_id % 2**31])
    for table in METRIC_TABLES:
        cursor.execute(
            f'DELETE FROM {table} WHERE campaign = %s AND "classifierId" = %s', [campaign.campaign, classifier_id]
        )
    cursor.execute("DROP TABLE IF EXISTS bm_msg")
    sql = names(campaign)
    cursor.execute(MESSAGES_SQL.format(**sql), params)
    cursor.execute("ANALYZE bm_msg")
    cursor.execute("SELECT COUNT(*) FROM bm_msg")
    classified = cursor.fetchone()[0]
    cursor.execute(WINDOWS_SQL, params)
    cursor.execute(DELAYS_SQL, params)
    for level in campaign.levels:
        cursor.execute(confusion_sql(campaign, level), {**params, "level": level.name})
    cursor.execute(TOTALS_SQL.format(**sql), params)
    cursor.execute("DROP TABLE bm_msg")
    return classified


def classifier_ids(campaign: MetricsCampaign = campaigns.ELASTICC) -> list[int]:
    broker = campaign.broker
    with connection.cursor() as cur:
        cur.execute(f"SELECT {broker.k('classifierId')} FROM {broker.classifier_table} ORDER BY 1")
        return [r[0] for r in cur.fetchall()]


def refresh_all(
    only: Iterable[int] | None = None,
    progress: Callable[[Iterable[int]], Iterable[int]] = lambda it: it,
    only_campaigns: Iterable[str] | None = None,
) -> RefreshResult:
    """Steps 1-4 for every campaign (or `only_campaigns`). `only` limits step 3 to some
    classifier ids (of each campaign refreshed); `progress` wraps each classifier loop (tqdm)."""
    from brokermetrics.models import MetricsRefresh

    start = time.perf_counter()
    cutoff = datetime.now(UTC)
    run = MetricsRefresh.objects.create(started=cutoff)
    chosen = [campaigns.get(name) for name in only_campaigns] if only_campaigns else campaigns.registered()
    days = messages = refreshed = 0
    for campaign in chosen:
        with transaction.atomic(), connection.cursor() as cur:
            days += refresh_sent_alerts(cur, cutoff, campaign)
        existing = classifier_ids(campaign)
        wanted = existing if only is None else [c for c in existing if c in set(only)]
        for classifier_id in progress(wanted):
            with transaction.atomic(), connection.cursor() as cur:
                messages += refresh_classifier(cur, classifier_id, cutoff, campaign)
        refreshed += len(wanted)
        if only is None:
            with transaction.atomic(), connection.cursor() as cur:
                for table in METRIC_TABLES:
                    cur.execute(
                        f'DELETE FROM {table} WHERE campaign = %s AND "classifierId" <> ALL(%s)',
                        [campaign.campaign, existing],
                    )
    run.finished = datetime.now(UTC)
    run.classifiers = refreshed
    run.messages = messages
    run.save()
    return RefreshResult(refreshed, messages, days, time.perf_counter() - start)
