"""Errors of the REST API are JSON, whatever raised them.

Two layers:

1. ``exception_handler`` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) for everything a
   DRF view raises: validation errors, authentication, permissions, 404s, and any
   unexpected exception (logged, answered as a JSON 500, transaction rolled back).
2. ``tom_desc.middleware.ApiJsonErrorsMiddleware`` for what happens outside a DRF
   view on an API path: an unknown URL under /elasticc/, Django's own 404/500,
   a 405 from a plain Django view.

Every error body has the same shape::

    {"status": 400, "code": "invalid", "detail": "limit: Must be an integer ...",
     "field": "limit", "errors": {"limit": ["Must be an integer ..."]}}

``field`` and ``errors`` appear on validation errors only.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig
from django.urls import Resolver404, resolve
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
ELASTICC_PREFIX = ("/elasticc/", "/elasticc2/")  # an unknown URL under either campaign: a JSON error
# REST views that check authentication themselves (the LOCKED-site middleware steps aside for them).
API_VIEW_MODULES = ("elasticc.", "elasticc2.", "followup.", "drf_spectacular.", "apitokens.password_auth")


def resolves_to_api_view(path: str) -> bool | None:
    """True for an elasticc/drf-spectacular REST view, False for another view, None if nothing matches."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    cls = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    return bool(cls is not None and hasattr(cls, "permission_classes") and cls.__module__.startswith(API_VIEW_MODULES))


def is_api_path(path: str) -> bool:
    if path.startswith(API_PREFIX):
        return True
    if not path.startswith(ELASTICC_PREFIX):
        return resolves_to_api_view(path) is True
    return resolves_to_api_view(path) is not False


DEFAULT_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}


def _first_message(value) -> tuple[str | None, str]:
    """(field path, message) of the first error in DRF's nested error data."""
    if isinstance(value, dict):
        for key, inner in value.items():
            field, message = _first_message(inner)
            if key == "non_field_errors":
                return field, message
            return (f"{key}.{field}" if field else str(key)), message
        return None, ""
    if isinstance(value, (list, tuple)):
        for inner in value:
            return _first_message(inner)
        return None, ""
    return None, str(value)


def error_body(status: int, data=None, code: str | None = None) -> dict:
    """The common error body for a status and DRF-style error data."""
    body = {"status": status, "code": code or DEFAULT_CODES.get(status, "error")}
    if isinstance(data, dict) and list(data) == ["detail"]:
        body["detail"] = str(data["detail"])
    elif status == 400 and data:
        field, message = _first_message(data)
        body["detail"] = f"{field}: {message}" if field else message
        if field:
            body["field"] = field
        body["errors"] = data if isinstance(data, dict) else {"non_field_errors": data}
    elif data:
        body["detail"] = _first_message(data)[1]
    else:
        try:
            body["detail"] = HTTPStatus(status).phrase
        except ValueError:
            body["detail"] = "Error"
    return body


def exception_handler(exc, context):
    """DRF's handler, then the common error shape; unexpected exceptions become a JSON 500."""
    if isinstance(exc, RequestDataTooBig):
        detail = f"{exc} Send it in smaller parts (e.g. fewer messages at once)."
        return Response(error_body(413, {"detail": detail}), status=413)
    response = drf_exception_handler(exc, context)
    if response is None:
        request = context.get("request")
        log.error(
            "unhandled error in %s %s", getattr(request, "method", "?"), getattr(request, "path", "?"), exc_info=exc
        )
        set_rollback()
        return Response(error_body(500, {"detail": "Internal server error."}), status=500)
    code = None
    if isinstance(exc, APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "invalid"
    response.data = error_body(response.status_code, response.data, code)
    return response


# ---- Django's own 404/500 (settings.ROOT_URLCONF handler404 / handler500) ---------------


def page_not_found(request, exception=None):
    """JSON 404 on API paths (e.g. an unknown URL under /elasticc/); Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views import defaults

    if is_api_path(request.path_info):
        return JsonResponse(error_body(404, {"detail": "No such API route."}), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """JSON 500 on API paths; Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views import defaults

    if is_api_path(request.path_info):
        return JsonResponse(error_body(500, {"detail": "Internal server error."}), status=500)
    return defaults.server_error(request)
