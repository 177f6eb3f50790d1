"""Where a campaign's broker messages live: the per-campaign part of the ingest engine.

The ingest engine (``ingest.py``: validate and store; ``admission.py``: screen against the
alerts table and the classifier caps) serves every campaign from one code path; what differs
between campaigns is described by one ``BrokerTables`` object each, looked up by campaign
name in the registry below:

- the taxonomy a classId must belong to (ELAsTiCC: three digits, ELAsTiCC2: four);
- the classifier table and its columns (``registered_by`` feeds the per-broker cap);
- the message table, its columns and its **layout**: ``rows`` (ELAsTiCC: one message row plus
  one ``elasticc_brokerclassification`` row per classification) or ``arrays`` (ELAsTiCC2: one
  row per message holding ``classid smallint[]`` and ``probability real[]``);
- the alerts table a message must name a sent alert of;
- how a REST push is marked (ELAsTiCC2 keeps the original's topic ``REST_push``, offset -1).

``elasticc`` registers its own tables here (``ELASTICC``, at the end of this module);
``elasticc2`` registers its own in its ``AppConfig.ready``, so this app never imports it.
The pages and brokermetrics read messages through the same object (``classifications_sql``),
whichever layout stores them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from elasticc import taxonomy
from elasticc.taxonomy import TaxonomyClass

ROWS = "rows"
ARRAYS = "arrays"

# The message columns every layout has, by the names the ingest engine uses for them (the
# ELAsTiCC table's names); a campaign maps each to its own column.
MESSAGE_FIELDS = (
    "brokerMessageId",
    "classifierId",
    "streamMessageId",
    "topicName",
    "kafkaPartition",
    "alertId",
    "diaSourceId",
    "msgHdrTimestamp",
    "elasticcPublishTimestamp",
    "brokerIngestTimestamp",
    "descIngestTimestamp",
)
CLASSIFIER_FIELDS = ("brokerName", "brokerVersion", "classifierName", "classifierParams")


def quoted(name: str) -> str:
    """A column name as SQL needs it (ELAsTiCC's are camelCase)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class AlertTable:
    """The campaign's alerts: what admission checks a message against (the alert exists, was
    sent, has this source) and what the metrics count as sent. ``id_index`` is the index the
    lookup by alert id relies on (one per hash partition)."""

    table: str
    alert_id: str
    source_id: str
    object_id: str
    sent: str  # the timestamp set once Kafka confirmed delivery; null until then
    midpointtai: str  # the alert's source's time (simulated days)
    id_index: str


@dataclass(frozen=True)
class BrokerTables:
    """The tables and rules of one campaign's broker messages (module docstring)."""

    campaign: str  # "elasticc", "elasticc2": the name on command lines and in config files
    label: str  # "ELAsTiCC": what messages and pages call it
    classes: Callable[[], Mapping[int, TaxonomyClass]]  # the taxonomy a classId must be in
    taxonomy_name: str  # "taxonomy": how an error names it ("<id> is not a classId of the <taxonomy_name>")
    alert_noun: str  # "alert": how an error names one ("alertId <id> is not an <alert_noun> of this site")
    classifier_table: str
    classifier_columns: Mapping[str, str]  # CLASSIFIER_FIELDS + classifierId, registeredBy -> column
    message_table: str
    message_sequence: str
    message_columns: Mapping[str, str]  # MESSAGE_FIELDS -> column
    layout: str  # ROWS or ARRAYS
    alerts: AlertTable
    # ROWS: the classification table; ARRAYS: the two array columns of the message table.
    classification_table: str | None = None
    classification_sequence: str | None = None
    classification_columns: Mapping[str, str] = field(default_factory=dict)  # classificationId, classId, probability
    array_columns: tuple[str, str] | None = None  # (classId array, probability array)
    # A REST push: (topic, offset) to store, and whether msgHdrTimestamp falls back to the time
    # this site received the message when the broker gave no brokerPublishTimestamp.
    rest_topic: str | None = None
    rest_offset: int | None = None
    rest_header_is_receipt: bool = True

    def __post_init__(self):
        missing = set(MESSAGE_FIELDS) - set(self.message_columns)
        missing |= {*CLASSIFIER_FIELDS, "classifierId", "registeredBy"} - set(self.classifier_columns)
        if missing:
            raise ValueError(f"{self.campaign}: columns not mapped: {', '.join(sorted(missing))}")
        if self.layout == ROWS and not (self.classification_table and self.classification_sequence):
            raise ValueError(f"{self.campaign}: the rows layout needs a classification table and sequence")
        if self.layout == ARRAYS and not self.array_columns:
            raise ValueError(f"{self.campaign}: the arrays layout needs its two array columns")
        if self.layout not in (ROWS, ARRAYS):
            raise ValueError(f"{self.campaign}: unknown layout {self.layout!r}")

    # --- SQL pieces, quoted
    def m(self, name: str) -> str:
        """A message column by its engine name, quoted."""
        return quoted(self.message_columns[name])

    def k(self, name: str) -> str:
        """A classifier column by its engine name, quoted."""
        return quoted(self.classifier_columns[name])

    def classifications_sql(self, where: str) -> str:
        """SELECT classifier id, message id, classId, probability: one row per classification of
        the messages matching `where` (a condition on the message table, aliased ``m``). For the
        rows layout the condition is on the classification table (same column names for the
        classifier and the message id), so the classifier's partitions are pruned either way."""
        cid, mid = self.m("classifierId"), self.m("brokerMessageId")
        if self.layout == ARRAYS:
            class_ids, probabilities = (quoted(c) for c in self.array_columns)
            return (
                f"SELECT m.{cid}, m.{mid}, u.classid, u.probability FROM {self.message_table} m "
                f"CROSS JOIN LATERAL unnest(m.{class_ids}, m.{probabilities}) AS u(classid, probability) "
                f"WHERE {where}"
            )
        c = self.classification_columns
        return (
            f"SELECT m.{cid}, m.{mid}, m.{quoted(c['classId'])}, m.{quoted(c['probability'])} "
            f"FROM {self.classification_table} m WHERE {where}"
        )


_registry: dict[str, BrokerTables] = {}


def register(tables: BrokerTables) -> BrokerTables:
    """Make a campaign's broker tables known to the ingest engine (again: replaced)."""
    _registry[tables.campaign] = tables
    return tables


def get(campaign: str) -> BrokerTables:
    """The broker tables of a campaign; KeyError naming the known campaigns otherwise."""
    try:
        return _registry[campaign]
    except KeyError:
        raise KeyError(f"unknown campaign {campaign!r} (known: {', '.join(names())})") from None


def names() -> list[str]:
    return sorted(_registry)


ELASTICC = register(
    BrokerTables(
        campaign="elasticc",
        label="ELAsTiCC",
        classes=taxonomy.classes,
        taxonomy_name="taxonomy",
        alert_noun="alert",
        classifier_table="elasticc_brokerclassifier",
        classifier_columns={n: n for n in (*CLASSIFIER_FIELDS, "classifierId", "registeredBy")},
        message_table="elasticc_brokermessage",
        message_sequence="elasticc_brokermessage_id_seq",
        message_columns={n: n for n in MESSAGE_FIELDS},
        layout=ROWS,
        classification_table="elasticc_brokerclassification",
        classification_sequence="elasticc_brokerclassification_id_seq",
        classification_columns={
            "classificationId": "classificationId",
            "classId": "classId",
            "probability": "probability",
        },
        alerts=AlertTable(
            table="elasticc_diaalert",
            alert_id="alertId",
            source_id="diaSourceId",
            object_id="diaObjectId",
            sent="alertSentTimestamp",
            midpointtai="alertMidPointTai",
            id_index="elasticc_diaalert_id",
        ),
    )
)
