"""The REST reads of the ELAsTiCC2 tables under /elasticc2/ (routes in elasticc2/api/urls.py,
docs in docs/api.md).

The lists and details are ELAsTiCC's engine (elasticc.api.viewsets.ColumnsViewSet): keyset
pages ``{count, count_is_estimate, next, previous, results}`` ordered by the table's id
column then its partition key, planner-estimated counts, rows as dicts of columns. What
differs per table is here: who sees which rows, and the original's answer shapes.

Who sees what (the same groups as ELAsTiCC, tom_desc/lib/groups.py):
- any logged-in user: the TOM-known tables, classifiers, broker messages, the taxonomy,
  and the ppdb rows the stream has made public (PpdbAlert.sent_of says which);
- members of ``elasticc_admin``: also the truth and every ppdb row, sent or not.
An unsent ppdb row is absent from a list and a 404 as a detail, as an unsent ELAsTiCC
alert is; ``ppdbalert/?sent=false`` is a 403 for other users.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from elasticc.api.brokermessages import SendsBrokerMessages, broker_message_body
from elasticc.api.schema import ApiSchema
from elasticc.api.serializers import BrokerMessageStoredSerializer, column_names
from elasticc.api.viewsets import ColumnsViewSet
from elasticc.permissions import BrokersWrite, IsElasticcAdmin
from elasticc2 import taxonomy
from elasticc2.api import filters, serializers
from elasticc2.brokertables import BROKER_TABLES
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
from tom_desc.lib.groups import is_admin
from tom_desc.lib.numbers import finite_tree

ADMIN_SEES_ALL = (
    "Users outside elasticc_admin see only what the alert stream has made public: objects with a "
    "sent alert, and sources and forced sources at or before their object's latest sent alert."
)


class PpdbViewSet(ColumnsViewSet):
    """A ppdb table: all rows for elasticc_admin, the sent ones (``model.sent()``) for others."""

    def get_queryset(self):
        if is_admin(self.request.user):
            return self.model.objects.all()
        return self.model.sent()


class WithOriginalObjectKey:
    """Rows also carry ``diaobject`` (= diaobject_id), the key of the original's ppdb API."""

    def present(self, rows: list[dict]) -> list[dict]:
        rows = super().present(rows)
        for row in rows:
            row[serializers.ORIGINAL_OBJECT_KEY] = row["diaobject_id"]
        return rows


@extend_schema_view(
    list=extend_schema(summary="List ppdb objects (the simulation)", description=ADMIN_SEES_ALL),
    retrieve=extend_schema(summary="One ppdb object"),
)
class PpdbDiaObjectViewSet(PpdbViewSet):
    model = PpdbDiaObject
    serializer_class = serializers.PpdbDiaObjectSerializer
    ordering = ("diaobject_id",)
    lookup_field = "diaobject_id"


@extend_schema_view(
    list=extend_schema(summary="List ppdb sources", description="Ordered by diasource_id. " + ADMIN_SEES_ALL),
    retrieve=extend_schema(summary="One ppdb source"),
)
class PpdbDiaSourceViewSet(WithOriginalObjectKey, PpdbViewSet):
    model = PpdbDiaSource
    serializer_class = serializers.PpdbDiaSourceSerializer
    filterset_class = filters.PpdbDiaSourceFilter
    ordering = ("diasource_id", "diaobject_id")
    lookup_field = "diasource_id"


@extend_schema_view(
    list=extend_schema(
        summary="List ppdb forced sources", description="Ordered by diaforcedsource_id. " + ADMIN_SEES_ALL
    ),
    retrieve=extend_schema(summary="One ppdb forced source"),
)
class PpdbDiaForcedSourceViewSet(WithOriginalObjectKey, PpdbViewSet):
    model = PpdbDiaForcedSource
    serializer_class = serializers.PpdbDiaForcedSourceSerializer
    filterset_class = filters.PpdbDiaForcedSourceFilter
    ordering = ("diaforcedsource_id", "diaobject_id")
    lookup_field = "diaforcedsource_id"


