"""What the object page shows about one diaObject, each part one index-backed query, for either
campaign.

The queries are templates; a campaign's ``ObjectTables`` (registry below; ELAsTiCC's here,
ELAsTiCC2's registered by its app) fills in its table and column names, and its broker tables
(elasticc.stream.brokertables) say where its messages and classifications are. All queries
name the object's id, so PostgreSQL prunes the hash-partitioned tables to the one partition
holding it and reads it through the indexes:
- object: the object table's primary key;
- detections / forced photometry: the (object, time) indexes (elasticc_diasource_obj_time,
  elasticc_diaforced_obj_time; elasticc2_ppdbsrc_obj_time, elasticc2_ppdbfrc_obj_time);
- alerts: the alert table's primary key (object, alert);
- broker messages: the alert-id index of each classifier's partition (elasticc_brokermessage_alert,
  elasticc2_brokermessage_alert), then, for ELAsTiCC's rows layout, elasticc_brokerclass_msg
  (brokerMessageId) for their classifications (ELAsTiCC2's are in the message row);
- truth: the truth table's primary key + the classId-of-gentype table's gentype index.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from elasticc import units
from elasticc.pages.classifiers import classifier_labels
from elasticc.stream import brokertables
from elasticc.stream.brokertables import BrokerTables, quoted
from tom_desc.lib.numbers import is_int64

BANDS = ("u", "g", "r", "i", "z", "Y")
# Property groups of the object table shown on the page, in order (non-null ones only).
HOST_PREFIXES = ("hostgal_", "hostgal2_")


@dataclass(frozen=True)
class ObjectTables:
    """One campaign's tables as the object page reads them. Column maps use the engine's
    names: object ``id``; photometry ``object``, ``time``, ``band``, ``flux``, ``fluxerr``
    (+ ``id``, ``snr`` for sources); alerts ``id``, ``source``, ``object``, ``time``, ``sent``;
    truth ``object``, ``classid`` (of the classId-of-gentype table)."""

    campaign: str
    label: str
    objects: str
    object_columns: dict[str, str]
    sources: str
    source_columns: dict[str, str]
    forced: str
    forced_columns: dict[str, str]
    alerts: str
    alert_columns: dict[str, str]
    truth: str
    truth_columns: dict[str, str]
    coge: str
    # Users outside elasticc_admin see of an object only what the stream revealed: the object
    # once an alert of it was sent, its photometry up to its latest sent alert (ELAsTiCC2's
    # ppdb rule, PpdbAlert.sent_of). ELAsTiCC's page has always shown the whole light curve.
    hide_unsent_photometry: bool = False
    # The pages around it, by URL name: the campaign's landing page, its object search (None:
    # none, so no "objects nearby" link) and the broker page of a classifier.
    index_url: str = "elasticc:index"
    objects_url: str | None = "elasticc:objects"
    broker_page_url: str = "brokermetrics:broker"
    # The REST route (URL name, kwarg object_id) serving this page's light curve as a file
    # (format=csv|ecsv|votable|parquet, elasticc/api/lightcurves.py) under the same visibility
    # rule: the page's download links. None: no links.
    lightcurve_url: str | None = None

    @property
    def broker(self) -> BrokerTables:
        return brokertables.get(self.campaign)

    def o(self, name: str) -> str:
        return quoted(self.object_columns[name])

    def s(self, name: str) -> str:
        return quoted(self.source_columns[name])

    def f(self, name: str) -> str:
        return quoted(self.forced_columns[name])

    def a(self, name: str) -> str:
        return quoted(self.alert_columns[name])


_registry: dict[str, ObjectTables] = {}


def register(tables: ObjectTables) -> ObjectTables:
    _registry[tables.campaign] = tables
    return tables


def get(campaign: str) -> ObjectTables:
    return _registry[campaign]


_PHOTOMETRY = ("object", "time", "band", "flux", "fluxerr")
ELASTICC = register(
    ObjectTables(
        campaign="elasticc",
        label="ELAsTiCC",
        objects="elasticc_diaobject",
        object_columns={"id": "diaObjectId"},
        sources="elasticc_diasource",
        source_columns=dict(
            zip(
                (*_PHOTOMETRY, "id", "snr"),
                ("diaObjectId", "midPointTai", "filterName", "psFlux", "psFluxErr", "diaSourceId", "snr"),
            )
        ),
        forced="elasticc_diaforcedsource",
        forced_columns=dict(zip(_PHOTOMETRY, ("diaObjectId", "midPointTai", "filterName", "psFlux", "psFluxErr"))),
        alerts="elasticc_diaalert",
        alert_columns={
            "id": "alertId",
            "source": "diaSourceId",
            "object": "diaObjectId",
            "time": "alertMidPointTai",
            "sent": "alertSentTimestamp",
        },
        truth="elasticc_diaobjecttruth",
        truth_columns={"object": "diaObjectId", "classid": "classId"},
        coge="elasticc_classidofgentype",
        lightcurve_url="elasticc:lightcurve",
    )
)


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
    names: dict[int, str] = field(default_factory=dict, repr=False)  # the campaign's classId descriptions

    @property
    def latest(self) -> Message | None:
        return self.messages[-1] if self.messages else None

    @property
    def latest_top(self) -> list[tuple[int, str, float]]:
        """(classId, description, probability) of the latest message's three most probable classes."""
        if not self.messages:
            return []
        return [(c, self.names.get(c, ""), p) for c, p in self.messages[-1].classes[:3]]


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def class_names(tables: ObjectTables = ELASTICC) -> dict[int, str]:
    return {c.classId: c.description for c in tables.broker.classes().values()}


