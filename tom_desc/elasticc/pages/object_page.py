"""What the object page shows about one diaObject, each part one index-backed query.

All queries name the object's diaObjectId, so PostgreSQL prunes the hash-partitioned
tables to the one partition holding it and reads it through the indexes:
- object: elasticc_diaobject primary key;
- detections / forced photometry: elasticc_diasource_obj_time, elasticc_diaforced_obj_time;
- alerts: elasticc_diaalert primary key (diaObjectId, alertId);
- broker messages: elasticc_brokermessage_alert (alertId) in each classifier's partition,
  then elasticc_brokerclass_msg (brokerMessageId) for their classifications;
- truth: elasticc_diaobjecttruth primary key + elasticc_coge_gentype.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from elasticc import taxonomy
from elasticc.pages.classifiers import classifier_labels

BANDS = ("u", "g", "r", "i", "z", "Y")
# Property groups of the object table shown on the page, in order (non-null ones only).
HOST_PREFIXES = ("hostgal_", "hostgal2_")


@dataclass
class Alert:
    alertId: int
    diaSourceId: int
    midPointTai: float
    filterName: str | None
    psFlux: float | None
    psFluxErr: float | None
    snr: float | None
    sent: datetime | None
    messages: int = 0


@dataclass
class Message:
    alertId: int
    midPointTai: float | None
    ingested: datetime | None
    classes: list[tuple[int, float]]  # (classId, probability), most probable first


@dataclass
class ClassifierHistory:
    classifierId: int
    label: str
    messages: list[Message] = field(default_factory=list)

    @property
    def latest(self) -> Message | None:
        return self.messages[-1] if self.messages else None

    @property
    def latest_top(self) -> list[tuple[int, str, float]]:
        """(classId, description, probability) of the latest message's three most probable classes."""
        if not self.messages:
            return []
        names = {c.classId: c.description for c in taxonomy.classes().values()}
        return [(c, names.get(c, ""), p) for c, p in self.messages[-1].classes[:3]]


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def get_object(object_id: int) -> dict | None:
    """The diaObject row as {column: value}, or None."""
    with connection.cursor() as cur:
        cur.execute('SELECT * FROM elasticc_diaobject WHERE "diaObjectId" = %s', [object_id])
        row = cur.fetchone()
        if row is None:
            return None
        return {col.name: value for col, value in zip(cur.description, row)}


def property_groups(obj: dict) -> list[tuple[str, list[tuple[str, object]]]]:
    """The object's non-null properties split into Object / Host galaxy / Second host galaxy."""
    groups: dict[str, list] = {"Object": [], "Host galaxy": [], "Second host galaxy": []}
    for name, value in obj.items():
        if value is None or name == "diaObjectId":
            continue
        if name.startswith("hostgal2_"):
            groups["Second host galaxy"].append((name, value))
        elif name.startswith("hostgal_"):
            groups["Host galaxy"].append((name, value))
        else:
            groups["Object"].append((name, value))
    return [(title, items) for title, items in groups.items() if items]


def light_curve(object_id: int) -> dict:
    """{"forced": {band: {"mjd", "flux", "err"}}, "detections": {band: {... , "id"}}}, bands in
    u g r i z Y order, points in time order: the data of the plotly plot."""

    def per_band(rows, with_id: bool) -> dict:
        out: dict[str, dict[str, list]] = {}
        for row in rows:
            band = row[1]
            series = out.setdefault(band, {"mjd": [], "flux": [], "err": [], **({"id": []} if with_id else {})})
            series["mjd"].append(row[0])
            series["flux"].append(row[2])
            series["err"].append(row[3])
            if with_id:
                series["id"].append(row[4])
        order = {b: i for i, b in enumerate(BANDS)}
        return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(BANDS)), kv[0])))

    forced = _rows(
        'SELECT "midPointTai", "filterName", "psFlux", "psFluxErr" FROM elasticc_diaforcedsource '
        'WHERE "diaObjectId" = %s ORDER BY "midPointTai"',
        [object_id],
    )
    detections = _rows(
        'SELECT "midPointTai", "filterName", "psFlux", "psFluxErr", "diaSourceId" '
        'FROM elasticc_diasource WHERE "diaObjectId" = %s ORDER BY "midPointTai"',
        [object_id],
    )
    return {"forced": per_band(forced, False), "detections": per_band(detections, True)}