@extend_schema_view(
    list=extend_schema(
        summary="List ppdb alerts",
        description=(
            "Alert rows (alertsenttimestamp is null until the alert was streamed). Users outside "
            "elasticc_admin see only sent alerts; for them `sent=false` is a 403."
        ),
    ),
    retrieve=extend_schema(summary="One ppdb alert row (an unsent one is a 404 outside elasticc_admin)"),
)
class PpdbAlertViewSet(PpdbViewSet):
    model = PpdbAlert
    serializer_class = serializers.PpdbAlertSerializer
    filterset_class = filters.PpdbAlertFilter
    ordering = ("alert_id", "diaobject_id")
    lookup_field = "alert_id"

    def filter_queryset(self, queryset):
        if self.request.query_params.get("sent") == "false" and not is_admin(self.request.user):
            raise PermissionDenied("Only members of the elasticc_admin group may list unsent alerts.")
        return super().filter_queryset(queryset)


@extend_schema_view(
    list=extend_schema(summary="List object truth (elasticc_admin only)"),
    retrieve=extend_schema(summary="Truth of one object (elasticc_admin only)"),
)
class DiaObjectTruthViewSet(ColumnsViewSet):
    model = DiaObjectTruth
    serializer_class = serializers.DiaObjectTruthSerializer
    filterset_class = filters.DiaObjectTruthFilter
    permission_classes = [IsAuthenticated, IsElasticcAdmin]
    ordering = ("diaobject_id",)
    lookup_field = "diaobject_id"


@extend_schema_view(
    list=extend_schema(summary="List objects known to the TOM (sent in alerts)"),
    retrieve=extend_schema(summary="One object known to the TOM"),
)
class DiaObjectViewSet(ColumnsViewSet):
    model = DiaObject
    serializer_class = serializers.DiaObjectSerializer
    ordering = ("diaobject_id",)
    lookup_field = "diaobject_id"


@extend_schema_view(
    list=extend_schema(summary="List sources known to the TOM", description="Ordered by diasource_id."),
    retrieve=extend_schema(summary="One source known to the TOM"),
)
class DiaSourceViewSet(ColumnsViewSet):
    model = DiaSource
    serializer_class = serializers.DiaSourceSerializer
    filterset_class = filters.DiaSourceFilter
    ordering = ("diasource_id", "diaobject_id")
    lookup_field = "diasource_id"


@extend_schema_view(
    list=extend_schema(summary="List forced sources known to the TOM", description="Ordered by diaforcedsource_id."),
    retrieve=extend_schema(summary="One forced source known to the TOM"),
)
class DiaForcedSourceViewSet(ColumnsViewSet):
    model = DiaForcedSource
    serializer_class = serializers.DiaForcedSourceSerializer
    filterset_class = filters.DiaForcedSourceFilter
    ordering = ("diaforcedsource_id", "diaobject_id")
    lookup_field = "diaforcedsource_id"


@extend_schema_view(
    list=extend_schema(summary="List ELAsTiCC2 broker classifiers"),
    retrieve=extend_schema(summary="One ELAsTiCC2 broker classifier"),
)
class BrokerClassifierViewSet(ColumnsViewSet):
    model = BrokerClassifier
    serializer_class = serializers.BrokerClassifierSerializer
    filterset_class = filters.BrokerClassifierFilter
    ordering = ("classifier_id",)
    lookup_field = "classifier_id"


