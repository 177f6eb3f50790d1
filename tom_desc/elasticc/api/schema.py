"""OpenAPI schema pieces of the ELAsTiCC REST API (drf-spectacular).

The schema at /api/schema/ describes the routes of both campaigns (those under
/elasticc/ and /elasticc2/); the TOM Toolkit's own API under /api/ is left out (see
``only_elasticc_routes``). Every operation lists the JSON error body of
tom_desc/errors.py for 400, 401, 403 and 404.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

ERROR_CODES = (400, 401, 403, 404)


class ErrorSerializer(serializers.Serializer):
    """Every error of the API (400, 401, 403, 404, 405, 500) has this JSON body."""

    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Short machine-readable reason, e.g. not_found, invalid.")
    detail = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The offending field of a 400, when there is one.")
    errors = serializers.DictField(required=False, help_text="All validation messages of a 400, by field.")


class ApiSchema(AutoSchema):
    """AutoSchema plus the error responses every route can give."""

    def _get_response_bodies(self, direction="response"):
        # After any @extend_schema(responses=...) override, which replaces
        # get_response_serializers and so would drop errors added there.
        responses = super()._get_response_bodies(direction)
        for code in map(str, ERROR_CODES):
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
        # gunicorn refuses a request line over 4094 bytes before the site sees it (an HTML page).
        responses.setdefault(
            "414", {"description": "URI too long", "content": {"text/html": {"schema": {"type": "string"}}}}
        )
        return responses


CAMPAIGN_PREFIXES = ("/elasticc/", "/elasticc2/")


def only_elasticc_routes(endpoints: list) -> list:
    """PREPROCESSING_HOOK: keep the routes of both campaigns, /elasticc/ and /elasticc2/."""
    return [e for e in endpoints if e[0].startswith(CAMPAIGN_PREFIXES)]
