"""ELAsTiCC2's part of the broker-message ingest engine (elasticc/stream/brokertables.py).

The engine (validation, admission, COPY, exactly-once) is ELAsTiCC's; what is ELAsTiCC2's is
said here and registered by ``apps.Elasticc2Config.ready``: the four-digit taxonomy, the
snake_case tables, one row per message with ``classid smallint[]`` and ``probability real[]``
(the arrays layout), the ppdb alerts a message must name a sent alert of, and the original's
marks of a REST push (topic ``REST_push``, offset -1, ``msghdrtimestamp`` null unless the broker
sent ``brokerPublishTimestamp``).
"""

from __future__ import annotations

from elasticc.stream.brokertables import ARRAYS, AlertTable, BrokerTables
from elasticc2 import taxonomy

BROKER_TABLES = BrokerTables(
    campaign="elasticc2",
    label="ELAsTiCC2",
    classes=taxonomy.classes,
    taxonomy_name="ELAsTiCC2 taxonomy (four-digit classIds, e.g. 2222 for SN Ia)",
    alert_noun="ELAsTiCC2 alert",
    classifier_table="elasticc2_brokerclassifier",
    classifier_columns={
        "classifierId": "classifier_id",
        "brokerName": "brokername",
        "brokerVersion": "brokerversion",
        "classifierName": "classifiername",
        "classifierParams": "classifierparams",
        "registeredBy": "registeredby",
    },
    message_table="elasticc2_brokermessage",
    message_sequence="elasticc2_brokermessage_id_seq",
    message_columns={
        "brokerMessageId": "brokermessage_id",
        "classifierId": "classifier_id",
        "streamMessageId": "streammessage_id",
        "topicName": "topicname",
        "kafkaPartition": "kafkapartition",
        "alertId": "alert_id",
        "diaSourceId": "diasource_id",
        "msgHdrTimestamp": "msghdrtimestamp",
        "elasticcPublishTimestamp": "elasticcpublishtimestamp",
        "brokerIngestTimestamp": "brokeringesttimestamp",
        "descIngestTimestamp": "descingesttimestamp",
    },
    layout=ARRAYS,
    array_columns=("classid", "probability"),
    alerts=AlertTable(
        table="elasticc2_ppdbalert",
        alert_id="alert_id",
        source_id="diasource_id",
        object_id="diaobject_id",
        sent="alertsenttimestamp",
        midpointtai="midpointtai",
        id_index="elasticc2_ppdbalert_id",
    ),
    rest_topic="REST_push",
    rest_offset=-1,
    rest_header_is_receipt=False,
)
