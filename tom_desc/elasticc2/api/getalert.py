"""``/elasticc2/getalert``: one ELAsTiCC2 alert as the original DESC TOM answered it.

The body is JSON, read even on a GET as the original read it: ``{"alertid": N}`` or
``{"sourceid": N}`` (alertid wins when both are given). The answer is the alert dict, exactly
what ``send_elasticc2_alerts`` streams on the WFD topic (ELAsTiCC's one alert assembler over
the ELAsTiCC2 ppdb tables, 365 days of history): ``{alertId, diaSource, prvDiaSources,
prvDiaForcedSources, diaObject}``, sent or not.

Errors are the original's, HTTP 500 with a plain-text body starting ``Exception in GetAlert:``,
because its clients and tests read exactly that. Who may see what follows the site's rule for
the ppdb tables: an alert not sent yet is shown only to members of ``elasticc_admin``; to
anyone else it does not exist (the same answer as an unknown id, so its existence leaks nothing).
"""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from elasticc.api.schema import ApiSchema
from elasticc.stream import alerts
from elasticc2.models import PpdbAlert
from tom_desc.lib.groups import is_admin
from tom_desc.lib.numbers import finite_tree, is_int64

CAMPAIGN = "elasticc2"
NO_SUCH_ALERT = "PPDBAlert matching query does not exist."  # the original's text (Django's DoesNotExist)
MISSING_KEYS = "Must supply either alertid or sourceid"


class GetAlertError(Exception):
    """What the original answered with a 500 and "Exception in GetAlert: <message>"."""


def error_response(message: str) -> HttpResponse:
    response = HttpResponse(f"Exception in GetAlert: {message}", status=500, content_type="text/plain; charset=utf-8")
    response.original_text_error = True  # kept as it is by tom_desc.middleware.ApiJsonErrorsMiddleware
    return response


def _as_id(value, column: str) -> int | None:
    """The id as an integer (None when no bigint can be it), or the original's error for a non-number."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise GetAlertError(f"Field '{column}' expected a number but got {value!r}.")
    try:
        number = int(value)
    except ValueError:
        raise GetAlertError(f"Field '{column}' expected a number but got {value!r}.") from None
    return number if is_int64(number) else None


def find_alert(body, user) -> alerts.AlertRow:
    """The alert row the body asks for, or GetAlertError with the original's message."""
    if not isinstance(body, dict) or ("alertid" not in body and "sourceid" not in body):
        raise GetAlertError(MISSING_KEYS)
    with connection.cursor() as cursor:
        if "alertid" in body:
            alert_id = _as_id(body["alertid"], "alert_id")
            found = [] if alert_id is None else alerts.fetch_alert_rows([alert_id], cursor, CAMPAIGN)
            row = found[0] if found else None
            missing = NO_SUCH_ALERT
        else:
            source_id = _as_id(body["sourceid"], "diasource_id")
            row = None if source_id is None else alerts.alert_row_of_source(source_id, cursor, CAMPAIGN)
            missing = f"Unknown sourceid {body['sourceid']}"
    if row is None:
        raise GetAlertError(missing)
    if not is_admin(user):
        sent = PpdbAlert.objects.filter(
            diaobject_id=row.diaObjectId, alert_id=row.alertId, alertsenttimestamp__isnull=False
        ).exists()
        if not sent:
            raise GetAlertError(missing)
    return row


ALERT_EXAMPLE = {
    "alertId": 155218500031,
    "diaSource": {"diaSourceId": 155218500031, "diaObjectId": 1552185, "midPointTai": 60294.171, "...": "..."},
    "prvDiaSources": [{"diaSourceId": 155218500005, "...": "..."}],
    "prvDiaForcedSources": [{"diaForcedSourceId": 155218500000, "...": "..."}],
    "diaObject": {"diaObjectId": 1552185, "simVersion": "2023-04-01", "ra": 93.7, "decl": -65.5, "...": "..."},
}
ALERT_RESPONSE = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="The alert (elasticc.v0_9_1.alert as a JSON object).",
    examples=[OpenApiExample("an alert", value=ALERT_EXAMPLE)],
)
ERROR_RESPONSE = OpenApiResponse(
    {"type": "string"},
    description="text/plain, as the original: `Exception in GetAlert: PPDBAlert matching query does not exist.`, "
    "`... Unknown sourceid N` or `... Must supply either alertid or sourceid`.",
)
BODY = {
    "application/json": {
        "type": "object",
        "properties": {"alertid": {"type": "integer"}, "sourceid": {"type": "integer"}},
    }
}
DESCRIPTION = (
    "The original's route: the JSON body names `alertid` or `sourceid` (alertid wins); the answer is the "
    "alert as send_elasticc2_alerts streams it (365 days of history). An alert not sent yet is shown to "
    "members of elasticc_admin only. Errors are the original's: HTTP 500, text/plain."
)


@extend_schema_view(
    get=extend_schema(
        summary="One ELAsTiCC2 alert, by alert or source id",
        description=DESCRIPTION,
        request=BODY,
        responses={(200, "application/json"): ALERT_RESPONSE, (500, "text/plain"): ERROR_RESPONSE},
    ),
    post=extend_schema(
        summary="Same as GET",
        request=BODY,
        responses={(200, "application/json"): ALERT_RESPONSE, (500, "text/plain"): ERROR_RESPONSE},
    ),
)
class GetAlertView(APIView):
    """GET or POST, any logged-in user (token, Basic or session with the CSRF header)."""

    permission_classes = [IsAuthenticated]
    metadata_class = None
    schema = ApiSchema()

    def get(self, request, *args, **kwargs):
        return self.answer(request)

    def post(self, request, *args, **kwargs):
        return self.answer(request)

    def answer(self, request):
        try:
            try:
                body = json.loads(request.body or b"null")
            except ValueError as exc:
                raise GetAlertError(str(exc)) from None
            row = find_alert(body, request.user)
            with connection.cursor() as cursor:
                built = alerts.build_alerts_for_rows([row], cursor, CAMPAIGN)
            if not built:  # an alert row whose source row is gone
                raise GetAlertError(f"the source {row.diaSourceId} of alert {row.alertId} is missing")
        except GetAlertError as exc:
            return error_response(str(exc))
        return Response(finite_tree(built[0]))