SEND_BODY = {"application/json": broker_message_body(BROKER_TABLES)}
SEND_DESCRIPTION = (
    "The original DESC TOM's ingest route (members of elasticc_broker): one brokerClassification record, or a "
    "list of them, with timestamps in milliseconds (integers or floats) and four-digit ELAsTiCC2 classIds; "
    "brokerPublishTimestamp is optional and stored as msghdrtimestamp. Each message becomes one row with its "
    "classIds and probabilities as two arrays. Validated, screened (the alert must be a sent ELAsTiCC2 alert with "
    "that source; probabilities add up to at most 1; the classifier caps) and stored exactly as brokerpoll stores "
    "Kafka messages; resending stores nothing new. Anything refused is a 400 naming the record (a three-digit "
    "classId names the taxonomy) and nothing of the request is stored. The answer is 201 with the original's "
    "brokerMessageId (the first message newly stored, or -1) and num_loaded, and its Location header."
)


@extend_schema_view(
    list=extend_schema(
        summary="List ELAsTiCC2 broker messages",
        description=(
            "One row per message; classid[i] has probability[i]. Ordered by brokermessage_id. "
            "brokername is resolved to classifier ids first."
        ),
    ),
    retrieve=extend_schema(summary="One ELAsTiCC2 broker message"),
    create=extend_schema(
        summary="Send ELAsTiCC2 broker classifications (elasticc_broker only)",
        description=SEND_DESCRIPTION + " PUT does the same.",
        request=SEND_BODY,
        responses={201: BrokerMessageStoredSerializer},
    ),
)
class BrokerMessageViewSet(SendsBrokerMessages, ColumnsViewSet):
    model = BrokerMessage
    serializer_class = serializers.BrokerMessageSerializer
    filterset_class = filters.BrokerMessageFilter
    permission_classes = [BrokersWrite]
    ordering = ("brokermessage_id", "classifier_id")
    lookup_field = "brokermessage_id"
    broker_tables = BROKER_TABLES

    def present(self, rows: list[dict]) -> list[dict]:
        return finite_tree(rows)  # through the probability arrays too

    @extend_schema(
        summary="Send ELAsTiCC2 broker classifications (the original's PUT)",
        description=SEND_DESCRIPTION,
        request=SEND_BODY,
        responses={201: BrokerMessageStoredSerializer},
    )
    def put_list(self, request, *args, **kwargs):
        return self.create(request, *args, **kwargs)


# ---- the original's object-with-photometry routes ----------------------------------------


class PpdbObjectWithPhotometry(ColumnsViewSet):
    """An object's columns plus ``diasources`` and ``diaforcedsources`` lists (each in time
    order), the shape of the original's two routes below. Visibility as for the ppdb lists."""

    model = PpdbDiaObject
    serializer_class = serializers.PpdbObjectWithSourcesSerializer
    pagination_class = None
    filter_backends: list = []
    ordering = ("diaobject_id",)
    missing_id = "Must give an id"

    def list(self, request, *args, **kwargs):
        raise ValidationError(self.missing_id)

    def answer(self, diaobject_id: int, through: float | None) -> Response:
        """The object and its photometry up to `through` (all of it when None)."""
        columns = column_names(PpdbDiaObject)
        found = list(PpdbDiaObject.objects.filter(diaobject_id=diaobject_id).values(*columns))
        if not found:
            raise NotFound(f"No ppdb object with diaobject_id {diaobject_id}.")
        answer = finite_tree(found[0])
        for key, model, id_column in (
            ("diasources", PpdbDiaSource, "diasource_id"),
            ("diaforcedsources", PpdbDiaForcedSource, "diaforcedsource_id"),
        ):
            # One partition, its (diaobject_id, midpointtai) index.
            rows = model.objects.filter(diaobject_id=diaobject_id)
            if through is not None:
                rows = rows.filter(midpointtai__lte=through)
            answer[key] = [
                {**finite_tree(row), serializers.ORIGINAL_OBJECT_KEY: diaobject_id}
                for row in rows.order_by("midpointtai", id_column).values(*column_names(model))
            ]
        return Response(answer)


