"""The REST framework's JSON parser, with clean 4xx answers for hostile bodies.

DRF's own JSONParser turns a ValueError into a 400 but lets three things through:

- size: it reads the body from the stream, which Django does not hold to
  DATA_UPLOAD_MAX_MEMORY_SIZE (only ``request.body`` and form parsing are), so a 10 MB or
  1 GB body is read and parsed in full. Here a body over the limit is a 413, refused from
  its Content-Length before anything is read, or after reading one byte more than allowed;
- depth: JSON nested a few thousand levels deep makes the decoder raise RecursionError,
  a 500. Here it is a 400;
- lone surrogates: ``"\\ud800"`` is legal JSON but no UTF-8 string; it would fail later, in
  the database or in an encoder, as a 500. Here it is a 400 naming the problem. Only bodies
  that contain a ``\\uD8..`` to ``\\uDF..`` escape are checked, so ordinary bodies cost nothing.

settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] puts it first; a view that lists its own
parsers should list this one for JSON.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def too_big(limit: int) -> RequestDataTooBig:
    return RequestDataTooBig(f"The request body is larger than {limit} bytes.")


def read_limited(stream, meta: dict) -> bytes:
    """The body, or RequestDataTooBig when it exceeds DATA_UPLOAD_MAX_MEMORY_SIZE."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_big(limit)
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise too_big(limit)
    return raw


def has_lone_surrogate(value) -> bool:
    """Whether any string (key or value) in parsed JSON cannot be encoded as UTF-8."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def loads(raw: bytes, encoding: str = "utf-8", strict: bool = True):
    """Parsed JSON, or ParseError (a 400) for what is not JSON, nests too deeply or holds a lone
    surrogate. The one parser of JSON bodies: SafeJSONParser and views that read the body
    themselves (/db/) both call it."""
    try:
        data = json.loads(raw.decode(encoding), parse_constant=strict_constant if strict else None)
    except RecursionError:
        raise ParseError("JSON parse error - the body is nested too deeply.") from None
    except ValueError as exc:  # also UnicodeDecodeError: bytes that are not the charset
        raise ParseError(f"JSON parse error - {exc}") from None
    if SURROGATE_ESCAPE.search(raw) and has_lone_surrogate(data):
        raise ParseError("JSON parse error - a string holds a lone UTF-16 surrogate (\\ud800-\\udfff).")
    return data


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context.get("request")
        meta = getattr(request, "META", {}) if request is not None else {}
        raw = read_limited(stream, meta)
        return loads(raw, parser_context.get("encoding", settings.DEFAULT_CHARSET), self.strict)
