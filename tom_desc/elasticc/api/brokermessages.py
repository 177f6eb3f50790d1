"""Broker messages over REST: the list and detail, brokers sending classifications (PUT/POST),
and the original DESC TOM's path filters (``brokermessage/alertid=N/``). docs/api.md.

Sending stores through the same path as Kafka ingest: each record is validated
(elasticc/stream/ingest.py), the batch is screened against the alerts table and the
classifier caps (elasticc/stream/admission.py) and stored in one transaction; anything
refused makes the request a 400 naming the record, and nothing of it is stored.
``SendsBrokerMessages`` is that write path for any campaign's viewset: ELAsTiCC's below,
ELAsTiCC2's in elasticc2/api/viewsets.py, each naming its campaign's ``broker_tables``.

The answer carries this site's keys (``brokerMessageIds``, ``stored``, ``duplicates``,
``classifications``) and the original's (``brokerMessageId``: the first message newly
stored, or -1; ``num_loaded``: how many were) with its ``Location`` header. Timestamps are
milliseconds since 1970 as integers or, as the original's test client sends them, floats.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from elasticc.api import filters, serializers
from elasticc.api.schema import ApiSchema
from elasticc.api.viewsets import ColumnsViewSet
from elasticc.models import BrokerClassification, BrokerClassifier, BrokerMessage
from elasticc.permissions import BrokersWrite
from elasticc.stream import admission, ingest
from elasticc.stream.brokertables import ELASTICC, BrokerTables
from tom_desc.lib.numbers import finite_or_none, float32, is_int64

# More records than this in one PUT/POST is a 400 (and a body over
# DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB by default, a 413): split big uploads into batches.
MAX_MESSAGES_PER_REQUEST = 1000
TIMESTAMP_FIELDS = ("elasticcPublishTimestamp", "brokerIngestTimestamp", "brokerPublishTimestamp")


def from_millis(record: dict, name: str):
    """A timestamp in milliseconds since 1970 (an integer, or a float as the original's clients
    send) -> aware datetime, to the microsecond (None stays None)."""
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ingest.InvalidBrokerMessage(name, "must be a number of milliseconds since 1970-01-01")
    if isinstance(value, float) and not math.isfinite(value):
        raise ingest.InvalidBrokerMessage(name, "must be a finite number of milliseconds since 1970-01-01")
    if not serializers.MIN_MILLIS <= value <= serializers.MAX_MILLIS:
        raise ingest.InvalidBrokerMessage(name, "is out of range")
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ingest.InvalidBrokerMessage(name, "is out of range") from None


def broker_message_body(tables: BrokerTables = ELASTICC) -> dict:
    """The OpenAPI request body of PUT/POST brokermessage/: one record or a list, classIds from
    the campaign's taxonomy."""
    one = serializers.broker_message_request_schema(tables)
    return {"oneOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": MAX_MESSAGES_PER_REQUEST}]}


BROKER_MESSAGE_BODY = broker_message_body()


def _records(body) -> tuple[list, bool]:
    if not isinstance(body, (list, dict)):
        raise ValidationError({"body": ["Send a brokerClassification object or a list of them."]})
    many = isinstance(body, list)
    records = body if many else [body]
    if not records:
        raise ValidationError({"body": ["The list is empty."]})
    if len(records) > MAX_MESSAGES_PER_REQUEST:
        raise ValidationError({"body": [f"At most {MAX_MESSAGES_PER_REQUEST} messages per request."]})
    return records, many


def _validated(record, received: datetime, tables: BrokerTables) -> dict:
    if not isinstance(record, dict):
        raise ingest.InvalidBrokerMessage("message", "must be an object")
    record = dict(record)
    for name in TIMESTAMP_FIELDS:
        record[name] = from_millis(record, name)
    published = record["brokerPublishTimestamp"]
    record = ingest.validate_classification(record, tables)
    for c in record["classifications"]:
        # The column is a 4-byte real (as the Avro float of the Kafka path); JSON numbers are
        # doubles, and e.g. 1e-308 would not fit: round as Avro would.
        c["probability"] = float32(c["probability"])
    # msgHdrTimestamp: when the broker published (the original stored brokerPublishTimestamp
    # there), else when this site received the message (ELAsTiCC) or nothing (ELAsTiCC2, as
    # the original: its descingesttimestamp says when the message arrived).
    record["msgHdrTimestamp"] = published or (received if tables.rest_header_is_receipt else None)
    return record