def get_object(object_id: int, tables: ObjectTables = ELASTICC) -> dict | None:
    """The diaObject row as {column: value}, or None (also for an id no bigint holds)."""
    if not is_int64(object_id):
        return None
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {tables.objects} WHERE {tables.o('id')} = %s", [object_id])
        row = cur.fetchone()
        if row is None:
            return None
        return {col.name: value for col, value in zip(cur.description, row)}


def sent_horizon(object_id: int, tables: ObjectTables = ELASTICC) -> float | None:
    """The time of the object's latest sent alert (None before its first): what a user outside
    elasticc_admin may see of it (ObjectTables.hide_unsent_photometry)."""
    rows = _rows(
        f"SELECT max({tables.a('time')}) FROM {tables.alerts} "
        f"WHERE {tables.a('object')} = %s AND {tables.a('sent')} IS NOT NULL",
        [object_id],
    )
    return rows[0][0]


def property_groups(obj: dict, tables: ObjectTables = ELASTICC) -> list[tuple[str, list[tuple[str, object]]]]:
    """The object's non-null properties split into Object / Host galaxy / Second host galaxy."""
    groups: dict[str, list] = {"Object": [], "Host galaxy": [], "Second host galaxy": []}
    for name, value in obj.items():
        if value is None or name == tables.object_columns["id"]:
            continue
        if name.startswith("hostgal2_"):
            groups["Second host galaxy"].append((name, value))
        elif name.startswith("hostgal_"):
            groups["Host galaxy"].append((name, value))
        else:
            groups["Object"].append((name, value))
    return [(title, items) for title, items in groups.items() if items]


def light_curve(object_id: int, tables: ObjectTables = ELASTICC, through: float | None = None) -> dict:
    """{"forced": {band: {"mjd", "flux", "err"}}, "detections": {band: {... , "id"}}, "axes": {"x",
    "y"}}, bands in u g r i z Y order, points in time order (up to `through` when given): the data
    of the plotly plot, with its axis titles."""

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

    def query(table: str, col, extra: str = "") -> list[tuple]:
        limit = f" AND {col('time')} <= %s" if through is not None else ""
        return _rows(
            f"SELECT {col('time')}, {col('band')}, {col('flux')}, {col('fluxerr')}{extra} FROM {table} "
            f"WHERE {col('object')} = %s{limit} ORDER BY {col('time')}",
            [object_id] + ([through] if through is not None else []),
        )

    forced = query(tables.forced, tables.f)
    detections = query(tables.sources, tables.s, f", {tables.s('id')}")
    # Axis titles with units from elasticc/units.py ("psFlux [nJy]"), so a PNG exported from the
    # plot says what its numbers are.
    axes = {
        "x": f"{units.label(tables.forced_columns['time'])} (MJD, TAI)",
        "y": units.label(tables.forced_columns["flux"]),
    }
    return {"forced": per_band(forced, False), "detections": per_band(detections, True), "axes": axes}