@extend_schema_view(
    list=extend_schema(summary="Not a list: give an object id (400)"),
    retrieve=extend_schema(
        summary="A ppdb object with all its sources and forced sources",
        description="The original's route. " + ADMIN_SEES_ALL,
    ),
)
class PpdbDiaObjectWithSourcesViewSet(PpdbObjectWithPhotometry):
    lookup_field = "diaobject_id"
    missing_id = "Must give an object id"

    def retrieve(self, request, *args, **kwargs):
        diaobject_id = self.lookup_value()
        through = None
        if not is_admin(request.user):
            through = PpdbAlert.sent_horizon(diaobject_id)
            if through is None:
                raise NotFound(f"No ppdb object with diaobject_id {diaobject_id}.")
        return self.answer(diaobject_id, through)


@extend_schema_view(
    list=extend_schema(summary="Not a list: give a source id (400)"),
    retrieve=extend_schema(
        summary="The ppdb object of a source, with its sources and forced sources up to that source",
        description=(
            "The original's route: photometry with midpointtai at or before the source's. A source "
            "the stream has not made public is a 404 outside elasticc_admin."
        ),
    ),
)
class PpdbDiaObjectOfSourceViewSet(PpdbObjectWithPhotometry):
    lookup_field = "diasource_id"
    missing_id = "Must give a source id"

    def retrieve(self, request, *args, **kwargs):
        diasource_id = self.lookup_value()
        source = list(PpdbDiaSource.objects.filter(diasource_id=diasource_id).values("diaobject_id", "midpointtai"))
        if not source:
            raise NotFound(f"No ppdb source with diasource_id {diasource_id}.")
        diaobject_id, midpointtai = source[0]["diaobject_id"], source[0]["midpointtai"]
        if not is_admin(request.user):
            horizon = PpdbAlert.sent_horizon(diaobject_id)
            if horizon is None or midpointtai > horizon:
                raise NotFound(f"No ppdb source with diasource_id {diasource_id}.")
        return self.answer(diaobject_id, midpointtai)


# ---- the original's JSON views: classids and classifiers_json ----------------------------


class OriginalJsonView(APIView):
    """GET or POST (the body is ignored), any logged-in user, as in the original."""

    permission_classes = [IsAuthenticated]
    metadata_class = None
    schema = ApiSchema()

    def answer(self) -> dict:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        return Response(self.answer())

    def post(self, request, *args, **kwargs):
        return Response(self.answer())


CLASSIDS_RESPONSE = OpenApiResponse(serializers.CLASSIDS_ANSWER_SCHEMA)
CLASSIFIERS_RESPONSE = OpenApiResponse(serializers.CLASSIFIERS_ANSWER_SCHEMA)


@extend_schema_view(
    get=extend_schema(
        summary="The ELAsTiCC2 taxonomy, keyed by classId",
        description=(
            "The original's answer: every classId as a string key in numeric order (42), with its "
            "match flags, description and the SNANA gentypes under it. POST answers the same."
        ),
        responses={200: CLASSIDS_RESPONSE},
    ),
    post=extend_schema(summary="Same as GET", request=None, responses={200: CLASSIDS_RESPONSE}),
)
class ClassIdsView(OriginalJsonView):
    def answer(self) -> dict:
        return taxonomy.classids_answer()


@extend_schema_view(
    get=extend_schema(
        summary="The ELAsTiCC2 classifiers, keyed by classifier_id",
        description="The original's answer, `{}` when there is none yet. POST answers the same.",
        responses={200: CLASSIFIERS_RESPONSE},
    ),
    post=extend_schema(summary="Same as GET", request=None, responses={200: CLASSIFIERS_RESPONSE}),
)
class ClassifiersJsonView(OriginalJsonView):
    def answer(self) -> dict:
        rows = BrokerClassifier.objects.order_by("classifier_id").values_list(
            "classifier_id", "brokername", "brokerversion", "classifiername", "classifierparams"
        )
        return {
            str(cid): {"brokername": b, "brokerversion": v, "classifiername": c, "classifierparams": p}
            for cid, b, v, c, p in rows
        }
