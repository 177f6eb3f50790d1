"""What the REST API returns, field by field (camelCase column names, as in the tables).

The list and detail views read rows with ``.values(*fields)`` and return them as
dicts (a serializer instance per row costs more than the query on a 1000-row
page); these serializers name those fields, check request bodies where there are
any, and describe every response in the OpenAPI schema.
"""

from __future__ import annotations

from functools import cache

from django.db import models
from rest_framework import serializers

from elasticc.api.columns import DescribedModelSerializer
from elasticc.models import (
    BrokerClassifier,
    BrokerMessage,
    DiaAlert,
    DiaForcedSource,
    DiaObject,
    DiaObjectTruth,
    DiaSource,
    DiaTruth,
)
from elasticc.stream import avro


def column_names(model: type[models.Model]) -> list[str]:
    """The model's table columns, in declaration order (no composite ``pk``)."""
    return [f.name for f in model._meta.concrete_fields]


class _ColumnSerializer(DescribedModelSerializer):
    """Read-only: every column of the model, nothing else (described with its unit: elasticc/units.py)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        meta = getattr(cls, "Meta", None)
        if meta is not None and not hasattr(meta, "fields"):
            meta.fields = column_names(meta.model)
            meta.read_only_fields = meta.fields


class DiaObjectSerializer(_ColumnSerializer):
    class Meta:
        model = DiaObject


class DiaSourceSerializer(_ColumnSerializer):
    """Every column, and ``diaObject``: the original DESC TOM's key for the object (its REST API
    named the foreign key so), equal to ``diaObjectId``."""

    diaObject = serializers.IntegerField(read_only=True, help_text="The original's name of diaObjectId.")

    class Meta:
        model = DiaSource
        fields = [*column_names(DiaSource), "diaObject"]
        read_only_fields = fields


class DiaForcedSourceSerializer(_ColumnSerializer):
    class Meta:
        model = DiaForcedSource


class DiaTruthSerializer(_ColumnSerializer):
    class Meta:
        model = DiaTruth


class DiaObjectTruthSerializer(_ColumnSerializer):
    class Meta:
        model = DiaObjectTruth


class DiaAlertSerializer(_ColumnSerializer):
    """An alert row as listed: when it was sent (null while unsent)."""

    class Meta:
        model = DiaAlert


class BrokerClassifierSerializer(_ColumnSerializer):
    class Meta:
        model = BrokerClassifier


class ClassificationSerializer(serializers.Serializer):
    classId = serializers.IntegerField()
    probability = serializers.FloatField()


class ClassifierOfMessageSerializer(serializers.Serializer):
    classifierId = serializers.IntegerField()
    brokerName = serializers.CharField()
    brokerVersion = serializers.CharField()
    classifierName = serializers.CharField()
    classifierParams = serializers.CharField()


class BrokerMessageSerializer(_ColumnSerializer):
    """A stored broker message with its classifier and its (classId, probability) list."""

    classifier = ClassifierOfMessageSerializer(read_only=True)
    classifications = ClassificationSerializer(many=True, read_only=True)

    class Meta:
        model = BrokerMessage
        fields = [*column_names(BrokerMessage), "classifier", "classifications"]
        read_only_fields = fields


class TaxonomyClassSerializer(serializers.Serializer):
    classId = serializers.IntegerField()
    description = serializers.CharField()
    level = serializers.ChoiceField(
        choices=["broad", "category", "exact"],
        help_text="broad class (one digit), category (two) or exact type (three).",
    )
    parent = serializers.IntegerField(allow_null=True, help_text="The classId one level up (null for a broad class).")
    gentypes = serializers.ListField(
        child=serializers.IntegerField(), help_text="SNANA gentypes that are exactly this class."
    )


class BrokerMessageStoredSerializer(serializers.Serializer):
    """The answer to PUT/POST /elasticc/brokermessage/."""

    brokerMessageIds = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The id of each message sent, in order (also for messages that were already stored).",
    )
    stored = serializers.IntegerField(help_text="Messages newly stored by this request.")
    duplicates = serializers.IntegerField(help_text="Messages that were already stored (nothing new written).")
    classifications = serializers.IntegerField(help_text="(classId, probability) pairs newly stored.")
    brokerMessageId = serializers.IntegerField(
        help_text="The original's key: the id of the first message newly stored, or -1 (also in the Location header)."
    )
    num_loaded = serializers.IntegerField(help_text="The original's key: messages newly stored (same as stored).")


class OriginalClassificationSerializer(serializers.Serializer):
    classifierName = serializers.CharField()
    classifierParams = serializers.CharField()
    classId = serializers.IntegerField()
    probability = serializers.FloatField()


class OriginalMessageSerializer(serializers.Serializer):
    """A message as the original's brokermessage path filters gave it."""

    brokerMessageId = serializers.IntegerField()
    streamMessageId = serializers.IntegerField(allow_null=True)
    alertId = serializers.IntegerField()
    diaSourceId = serializers.IntegerField()
    msgHdrTimestamp = serializers.CharField(allow_null=True, help_text="ISO 8601")
    descIngestTimestamp = serializers.CharField(help_text="ISO 8601")
    elasticcPublishTimestamp = serializers.IntegerField(allow_null=True, help_text="milliseconds since 1970")
    brokerIngestTimestamp = serializers.IntegerField(allow_null=True, help_text="milliseconds since 1970")
    brokerName = serializers.CharField()
    brokerVersion = serializers.CharField()
    classifierId = serializers.IntegerField()
    classifications = OriginalClassificationSerializer(many=True)


