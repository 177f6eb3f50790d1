"""The REST API of the ELAsTiCC tables (routes in elasticc/urls.py, docs in docs/api.md).

Every list is a keyset-paginated ``{count, count_is_estimate, next, previous,
results}`` (elasticc/api/pagination.py) ordered by the table's id column then its
partition key: together they are the primary key, and each partition has an
index on the id column, so a page is one index range scan per partition. A
detail (``<id>/``) is a lookup on that same id index: PostgreSQL probes each
hash partition's index once (16 probes) since the id alone does not say which
partition holds the row.

Rows are read with ``.values()`` and returned as dicts; the serializers in
elasticc/api/serializers.py name the columns and document them. Broker messages (their
list, sending them, the original's path filters) are in elasticc/api/brokermessages.py.
"""

from __future__ import annotations

from django.db import connection
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from elasticc import taxonomy
from elasticc.api import filters, serializers
from elasticc.api.pagination import KeysetPagination
from elasticc.api.renderers import ColumnChoiceParams, TabularViews, stream_list, wants_file
from elasticc.api.schema import ApiSchema
from elasticc.models import (
    BrokerClassifier,
    DiaAlert,
    DiaForcedSource,
    DiaObject,
    DiaObjectTruth,
    DiaSource,
    DiaTruth,
)
from elasticc.permissions import IsElasticcAdmin
from elasticc.stream.alerts import AlertRow, build_alert, build_alerts_for_rows
from tom_desc.lib.groups import is_admin
from tom_desc.lib.numbers import finite_or_none, finite_tree, is_int64


class ColumnsViewSet(TabularViews, viewsets.GenericViewSet):
    """Read-only list and detail of one table, rows as dicts of its columns; ``fields=`` chooses
    columns and ``format=`` a file format (elasticc/api/renderers.py)."""

    model: type
    ordering: tuple[str, ...]  # unique together, integer columns; the keyset
    lookup_value_regex = r"-?[0-9]+"
    metadata_class = None  # OPTIONS is a 405: the OpenAPI schema describes the routes
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend, ColumnChoiceParams]
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
        queryset = self.filter_queryset(self.get_queryset())
        if wants_file(request):
            return stream_list(self, request, queryset)
        names = self.chosen_fields()
        rows = self.paginator.paginate_queryset(queryset.values(*self.query_columns(names)), request, view=self)
        return self.paginator.get_paginated_response(self.project(self.present(rows), names))

    def retrieve(self, request, *args, **kwargs):
        value = self.lookup_value()
        rows = self.rows_with_id(value)
        if not rows:
            raise NotFound(f"No {self.model._meta.verbose_name} with {self.lookup_field} {value}.")
        return Response(self.project(self.present(rows[:1]), self.chosen_fields())[0])

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

    def present(self, rows: list[dict]) -> list[dict]:
        # The original's rows named the object "diaObject" (a Django foreign key); scripts read it.
        rows = super().present(rows)
        for r in rows:
            r["diaObject"] = r["diaObjectId"]
        return rows


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


ALERT_SHAPES = ("alerts", "rows")


def alert_list_item_schema() -> dict:
    """An item of the alert list: a whole alert, or an alert row with shape=rows (drf-spectacular
    wraps it in the page)."""
    row = {
        "type": "object",
        "required": ["alertId", "diaSourceId", "diaObjectId", "midPointTai", "alertSentTimestamp"],
        "properties": {
            "alertId": {"type": "integer", "format": "int64"},
            "diaSourceId": {"type": "integer", "format": "int64"},
            "diaObjectId": {"type": "integer", "format": "int64"},
            "midPointTai": {"type": "number", "format": "double"},
            "alertSentTimestamp": {"type": "string", "format": "date-time", "nullable": True},
        },
    }
    return {"anyOf": [serializers.alert_schema(), row]}


@extend_schema_view(
    list=extend_schema(
        summary="List alerts",
        description=(
            "Whole alerts, as the original DESC TOM listed them: each the alert exactly as streamed "
            "(diaSource, prvDiaSources, prvDiaForcedSources, diaObject), in alertId order. With "
            "`shape=rows`, the alert rows instead (alertId, diaSourceId, diaObjectId, midPointTai, "
            "alertSentTimestamp; null until streamed). Users outside elasticc_admin see only sent "
            "alerts; for them `sent=false` is a 403."
        ),
        parameters=[
            OpenApiParameter(
                "shape", str, enum=list(ALERT_SHAPES), description="alerts (default): whole alerts; rows: alert rows"
            )
        ],
        responses={200: alert_list_item_schema()},
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

    def list(self, request, *args, **kwargs):
        shape = request.query_params.get("shape", "alerts")
        if shape not in ALERT_SHAPES:
            raise ValidationError({"shape": [f"Give one of {', '.join(ALERT_SHAPES)}."]})
        if shape == "rows":
            return super().list(request, *args, **kwargs)
        if wants_file(request) or self.chosen_fields():  # whole alerts are nested: files and columns are rows'
            raise ValidationError({"shape": ["Files and fields= list alert rows: add shape=rows."]})
        queryset = self.filter_queryset(self.get_queryset()).values(*self.columns())
        rows = self.paginator.paginate_queryset(queryset, request, view=self)
        # One set-based build for the page (elasticc/stream/alerts.py); an alert whose source
        # row is missing cannot be built and is left out of the page.
        with connection.cursor() as cursor:
            built = build_alerts_for_rows(
                [AlertRow(r["alertId"], r["diaObjectId"], r["diaSourceId"], r["midPointTai"]) for r in rows], cursor
            )
        return self.paginator.get_paginated_response([finite_tree(a) for a in built])

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
