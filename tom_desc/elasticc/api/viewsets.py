"""The REST API of the ELAsTiCC tables (routes in elasticc/urls.py, docs in docs/api.md).

Every list is a keyset-paginated ``{count, count_is_estimate, next, previous,
results}`` (elasticc/api/pagination.py) ordered by the table's id column then its
partition key: together they are the primary key, and each partition has an
index on the id column, so a page is one index range scan per partition. A
detail (``<id>/``) is a lookup on that same id index: PostgreSQL probes each
hash partition's index once (16 probes) since the id alone does not say which
partition holds the row.

Rows are read with ``.values()`` and returned as dicts; the serializers in
elasticc/api/serializers.py name the columns and document them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from elasticc import taxonomy
from elasticc.api import filters, serializers
from elasticc.api.pagination import KeysetPagination
from elasticc.api.schema import ApiSchema
from elasticc.models import (
    BrokerClassification,
    BrokerClassifier,
    BrokerMessage,
    DiaAlert,
    DiaForcedSource,
    DiaObject,
    DiaObjectTruth,
    DiaSource,
    DiaTruth,
)
from elasticc.permissions import BrokersWrite, IsElasticcAdmin
from elasticc.stream import ingest
from elasticc.stream.alerts import build_alert
from tom_desc.lib.groups import is_admin
from tom_desc.lib.numbers import finite_or_none, finite_tree, float32, is_int64

# More records than this in one PUT/POST is a 400 (and a body over
# DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB by default, a 413): split big uploads into batches.
MAX_MESSAGES_PER_REQUEST = 1000


class ColumnsViewSet(viewsets.GenericViewSet):
    """Read-only list and detail of one table, rows as dicts of its columns."""

    model: type
    ordering: tuple[str, ...]  # unique together, integer columns; the keyset
    lookup_value_regex = r"-?[0-9]+"
    metadata_class = None  # OPTIONS is a 405: the OpenAPI schema describes the routes
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend]
    permission_classes = [IsAuthenticated]
    schema = ApiSchema()

    def get_queryset(self):
        return self.model.objects.all()

    def columns(self) -> list[str]:
        return serializers.column_names(self.model)

    def present(self, rows: list[dict]) -> list[dict]:
        return [{k: finite_or_none(v) for k, v in r.items()} for r in rows]

    def lookup_value(self) -> int:
        raw = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        try:
            value = int(raw)
        except ValueError:
            raise NotFound() from None
        if not is_int64(value):
            raise NotFound()
        return value

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset()).values(*self.columns())
        rows = self.paginator.paginate_queryset(queryset, request, view=self)
        return self.paginator.get_paginated_response(self.present(rows))

    def retrieve(self, request, *args, **kwargs):
        value = self.lookup_value()
        rows = self.rows_with_id(value)
        if not rows:
            raise NotFound(f"No {self.model._meta.verbose_name} with {self.lookup_field} {value}.")
        return Response(self.present(rows[:1])[0])

    def rows_with_id(self, value: int) -> list[dict]:
        """The rows whose id is `value` (one, as ids are unique), first key first.

        No ORDER BY/LIMIT in SQL: with them the planner may prefer walking the primary
        key (diaObjectId, id) in order over the id index; without, each partition's id
        index is probed once.
        """
        rows = list(self.get_queryset().filter(**{self.lookup_field: value}).order_by().values(*self.columns()))
        rows.sort(key=lambda r: [r[f] for f in self.ordering])
        return rows


@extend_schema_view(
    list=extend_schema(summary="List objects", description="Simulated objects, by diaObjectId."),
    retrieve=extend_schema(summary="One object"),
)
class DiaObjectViewSet(ColumnsViewSet):
    model = DiaObject
    serializer_class = serializers.DiaObjectSerializer
    filterset_class = filters.DiaObjectFilter
    ordering = ("diaObjectId",)
    lookup_field = "diaObjectId"


@extend_schema_view(
    list=extend_schema(
        summary="List sources (detections)",
        description="Ordered by diaSourceId. Filter by diaObjectId and midPointTai range.",
    ),
    retrieve=extend_schema(summary="One source"),
)
class DiaSourceViewSet(ColumnsViewSet):
    model = DiaSource
    serializer_class = serializers.DiaSourceSerializer
    filterset_class = filters.DiaSourceFilter
    ordering = ("diaSourceId", "diaObjectId")
    lookup_field = "diaSourceId"


@extend_schema_view(
    list=extend_schema(
        summary="List forced sources",
        description="Ordered by diaForcedSourceId. Filter by diaObjectId and midPointTai range.",
    ),
    retrieve=extend_schema(summary="One forced source"),
)
class DiaForcedSourceViewSet(ColumnsViewSet):
    model = DiaForcedSource
    serializer_class = serializers.DiaForcedSourceSerializer
    filterset_class = filters.DiaForcedSourceFilter
    ordering = ("diaForcedSourceId", "diaObjectId")
    lookup_field = "diaForcedSourceId"


@extend_schema_view(
    list=extend_schema(summary="List source truth (elasticc_admin only)"),
    retrieve=extend_schema(summary="Truth of one source, by diaSourceId (elasticc_admin only)"),
)
class DiaTruthViewSet(ColumnsViewSet):
    model = DiaTruth
    serializer_class = serializers.DiaTruthSerializer
    filterset_class = filters.DiaTruthFilter
    permission_classes = [IsAuthenticated, IsElasticcAdmin]
    ordering = ("diaSourceId", "diaObjectId")
    lookup_field = "diaSourceId"


@extend_schema_view(
    list=extend_schema(summary="List object truth (elasticc_admin only)"),
    retrieve=extend_schema(summary="Truth of one object (elasticc_admin only)"),
)
class DiaObjectTruthViewSet(ColumnsViewSet):
    model = DiaObjectTruth
    serializer_class = serializers.DiaObjectTruthSerializer
    filterset_class = filters.DiaObjectTruthFilter
    permission_classes = [IsAuthenticated, IsElasticcAdmin]
    ordering = ("diaObjectId",)
    lookup_field = "diaObjectId"


@extend_schema_view(
    list=extend_schema(
        summary="List alerts",
        description=(
            "Alert rows (alertSentTimestamp is null until the alert was streamed). Users outside "
            "elasticc_admin see only sent alerts; for them `sent=false` is a 403."
        ),
    ),
    retrieve=extend_schema(
        summary="One alert, exactly as streamed",
        description=(
            "The alert in the Avro alert shape (diaSource, prvDiaSources, prvDiaForcedSources, "
            "diaObject). An unsent alert is a 404 for users outside elasticc_admin."
        ),
        responses={200: serializers.alert_schema()},
    ),
)
class DiaAlertViewSet(ColumnsViewSet):
    model = DiaAlert
    serializer_class = serializers.DiaAlertSerializer
    filterset_class = filters.DiaAlertFilter
    ordering = ("alertId", "diaObjectId")
    lookup_field = "alertId"

    def get_queryset(self):
        queryset = DiaAlert.objects.all()
        if not is_admin(self.request.user):
            queryset = queryset.filter(alertSentTimestamp__isnull=False)
        return queryset

    def filter_queryset(self, queryset):
        sent = self.request.query_params.get("sent")
        if sent == "false" and not is_admin(self.request.user):
            raise PermissionDenied("Only members of the elasticc_admin group may list unsent alerts.")
        return super().filter_queryset(queryset)

    def retrieve(self, request, *args, **kwargs):
        alert_id = self.lookup_value()
        if not self.rows_with_id(alert_id):
            raise NotFound(f"No alert with alertId {alert_id}.")
        # The builder send_elasticc_alerts streams with (elasticc/stream/alerts.py), so the JSON is
        # the streamed alert, history rule included.
        alert = build_alert(alert_id)
        if alert is None:  # the alert row exists but its source does not: nothing to stream
            raise NotFound(f"Alert {alert_id} has no source to build it from.")
        return Response(finite_tree(alert))


@extend_schema_view(
    list=extend_schema(summary="List broker classifiers"),
    retrieve=extend_schema(summary="One broker classifier"),
)
class BrokerClassifierViewSet(ColumnsViewSet):
    model = BrokerClassifier
    serializer_class = serializers.BrokerClassifierSerializer
    filterset_class = filters.BrokerClassifierFilter
    ordering = ("classifierId",)
    lookup_field = "classifierId"


def _from_millis(record: dict, name: str):
    """A timestamp in integer milliseconds since 1970 -> aware datetime (None stays None)."""
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ingest.InvalidBrokerMessage(name, "must be an integer number of milliseconds since 1970-01-01")
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ingest.InvalidBrokerMessage(name, "is out of range") from None


BROKER_MESSAGE_BODY = {
    "oneOf": [
        serializers.broker_message_request_schema(),
        {
            "type": "array",
            "items": serializers.broker_message_request_schema(),
            "minItems": 1,
            "maxItems": MAX_MESSAGES_PER_REQUEST,
        },
    ]
}


@extend_schema_view(
    list=extend_schema(
        summary="List broker messages",
        description=(
            "Each message carries its classifier and its (classId, probability) list. Ordered by "
            "brokerMessageId. brokerName is resolved to classifierIds first."
        ),
    ),
    retrieve=extend_schema(summary="One broker message"),
    create=extend_schema(
        summary="Send broker classifications (elasticc_broker only)",
        description=(
            "One brokerClassification record, or a list of them, as JSON with timestamps in integer "
            "milliseconds. Stored exactly as the Kafka path stores them (elasticc/stream/ingest.py); "
            "resending a message stores nothing new. A malformed body is a 400 naming the field, "
            "and nothing of that request is stored. PUT does the same as POST."
        ),
        request={"application/json": BROKER_MESSAGE_BODY},
        responses={201: serializers.BrokerMessageStoredSerializer},
    ),
)
class BrokerMessageViewSet(ColumnsViewSet):
    model = BrokerMessage
    serializer_class = serializers.BrokerMessageSerializer
    filterset_class = filters.BrokerMessageFilter
    permission_classes = [BrokersWrite]
    ordering = ("brokerMessageId", "classifierId")
    lookup_field = "brokerMessageId"

    def present(self, rows: list[dict]) -> list[dict]:
        """Attach classifier and classifications: two queries for the whole page."""
        rows = super().present(rows)
        if not rows:
            return rows
        classifier_ids = sorted({r["classifierId"] for r in rows})
        message_ids = [r["brokerMessageId"] for r in rows]
        classifiers = {
            c["classifierId"]: c
            for c in BrokerClassifier.objects.filter(classifierId__in=classifier_ids).values(
                "classifierId", "brokerName", "brokerVersion", "classifierName", "classifierParams"
            )
        }
        classifications: dict[int, list[dict]] = {m: [] for m in message_ids}
        # classifierId__in prunes to the page's classifiers' partitions; brokerMessageId
        # uses elasticc_brokerclass_msg in each.
        for c in (
            BrokerClassification.objects.filter(classifierId__in=classifier_ids, brokerMessageId__in=message_ids)
            .order_by("brokerMessageId", "classId")
            .values_list("brokerMessageId", "classId", "probability")
        ):
            classifications[c[0]].append({"classId": c[1], "probability": finite_or_none(c[2])})
        for r in rows:
            r["classifier"] = classifiers.get(r["classifierId"])
            r["classifications"] = classifications[r["brokerMessageId"]]
        return rows

    def create(self, request, *args, **kwargs):
        body = request.data
        many = isinstance(body, list)
        records = body if many else [body]
        if not isinstance(body, (list, dict)):
            raise ValidationError({"body": ["Send a brokerClassification object or a list of them."]})
        if not records:
            raise ValidationError({"body": ["The list is empty."]})
        if len(records) > MAX_MESSAGES_PER_REQUEST:
            raise ValidationError({"body": [f"At most {MAX_MESSAGES_PER_REQUEST} messages per request."]})
        validated = []
        for i, record in enumerate(records):
            prefix = f"[{i}]." if many else ""
            try:
                if not isinstance(record, dict):
                    raise ingest.InvalidBrokerMessage("message", "must be an object")
                record = dict(record)
                for name in ("elasticcPublishTimestamp", "brokerIngestTimestamp"):
                    record[name] = _from_millis(record, name)
                record = ingest.validate_classification(record)
                for c in record["classifications"]:
                    # The column is a 4-byte real (as the Avro float of the Kafka path); JSON
                    # numbers are doubles, and e.g. 1e-308 would not fit: round as Avro would.
                    c["probability"] = float32(c["probability"])
                validated.append(record)
            except ingest.InvalidBrokerMessage as error:
                field = (f"[{i}]" if many else "body") if error.field == "message" else prefix + error.field
                raise ValidationError({field: [error.reason]}) from None
        with transaction.atomic():
            result = ingest.store_broker_messages([(record, None) for record in validated])
        return Response(
            {
                "brokerMessageIds": result.brokerMessageIds,
                "stored": result.stored,
                "duplicates": result.duplicates,
                "classifications": result.classifications,
            },
            status=201,
        )

    @extend_schema(
        summary="Send broker classifications (same as POST)",
        request={"application/json": BROKER_MESSAGE_BODY},
        responses={201: serializers.BrokerMessageStoredSerializer},
    )
    def put_list(self, request, *args, **kwargs):
        return self.create(request, *args, **kwargs)


def _taxonomy_rows() -> list[dict]:
    rows = []
    for c in sorted(taxonomy.classes().values(), key=lambda c: c.classId):
        digits = len(str(c.classId))
        rows.append(
            {
                "classId": c.classId,
                "description": c.description,
                "level": {1: "broad", 2: "category"}.get(digits, "exact"),
                "parent": None if digits == 1 else c.classId // 10,
                "gentypes": list(c.gentypes),
            }
        )
    return rows


@extend_schema_view(
    list=extend_schema(
        summary="The classId taxonomy",
        description="Every classId with its description, level, parent and SNANA gentypes.",
    ),
    retrieve=extend_schema(summary="One classId", parameters=[OpenApiParameter("classId", int, OpenApiParameter.PATH)]),
)
class ClassIdViewSet(viewsets.GenericViewSet):
    """The taxonomy (elasticc/data/taxonomy.json), served from memory."""

    serializer_class = serializers.TaxonomyClassSerializer
    pagination_class = KeysetPagination
    filter_backends: list = []
    permission_classes = [IsAuthenticated]
    ordering = ("classId",)
    metadata_class = None
    lookup_field = "classId"
    lookup_value_regex = r"-?[0-9]+"
    schema = ApiSchema()

    def get_queryset(self):  # no table behind this view
        return None

    def list(self, request, *args, **kwargs):
        rows = self.paginator.paginate_list(_taxonomy_rows(), request, view=self)
        return self.paginator.get_paginated_response(rows)

    def retrieve(self, request, *args, **kwargs):
        class_id = int(self.kwargs["classId"])
        for row in _taxonomy_rows():
            if row["classId"] == class_id:
                return Response(row)
        raise NotFound(f"No classId {class_id} in the taxonomy.")