class SendsBrokerMessages:
    """PUT/POST of a brokermessage list route: validate, screen and store the records in
    ``broker_tables``' campaign, answer 201 with this site's keys and the original's
    (``brokerMessageId``, ``num_loaded``) and its ``Location`` header."""

    broker_tables: BrokerTables = ELASTICC

    def create(self, request, *args, **kwargs):
        tables = self.broker_tables
        records, many = _records(request.data)
        received = timezone.now()
        validated = []
        for i, record in enumerate(records):
            try:
                validated.append(_validated(record, received, tables))
            except ingest.InvalidBrokerMessage as error:
                prefix = f"[{i}]." if many else ""
                field = (f"[{i}]" if many else "body") if error.field == "message" else prefix + error.field
                raise ValidationError({field: [error.reason]}) from None
        registered_by = f"rest:{request.user.get_username()}"
        with transaction.atomic():
            refused = admission.screen(validated, registered_by, tables=tables)
            if refused:
                raise ValidationError({(f"[{i}]" if many else "body"): [reason] for i, reason in refused.items()})
            result = ingest.store_broker_messages(
                [(record, None) for record in validated], tables=tables, registered_by=registered_by
            )
        first = result.first_new if result.first_new is not None else -1
        response = Response(
            {
                "brokerMessageIds": result.brokerMessageIds,
                "stored": result.stored,
                "duplicates": result.duplicates,
                "classifications": result.classifications,
                "brokerMessageId": first,
                "num_loaded": result.stored,
            },
            status=201,
        )
        # As the original: the request's URL (no query string, with its trailing slash) + the id.
        url = request.build_absolute_uri(request.path)
        response["Location"] = f"{url if url.endswith('/') else url + '/'}{first}"
        return response

    def put_list(self, request, *args, **kwargs):
        return self.create(request, *args, **kwargs)


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
            "One brokerClassification record, or a list of them, as JSON with timestamps in milliseconds "
            "(integers, or floats as the original DESC TOM's clients send); brokerPublishTimestamp is "
            "optional and stored as msgHdrTimestamp. Stored exactly as the Kafka path stores them "
            "(elasticc/stream/ingest.py); resending a message stores nothing new. A malformed record, one "
            "about an unknown or unsent alert or with another source than its alert's, probabilities "
            "adding up to more than 1, or a new classifier beyond the caps is a 400 naming the record, and "
            "nothing of that request is stored. PUT does the same as POST."
        ),
        request={"application/json": BROKER_MESSAGE_BODY},
        responses={201: serializers.BrokerMessageStoredSerializer},
    ),
)
class BrokerMessageViewSet(SendsBrokerMessages, ColumnsViewSet):
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

    @extend_schema(
        summary="Send broker classifications (same as POST)",
        request={"application/json": BROKER_MESSAGE_BODY},
        responses={201: serializers.BrokerMessageStoredSerializer},
    )
    def put_list(self, request, *args, **kwargs):
        return self.create(request, *args, **kwargs)


# ------------------------------------------------------------------ the original's path filters

MAX_FILTER_IDS = 1000
MAX_NUM = 10_000
FILTER_PIECE = re.compile(r"^([a-z0-9]+)=(.*)$")
FILTER_KEYS = {
    "alertid": "alert",
    "objectid": "object",
    "diaobjectid": "object",
    "sourceid": "source",
    "diasourceid": "source",
}

# Messages of the sources of some objects: the sources come from elasticc_diasource_obj_time
# (one partition per object), the messages from elasticc_brokermessage_source.
OBJECT_SOURCES_SQL = """
    SELECT "diaSourceId" FROM elasticc_diasource WHERE "diaObjectId" = ANY(%s::bigint[])
"""


def _millis(value: datetime | None) -> int | None:
    return None if value is None else round(value.timestamp() * 1000)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_filter(info: str) -> tuple[str, list[int]]:
    """("alert" | "object" | "source", ids) of a path such as ``alertid=5,6``; ValidationError if
    it is not exactly one known filter of integer ids."""
    pieces = [p for p in info.split("/") if p]
    if len(pieces) != 1:
        raise ValidationError({"path": [f"Give exactly one filter such as alertid=N, not {info!r}."]})
    match = FILTER_PIECE.match(pieces[0])
    if not match or match.group(1) not in FILTER_KEYS:
        raise ValidationError(
            {"path": [f"Can't parse argument string {info!r}: use alertid=, objectid= or sourceid= with ids."]}
        )
    try:
        ids = [int(v) for v in match.group(2).split(",")]
    except ValueError:
        raise ValidationError({"path": [f"{match.group(1)} takes integer ids separated by commas."]}) from None
    if not all(is_int64(v) for v in ids) or not 1 <= len(ids) <= MAX_FILTER_IDS:
        raise ValidationError({"path": [f"{match.group(1)} takes 1 to {MAX_FILTER_IDS} 64-bit integer ids."]})
    return FILTER_KEYS[match.group(1)], ids


