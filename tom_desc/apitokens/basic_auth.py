"""HTTP Basic authentication for the REST API, limited like the login page.

DRF's BasicAuthentication checks the password on every request with no limit, which makes
every API route a password-guessing route, and lets an account with two-factor
authentication in on its password alone. This one checks through tom_desc.accounts
``check_password``: failures count towards the login page's lockout (429 with Retry-After
once it is reached) and two-factor accounts are refused (they use a token).
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication

from tom_desc.accounts import LockedOut, TwoFactorRequired, check_password, lockout_seconds


class ThrottledBasicAuthentication(BasicAuthentication):
    """DRF's HTTP Basic authentication with the login page's lockout and two-factor rule."""

    def authenticate_credentials(self, userid, password, request=None):
        django_request = getattr(request, "_request", request)
        try:
            user = check_password(django_request, userid, password, route="basic_auth")
        except LockedOut as exc:
            raise exceptions.Throttled(wait=lockout_seconds(), detail=str(exc)) from None
        except TwoFactorRequired as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid username/password.")
        return (user, None)
