"""What the broker pages read: only the small tables refresh_metrics fills (plus the
classifier table), so a page costs a few index lookups at any data size.

Every function takes the campaign (brokermetrics/campaigns.py; ELAsTiCC unless given): its
classifiers, its rows of the metrics tables, its taxonomy's names and levels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection
from django.db.models import Sum

from brokermetrics import campaigns
from brokermetrics.campaigns import MetricsCampaign
from brokermetrics.models import (
    AlertsSentPerMjd,
    ClassifierTotals,
    ClassifierWindow,
    ConfusionCell,
    DelayBin,
    MetricsRefresh,
)
from brokermetrics.refresh import DELAY_EDGES, delay_bin_label
from tom_desc.lib.groups import is_admin
from tom_desc.lib.rowcounts import exact_count_allowed

LEVELS = campaigns.ELASTICC.level_names  # ELAsTiCC's; each campaign's are campaign.level_names
Campaign = MetricsCampaign | str


def last_refresh() -> MetricsRefresh | None:
    return MetricsRefresh.objects.filter(finished__isnull=False).order_by("-finished").first()


@dataclass
class ClassifierRow:
    classifierId: int
    brokerName: str
    brokerVersion: str
    classifierName: str
    classifierParams: str
    messages: int | None
    live_count: bool  # messages counted just now rather than at the last refresh
    lastIngest: object
    window: ClassifierWindow | None  # all-time completeness and delays


# The classifier table's columns under the engine's names (ELAsTiCC's), so one template serves both.
CLASSIFIER_COLUMNS = ("classifierId", "brokerName", "brokerVersion", "classifierName", "classifierParams")


def _classifier_select(campaign: MetricsCampaign) -> str:
    broker = campaign.broker
    columns = ", ".join(f'{broker.k(c)} AS "{c}"' for c in CLASSIFIER_COLUMNS)
    return f"SELECT {columns} FROM {broker.classifier_table}"


def _live_counts(campaign: MetricsCampaign) -> dict[int, int] | None:
    """Messages per classifier counted now, when the message table is small enough
    (the summary page's rule); None otherwise."""
    broker = campaign.broker
    if not exact_count_allowed(broker.message_table):
        return None
    with connection.cursor() as cur:
        cur.execute(f"SELECT {broker.m('classifierId')}, COUNT(*) FROM {broker.message_table} GROUP BY 1")
        return dict(cur.fetchall())


def classifiers(campaign: Campaign = campaigns.ELASTICC) -> list[ClassifierRow]:
    campaign = campaigns.get(campaign)
    with connection.cursor() as cur:
        cur.execute(
            f'{_classifier_select(campaign)} ORDER BY "brokerName", "classifierName", "brokerVersion", '
            '"classifierParams", "classifierId"'
        )
        rows = cur.fetchall()
    totals = {t.classifierId: t for t in ClassifierTotals.objects.filter(campaign=campaign.campaign)}
    windows = {w.classifierId: w for w in ClassifierWindow.objects.filter(campaign=campaign.campaign, day__isnull=True)}
    live = _live_counts(campaign)
    out = []
    for cid, *names in rows:
        total = totals.get(cid)
        messages = live.get(cid, 0) if live is not None else (total.messages if total else None)
        out.append(
            ClassifierRow(
                cid,
                *names,
                messages=messages,
                live_count=live is not None,
                lastIngest=total.lastIngest if total else None,
                window=windows.get(cid),
            )
        )
    return out


def classifier(classifier_id: int, campaign: Campaign = campaigns.ELASTICC) -> dict | None:
    campaign = campaigns.get(campaign)
    with connection.cursor() as cur:
        cur.execute(
            f"{_classifier_select(campaign)} WHERE {campaign.broker.k('classifierId')} = %s",
            [classifier_id],
        )
        row = cur.fetchone()
    if row is None:
        return None
    return dict(zip(CLASSIFIER_COLUMNS, row))


# A window: None is all time, a date one UTC send-day, (first, last) the days from first to
# last inclusive. All time and single days are read as refresh_metrics stored them; a range
# adds up its days' rows, which is exact for counts (completeness, histogram, confusion) and
# leaves the delay quantiles to the histogram (see RangeWindow).
Days = date | tuple[date, date] | None


def _span(days: Days) -> tuple[date, date] | None:
    if days is None or isinstance(days, tuple):
        return days
    return (days, days)


def _in_window(queryset, days: Days):
    span = _span(days)
    return queryset.filter(day__isnull=True) if span is None else queryset.filter(day__range=span)


@dataclass
class WindowFigures:
    """Completeness and delay figures of one window, as the broker page shows them (the
    fields of ClassifierWindow, for windows not stored as one row)."""

    alertsSent: int
    alertsClassified: int
    delayP50: float | None
    delayP90: float | None
    delayP99: float | None
    delayMax: float | None

    @property
    def completeness(self) -> float | None:
        return self.alertsClassified / self.alertsSent if self.alertsSent else None


@dataclass
class RangeWindow(WindowFigures):
    """Completeness and delays over several send-days, added up from their stored rows.

    Quantiles cannot be added up: delayP50/P90/P99 are the upper edges of the histogram
    bins that hold them (so "at most"); delayMax is exact.
    """

    approximate: bool = True


def _bin_upper_edge(index: int, delay_max: float | None) -> float | None:
    return DELAY_EDGES[index] if index < len(DELAY_EDGES) else delay_max


def days(classifier_id: int, campaign: Campaign = campaigns.ELASTICC) -> list[date]:
    """The windows (UTC days alerts were sent) with metrics for this classifier, newest first."""
    campaign = campaigns.get(campaign)
    return list(
        ClassifierWindow.objects.filter(campaign=campaign.campaign, classifierId=classifier_id, day__isnull=False)
        .order_by("-day")
        .values_list("day", flat=True)
    )


def window(
    classifier_id: int, days: Days, campaign: Campaign = campaigns.ELASTICC
) -> ClassifierWindow | RangeWindow | None:
    """The classifier's completeness and delays in a window (None when it has no rows there)."""
    campaign = campaigns.get(campaign)
    span = _span(days)
    rows = _in_window(ClassifierWindow.objects.filter(campaign=campaign.campaign, classifierId=classifier_id), days)
    if span is None or span[0] == span[1]:
        return rows.first()
    rows = list(rows)
    if not rows:
        return None
    delay_max = max((r.delayMax for r in rows if r.delayMax is not None), default=None)
    quantiles = []
    histogram = delay_histogram(classifier_id, days, campaign)
    total = sum(b["count"] for b in histogram)
    for q in (0.5, 0.9, 0.99):
        seen, at = 0, None
        for b in histogram:
            seen += b["count"]
            if seen >= q * total:
                at = _bin_upper_edge(b["bin"], delay_max)
                break
        quantiles.append(at if total else None)
    return RangeWindow(sum(r.alertsSent for r in rows), sum(r.alertsClassified for r in rows), *quantiles, delay_max)


def delay_histogram(classifier_id: int, days: Days, campaign: Campaign = campaigns.ELASTICC) -> list[dict]:
    """[{"bin", "label", "count"}] in bin order; bins with no alerts are left out."""
    campaign = campaigns.get(campaign)
    bins = (
        _in_window(DelayBin.objects.filter(campaign=campaign.campaign, classifierId=classifier_id), days)
        .values("bin")
        .annotate(n=Sum("count"))
        .order_by("bin")
    )
    return [{"bin": b["bin"], "label": delay_bin_label(b["bin"]), "count": b["n"]} for b in bins]


@dataclass
class ConfusionMatrix:
    level: str
    true_ids: list[int | None]  # rows; None = no known truth
    pred_ids: list[int]  # columns
    cells: dict[tuple[int | None, int], int]
    names: dict[int, str]

    @property
    def total(self) -> int:
        return sum(self.cells.values())

    def rows(self) -> list[dict]:
        """Per true class: its cells as (count, fraction of the row) in column order."""
        out = []
        for t in self.true_ids:
            counts = [self.cells.get((t, p), 0) for p in self.pred_ids]
            n = sum(counts)
            out.append(
                {
                    "classId": t,
                    "name": self.names.get(t, "") if t is not None else "unknown truth",
                    "total": n,
                    "cells": [
                        {
                            "count": c,
                            "fraction": c / n if n else 0.0,
                            "pred": p,
                            "match": p == t,
                            # cell shading: light enough for dark text at any share
                            "alpha": round(0.08 + 0.6 * c / n, 2) if c else 0.0,
                        }
                        for c, p in zip(counts, self.pred_ids)
                    ],
                }
            )
        return out

    @property
    def columns(self) -> list[dict]:
        return [{"classId": p, "name": self.names.get(p, "")} for p in self.pred_ids]


def confusion(classifier_id: int, level: str, days: Days, campaign: Campaign = campaigns.ELASTICC) -> ConfusionMatrix:
    campaign = campaigns.get(campaign)
    cells = (
        _in_window(
            ConfusionCell.objects.filter(campaign=campaign.campaign, classifierId=classifier_id, level=level), days
        )
        .values("trueClassId", "predClassId")
        .annotate(n=Sum("count"))
    )
    data = {(c["trueClassId"], c["predClassId"]): c["n"] for c in cells}
    true_ids = sorted({t for t, _ in data}, key=lambda t: (t is None, t or 0))
    pred_ids = sorted({p for _, p in data})
    names = {c.classId: c.description for c in campaign.classes().values()}
    return ConfusionMatrix(level, true_ids, pred_ids, data, names)


def confusion_visible_to(user) -> bool:
    """Confusion matrices are made from truth: elasticc_admin only, unless configured public."""
    return bool(settings.BROKERMETRICS_CONFUSION_PUBLIC) or is_admin(user)


def alerts_per_mjd(campaign: Campaign = campaigns.ELASTICC) -> list[tuple[int, int]]:
    campaign = campaigns.get(campaign)
    return list(
        AlertsSentPerMjd.objects.filter(campaign=campaign.campaign).order_by("mjd").values_list("mjd", "alerts")
    )


def completeness_per_day(classifier_id: int, campaign: Campaign = campaigns.ELASTICC) -> list[dict]:
    """The broker page's completeness chart: ``{"day", "sent", "classified", "percent"}`` per UTC
    send-day that refresh_metrics stored rows for, oldest first (the same rows as the day windows)."""
    campaign = campaigns.get(campaign)
    rows = (
        ClassifierWindow.objects.filter(campaign=campaign.campaign, classifierId=classifier_id, day__isnull=False)
        .order_by("day")
        .values_list("day", "alertsSent", "alertsClassified")
    )
    return [
        {"day": day.isoformat(), "sent": sent, "classified": done, "percent": 100 * done / sent if sent else None}
        for day, sent, done in rows
    ]
