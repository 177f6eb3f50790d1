"""Middleware that keeps the REST API a JSON API inside the TOM Toolkit's site.

The TOM Toolkit is built for browsers: with AUTH_STRATEGY = "LOCKED" its
AuthStrategyMiddleware answers an anonymous request with an HTML 403, and its
Raise403Middleware turns every 403 outside /api/ into a redirect to the login
page. A script asking /elasticc/diaobject/ without logging in must instead get
a JSON 401 it can read. settings.py swaps the two toolkit classes for the
subclasses below, which step aside for API requests (the API views check
authentication and permissions themselves, DRF's IsAuthenticated at least),
and adds ApiJsonErrorsMiddleware, which rewrites any non-JSON error response
on an API path as the JSON error body of tom_desc/errors.py.

An API request is one whose path starts with /api/, or that resolves to a
REST framework view of the elasticc app or drf-spectacular, or that is under
/elasticc/ and resolves to nothing (an unknown API URL is a JSON 404). The
HTML pages under /elasticc/ (e.g. the summary) keep the browser behaviour.
"""

from __future__ import annotations

from django.http import JsonResponse
from tom_common.middleware import AuthStrategyMiddleware, Raise403Middleware

from tom_desc.errors import error_body, is_api_path, resolves_to_api_view

KEPT_HEADERS = ("WWW-Authenticate", "Allow", "Retry-After")


class LockedSiteMiddleware(AuthStrategyMiddleware):
    """The toolkit's LOCKED strategy, except for API views (they answer 401 themselves)."""

    def __call__(self, request):
        if resolves_to_api_view(request.path_info):
            return self.get_response(request)
        return super().__call__(request)


class Raise403ExceptApiMiddleware(Raise403Middleware):
    """The toolkit's 403-to-login redirect, for pages only: an API 403 stays a 403."""

    def __call__(self, request):
        if is_api_path(request.path_info):
            return self.get_response(request)
        return super().__call__(request)


class ApiJsonErrorsMiddleware:
    """Any error response on an API path that is not JSON becomes the JSON error body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or "json" in response.get("Content-Type", ""):
            return response
        if not is_api_path(request.path_info):
            return response
        json_response = JsonResponse(error_body(response.status_code), status=response.status_code)
        for header in KEPT_HEADERS:
            if header in response:
                json_response[header] = response[header]
        return json_response
