"""The broker metrics of one classifier and window computed straight from the raw tables.

This is what a page would have to run on every view without refresh_metrics: it joins the
classifier's messages with the alerts sent in the window, their classifications and the
objects' truth. The pages never call it. It serves as
- the benchmark's baseline (bench/bench_pages.py: materialized page vs live computation), and
- an independent check of refresh.py: the same definitions (docs/pages.md) written as plain
  SELECTs, which the tests compare cell by cell with the materialized tables.

The table and column names are the campaign's (brokermetrics/campaigns.py, filled in as
refresh.py fills them); the SQL is written independently of refresh.py's.

Indexes used: the alerts table's sent-time index (elasticc_diaalert_sent,
elasticc2_ppdbalert_sent) for a one-day window, the classifier's partitions of the broker
tables, and the truth table's primary key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection

from brokermetrics import campaigns
from brokermetrics.campaigns import MetricsCampaign
from brokermetrics.queries import WindowFigures
from brokermetrics.refresh import names

# The classified sent alerts of the window: one row per message (a classifier classifies
# an alert at most once). {window} is replaced by the window's condition on `a`.
_MESSAGES = """
    SELECT m.{message_id} AS message_id, a.{object_id} AS object_id,
           EXTRACT(EPOCH FROM m.{ingested} - a.{sent})::float8 AS delay
    FROM {messages} m
    JOIN {alerts} a ON a.{alert_id} = m.{message_alert}
    WHERE m.{classifier_id} = %(c)s AND a.{sent} IS NOT NULL AND {window}
"""

_SUMMARY = """
    WITH msg AS ({messages_sql})
    SELECT (SELECT COUNT(*) FROM {alerts} a WHERE a.{sent} IS NOT NULL AND {window}),
           COUNT(*), percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY delay), MAX(delay)
    FROM msg
"""

# The most probable class at a level, with every classification lifted to the level and the
# probabilities summed per lifted class (at a level where classes stand for themselves the sum
# is over one classification each); then counted against the truth row of that level.
_CONFUSION = """
    WITH msg AS ({messages_sql}),
    cls (classifier_id, message_id, c, p) AS ({classifications}),
    summed AS (
        SELECT cls.message_id, {lift} AS pred, SUM(cls.p) AS p
        FROM cls JOIN msg ON msg.message_id = cls.message_id
        GROUP BY 1, 2
    ), best AS (
        SELECT DISTINCT ON (message_id) message_id, pred FROM summed ORDER BY message_id, p DESC, pred
    )
    SELECT t.{coge_classid}, b.pred, COUNT(*)
    FROM msg JOIN best b ON b.message_id = msg.message_id
    LEFT JOIN {truth} ot ON ot.{truth_object_id} = msg.object_id
    LEFT JOIN {coge} t ON t.gentype = ot.gentype AND {truth_condition}
    GROUP BY 1, 2
"""


@dataclass
class LiveMetrics(WindowFigures):
    confusion: dict[str, dict[tuple[int | None, int], int]] = field(default_factory=dict)


def compute(
    classifier_id: int,
    day: date | None,
    cutoff: datetime | None = None,
    campaign: MetricsCampaign | str = campaigns.ELASTICC,
) -> LiveMetrics:
    """Completeness, delay quantiles and the confusion matrix of every level of one classifier
    of a campaign (ELAsTiCC unless given) in one window (a UTC day of sending, or all time when
    day is None), counting alerts sent by `cutoff` (default: now)."""
    campaign = campaigns.get(campaign)
    sql = names(campaign)
    params: dict = {"c": classifier_id, "cutoff": cutoff or datetime.now(UTC)}
    window = f"a.{sql['sent']} <= %(cutoff)s"
    if day is not None:
        params["start"] = datetime.combine(day, time(0), tzinfo=UTC)
        params["end"] = params["start"] + timedelta(days=1)
        window += f" AND a.{sql['sent']} >= %(start)s AND a.{sql['sent']} < %(end)s"
    messages_sql = _MESSAGES.format(window=window, **sql)
    broker = campaign.broker
    classifications = broker.classifications_sql(f"m.{broker.m('classifierId')} = %(c)s")
    with connection.cursor() as cur:
        cur.execute(_SUMMARY.format(messages_sql=messages_sql, window=window, **sql), params)
        sent, classified, quantiles, delay_max = cur.fetchone()
        q = quantiles or [None, None, None]
        result = LiveMetrics(sent, classified, q[0], q[1], q[2], delay_max)
        for level in campaign.levels:
            query = _CONFUSION.format(
                messages_sql=messages_sql,
                classifications=classifications,
                lift=level.lift,
                truth_condition=level.truth,
                **sql,
            )
            cur.execute(query, params)
            result.confusion[level.name] = {(t, p): n for t, p, n in cur.fetchall()}
    return result
