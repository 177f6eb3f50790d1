"""ELAsTiCC2's broker metrics on its hand-built case (elasticc2/pages/tests/handbuilt.py): the
confusion cells at the four levels of the four-digit taxonomy, completeness and delays exactly as
worked out by hand; the campaigns' metrics kept apart when their classifiers have the same id;
the live SQL (brokermetrics/live.py) agreeing with the materialized tables."""

from datetime import date

import pytest

from brokermetrics import campaigns, live, queries, refresh
from brokermetrics.models import AlertsSentPerDay, AlertsSentPerMjd, ClassifierTotals, ClassifierWindow, ConfusionCell
from elasticc.pages.tests import handbuilt as elasticc_case
from elasticc2.pages.tests import handbuilt

pytestmark = pytest.mark.django_db

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def cells(campaign, classifier_id, level, day=None):
    qs = ConfusionCell.objects.filter(campaign=campaign, classifierId=classifier_id, level=level)
    qs = qs.filter(day=day) if day else qs.filter(day__isnull=True)
    return {(c.trueClassId, c.predClassId): c.count for c in qs}


@pytest.fixture
def both():
    """Both campaigns' hand-built cases, ELAsTiCC2's classifiers numbered as ELAsTiCC's."""
    ea, eb = elasticc_case.build()
    a, b = handbuilt.build(classifier_ids=(ea.classifierId, eb.classifierId))
    result = refresh.refresh_all()
    return a.classifier_id, b.classifier_id, result


def test_confusion_cells_at_every_level_are_the_hand_worked_ones(both):
    a, b, _ = both
    assert campaigns.ELASTICC2.level_names == ("exact", "category", "general", "broad")
    for level, expected in handbuilt.EXPECTED_A.items():
        assert cells("elasticc2", a, level) == expected, level
    for level, expected in handbuilt.EXPECTED_B.items():
        assert cells("elasticc2", b, level) == expected, level
    assert cells("elasticc2", a, "exact", D1) == handbuilt.EXPECTED_A_DAY1_EXACT
    assert cells("elasticc2", a, "broad", D2) == {(2000, 2000): 2, (None, 300): 1}
    assert cells("elasticc2", b, "exact", D2) == {}


def test_the_campaigns_metrics_stay_apart_under_the_same_classifier_id(both):
    a, b, result = both
    assert cells("elasticc", a, "exact") == elasticc_case.EXPECTED_EXACT_ALL
    assert cells("elasticc", a, "category") == elasticc_case.EXPECTED_CATEGORY_ALL
    assert not ConfusionCell.objects.filter(campaign="elasticc", level__in=("general", "broad")).exists()
    assert queries.confusion(a, "exact", None).cells == elasticc_case.EXPECTED_EXACT_ALL
    assert queries.confusion(a, "exact", None, "elasticc2").cells == handbuilt.EXPECTED_A["exact"]
    assert result.classifiers == 4 and result.messages == 8 + 7 and result.days == 2 + 2
    totals = {(t.campaign, t.classifierId): t.messages for t in ClassifierTotals.objects.all()}
    assert totals == {("elasticc", a): 8, ("elasticc", b): 1, ("elasticc2", a): 7, ("elasticc2", b): 1}
    assert {(r.campaign, r.day): r.alerts for r in AlertsSentPerDay.objects.all()} == {
        ("elasticc", D1): 4,
        ("elasticc", D2): 4,
        ("elasticc2", D1): 3,
        ("elasticc2", D2): 3,
    }
    assert queries.alerts_per_mjd("elasticc2") == [(60001, 3), (60002, 3)]
    assert {r.mjd for r in AlertsSentPerMjd.objects.filter(campaign="elasticc")} == {61000, 61001}


def test_completeness_and_delays(both):
    a, b, _ = both
    w = queries.window(a, None, "elasticc2")
    assert (w.alertsSent, w.alertsClassified) == (6, 6)  # alert 12 was never sent
    assert w.delayP50 == pytest.approx(45) and w.delayMax == pytest.approx(4000)
    assert w.delayP90 == pytest.approx(400 + 0.5 * (4000 - 400))
    day1 = ClassifierWindow.objects.get(campaign="elasticc2", classifierId=a, day=D1)
    assert (day1.alertsSent, day1.alertsClassified) == (3, 3)
    only_b = queries.window(b, None, "elasticc2")
    assert (only_b.alertsSent, only_b.alertsClassified) == (6, 1)
    hist = {h["bin"]: h["count"] for h in queries.delay_histogram(a, None, "elasticc2")}
    assert hist == {1: 1, 3: 1, 5: 1, 7: 1, 9: 1, 12: 1}  # 0.5 s, 3 s, 20 s, 70 s, 400 s, 4000 s
    rows = {r.classifierId: r for r in queries.classifiers("elasticc2")}
    assert rows[a].messages == 7 and rows[a].classifierName == "A" and rows[a].window.alertsClassified == 6
    assert queries.classifier(a, "elasticc2")["classifierParams"] == "handbuilt"
    assert queries.days(a, "elasticc2") == [D2, D1]


def test_the_live_sql_agrees_with_the_materialized_metrics(both):
    a, b, _ = both
    for classifier_id in (a, b):
        for day in (None, D1, D2):
            got = live.compute(classifier_id, day, campaign="elasticc2")
            stored = queries.window(classifier_id, day, "elasticc2")
            assert (got.alertsSent, got.alertsClassified) == (stored.alertsSent, stored.alertsClassified)
            assert got.delayP50 == pytest.approx(stored.delayP50)
            for level in campaigns.ELASTICC2.level_names:
                assert got.confusion[level] == cells("elasticc2", classifier_id, level, day), (day, level)
    assert live.compute(a, None, campaign="elasticc2").confusion["general"] == handbuilt.EXPECTED_A["general"]


def test_refresh_one_campaign_leaves_the_other(both):
    a, _, _ = both
    ConfusionCell.objects.filter(campaign="elasticc").update(count=99)
    result = refresh.refresh_all(only_campaigns=["elasticc2"])
    assert result.classifiers == 2
    assert set(cells("elasticc", a, "exact").values()) == {99}
    assert cells("elasticc2", a, "exact") == handbuilt.EXPECTED_A["exact"]
