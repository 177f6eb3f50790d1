"""The original DESC TOM's analysis views (migration 0010): each one against a Python oracle of
its definition on a hand-built survey, their refresh, and who may read them."""

from __future__ import annotations

import io
import math
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection

from elasticc import sqlviews
from elasticc.models import (
    BrokerClassification,
    BrokerClassifier,
    BrokerMessage,
    DiaAlert,
    DiaForcedSource,
    DiaObjectTruth,
    DiaSource,
)
from elasticc.stream.ingest import store_broker_messages, validate_classification
from tom_desc.lib.numbers import float32

SENT = datetime(2023, 10, 1, tzinfo=UTC)
# object: (gentype or None without truth, true peak, source times)
OBJECTS = {
    7001: (10, 60010.0, [59970.0, 60000.0, 60000.2, 60012.0, 60025.0, 60055.0, 60120.0]),
    7002: (50, 60100.0, [60090.0, 60100.0, 60150.0]),
    7003: (None, None, [60000.0, 60001.0]),
}
TRUE_CLASS = {10: 111, 50: 121}
TIMEBINS = (
    [(0, -999999.0, -20.0)] + [(k, -30.0 + 10 * k, -20.0 + 10 * k) for k in range(1, 13)] + [(13, 100.0, 999999.0)]
)


def width_bucket(x: float, lo: float, hi: float, n: int) -> int:
    """PostgreSQL's width_bucket: 0 below lo, n + 1 at or above hi, else 1..n."""
    if x < lo:
        return 0
    if x >= hi:
        return n + 1
    return math.floor((x - lo) / (hi - lo) * n) + 1


def build_survey() -> None:
    """Objects, sources, forced points every 5 days, sent alerts and two classifiers' messages.

    Classifier RF gives every alert probabilities for 111 and 121 (summing to 1); NN gives only
    111 on every other alert, so the "right class" views see missing and wrong answers too.
    """
    for oid, (gentype, peak, times) in OBJECTS.items():
        DiaSource.objects.bulk_create(
            DiaSource(
                diaSourceId=oid * 100000 + i,
                diaObjectId=oid,
                midPointTai=t,
                filterName="r",
                ra=1.0,
                decl=2.0,
                psFlux=10.0,
                psFluxErr=1.0,
                snr=10.0,
            )
            for i, t in enumerate(times)
        )
        DiaAlert.objects.bulk_create(
            DiaAlert(
                alertId=oid * 100000 + i,
                diaSourceId=oid * 100000 + i,
                diaObjectId=oid,
                midPointTai=t,
                alertSentTimestamp=SENT,
            )
            for i, t in enumerate(times)
        )
        DiaForcedSource.objects.bulk_create(
            DiaForcedSource(
                diaForcedSourceId=oid * 100000 + 50000 + k,
                diaObjectId=oid,
                midPointTai=59960.0 + 5 * k,
                filterName="g",
                psFlux=1.0,
                psFluxErr=1.0,
            )
            for k in range(40)
        )
        if gentype is not None:
            DiaObjectTruth.objects.create(diaObjectId=oid, gentype=gentype, peakmjd=peak)
    records = []
    for n, alert in enumerate(DiaAlert.objects.order_by("alertId")):
        p = round(0.05 + 0.9 * ((n * 37) % 19) / 18, 4)
        records.append(message(alert.alertId, "RF", [(111, p), (121, round(1 - p, 4))]))
        if n % 2 == 0:
            records.append(message(alert.alertId, "NN", [(111, round(1 - p / 2, 4))]))
    store_broker_messages([(validate_classification(r), None) for r in records])


def message(alert_id: int, classifier: str, probs) -> dict:
    return {
        "alertId": alert_id,
        "diaSourceId": alert_id,
        "elasticcPublishTimestamp": SENT,
        "brokerIngestTimestamp": None,
        "brokerName": "B",
        "brokerVersion": "1",
        "classifierName": classifier,
        "classifierParams": "",
        "classifications": [{"classId": c, "probability": p} for c, p in probs],
    }


def rows(sql: str) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def approx_rows(found, expected) -> None:
    assert len(found) == len(expected)
    for f, e in zip(sorted(found, key=repr), sorted(expected, key=repr)):
        assert len(f) == len(e)
        for a, b in zip(f, e):
            if isinstance(b, float):
                assert float(a) == pytest.approx(b, rel=1e-6, abs=1e-9), (f, e)
            else:
                assert a == b, (f, e)


# ------------------------------------------------------------------------------------ oracles


