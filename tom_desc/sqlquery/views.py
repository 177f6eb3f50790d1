"""HTTP endpoints of the SQL interface; the work is done in runner.py and longqueries.py.

Every answer is JSON ({"status": "error", "error": ...} with a 4xx code on failure),
except the result download. Authentication: an API token (Authorization: Token ...)
or a session cookie with the CSRF header. Unauthenticated requests, and session
requests without a valid CSRF token, get 401: the TOM's middleware turns any 403 on
non-/api/ paths into a redirect to the login page, which a script could not read.
"""

from __future__ import annotations

import logging
import uuid

from django.http import FileResponse, JsonResponse, StreamingHttpResponse
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView
from tom_common.accounts.api_auth import TomTokenAuthentication

from sqlquery import longqueries, runner
from sqlquery.models import LongQuery
from sqlquery.results import CONTENT_TYPES

log = logging.getLogger(__name__)


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"status": "error", "error": message}, status=status)


class SqlApiView(APIView):
    authentication_classes = [TomTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    def handle_exception(self, exc):
        if isinstance(
            exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied)
        ):  # PermissionDenied: CSRF; see the docstring
            response = error(str(exc.detail), 401)
            response["WWW-Authenticate"] = 'Token realm="api"'
            return response
        if isinstance(exc, exceptions.APIException):
            return error(str(exc.detail), exc.status_code)
        if isinstance(exc, runner.QueryError):
            return error(str(exc), 400)
        log.exception("sqlquery: unexpected error")
        return error(f"internal error: {type(exc).__name__}", 500)

    def body(self, request):
        try:
            return request.data
        except exceptions.ParseError as exc:
            raise runner.QueryError(f"the body is not valid JSON: {exc.detail}") from None

    def own_query(self, request, queryid) -> LongQuery | None:
        try:
            key = uuid.UUID(str(queryid))
        except ValueError:
            return None
        return longqueries.visible_to(request.user).filter(id=key).first()


class RunSqlQuery(SqlApiView):
    """POST {"query": str | [str], "subdict": dict | [dict]} -> {"status": "ok", "rows": [...]}."""

    def post(self, request):
        return StreamingHttpResponse(runner.run_sync(request.user, self.body(request)), content_type="application/json")


class SubmitSqlQuery(SqlApiView):
    """POST {"query", "subdict", "format": csv|parquet|json} -> {"status": "ok", "queryid": ...}."""

    def post(self, request):
        query = longqueries.submit(request.user, self.body(request))
        return JsonResponse({"status": "ok", "queryid": str(query.id)})


class CheckSqlQuery(SqlApiView):
    """GET -> {"queryid", "status": queued|started|finished|error, "submitted", "started", ...}."""

    def get(self, request, queryid):
        query = self.own_query(request, queryid)
        if query is None:
            return error(f"no query {queryid}", 404)
        if query.status == LongQuery.STARTED and longqueries.recover_if_dead(query.id):
            query.refresh_from_db()  # its runner died: now queued again (or failed)
        return JsonResponse(longqueries.describe(query))


class GetSqlQueryResults(SqlApiView):
    """GET -> the result file of a finished query, streamed."""

    def get(self, request, queryid):
        query = self.own_query(request, queryid)
        if query is None:
            return error(f"no query {queryid}", 404)
        if query.status != LongQuery.FINISHED:
            detail = f": {query.error}" if query.error else ""
            return error(f"query {queryid} is {query.status}, not finished{detail}", 400)
        path = longqueries.result_path(query)
        if path is None or not path.exists():
            return error(f"the results of query {queryid} have been removed", 410)
        return FileResponse(
            open(path, "rb"),
            as_attachment=True,
            filename=f"sqlquery-{path.name}",
            content_type=CONTENT_TYPES[query.format],
        )