class OriginalMessageListSerializer(serializers.Serializer):
    """The answer of /elasticc/brokermessage/alertid=N/ and its sibling filters."""

    offset = serializers.IntegerField()
    num = serializers.IntegerField(allow_null=True, help_text="The page size asked for (null: all).")
    totalcount = serializers.IntegerField(help_text="Messages matching the filter.")
    count = serializers.IntegerField(help_text="Messages in this answer.")
    brokermessages = OriginalMessageSerializer(many=True)


# ------------------------------------------------------------------ wire-format shapes

PRIMITIVES = {
    "long": {"type": "integer", "format": "int64"},
    "int": {"type": "integer", "format": "int32"},
    "double": {"type": "number", "format": "double"},
    "float": {"type": "number", "format": "float"},
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
}


def _avro_type_to_openapi(avro_type, named: dict, nullable: bool = False) -> dict:
    """OpenAPI schema of an Avro type; `named` collects record types by full name
    (a parsed schema spells a record out once and names it afterwards)."""
    if isinstance(avro_type, list):
        others = [t for t in avro_type if t != "null"]
        return _avro_type_to_openapi(others[0], named, nullable="null" in avro_type)
    if isinstance(avro_type, dict):
        kind = avro_type.get("type")
        if kind == "record":
            props = {}
            for f in avro_type["fields"]:
                props[f["name"]] = _avro_type_to_openapi(f["type"], named)
                if f.get("doc"):
                    props[f["name"]] = {**props[f["name"]], "description": f["doc"]}
            schema = {"type": "object", "properties": props, "required": [f["name"] for f in avro_type["fields"]]}
            name = avro_type.get("name", "")
            if "." not in name and avro_type.get("namespace"):
                name = f"{avro_type['namespace']}.{name}"
            named[name] = schema
        elif kind == "array":
            schema = {"type": "array", "items": _avro_type_to_openapi(avro_type["items"], named)}
        elif avro_type.get("logicalType") == "timestamp-millis":
            schema = {"type": "integer", "format": "int64", "description": "milliseconds since 1970-01-01 UTC"}
        else:
            schema = _avro_type_to_openapi(kind, named)
    elif avro_type in PRIMITIVES:
        schema = dict(PRIMITIVES[avro_type])
    else:
        schema = dict(named[avro_type])
    if nullable:
        schema = {**schema, "nullable": True}
    return schema


@cache
def avro_openapi_schema(name: str) -> dict:
    """The OpenAPI (3.0) schema of an Avro record type, from the .avsc files we stream with."""
    return _avro_type_to_openapi(avro.load_schema(name), {})


def alert_schema() -> dict:
    return avro_openapi_schema(avro.ALERT_SCHEMA)


def broker_classification_schema() -> dict:
    """The brokerClassification record as JSON (timestamps as integer milliseconds)."""
    return avro_openapi_schema(avro.BROKER_CLASSIFICATION_SCHEMA)


# The datetimes Python can hold, in milliseconds since 1970 (years 1 to 9999).
MIN_MILLIS, MAX_MILLIS = -62_135_596_800_000, 253_402_300_799_999


def broker_message_request_schema(tables=None) -> dict:
    """One brokerClassification as sent to PUT/POST, with the checks brokeringest applies; classIds
    from the taxonomy of `tables` (elasticc.stream.brokertables.BrokerTables; ELAsTiCC's by default)."""
    import copy

    from elasticc.stream import brokertables, ingest

    tables = tables or brokertables.ELASTICC

    schema = copy.deepcopy(broker_classification_schema())
    props = schema["properties"]
    for name in ingest.STRING_FIELDS:
        props[name].update(maxLength=ingest.MAX_TEXT)
        props[name]["description"] = props[name].get("description", "") + " No NUL characters."
    for name in ingest.NONEMPTY_FIELDS:
        props[name].update(minLength=1)
        props[name]["description"] += " Not blank."
    for name in ("elasticcPublishTimestamp", "brokerIngestTimestamp"):
        props[name].update(minimum=MIN_MILLIS, maximum=MAX_MILLIS, type="number")
        props[name].pop("format", None)
        props[name]["description"] += " An integer, or a float as the original DESC TOM's clients send."
    props["brokerPublishTimestamp"] = {
        "type": "number",
        "nullable": True,
        "minimum": MIN_MILLIS,
        "maximum": MAX_MILLIS,
        "description": "When the broker published the message, milliseconds since 1970 (optional; stored as "
        + (
            "msgHdrTimestamp, which is otherwise the time this site received it)."
            if tables.rest_header_is_receipt
            else "msghdrtimestamp, which is otherwise null)."
        ),
    }
    schema["required"] = [n for n in schema["required"] if n != "brokerIngestTimestamp"]
    classifications = props["classifications"]
    classifications["minItems"] = 1
    item = classifications["items"]
    item["properties"]["classId"].update(enum=sorted(tables.classes()))
    item["properties"]["probability"].update(minimum=0, maximum=1)
    classifications["description"] = (classifications.get("description", "") + " Each classId at most once.").strip()
    return schema
