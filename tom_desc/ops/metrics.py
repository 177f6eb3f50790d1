"""What /metrics shows Prometheus: read from the database at scrape time, plus worker counters.

Figures that several processes produce on several machines (brokerpoll pods, the alert
sender, long-query runners) already land in tables, so one scrape of any web pod reads them
there; nothing has to be pushed. Each query reads an index or a few catalog rows, so a
scrape stays cheap on billion-row tables:

| metric | from |
|---|---|
| tom_brokerpoll_up, _last_poll_age_seconds, _lag | elasticc_brokerpollstatus, one row per poller |
| tom_brokerpoll_messages_stored_total, _classifications_stored_total, _duplicates_total, _dead_lettered_total | the same rows: counts since that poller started (a restart resets them, which Prometheus' rate() understands) |
| tom_broker_dead_letters | rows of elasticc_brokerdeadletter |
| tom_alerts_sent, tom_alerts_unsent (and _is_estimate) | the summary page's cheap counts |
| tom_alerts_sent_last_5m, tom_alerts_last_sent_timestamp_seconds | the alertSentTimestamp index |
| tom_sql_long_queries{status}, tom_sql_long_query_oldest_queued_seconds | the long-query queue |
| tom_sql_long_query_timeouts | long queries that failed on their time limit |
| tom_sql_sync_timeouts_total, tom_login_lockouts_total | web-worker counters (tom_desc/lib/metrics.py) |

A failing query is reported as tom_metrics_errors{part} instead of failing the scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

from django.db import DatabaseError, connection
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from elasticc.stream.pollstatus import brokerpoll_status
from sqlquery.models import LongQuery
from tom_desc.lib.metrics import process_registry
from tom_desc.lib.rowcounts import alert_counts

log = logging.getLogger(__name__)

RECENT = timedelta(minutes=5)
# The text every time-limited query's error carries (sqlquery/runner.py, from PostgreSQL's message).
TIMEOUT_TEXT = "statement timeout"
POLLER_LABELS = ["poller", "name"]


def _brokerpoll() -> Iterator[Metric]:
    status = brokerpoll_status()
    now = timezone.now()
    up = GaugeMetricFamily("tom_brokerpoll_up", "1 while a brokerpoll process reports in time.", labels=POLLER_LABELS)
    age = GaugeMetricFamily(
        "tom_brokerpoll_last_poll_age_seconds", "Seconds since the poller's last heartbeat.", labels=POLLER_LABELS
    )
    lag = GaugeMetricFamily(
        "tom_brokerpoll_lag",
        "Messages on the broker not yet consumed (as the poller last saw it).",
        labels=POLLER_LABELS,
    )
    counters = {
        key: CounterMetricFamily(f"tom_brokerpoll_{name}", text, labels=POLLER_LABELS)
        for key, name, text in [
            ("messagesStored", "messages_stored", "Broker messages stored since the poller started."),
            ("classificationsStored", "classifications_stored", "Classifications stored since the poller started."),
            ("duplicates", "duplicates", "Redelivered messages recognised and skipped since the poller started."),
            ("deadLettered", "dead_lettered", "Messages set aside as unreadable since the poller started."),
        ]
    }
    for poller in status["pollers"]:
        labels = [poller["pollerId"], poller["pollerName"]]
        up.add_metric(labels, 1.0 if poller["alive"] else 0.0)
        age.add_metric(labels, (now - poller["lastPoll"]).total_seconds())
        if poller["lag"] is not None:
            lag.add_metric(labels, float(poller["lag"]))
        for key, family in counters.items():
            family.add_metric(labels, float(poller[key] or 0))
    yield from (up, age, lag, *counters.values())
    dead = GaugeMetricFamily("tom_broker_dead_letters", "Broker messages in the dead-letter table.", labels=["window"])
    dead.add_metric(["all"], float(status["deadLetters"]))
    dead.add_metric(["24h"], float(status["deadLetters24h"]))
    yield dead


def _alerts() -> Iterator[Metric]:
    counts = alert_counts()
    estimate = 1.0 if counts["estimate"] else 0.0
    yield GaugeMetricFamily("tom_alerts_sent", "Alerts sent to the brokers.", value=float(counts["sent"]))
    yield GaugeMetricFamily("tom_alerts_unsent", "Alerts not sent yet.", value=float(counts["unsent"]))
    yield GaugeMetricFamily(
        "tom_alerts_counts_are_estimates", "1 when the alert counts are the planner's statistics.", value=estimate
    )
    with connection.cursor() as cur:
        # Both read the (alertSentTimestamp) index of each partition: a short range and its end.
        cur.execute(
            'SELECT count(*) FROM elasticc_diaalert WHERE "alertSentTimestamp" >= %s', [timezone.now() - RECENT]
        )
        (recent,) = cur.fetchone()
        cur.execute('SELECT max("alertSentTimestamp") FROM elasticc_diaalert')
        (last,) = cur.fetchone()
    yield GaugeMetricFamily("tom_alerts_sent_last_5m", "Alerts sent in the last five minutes.", value=float(recent))
    if last is not None:
        yield GaugeMetricFamily(
            "tom_alerts_last_sent_timestamp_seconds",
            "When the last alert was sent (Unix time).",
            value=last.timestamp(),
        )


def _long_queries() -> Iterator[Metric]:
    by_status = dict(LongQuery.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    queue = GaugeMetricFamily("tom_sql_long_queries", "Long queries by status.", labels=["status"])
    for status, _label in LongQuery.STATUS_CHOICES:
        queue.add_metric([status], float(by_status.get(status, 0)))
    yield queue
    oldest = LongQuery.objects.filter(status=LongQuery.QUEUED).aggregate(t=Min("submitted"))["t"]
    yield GaugeMetricFamily(
        "tom_sql_long_query_oldest_queued_seconds",
        "How long the oldest queued long query has waited (0 when none waits).",
        value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
    )
    timeouts = LongQuery.objects.filter(Q(status=LongQuery.ERROR) & Q(error__icontains=TIMEOUT_TEXT)).count()
    yield GaugeMetricFamily(
        "tom_sql_long_query_timeouts", "Long queries (still kept) that failed on their time limit.", value=timeouts
    )


PARTS: dict[str, Callable[[], Iterator[Metric]]] = {
    "brokerpoll": _brokerpoll,
    "alerts": _alerts,
    "long_queries": _long_queries,
}


class DatabaseCollector:
    """A prometheus_client collector reading the database on each scrape."""

    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily(
            "tom_metrics_errors", "1 when this part of the metrics could not be read.", labels=["part"]
        )
        for part, read in PARTS.items():
            try:
                yield from list(read())
                errors.add_metric([part], 0.0)
            except DatabaseError:
                log.exception("metrics: reading %s failed", part)
                errors.add_metric([part], 1.0)
        yield errors


def exposition() -> tuple[bytes, str]:
    """(body, content type) of one scrape."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector())
    workers = process_registry() or REGISTRY
    return generate_latest(registry) + generate_latest(workers), CONTENT_TYPE_LATEST