def alerts(object_id: int) -> list[Alert]:
    """The object's alerts in time order with their source's band, flux and S/N."""
    rows = _rows(
        """
        SELECT a."alertId", a."diaSourceId", a."midPointTai", s."filterName", s."psFlux", s."psFluxErr", s.snr,
               a."alertSentTimestamp"
        FROM elasticc_diaalert a
        LEFT JOIN elasticc_diasource s ON s."diaObjectId" = a."diaObjectId" AND s."diaSourceId" = a."diaSourceId"
        WHERE a."diaObjectId" = %s
        ORDER BY a."midPointTai", a."alertId"
        """,
        [object_id],
    )
    return [Alert(*row) for row in rows]


def classifications(object_alerts: list[Alert]) -> list[ClassifierHistory]:
    """Every classifier's messages about these alerts, in alert time order, each with its
    (classId, probability) pairs. Also fills Alert.messages with the count per alert."""
    if not object_alerts:
        return []
    by_alert = {a.alertId: a for a in object_alerts}
    messages = _rows(
        'SELECT "classifierId", "brokerMessageId", "alertId", "descIngestTimestamp" '
        'FROM elasticc_brokermessage WHERE "alertId" = ANY(%s)',
        [list(by_alert)],
    )
    if not messages:
        return []
    pairs: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for classifier_id, message_id, class_id, probability in _rows(
        'SELECT "classifierId", "brokerMessageId", "classId", probability FROM elasticc_brokerclassification '
        'WHERE "brokerMessageId" = ANY(%s) AND "classifierId" = ANY(%s)',
        [[m[1] for m in messages], sorted({m[0] for m in messages})],
    ):
        pairs[(classifier_id, message_id)].append((class_id, probability))
    labels = classifier_labels()
    histories: dict[int, ClassifierHistory] = {}
    for classifier_id, message_id, alert_id, ingested in messages:
        alert = by_alert[alert_id]
        alert.messages += 1
        history = histories.setdefault(
            classifier_id, ClassifierHistory(classifier_id, labels.get(classifier_id, f"classifier {classifier_id}"))
        )
        classes = sorted(pairs.get((classifier_id, message_id), []), key=lambda cp: (-cp[1], cp[0]))
        history.messages.append(Message(alert_id, alert.midPointTai, ingested, classes))
    for history in histories.values():
        history.messages.sort(key=lambda m: (m.midPointTai or 0, m.alertId))
    return [histories[c] for c in sorted(histories)]


def classification_plot_data(histories: list[ClassifierHistory]) -> list[dict]:
    """Per classifier: {"id", "label", "traces": [{"classId", "name", "mjd", "p"}]} for the
    probability-over-time plot; one trace per classId the classifier ever gave."""
    names = {c.classId: c.description for c in taxonomy.classes().values()}
    out = []
    for h in histories:
        traces: dict[int, dict] = {}
        for m in h.messages:
            for class_id, p in m.classes:
                t = traces.setdefault(
                    class_id,
                    {"classId": class_id, "name": f"{class_id} {names.get(class_id, '')}".strip(), "mjd": [], "p": []},
                )
                t["mjd"].append(m.midPointTai)
                t["p"].append(p)
        out.append({"id": h.classifierId, "label": h.label, "traces": [traces[k] for k in sorted(traces)]})
    return out


def truth(object_id: int) -> dict | None:
    """The object's simulation truth: gentype and its exact classId. Only for elasticc_admin."""
    rows = _rows(
        """
        SELECT ot.gentype, t."classId", t.description, ot.zcmb, ot.peakmjd
        FROM elasticc_diaobjecttruth ot
        LEFT JOIN elasticc_classidofgentype t ON t.gentype = ot.gentype AND t.exactmatch
        WHERE ot."diaObjectId" = %s
        """,
        [object_id],
    )
    if not rows:
        return None
    gentype, class_id, description, zcmb, peakmjd = rows[0]
    return {"gentype": gentype, "classId": class_id, "description": description, "zcmb": zcmb, "peakmjd": peakmjd}
