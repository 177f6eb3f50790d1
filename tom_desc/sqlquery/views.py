"""HTTP endpoints of the SQL interface, with the original DESC TOM's contract; the work is in
sync.py, longqueries.py and slots.py.

The original's clients POST JSON and raise on any status but 200, then read "status". So:

- a failed query or a body that cannot be run answers HTTP 200
  {"status": "error", "error": "<message>"} (runsqlquery, submitsqlquery, checksqlquery);
- what is wrong with the HTTP request itself stays 4xx: not logged in (401, JSON: the TOM's
  middleware would turn a 403 outside /api/ into a login redirect a script cannot read),
  a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413), a body that is not JSON, nests too
  deeply or holds a lone UTF-16 surrogate (400), too many SQL requests at once (429 with Retry-After);
- checksqlquery and getsqlqueryresults answer POST (as the original) and GET;
- the body is read as JSON whatever its Content-Type (the original's clients send
  requests' json=, or data= with a JSON string).

Authentication: the REST API's (token, HTTP Basic, or a session cookie with the CSRF header).
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.http import FileResponse, JsonResponse, StreamingHttpResponse
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from sqlquery import longqueries, slots, sync
from sqlquery.models import LongQuery
from sqlquery.request import QueryError
from sqlquery.results import CONTENT_TYPES
from tom_desc.lib import parsers

log = logging.getLogger(__name__)


def error(message: str, status: int = 200) -> JsonResponse:
    return JsonResponse({"status": "error", "error": message}, status=status)


class BadRequest(Exception):
    """The HTTP request itself is malformed: answered with `status`, not as a query error."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class LeaveTheBody(BaseParser):
    """Every media type, nothing read: the body is SqlApiView.body()'s to read (the CSRF check
    asks the REST framework for form fields, which would otherwise parse it, or refuse it)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class SqlApiView(APIView):
    authentication_classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES
    permission_classes = [IsAuthenticated]
    parser_classes = [LeaveTheBody]

    def handle_exception(self, exc):
        if isinstance(
            exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied)
        ):  # PermissionDenied: CSRF; see the docstring
            response = error(str(exc.detail), 401)
            response["WWW-Authenticate"] = 'Token realm="api"'
            return response
        if isinstance(exc, exceptions.APIException):
            return error(str(exc.detail), exc.status_code)
        if isinstance(exc, BadRequest):
            return error(str(exc), exc.status)
        if isinstance(exc, QueryError):
            return error(str(exc))
        if isinstance(exc, slots.Busy):
            response = error(str(exc), 429)
            response["Retry-After"] = str(slots.RETRY_AFTER)
            return response
        log.exception("sqlquery: unexpected error")
        return error(f"internal error: {type(exc).__name__}", 500)

    def body(self, request, empty_ok: bool = False):
        """The request body as JSON: 413 over the size limit, 400 if it is not JSON (or nests too
        deeply, or holds a lone surrogate, which no UTF-8 text can: tom_desc.lib.parsers)."""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = request.META.get("CONTENT_LENGTH") or "0"
        if limit is not None and length.isdigit() and int(length) > limit:
            raise BadRequest(f"the request body is {int(length):,} bytes, more than the {limit:,} allowed", 413)
        raw = request.body
        if empty_ok and not raw.strip():
            return {}
        try:  # the site's one JSON parser: not JSON, nested too deeply or a lone surrogate is a 400
            return parsers.loads(raw)
        except exceptions.ParseError as exc:
            raise BadRequest(str(exc.detail)) from None

    def own_query(self, request, queryid) -> LongQuery | None:
        try:
            key = uuid.UUID(str(queryid))
        except ValueError:
            return None
        return longqueries.visible_to(request.user).filter(id=key).first()


class RunSqlQuery(SqlApiView):
    """POST {"query": str | [str], "subdict": dict | [dict], "format": 0 | 1} -> {"status": "ok", "rows": [...]}."""

    def post(self, request):
        body = self.body(request)
        slot = slots.Slot(request.user)
        try:
            pieces = sync.run_sync(request.user, body)
        except BaseException:
            slot.release()
            raise
        return StreamingHttpResponse(slots.Released(pieces, slot), content_type="application/json")


class SubmitSqlQuery(SqlApiView):
    """POST {"query", "subdict", "format": csv|pandas|parquet|json|ecsv|votable} -> {"status": "ok", "queryid": ...}."""

    def post(self, request):
        query = longqueries.submit(request.user, self.body(request))
        return JsonResponse({"status": "ok", "queryid": str(query.id)})


class CheckSqlQuery(SqlApiView):
    """POST or GET -> {"queryid", "queries", "subdicts", "status": queued|started|finished|error,
    "submitted", "started", "finished", "error", ...}."""

    def post(self, request, queryid):
        query = self.own_query(request, queryid)
        if query is None:
            return error(f"Unknown query {queryid}")
        if query.status == LongQuery.STARTED and longqueries.recover_if_dead(query.id):
            query.refresh_from_db()  # its runner died: now queued again (or failed)
        return JsonResponse(longqueries.describe(query))

    get = post


class GetSqlQueryResults(SqlApiView):
    """POST or GET -> the result file of a finished query, streamed."""

    def post(self, request, queryid):
        query = self.own_query(request, queryid)
        if query is None:
            return error(f"Unknown query {queryid}", 404)
        if query.status != LongQuery.FINISHED:
            detail = f": {query.error}" if query.error else ""
            return error(f"query {queryid} is {query.status}, not finished{detail}", 400)
        path = longqueries.result_path(query)
        if path is None or not path.exists():
            return error(f"the results of query {queryid} have been removed", 410)
        slot = slots.Slot(request.user)
        try:
            content = slots.Released(open(path, "rb"), slot)  # noqa: SIM115 (the response closes it)
        except BaseException:
            slot.release()
            raise
        return FileResponse(
            content, as_attachment=True, filename=f"sqlquery-{path.name}", content_type=CONTENT_TYPES[query.format]
        )

    get = post