def deduped_oracle() -> list[tuple]:
    """(classifierId, brokerMessageId, classId, trueClassId, diaSourceId, dt, n, probability)."""
    truth = {t.diaObjectId: t for t in DiaObjectTruth.objects.all()}
    sources = {s.diaSourceId: s for s in DiaSource.objects.all()}
    messages = {m.brokerMessageId: m for m in BrokerMessage.objects.all()}
    out = []
    for c in BrokerClassification.objects.all():
        m = messages[c.brokerMessageId]
        s = sources[m.diaSourceId]
        t = truth.get(s.diaObjectId)
        if t is None:
            continue
        out.append(
            (
                c.classifierId,
                c.brokerMessageId,
                c.classId,
                TRUE_CLASS[t.gentype],
                m.diaSourceId,
                s.midPointTai - t.peakmjd,
                1,
                float32(c.probability),  # the view averages the 4-byte value itself
            )
        )
    return out


def max_right_oracle() -> dict[tuple, float]:
    """{(timebin, diaObjectId, classifierId, trueClassId): max probability of the true class}."""
    objects = {s.diaSourceId: s.diaObjectId for s in DiaSource.objects.all()}
    best: dict[tuple, float] = {}
    for cfr, _msg, cls, true, src, dt, _n, p in deduped_oracle():
        if cls != true:
            continue
        for k, lo, hi in TIMEBINS:
            if lo <= dt < hi:
                key = (k, objects[src], cfr, true)
                best[key] = max(best.get(key, -1.0), p)
    return best


@pytest.fixture
def survey(db):
    build_survey()
    sqlviews.refresh_views()


def test_source_classifications_view(survey):
    truth = {t.diaObjectId: TRUE_CLASS[t.gentype] for t in DiaObjectTruth.objects.all()}
    classifiers = {c.classifierId: c for c in BrokerClassifier.objects.all()}
    messages = {m.brokerMessageId: m for m in BrokerMessage.objects.all()}
    expected = []
    for c in BrokerClassification.objects.all():
        m = messages[c.brokerMessageId]
        oid = m.alertId // 100000
        if oid in truth:
            expected.append(
                (
                    classifiers[c.classifierId].classifierName,
                    c.classId,
                    c.probability,
                    m.diaSourceId,
                    oid,
                    truth[oid],
                    m.alertId,
                    m.brokerMessageId,
                )
            )
    found = rows(
        'SELECT "classifierName", "classId", probability, "diaSourceId", "diaObjectId", "trueClassId", "alertId", '
        '"brokerMessageId" FROM elasticc_view_sourceclassifications'
    )
    approx_rows(found, expected)
    assert len(found) > 20


def test_prevsourcecounts(survey):
    expected = []
    forced = defaultdict(list)
    for f in DiaForcedSource.objects.all():
        forced[f.diaObjectId].append(f.midPointTai)
    for oid, (_g, _p, times) in OBJECTS.items():
        first = min(times)
        for i, t in enumerate(times):
            n_forced = sum(1 for ft in forced[oid] if ft < t) if t > first + 0.5 else 0
            expected.append((oid * 100000 + i, oid, t, sum(1 for u in times if u <= t), first, n_forced))
    approx_rows(
        rows(
            'SELECT "diaSourceId", "diaObjectId", "midPointTai", ndetections, mint, nforced FROM elasticc_view_prevsourcecounts'
        ),
        expected,
    )


def test_deduped_and_probability_histograms(survey):
    dedup = deduped_oracle()
    found = rows(
        'SELECT "classifierId", "brokerMessageId", "classId", "trueClassId", "diaSourceId", dt, n, probability '
        "FROM elasticc_view_dedupedclassifications"
    )
    approx_rows(found, dedup)
    assert rows("SELECT count(*) FROM elasticc_view_dedupedclassifications WHERE sigma IS NOT NULL") == [(0,)]

    metrics = Counter(
        (cfr, cls, true, width_bucket(dt, -30, 100, 26), width_bucket(p, 0, 1, 20))
        for cfr, _m, cls, true, _s, dt, _n, p in dedup
    )
    found = rows(
        'SELECT "classifierId", "classId", "trueClassId", tbin, probbin, count FROM elasticc_view_classifications_probmetrics'
    )
    assert sorted(found) == sorted((*k, v) for k, v in metrics.items())
    assert {r[3] for r in found} >= {0, 27}  # before -30 d and at or after +100 d both occur


