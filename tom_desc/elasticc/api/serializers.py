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


class _ColumnSerializer(serializers.ModelSerializer):
    """Read-only: every column of the model, nothing else."""

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
    class Meta:
        model = DiaSource


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
    classifications = serializers.IntegerField(help_text="(classId, probability) rows newly stored.")


class ErrorSerializer(serializers.Serializer):
    """Every error of the API (400, 401, 403, 404, 405, 500) has this JSON body."""

    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Short machine-readable reason, e.g. not_found, invalid.")
    detail = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The offending field of a 400, when there is one.")
    errors = serializers.DictField(required=False, help_text="All validation messages of a 400, by field.")


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


def broker_message_request_schema() -> dict:
    """One brokerClassification as sent to PUT/POST, with the checks brokeringest applies."""
    import copy

    from elasticc import taxonomy
    from elasticc.stream import ingest

    schema = copy.deepcopy(broker_classification_schema())
    props = schema["properties"]
    for name in ingest.STRING_FIELDS:
        props[name].update(maxLength=ingest.MAX_TEXT)
        props[name]["description"] = props[name].get("description", "") + " No NUL characters."
    for name in ingest.NONEMPTY_FIELDS:
        props[name].update(minLength=1)
        props[name]["description"] += " Not blank."
    for name in ("elasticcPublishTimestamp", "brokerIngestTimestamp"):
        props[name].update(minimum=MIN_MILLIS, maximum=MAX_MILLIS)
    schema["required"] = [n for n in schema["required"] if n != "brokerIngestTimestamp"]
    classifications = props["classifications"]
    classifications["minItems"] = 1
    item = classifications["items"]
    item["properties"]["classId"].update(enum=sorted(taxonomy.classes()))
    item["properties"]["probability"].update(minimum=0, maximum=1)
    classifications["description"] = (classifications.get("description", "") + " Each classId at most once.").strip()
    return schema