def _paging(request) -> tuple[int, int | None]:
    params = request.data if request.method == "POST" and isinstance(request.data, dict) else request.query_params
    raw_offset, raw_num = params.get("offset", 0), params.get("num", 100)
    try:
        offset = int(raw_offset)
        num = None if str(raw_num).lower() == "none" else int(raw_num)
    except (TypeError, ValueError):
        raise ValidationError({"num": ["offset and num are whole numbers (num may be None for all)."]}) from None
    if offset < 0 or (num is not None and not 1 <= num <= MAX_NUM):
        raise ValidationError({"num": [f"offset must be 0 or more and num from 1 to {MAX_NUM} (or None)."]})
    return offset, num


def _message_dicts(messages: list[BrokerMessage]) -> list[dict]:
    """The original's message dicts: timestamps of the alert as integer milliseconds, the others
    ISO strings, the classifier named in each classification."""
    classifier_ids = sorted({m.classifierId for m in messages})
    classifiers = {c.classifierId: c for c in BrokerClassifier.objects.filter(classifierId__in=classifier_ids)}
    pairs: dict[int, list] = {m.brokerMessageId: [] for m in messages}
    for c in BrokerClassification.objects.filter(
        classifierId__in=classifier_ids, brokerMessageId__in=list(pairs)
    ).order_by("brokerMessageId", "classId"):
        pairs[c.brokerMessageId].append(c)
    out = []
    for m in messages:
        classifier = classifiers.get(m.classifierId)
        out.append(
            {
                "brokerMessageId": m.brokerMessageId,
                "streamMessageId": m.streamMessageId,
                "alertId": m.alertId,
                "diaSourceId": m.diaSourceId,
                "msgHdrTimestamp": _iso(m.msgHdrTimestamp),
                "descIngestTimestamp": _iso(m.descIngestTimestamp),
                "elasticcPublishTimestamp": _millis(m.elasticcPublishTimestamp),
                "brokerIngestTimestamp": _millis(m.brokerIngestTimestamp),
                "brokerName": classifier.brokerName if classifier else "<unknown>",
                "brokerVersion": classifier.brokerVersion if classifier else "<unknown>",
                "classifierId": m.classifierId,
                "classifications": [
                    {
                        "classifierName": classifier.classifierName if classifier else None,
                        "classifierParams": classifier.classifierParams if classifier else None,
                        "classId": c.classId,
                        "probability": finite_or_none(c.probability),
                    }
                    for c in pairs[m.brokerMessageId]
                ],
            }
        )
    return out


class BrokerMessageFilterView(APIView):
    """``/elasticc/brokermessage/alertid=N[,M...]/`` (also ``objectid=``/``diaobjectid=``,
    ``sourceid=``/``diasourceid=``): the original's message lists, answered in its shape
    ``{offset, num, totalcount, count, brokermessages}``, paged by ``offset`` and ``num``
    (default 100; ``None`` for all, up to MAX_NUM) from the query string or a POSTed body."""

    permission_classes = [IsAuthenticated]
    schema = ApiSchema()

    @extend_schema(
        summary="Broker messages by alert, object or source (the original's path filters)",
        parameters=[
            OpenApiParameter("info", str, OpenApiParameter.PATH, description="alertid=, objectid= or sourceid= ids"),
            OpenApiParameter("offset", int, description="messages to skip (ordered by brokerMessageId)"),
            OpenApiParameter("num", str, description=f"messages to return (default 100, at most {MAX_NUM}, or None)"),
        ],
        responses={200: serializers.OriginalMessageListSerializer},
    )
    def get(self, request, info: str):
        kind, ids = parse_filter(info)
        offset, num = _paging(request)
        if kind == "object":
            with connection.cursor() as cur:
                cur.execute(OBJECT_SOURCES_SQL, [ids])
                kind, ids = "source", [r[0] for r in cur.fetchall()]
        messages = BrokerMessage.objects.filter(**{"alertId__in" if kind == "alert" else "diaSourceId__in": ids})
        total = messages.count()
        if num is None and total - offset > MAX_NUM:
            raise ValidationError(
                {"num": [f"{total - offset} messages match; page with offset and num (<= {MAX_NUM})."]}
            )
        page = list(messages.order_by("brokerMessageId", "classifierId")[offset : offset + (num or MAX_NUM)])
        return Response(
            {
                "offset": offset,
                "num": num,
                "totalcount": total,
                "count": len(page),
                "brokermessages": _message_dicts(page),
            }
        )

    @extend_schema(exclude=True)
    def post(self, request, info: str):
        return self.get(request, info)
