"""The two ways a script can trade a password for access without the login page, both limited
like the login page (tom_desc/accounts.py ``check_password``):

- ``ObtainTokenView``, mounted at /api/token-auth/ in place of the TOM Toolkit's view (same
  request and answer: POST ``username`` and ``password``, get ``{"token": "..."}``). The
  toolkit's view checked passwords without any limit and handed a token to accounts using
  two-factor authentication for the password alone.
- ``apitokens.basic_auth.ThrottledBasicAuthentication``: HTTP Basic on the REST API
  (REST_FRAMEWORK settings; a module of its own, since DRF imports authentication classes
  while rest_framework.views is still loading).

Both share allauth's "login_failed" counters with the login page: failures anywhere count
towards one lockout, which answers 429 with Retry-After. An account with two-factor
authentication gets 403 and is told to create a token on the web (/accounts/api-token/).
"""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apitokens import tokens
from tom_desc.accounts import LockedOut, TwoFactorRequired, check_password, lockout_seconds

security_log = logging.getLogger("tom_common.security")


class ObtainTokenView(APIView):
    """POST username and password (form or JSON): {"token": key}; the key is created if missing."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        if getattr(settings, "TOM_API_TOKEN_REQUIRES_MFA", False):
            raise exceptions.PermissionDenied(
                "API tokens on this TOM require two-factor authentication: log in on the web and "
                "create your token at /accounts/api-token/."
            )
        username, password = request.data.get("username"), request.data.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
            raise exceptions.ValidationError({"username": ["Send username and password."]})
        try:
            user = check_password(request._request, username, password, route="token_auth")
        except LockedOut as exc:
            raise exceptions.Throttled(wait=lockout_seconds(), detail=str(exc)) from None
        except TwoFactorRequired as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        if user is None:
            raise exceptions.ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}, code="authorization"
            )
        token, created = tokens.get_or_create(user)
        if created:
            security_log.info("API token created for %s through /api/token-auth/", user.username)
        return Response({"token": token.key}, status=status.HTTP_200_OK)
