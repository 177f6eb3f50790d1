"""A hand-built ELAsTiCC2 case whose metrics are known exactly, at the four levels of the
four-digit taxonomy (exact 2222 / category 2220 / general 2200 / broad 2000).

The ELAsTiCC2 page, browser and broker-metrics tests use it. Every EXPECTED_* cell below was
worked out by hand from the messages listed here, not by the site's SQL.

Objects (truth gentype → exact / category / general / broad):
  1: 10 Ia   → 2222 / 2220 / 2200 / 2000      2: 11 91bg → 2226 / 2220 / 2200 / 2000
  3: 50 KN   → 2232 / 2230 / 2200 / 2000      4: 60 AGN  → 2332 / 2330 / 2300 / 2000
  5: 80 RRL  → 2323 / 2320 / 2300 / 2000      6: no truth
  7: gentype 10, no alert sent (hidden from users outside elasticc_admin)
Alerts (alert_id = diasource_id) and classifier A's messages; predictions per level:
  11 obj1 DAY1  {2222 .4, 2226 .35, 2232 .25}        exact 2222, category 2220 (.75), general 2200, broad 2000
  12 obj1 unsent {2232 1}  (a message about an alert not sent: never counted)
  21 obj2 DAY1  {2233 .4, 2222 .3, 2232 .3}          exact 2233, category 2230 (.7), general 2200
  31 obj3 DAY1  {2232 .3, 2222 .25, 2223 .25, 2332 .2}  exact 2232, category 2220 (.5), general 2200 (.8)
  41 obj4 DAY2  {2332 .45, 2322 .3, 2222 .25}        exact 2332, category 2330, general 2300 (.75)
  51 obj5 DAY2  {2222 .5, 2323 .25, 2324 .25}        exact 2222; category 2220 ties 2320 at .5 and
                                                     general 2200 ties 2300: the smaller id wins
  61 obj6 DAY2  {300 .625, 2242 .375}                300 NotClassified at every level (ids below
                                                     1000 stand for themselves)
  71 obj7 unsent (no message)
Delays (descingesttimestamp - alertsenttimestamp): 11: 3 s, 21: 20 s, 31: 70 s, 41: 0.5 s,
51: 400 s, 61: 4000 s. Classifier B classified only alert 11: {2222: 1}.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection

from elasticc2.models import BrokerClassifier

DAY1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

TRUTH = {1: 10, 2: 11, 3: 50, 4: 60, 5: 80, 7: 10}
# alert_id: (diaobject_id, sent time or None, midpointtai)
ALERTS = {
    11: (1, DAY1, 60001.0),
    12: (1, None, 60003.0),
    21: (2, DAY1, 60001.2),
    31: (3, DAY1, 60001.3),
    41: (4, DAY2, 60002.4),
    51: (5, DAY2, 60002.5),
    61: (6, DAY2, 60002.6),
    71: (7, None, 60002.7),
}
CLASSIFIER_A = [  # (alert_id, delay seconds, [(classId, probability)...]) in message order
    (11, 3, [(2222, 0.4), (2226, 0.35), (2232, 0.25)]),
    (21, 20, [(2233, 0.4), (2222, 0.3), (2232, 0.3)]),
    (31, 70, [(2232, 0.3), (2222, 0.25), (2223, 0.25), (2332, 0.2)]),
    (41, 0.5, [(2332, 0.45), (2322, 0.3), (2222, 0.25)]),
    (51, 400, [(2222, 0.5), (2323, 0.25), (2324, 0.25)]),
    (61, 4000, [(300, 0.625), (2242, 0.375)]),
    (12, 5, [(2232, 1.0)]),
]
CLASSIFIER_B = [(11, 9, [(2222, 1.0)])]
FORCED_TIMES = (60000.0, 60002.0, 60004.0)  # every object's forced photometry

EXPECTED_A = {
    "exact": {(2222, 2222): 1, (2226, 2233): 1, (2232, 2232): 1, (2332, 2332): 1, (2323, 2222): 1, (None, 300): 1},
    "category": {(2220, 2220): 1, (2220, 2230): 1, (2230, 2220): 1, (2330, 2330): 1, (2320, 2220): 1, (None, 300): 1},
    "general": {(2200, 2200): 3, (2300, 2300): 1, (2300, 2200): 1, (None, 300): 1},
    "broad": {(2000, 2000): 5, (None, 300): 1},
}
EXPECTED_A_DAY1_EXACT = {(2222, 2222): 1, (2226, 2233): 1, (2232, 2232): 1}
EXPECTED_B = {
    "exact": {(2222, 2222): 1},
    "category": {(2220, 2220): 1},
    "general": {(2200, 2200): 1},
    "broad": {(2000, 2000): 1},
}
DELAYS_A = [3, 20, 70, 0.5, 400, 4000]


def _truth_row(cur, object_id: int, gentype: int) -> None:
    cur.execute(
        """
        INSERT INTO elasticc2_diaobjecttruth (diaobject_id, libid, sim_searcheff_mask, gentype,
            sim_template_index, zcmb, zhelio, zcmb_smear, ra, dec, mwebv, rv, av, mu, lensdmu, peakmjd,
            mjd_detect_first, mjd_detect_last, dtseason_peak, peakmag_u, peakmag_g, peakmag_r, peakmag_i,
            peakmag_z, peakmag_y, snrmax, snrmax2, snrmax3, nobs, nobs_saturate)
        VALUES (%s, 1, 3, %s, 7, 0.125, 0.125, 0.125, 1, 2, 0.01, 3.1, 0.1, 38, 0, 60002.5, 60001, 60003, 5,
                22, 21, 20.5, 20.4, 20.6, 20.9, 30, 20, 10, 12, 0)
        """,
        [object_id, gentype],
    )


def _messages(classifier: BrokerClassifier, spec) -> None:
    with connection.cursor() as cur:
        for alert_id, delay, pairs in spec:
            sent = ALERTS[alert_id][1]
            ingested = (sent or DAY2) + timedelta(seconds=delay)
            cur.execute(
                "INSERT INTO elasticc2_brokermessage (classifier_id, streammessage_id, topicname, alert_id, "
                "diasource_id, msghdrtimestamp, descingesttimestamp, elasticcpublishtimestamp, brokeringesttimestamp, "
                "classid, probability) VALUES (%s, %s, 'handbuilt', %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    classifier.classifier_id,
                    alert_id,
                    alert_id,
                    alert_id,
                    ingested,
                    ingested,
                    sent,
                    ingested,
                    [c for c, _ in pairs],
                    [p for _, p in pairs],
                ],
            )


def build(classifier_ids: tuple[int, int] | None = None) -> tuple[BrokerClassifier, BrokerClassifier]:
    """Objects, sources (one per alert), forced photometry, alerts, truth and two classifiers'
    messages in the ELAsTiCC2 ppdb and broker tables; the classifiers get `classifier_ids` when
    given (e.g. the ids ELAsTiCC classifiers have, to show the campaigns' metrics apart)."""
    with connection.cursor() as cur:
        for o in range(1, 8):
            cur.execute(
                "INSERT INTO elasticc2_ppdbdiaobject (diaobject_id, ra, decl, z_final, hostgal_mag_r) "
                "VALUES (%s, %s, %s, %s, %s)",
                [o, 150.0 + o * 0.001, -30.0 - o * 0.001, 0.1 * o, 20.0 + o],
            )
            for k, t in enumerate(FORCED_TIMES):
                cur.execute(
                    "INSERT INTO elasticc2_ppdbdiaforcedsource (diaforcedsource_id, diaobject_id, midpointtai, "
                    "filtername, psflux, psfluxerr) VALUES (%s, %s, %s, %s, %s, 25)",
                    [o * 1000 + k, o, t, "gri"[k], 100.0 * (k + 1)],
                )
        for alert_id, (o, sent, mjd) in ALERTS.items():
            cur.execute(
                "INSERT INTO elasticc2_ppdbdiasource (diasource_id, diaobject_id, midpointtai, filtername, ra, decl, "
                "psflux, psfluxerr, snr) VALUES (%s, %s, %s, 'r', 150, -30, %s, 30, %s)",
                [alert_id, o, mjd, 1000.0 + alert_id, (1000.0 + alert_id) / 30],
            )
            cur.execute(
                "INSERT INTO elasticc2_ppdbalert (alert_id, diasource_id, diaobject_id, midpointtai, alertsenttimestamp) "
                "VALUES (%s, %s, %s, %s, %s)",
                [alert_id, alert_id, o, mjd, sent],
            )
        for o, gentype in TRUTH.items():
            _truth_row(cur, o, gentype)
    ids = classifier_ids or (None, None)
    a, b = (
        BrokerClassifier.objects.create(
            classifier_id=cid,
            brokername="FakeBroker",
            brokerversion="v1.0",
            classifiername=name,
            classifierparams="handbuilt",
        )
        for cid, name in zip(ids, ("A", "B"))
    )
    _messages(a, CLASSIFIER_A)
    _messages(b, CLASSIFIER_B)
    return a, b
