"""What the original DESC TOM's JSON routes under /elasticc2/ share here: reading the body, its
keys and their types, and answering errors the way those routes did.

The original read ``json.loads(request.body)`` (even on a GET), looked keys up by hand, and
answered any failure with HTTP 500 and a ``text/plain`` body, often starting
``Exception in <ViewName>: ``. Its clients (``tom_client.py`` and the scripts around it) check
``status_code == 200`` and then ``json()["status"] == "ok"``, and print the text otherwise.
Here the texts stay (the original's own wording where it had one, its view-name prefix
otherwise) but bad input is a 4xx, so that a client's mistake is told apart from a failure of
the site (docs/followup.md lists every status):

- 400: a body that is not a JSON object, an unknown key, a value of the wrong type, a missing
  or contradictory key;
- 403: a key the user may not use (the simulation truth);
- 404: an object the TOM does not know (not in ``elasticc2_diaobject``);
- 409: a conflict with existing data.

Unknown keys are refused rather than ignored: a misspelt filter silently ignored returns the
wrong list, which is worse than an error naming the key.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import dateutil.parser
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from tom_desc.lib.numbers import is_int64

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


class RouteError(Exception):
    """A failure answered with the original's kind of text body.

    `original` marks a text the original answered word for word (kept without the view-name
    prefix, as it had none there)."""

    def __init__(self, message: str, status: int = 400, original: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.original = original


class UnknownObjects(RouteError):
    def __init__(self, object_ids: Iterable[int], original_text: bool = False):
        ids = sorted(set(object_ids))
        text = f"Unknown objectid {ids[0]}" if len(ids) == 1 else f"Unknown objectids {ids}"
        super().__init__(text, status=404, original=original_text)
        self.object_ids = ids


def text_response(text: str, status: int) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type=TEXT)
    response.original_text_error = True  # kept as it is by tom_desc.middleware.ApiJsonErrorsMiddleware
    return response


def json_response(payload) -> HttpResponse:
    """JSON as the original's JsonResponse wrote it (DjangoJSONEncoder: ISO times, 'Z' for UTC)."""
    return HttpResponse(json.dumps(payload, cls=DjangoJSONEncoder), content_type=JSON)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# The original's requested_since: a date, optionally a time to the second (taken as UTC).
ORIGINAL_TIMESTAMP = re.compile(
    r"^ *(?P<y>\d+)-(?P<m>\d+)-(?P<d>\d+)(?P<time>[ T]+(?P<H>\d+):(?P<M>\d+):(?P<S>\d+))? *$"
)