def test_total_probability_per_source_under_both_names(survey):
    total: dict[tuple, float] = defaultdict(float)
    messages = {m.brokerMessageId: m for m in BrokerMessage.objects.all()}
    for c in BrokerClassification.objects.all():
        total[(c.classifierId, messages[c.brokerMessageId].diaSourceId)] += float32(c.probability)
    expected = [(*k, v) for k, v in total.items()]
    approx_rows(
        rows('SELECT "classifierId", "diaSourceId", totprob FROM elasticc_view_classifications_totprobpersource'),
        expected,
    )
    approx_rows(
        rows('SELECT "classifierId", "diaSourceId", totprob FROM elasticc_view_classifiersourcetotprob'), expected
    )
    assert any(o == 7003 for _c, s, _t in expected for o in [s // 100000])  # no truth needed here


def test_timebins_and_best_right_probability_views(survey):
    assert rows("SELECT timebin, dtmin, dtmax FROM elasticc_maxprob_timebins ORDER BY timebin") == TIMEBINS
    best = max_right_oracle()
    found = rows(
        'SELECT timebin, "diaObjectId", "classifierId", "trueClassId", maxprob FROM elasticc_view_class_max_right_in_bin'
    )
    approx_rows(found, [(*k, v) for k, v in best.items()])

    hist = Counter((k[0], width_bucket(p, -0.025, 1.025, 21), k[2], k[3]) for k, p in best.items())
    edges = {k: (lo, hi) for k, lo, hi in TIMEBINS}
    expected = [(tb, *edges[tb], pb, 0.05 * (pb - 1), cfr, true, n) for (tb, pb, cfr, true), n in hist.items()]
    found = rows(
        'SELECT timebin, dtmin, dtmax, maxprobbin, binmeanmaxprob, "classifierId", "trueClassId", count '
        "FROM elasticc_view_class_max_right_hist"
    )
    approx_rows(found, expected)

    pairs = [
        (early[0], late[0], early[1], early[3], early[2], pe, pl)
        for early, pe in best.items()
        for late, pl in best.items()
        if early[0] in (3, 4, 5) and late[0] in range(7, 14) and early[1:] == late[1:]
    ]
    assert pairs, "the survey must have early and late classifications of one object"
    found = rows(
        'SELECT earlytimebin, latetimebin, "diaObjectId", "trueClassId", "classifierId", earlymaxprob, latemaxprob '
        "FROM elasticc_view_maxprobdiff"
    )
    approx_rows(found, pairs)
    diff = Counter((p[4], p[3], p[0], p[1], width_bucket(p[6] - p[5], -1.025, 1.025, 41)) for p in pairs)
    found = rows(
        'SELECT "classifierId", "trueClassId", earlytimebin, latetimebin, probdiffbin, binmeanprobdiff, count '
        "FROM elasticc_view_maxprobdiff_hist"
    )
    approx_rows(found, [(*k[:5], -1.0 + 0.05 * (k[4] - 1), v) for k, v in diff.items()])


def test_objects_classified_per_bin_exclude_both_edges(survey):
    objects = {s.diaSourceId: s.diaObjectId for s in DiaSource.objects.all()}
    seen = defaultdict(set)
    for cfr, _m, _c, true, src, dt, _n, _p in deduped_oracle():
        for k, lo, hi in TIMEBINS:
            if lo < dt < hi:
                seen[(cfr, true, k)].add(objects[src])
    expected = [(*k, len(v)) for k, v in seen.items()]
    found = rows('SELECT "classifierId", "trueClassId", timebin, n FROM elasticc_view_nobjclassified_in_timebin')
    assert sorted(found) == sorted(expected)
    # 7002's first source lies exactly on the edge between bins 1 and 2 (dt = -10 d), and it is
    # its only source below 0: class_max_right_in_bin counts it in bin 2 (dt >= dtmin), this view
    # in neither bin, as the original did.
    rf = BrokerClassifier.objects.get(classifierName="RF").classifierId
    assert rows(
        f'SELECT timebin FROM elasticc_view_class_max_right_in_bin WHERE "diaObjectId" = 7002 AND "classifierId" = {rf} AND timebin < 3'
    ) == [(2,)]
    assert (rf, 121, 2) not in {r[:3] for r in found} and (rf, 121, 1) not in {r[:3] for r in found}


def test_refresh_command_is_concurrent_once_filled_and_sees_new_rows(survey):
    before = rows("SELECT count(*) FROM elasticc_view_dedupedclassifications")[0][0]
    BrokerClassification.objects.filter(classId=121).delete()
    out = io.StringIO()
    call_command("refresh_elasticc_views", "--view", "elasticc_view_dedupedclassifications", stdout=out)
    assert "elasticc_view_dedupedclassifications" in out.getvalue() and "concurrently" in out.getvalue()
    after = rows("SELECT count(*) FROM elasticc_view_dedupedclassifications")[0][0]
    assert 0 < after < before
    done = sqlviews.refresh_views()
    assert [d.name for d in done] == list(sqlviews.MATERIALIZED_VIEWS)
    assert all(d.concurrently for d in done)


def test_refresh_refuses_unknown_names_and_a_second_refresh(db):
    with pytest.raises(sqlviews.RefreshError, match="not a materialized view"):
        sqlviews.refresh_views(["elasticc_diaobject"])
    other = connection.get_new_connection(connection.get_connection_params())  # another refresh's session
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", [sqlviews.REFRESH_LOCK_KEY])
        with pytest.raises(sqlviews.RefreshError, match="another refresh"):
            sqlviews.refresh_views()
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [sqlviews.REFRESH_LOCK_KEY])
    finally:
        other.close()
    assert len(sqlviews.refresh_views(["elasticc_view_classifications_totprobpersource"])) == 1
