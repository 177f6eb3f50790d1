"""What the ELAsTiCC2 REST API returns, field by field: each table's snake_case columns.

As in elasticc/api, the views read rows with ``.values()`` and return them as dicts;
these serializers name the fields for the OpenAPI schema. Their class names start with
``Elasticc2`` because both campaigns have tables called DiaObject, DiaSource,
BrokerMessage...: the schema's component names must not collide.
"""

from __future__ import annotations

from rest_framework import serializers

from elasticc.api.columns import DescribedModelSerializer
from elasticc.api.serializers import column_names
from elasticc2.models import (
    BrokerClassifier,
    BrokerMessage,
    DiaForcedSource,
    DiaObject,
    DiaObjectTruth,
    DiaSource,
    PpdbAlert,
    PpdbDiaForcedSource,
    PpdbDiaObject,
    PpdbDiaSource,
)

# The original served its ppdb sources and forced sources through DRF model serializers,
# which name the object column after its foreign key, ``diaobject``; that key is given
# beside ``diaobject_id`` so scripts written against it keep working.
ORIGINAL_OBJECT_KEY = "diaobject"


def columns_serializer(model, name: str, extra: dict | None = None) -> type[serializers.ModelSerializer]:
    """A read-only ModelSerializer of every column of `model` (described with its unit), plus `extra`
    declared fields."""
    extra = extra or {}
    fields = [*column_names(model), *extra]
    meta = type("Meta", (), {"model": model, "fields": fields, "read_only_fields": fields})
    return type(name, (DescribedModelSerializer,), {"Meta": meta, "__module__": __name__, **extra})


def _original_object_key():
    return {
        ORIGINAL_OBJECT_KEY: serializers.IntegerField(
            read_only=True, help_text="Same as diaobject_id (the key the original DESC TOM's API used)."
        )
    }


PpdbDiaObjectSerializer = columns_serializer(PpdbDiaObject, "Elasticc2PpdbDiaObjectSerializer")
PpdbDiaSourceSerializer = columns_serializer(PpdbDiaSource, "Elasticc2PpdbDiaSourceSerializer", _original_object_key())
PpdbDiaForcedSourceSerializer = columns_serializer(
    PpdbDiaForcedSource, "Elasticc2PpdbDiaForcedSourceSerializer", _original_object_key()
)
PpdbAlertSerializer = columns_serializer(PpdbAlert, "Elasticc2PpdbAlertSerializer")
DiaObjectTruthSerializer = columns_serializer(DiaObjectTruth, "Elasticc2DiaObjectTruthSerializer")
DiaObjectSerializer = columns_serializer(DiaObject, "Elasticc2DiaObjectSerializer")
DiaSourceSerializer = columns_serializer(DiaSource, "Elasticc2DiaSourceSerializer")
DiaForcedSourceSerializer = columns_serializer(DiaForcedSource, "Elasticc2DiaForcedSourceSerializer")
BrokerClassifierSerializer = columns_serializer(BrokerClassifier, "Elasticc2BrokerClassifierSerializer")
BrokerMessageSerializer = columns_serializer(BrokerMessage, "Elasticc2BrokerMessageSerializer")


class PpdbObjectWithSourcesSerializer(PpdbDiaObjectSerializer):
    """An object's columns with its sources and forced sources (the original's
    ppdbdiaobjectwithsources and ppdbdiaobjectofsource answers)."""

    diasources = PpdbDiaSourceSerializer(many=True, read_only=True)
    diaforcedsources = PpdbDiaForcedSourceSerializer(many=True, read_only=True)

    class Meta(PpdbDiaObjectSerializer.Meta):
        fields = [*PpdbDiaObjectSerializer.Meta.fields, "diasources", "diaforcedsources"]
        read_only_fields = fields


def _object_of(properties: dict[str, dict], description: str) -> dict:
    """An OpenAPI object whose keys are `properties` (all required, in this order)."""
    return {"type": "object", "description": description, "properties": properties, "required": list(properties)}


_FLAG = {"type": "boolean"}
_NULLABLE_TEXT = {"type": "string", "nullable": True}

# The answers of the original's two JSON views: objects keyed by id, described as raw
# OpenAPI schemas (drf-spectacular cannot describe a keyed map of serializers).
CLASSIDS_ANSWER_SCHEMA = {
    "type": "object",
    "description": "Every classId, as a string key in numeric order.",
    "additionalProperties": _object_of(
        {
            "exactmatch": {**_FLAG, "description": "An exact type (2222 Ia)."},
            "categorymatch": {**_FLAG, "description": "A category or below (2220 SN-like)."},
            "broadmatch": {
                **_FLAG,
                "description": "A broad class or below (2000 Variable): any class some gentype falls under.",
            },
            "generalmatch": {**_FLAG, "description": "A general class or below (2200 Non-Recurring)."},
            "description": {"type": "string"},
            "gentype": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "SNANA gentypes under the class, ascending.",
            },
        },
        "One class; keys in the original's order. A class no gentype falls under has every flag false.",
    ),
}
CLASSIFIERS_ANSWER_SCHEMA = {
    "type": "object",
    "description": "Every ELAsTiCC2 classifier, keyed by its classifier_id as a string.",
    "additionalProperties": _object_of(
        {
            "brokername": {"type": "string"},
            "brokerversion": _NULLABLE_TEXT,
            "classifiername": {"type": "string"},
            "classifierparams": _NULLABLE_TEXT,
        },
        "One classifier.",
    ),
}