def alerts(object_id: int, tables: ObjectTables = ELASTICC) -> list[Alert]:
    """The object's alerts in time order with their source's band, flux and S/N."""
    a, s = tables.a, tables.s
    rows = _rows(
        f"""
        SELECT a.{a("id")}, a.{a("source")}, a.{a("time")}, s.{s("band")}, s.{s("flux")}, s.{s("fluxerr")},
               s.{s("snr")}, a.{a("sent")}
        FROM {tables.alerts} a
        LEFT JOIN {tables.sources} s ON s.{s("object")} = a.{a("object")} AND s.{s("id")} = a.{a("source")}
        WHERE a.{a("object")} = %s
        ORDER BY a.{a("time")}, a.{a("id")}
        """,
        [object_id],
    )
    return [Alert(*row) for row in rows]


def classifications(object_alerts: list[Alert], tables: ObjectTables = ELASTICC) -> list[ClassifierHistory]:
    """Every classifier's messages about these alerts, in alert time order, each with its
    (classId, probability) pairs. Also fills Alert.messages with the count per alert."""
    if not object_alerts:
        return []
    broker = tables.broker
    by_alert = {a.alertId: a for a in object_alerts}
    cid, mid = broker.m("classifierId"), broker.m("brokerMessageId")
    messages = _rows(
        f"SELECT {cid}, {mid}, {broker.m('alertId')}, {broker.m('descIngestTimestamp')} "
        f"FROM {broker.message_table} WHERE {broker.m('alertId')} = ANY(%s)",
        [list(by_alert)],
    )
    if not messages:
        return []
    pairs: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for classifier_id, message_id, class_id, probability in _rows(
        broker.classifications_sql(f"m.{mid} = ANY(%s) AND m.{cid} = ANY(%s)"),
        [[m[1] for m in messages], sorted({m[0] for m in messages})],
    ):
        pairs[(classifier_id, message_id)].append((class_id, probability))
    labels = classifier_labels(broker)
    names = class_names(tables)
    histories: dict[int, ClassifierHistory] = {}
    for classifier_id, message_id, alert_id, ingested in messages:
        alert = by_alert[alert_id]
        alert.messages += 1
        history = histories.setdefault(
            classifier_id,
            ClassifierHistory(classifier_id, labels.get(classifier_id, f"classifier {classifier_id}"), names=names),
        )
        classes = sorted(pairs.get((classifier_id, message_id), []), key=lambda cp: (-cp[1], cp[0]))
        history.messages.append(Message(alert_id, alert.midPointTai, ingested, classes))
    for history in histories.values():
        history.messages.sort(key=lambda m: (m.midPointTai or 0, m.alertId))
    return [histories[c] for c in sorted(histories)]


def classification_plot_data(histories: list[ClassifierHistory], tables: ObjectTables = ELASTICC) -> list[dict]:
    """Per classifier: {"id", "label", "traces": [{"classId", "name", "mjd", "p"}]} for the
    probability-over-time plot; one trace per classId the classifier ever gave."""
    names = class_names(tables)
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


def truth(object_id: int, tables: ObjectTables = ELASTICC) -> dict | None:
    """The object's simulation truth: gentype and its exact classId. Only for elasticc_admin."""
    classid = quoted(tables.truth_columns["classid"])
    rows = _rows(
        f"""
        SELECT ot.gentype, t.{classid}, t.description, ot.zcmb, ot.peakmjd
        FROM {tables.truth} ot
        LEFT JOIN {tables.coge} t ON t.gentype = ot.gentype AND t.exactmatch
        WHERE ot.{quoted(tables.truth_columns["object"])} = %s
        """,
        [object_id],
    )
    if not rows:
        return None
    gentype, class_id, description, zcmb, peakmjd = rows[0]
    return {"gentype": gentype, "classId": class_id, "description": description, "zcmb": zcmb, "peakmjd": peakmjd}
