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

An API path that is not an API view (an unknown route, a non-numeric id, a missing
trailing slash) is answered in the order the API promises (docs/api.md): no valid
credentials, a JSON 401; then, for a client that did authenticate (session, token or
Basic), what the site answers: a JSON 404, or for a GET/HEAD without its trailing slash the
301 to the URL with it (what Django and the original site do; ``requests`` follows it and
keeps the token). Another method without the slash gets a JSON 404 naming the right URL,
since following a 301 would silently drop its body.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, NotAuthenticated
from rest_framework.request import Request
from rest_framework.settings import api_settings
from tom_common.middleware import AuthStrategyMiddleware, Raise403Middleware

from tom_desc.errors import error_body, is_api_path, resolves_to_api_view

KEPT_HEADERS = ("WWW-Authenticate", "Allow", "Retry-After")
SAFE_METHODS = ("GET", "HEAD")


def credentials_problem(request) -> APIException | None:
    """None when the request is authenticated (session, or the REST API's token/Basic
    authentication), else the REST framework error to answer (401, or 429 when locked out)."""
    if request.user.is_authenticated:
        return None
    authenticators = [
        cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES if not issubclass(cls, SessionAuthentication)
    ]
    try:
        user = Request(request, authenticators=authenticators).user
    except APIException as exc:
        return exc
    return None if user.is_authenticated else NotAuthenticated()


def json_error(exc: APIException) -> JsonResponse:
    response = JsonResponse(error_body(exc.status_code, {"detail": exc.detail}), status=exc.status_code)
    if exc.status_code == 401:
        response["WWW-Authenticate"] = "Token"
    wait = getattr(exc, "wait", None)
    if wait:
        response["Retry-After"] = str(int(wait))
    return response


def slash_would_resolve(path: str) -> bool:
    if path.endswith("/"):
        return False
    try:
        resolve(path + "/")
    except Resolver404:
        return False
    return True


class LockedSiteMiddleware(AuthStrategyMiddleware):
    """The toolkit's LOCKED strategy for pages; API routes authenticate as the API does."""

    def __call__(self, request):
        path = request.path_info
        if resolves_to_api_view(path):
            return self.get_response(request)  # the view answers 401 itself
        if is_api_path(path):
            problem = credentials_problem(request)
            if problem is not None:
                return json_error(problem)
            if request.method not in SAFE_METHODS and slash_would_resolve(path):
                # Answered by ApiJsonErrorsMiddleware, outside CommonMiddleware (which would turn
                # a 404 into its slash redirect, or raise with DEBUG on).
                request.api_route_needs_slash = f"{path}/"
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
        needs_slash = getattr(request, "api_route_needs_slash", None)
        if needs_slash and response.status_code in (301, 404, 500):
            detail = f"No such API route; this one ends with a slash: {needs_slash}"
            return JsonResponse(error_body(404, {"detail": detail}), status=404)
        if response.status_code < 400 or "json" in response.get("Content-Type", ""):
            return response
        if getattr(response, "original_text_error", False):  # an original route's own error text (getalert)
            return response
        if not is_api_path(request.path_info):
            return response
        json_response = JsonResponse(error_body(response.status_code), status=response.status_code)
        for header in KEPT_HEADERS:
            if header in response:
                json_response[header] = response[header]
        return json_response


class ContentSecurityPolicyMiddleware:
    """Sends a Content-Security-Policy with every response that has none (an empty setting: off).

    The pages load only this site's files (docs/pages.md), so the policy forbids inline
    scripts, eval and other hosts outright: an injected <script> would not run. The TOM
    Toolkit's pages under settings.CSP_TOOLKIT_PATHS, which use inline scripts, get
    CONTENT_SECURITY_POLICY_TOOLKIT_PAGES instead.
    """

    def __init__(self, get_response):
        self.strict = settings.CONTENT_SECURITY_POLICY
        self.toolkit = settings.CONTENT_SECURITY_POLICY_TOOLKIT_PAGES
        self.toolkit_paths = tuple(settings.CSP_TOOLKIT_PATHS)
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = self.toolkit if request.path_info.startswith(self.toolkit_paths) else self.strict
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
