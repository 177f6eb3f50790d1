"""A hand-built ELAsTiCC case whose metrics are known exactly.

The page and browser tests of elasticc and brokermetrics use it, and so do brokermetrics'
refresh tests (the EXPECTED_* cells). It is elasticc data only, so it lives here: brokermetrics'
tests may import elasticc's, never the other way.

Objects (truth gentype → exact classId / category):
  1: gentype 10 → 111 Ia / 11      2: gentype 10 → 111 / 11     3: gentype 20 → 112 Ib/c / 11
  4: gentype 50 → 121 KN / 12      5: gentype 82 → 122 M-dwarf flare / 12     6: no truth
Alerts (sent on DAY1 or DAY2, or not sent) and classifier A's messages, most probable first:
  101 obj1 DAY1  {111: .7, 112: .3}              delay 3 s
  201 obj2 DAY2  {112: .4, 113: .35, 121: .25}   delay 45 s
  202 obj2 DAY1  (not classified)
  301 obj3 DAY1  {121: .45, 111: .3, 113: .25}   delay 0.5 s  (category: 11 has .55 > 12's .45)
  401 obj4 DAY1  {121: .9, 122: .1}              delay 7200 s
  402 obj4 DAY2  {122: .5, 121: .5}  (a tie: the smaller classId wins)   delay 1e6 s
  501 obj5 DAY2  {121: .6, 122: .4}              delay -2 s (clock skew)
  601 obj6 DAY2  {111: .8, 121: .2}              delay 10 s
  102 obj1 unsent {113: 1}  (a message about an alert not sent: never counted)
Classifier B classified only alert 101: {111: 1}.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from elasticc.models import (
    BrokerClassification,
    BrokerClassifier,
    BrokerMessage,
    DiaAlert,
    DiaForcedSource,
    DiaObject,
    DiaObjectTruth,
    DiaSource,
)

DAY1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

TRUTH = {1: 10, 2: 10, 3: 20, 4: 50, 5: 82}
# alertId: (diaObjectId, sent time or None, midPointTai)
ALERTS = {
    101: (1, DAY1, 61000.2),
    102: (1, None, 61003.1),
    201: (2, DAY2, 61001.4),
    202: (2, DAY1, 61000.6),
    301: (3, DAY1, 61000.3),
    401: (4, DAY1, 61000.8),
    402: (4, DAY2, 61001.5),
    501: (5, DAY2, 61001.7),
    601: (6, DAY2, 61001.9),
}
CLASSIFIER_A = [  # (alertId, delay seconds, {classId: probability})
    (101, 3, {111: 0.7, 112: 0.3}),
    (201, 45, {112: 0.4, 113: 0.35, 121: 0.25}),
    (301, 0.5, {121: 0.45, 111: 0.3, 113: 0.25}),
    (401, 7200, {121: 0.9, 122: 0.1}),
    (402, 1_000_000, {122: 0.5, 121: 0.5}),
    (501, -2, {121: 0.6, 122: 0.4}),
    (601, 10, {111: 0.8, 121: 0.2}),
    (102, 5, {113: 1.0}),
]
CLASSIFIER_B = [(101, 20, {111: 1.0})]

EXPECTED_EXACT_ALL = {(111, 111): 1, (111, 112): 1, (112, 121): 1, (121, 121): 2, (122, 121): 1, (None, 111): 1}
EXPECTED_CATEGORY_ALL = {(11, 11): 3, (12, 12): 3, (None, 11): 1}
EXPECTED_EXACT_DAY1 = {(111, 111): 1, (112, 121): 1, (121, 121): 1}


def _classifier(name: str) -> BrokerClassifier:
    return BrokerClassifier.objects.create(
        brokerName="TestBroker", brokerVersion="1.0", classifierName=name, classifierParams="default"
    )


def _messages(classifier: BrokerClassifier, spec, next_ids: dict) -> None:
    for alert_id, delay, classes in spec:
        _object_id, sent, _mjd = ALERTS[alert_id]
        next_ids["message"] += 1
        message_id = next_ids["message"]
        ingest = (sent or DAY2) + timedelta(seconds=delay)
        BrokerMessage.objects.create(
            brokerMessageId=message_id,
            classifierId=classifier.classifierId,
            alertId=alert_id,
            diaSourceId=alert_id,
            descIngestTimestamp=ingest,
            elasticcPublishTimestamp=sent,
            brokerIngestTimestamp=ingest,
            msgHdrTimestamp=ingest,
        )
        for class_id, probability in classes.items():
            next_ids["classification"] += 1
            BrokerClassification.objects.create(
                classificationId=next_ids["classification"],
                classifierId=classifier.classifierId,
                brokerMessageId=message_id,
                classId=class_id,
                probability=probability,
            )


def build(photometry: bool = False) -> tuple[BrokerClassifier, BrokerClassifier]:
    """Create the case; with photometry, also sources and forced sources for the light curves."""
    DiaObject.objects.bulk_create(
        DiaObject(diaObjectId=i, ra=150.0 + i * 0.001, decl=2.0 + i * 0.001, z_final=0.1 * i, hostgal_mag_r=20.0 + i)
        for i in range(1, 7)
    )
    DiaObjectTruth.objects.bulk_create(DiaObjectTruth(diaObjectId=o, gentype=g) for o, g in TRUTH.items())
    DiaAlert.objects.bulk_create(
        DiaAlert(alertId=a, diaSourceId=a, diaObjectId=o, midPointTai=mjd, alertSentTimestamp=sent)
        for a, (o, sent, mjd) in ALERTS.items()
    )
    if photometry:
        bands = "ugrizY"
        DiaSource.objects.bulk_create(
            DiaSource(
                diaSourceId=a,
                diaObjectId=o,
                midPointTai=mjd,
                filterName=bands[a % 6],
                ra=150.0,
                decl=2.0,
                psFlux=1000.0 + a,
                psFluxErr=30.0,
                snr=(1000.0 + a) / 30.0,
            )
            for a, (o, _sent, mjd) in ALERTS.items()
        )
        DiaForcedSource.objects.bulk_create(
            DiaForcedSource(
                diaForcedSourceId=o * 1000 + k,
                diaObjectId=o,
                midPointTai=60990.0 + k * 0.5,
                filterName=bands[k % 6],
                psFlux=100.0 * (k % 7),
                psFluxErr=25.0,
            )
            for o in range(1, 7)
            for k in range(40)
        )
    a, b = _classifier("A"), _classifier("B")
    ids = {"message": 1000, "classification": 5000}
    _messages(a, CLASSIFIER_A, ids)
    _messages(b, CLASSIFIER_B, ids)
    return a, b