class Body:
    """A request body that is a JSON object with known keys, read key by key with types checked."""

    def __init__(self, raw: bytes, keys: Iterable[str]):
        try:
            data = json.loads(raw or b"{}")
        except RecursionError:
            raise RouteError("the request body is nested too deeply") from None
        except ValueError as exc:  # also bytes that are not UTF-8
            raise RouteError(f"the request body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RouteError(f"the request body must be a JSON object, not {type(data).__name__}")
        known = set(keys)
        unknown = sorted(set(data) - known)
        if unknown:
            raise RouteError(
                f"unknown parameters passed in request body: {unknown} (known: {', '.join(sorted(known))})"
            )
        self.data = data

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default=None):
        return self.data.get(key, default)

    def integer(self, key: str, default=None, *, value=None, name: str | None = None):
        """An int64 (an integral float or a numeric string too, as the original's int() took)."""
        value = self.data.get(key, default) if value is None else value
        if value is None:
            return None
        return as_integer(value, name or key)

    def number(self, key: str, default=None):
        value = self.data.get(key, default)
        if value is None:
            return None
        return as_number(value, key)

    def text(self, key: str, default=None, *, nonempty: bool = False):
        value = self.data.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise RouteError(f"{key} must be a string, not {_shown(value)}")
        if nonempty and not value:
            raise RouteError(f"{key} can't be an empty string", original=key == "facility")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise RouteError(f"{key} must be true or false, not {_shown(value)}")

    def integers(self, key: str) -> list[int]:
        """One integer or a list of them (a scalar is a list of one, as in the original)."""
        value = self.data.get(key)
        values = value if isinstance(value, list) else [value]
        return [as_integer(v, f"{key}[{i}]" if isinstance(value, list) else key) for i, v in enumerate(values)]

    def timestamp(self, key: str, failure: str | None = None) -> datetime | None:
        """A date/time string (any form dateutil reads, ISO 8601 among them); naive means UTC."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise RouteError(
                failure or f"{key} must be a date/time string, not {_shown(value)}", original=bool(failure)
            )
        try:
            parsed = dateutil.parser.parse(value)
        except (ValueError, OverflowError):
            raise RouteError(
                failure or f"Failed to parse {key} {value!r} as a date/time", original=bool(failure)
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_integer(value, name: str) -> int:
    if isinstance(value, bool):
        raise RouteError(f"{name} must be an integer, not {_shown(value)}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise RouteError(f"{name} must be an integer, not {_shown(value)}") from None
    if not isinstance(value, int) or not is_int64(value):
        raise RouteError(f"{name} must be a 64-bit integer, not {_shown(value)}")
    return value


def as_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RouteError(f"{name} must be a number, not {_shown(value)}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise RouteError(f"{name} must be a number, not {_shown(value)}") from None
    if not math.isfinite(number):
        raise RouteError(f"{name} must be a finite number, not {_shown(value)}")
    return number


def original_timestamp(value, key: str) -> datetime:
    """The original's reading of ``requested_since`` (``YYYY-MM-DD[ HH:MM:SS]``, UTC), and any
    other ISO 8601 time beside it (fractions of a second, a time zone)."""
    failure = f"Failed to parse YYYY-MM-DD HH:MM:SS from {value}"
    if not isinstance(value, str):
        raise RouteError(failure, original=True)
    match = ORIGINAL_TIMESTAMP.search(value)
    try:
        if match is not None:
            parts = [int(match.group(g)) if match.group(g) else 0 for g in ("y", "m", "d", "H", "M", "S")]
            return datetime(*parts, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RouteError(failure, original=True) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@extend_schema(exclude=True)  # described in docs/followup.md (the /elasticc2/ schema lists elasticc2's routes)
class OriginalRoute(APIView):
    """One of the original's JSON routes: any logged-in user (session with the CSRF header, token
    or Basic); the body read as JSON whatever the method; errors as text (see the module doc).

    A subclass names the original's view (`original_name`, the prefix of its error texts), the
    keys it accepts, and answers in `answer(body, request)` with a dict (serialized like the
    original's JsonResponse) or ready JSON bytes, or an iterator of JSON pieces (streamed).
    """

    permission_classes = [IsAuthenticated]
    metadata_class = None
    original_name = ""
    keys: frozenset[str] = frozenset()

    def respond(self, request):
        try:
            body = Body(request.body, self.keys)
            result = self.answer(body, request)
        except RouteError as exc:
            text = exc.message if exc.original else f"Exception in {self.original_name}: {exc.message}"
            return text_response(text, exc.status)
        if isinstance(result, bytes):
            return HttpResponse(result, content_type=JSON)
        if isinstance(result, Iterator):  # JSON sent in pieces as it is made (lightcurves.py)
            return StreamingHttpResponse(result, content_type=JSON)
        return json_response(result)

    def answer(self, body: Body, request):
        raise NotImplementedError


class ReadRoute(OriginalRoute):
    """GET or POST, as the original's light-curve routes."""

    def get(self, request, *args, **kwargs):
        return self.respond(request)

    def post(self, request, *args, **kwargs):
        return self.respond(request)


class PostRoute(OriginalRoute):
    """POST only, as the original's spectrum routes (a GET is a 405)."""

    def post(self, request, *args, **kwargs):
        return self.respond(request)
