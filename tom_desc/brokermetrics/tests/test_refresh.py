"""refresh_metrics on a hand-built case: every materialized number is the one worked out by hand."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from brokermetrics import queries, refresh
from brokermetrics.models import (
    AlertsSentPerDay,
    AlertsSentPerMjd,
    ClassifierTotals,
    ClassifierWindow,
    ConfusionCell,
    DelayBin,
    MetricsRefresh,
)
from elasticc.models import BrokerClassifier
from elasticc.pages.tests import handbuilt

pytestmark = pytest.mark.django_db

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def cells(classifier_id, level, day=None):
    qs = ConfusionCell.objects.filter(classifierId=classifier_id, level=level)
    qs = qs.filter(day=day) if day else qs.filter(day__isnull=True)
    return {(c.trueClassId, c.predClassId): c.count for c in qs}


@pytest.fixture
def case():
    a, b = handbuilt.build()
    result = refresh.refresh_all()
    return a.classifierId, b.classifierId, result


def test_confusion_matrices_have_exactly_the_expected_cells(case):
    a, b, _ = case
    assert cells(a, "exact") == handbuilt.EXPECTED_EXACT_ALL
    assert cells(a, "category") == handbuilt.EXPECTED_CATEGORY_ALL
    assert cells(a, "exact", D1) == handbuilt.EXPECTED_EXACT_DAY1
    assert cells(a, "exact", D2) == {(111, 112): 1, (121, 121): 1, (122, 121): 1, (None, 111): 1}
    assert cells(a, "category", D1) == {(11, 11): 2, (12, 12): 1}
    assert cells(b, "exact") == {(111, 111): 1}
    assert cells(b, "category") == {(11, 11): 1}
    assert cells(b, "exact", D2) == {}


def test_confusion_matrix_for_the_page(case):
    a, _, _ = case
    m = queries.confusion(a, "exact", None)
    assert m.true_ids == [111, 112, 121, 122, None]
    assert m.pred_ids == [111, 112, 121]
    assert m.total == 7
    rows = {r["classId"]: r for r in m.rows()}
    assert [c["count"] for c in rows[121]["cells"]] == [0, 0, 2]
    assert [c["match"] for c in rows[121]["cells"]] == [False, False, True]
    assert rows[111]["total"] == 2 and rows[111]["cells"][0]["fraction"] == 0.5
    assert rows[None]["name"] == "unknown truth"


def test_completeness_counts_sent_alerts_only(case):
    a, b, result = case
    assert {d.day: d.alerts for d in AlertsSentPerDay.objects.all()} == {D1: 4, D2: 4}
    windows = {w.day: w for w in ClassifierWindow.objects.filter(classifierId=a)}
    assert (windows[None].alertsSent, windows[None].alertsClassified) == (8, 7)
    assert (windows[D1].alertsSent, windows[D1].alertsClassified) == (4, 3)
    assert (windows[D2].alertsSent, windows[D2].alertsClassified) == (4, 4)
    b_windows = {w.day: w for w in ClassifierWindow.objects.filter(classifierId=b)}
    assert (b_windows[D2].alertsClassified, b_windows[D2].completeness) == (0, 0.0)  # a day B missed entirely
    assert b_windows[None].completeness == 1 / 8
    assert b_windows[D2].delayP50 is None
    assert result.classifiers == 2 and result.messages == 8 and result.days == 2


def test_delays(case):
    a, _, _ = case
    w = ClassifierWindow.objects.get(classifierId=a, day__isnull=True)
    # delays -2, 0.5, 3, 10, 45, 7200, 1e6 s
    assert w.delayP50 == pytest.approx(10)
    assert w.delayP90 == pytest.approx(7200 + 0.4 * (1_000_000 - 7200))
    assert w.delayMax == pytest.approx(1_000_000)
    bins = {d.bin: d.count for d in DelayBin.objects.filter(classifierId=a, day__isnull=True)}
    assert bins == {0: 1, 1: 1, 3: 1, 5: 1, 6: 1, 12: 1, 18: 1}
    day1 = {d.bin: d.count for d in DelayBin.objects.filter(classifierId=a, day=D1)}
    assert day1 == {1: 1, 3: 1, 12: 1}
    assert refresh.delay_bin_label(0) == "< 0 s"
    assert refresh.delay_bin_label(3) == "2 s – 5 s"
    assert refresh.delay_bin_label(12) == "1 h – 3 h"
    assert refresh.delay_bin_label(18) == "≥ 7 d"
    hist = queries.delay_histogram(a, None)
    assert [h["count"] for h in hist] == [1] * 7


def test_a_range_of_days_adds_up_its_days(case):
    """D1..D2 holds every sent alert, so its counts are the all-time ones; its quantiles come
    from the histogram (bin upper edges), its maximum is exact."""
    a, b, _ = case
    w = queries.window(a, (D1, D2))
    assert isinstance(w, queries.RangeWindow) and w.approximate
    assert (w.alertsSent, w.alertsClassified) == (8, 7)
    # delays -2, 0.5, 3, 10, 45, 7200, 1e6 s: the median 10 s is in bin 10-30 s; 90 % and
    # 99 % are in the open bin >= 7 d, whose upper edge is the maximum.
    assert (w.delayP50, w.delayP90, w.delayP99, w.delayMax) == (30, 1_000_000, 1_000_000, 1_000_000)
    assert queries.delay_histogram(a, (D1, D2)) == queries.delay_histogram(a, None)
    for level, expected in (("exact", handbuilt.EXPECTED_EXACT_ALL), ("category", handbuilt.EXPECTED_CATEGORY_ALL)):
        assert queries.confusion(a, level, (D1, D2)).cells == expected
    assert queries.confusion(a, "exact", (D1, D1)).cells == handbuilt.EXPECTED_EXACT_DAY1
    # One day given as a range of one is that day's stored row, with its exact quantiles.
    assert queries.window(a, (D2, D2)) == ClassifierWindow.objects.get(classifierId=a, day=D2)
    only_b = queries.window(b, (D1, D2))
    assert (only_b.alertsSent, only_b.alertsClassified, only_b.delayP50) == (8, 1, 30)
    # Days with no stored rows at all.
    assert queries.window(a, (date(2020, 1, 1), date(2020, 1, 9))) is None
    assert queries.confusion(a, "exact", (date(2020, 1, 1), date(2020, 1, 9))).cells == {}


def test_totals_and_alerts_per_simulated_day(case):
    a, b, _ = case
    assert ClassifierTotals.objects.get(classifierId=a).messages == 8  # the unsent alert's message too
    assert ClassifierTotals.objects.get(classifierId=b).messages == 1
    assert dict(AlertsSentPerMjd.objects.values_list("mjd", "alerts")) == {61000: 4, 61001: 4}
    assert MetricsRefresh.objects.filter(finished__isnull=False).count() == 1


def test_refresh_replaces_and_forgets_deleted_classifiers(case):
    a, b, _ = case
    before = ConfusionCell.objects.count()
    refresh.refresh_all()
    assert ConfusionCell.objects.count() == before  # replaced, not appended
    BrokerClassifier.objects.filter(classifierId=b).delete()
    refresh.refresh_all()
    assert not ClassifierWindow.objects.filter(classifierId=b).exists()
    assert not ConfusionCell.objects.filter(classifierId=b).exists()
    assert cells(a, "exact") == handbuilt.EXPECTED_EXACT_ALL


def test_command_prints_a_summary_line_and_limits_to_classifiers():
    a, b = handbuilt.build()
    out = StringIO()
    call_command("refresh_metrics", "--classifier", str(b.classifierId), "--no-progress", stdout=out)
    assert "refresh_metrics: 1 classifiers, 1 classified sent alerts, alerts sent on 2 days" in out.getvalue()
    assert not ClassifierWindow.objects.filter(classifierId=a.classifierId).exists()
    assert ClassifierWindow.objects.filter(classifierId=b.classifierId).count() == 3


def test_empty_database_refreshes_to_empty_tables():
    result = refresh.refresh_all()
    assert (result.classifiers, result.messages, result.days) == (0, 0, 0)
    assert not ClassifierWindow.objects.exists() and not AlertsSentPerDay.objects.exists()


def test_live_computation_agrees_with_the_materialized_tables(case):
    """brokermetrics/live.py states the same definitions as plain SELECTs (the benchmark's
    baseline); on the hand-built case it must give every number refresh_metrics stored."""
    from brokermetrics import live

    a, b, _ = case
    assert live.compute(a, None).confusion["exact"] == handbuilt.EXPECTED_EXACT_ALL
    for classifier_id in (a, b):
        for day in (None, D1, D2):
            got = live.compute(classifier_id, day)
            stored = queries.window(classifier_id, day)
            assert (got.alertsSent, got.alertsClassified) == (stored.alertsSent, stored.alertsClassified)
            for name in ("delayP50", "delayP90", "delayP99", "delayMax"):
                assert getattr(got, name) == pytest.approx(getattr(stored, name)), (classifier_id, day, name)
            for level in queries.LEVELS:
                assert got.confusion[level] == cells(classifier_id, level, day), (classifier_id, day, level)
