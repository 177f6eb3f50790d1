"""Logging in: the login page, its wording and lockout, and password checks for scripts.

The TOM Toolkit logs users in with django-allauth. Scripts written for the original DESC TOM
(its ``tom_client.py``, the README's example) talk to /accounts/login/ as to Django's own
login view, so this module keeps three things of that view:

- the field name: a POST with ``username`` but no ``login`` is read as if ``login`` had been
  sent (``LoginFormAcceptingUsername``, settings.ACCOUNT_FORMS);
- the failure wording: a wrong password shows Django's standard sentence, which the
  original's client searches for to notice a failed login (``SiteAccountAdapter``);
- a refusal a script cannot miss: once allauth's failed-login limit (ACCOUNT_RATE_LIMITS
  "login_failed") locks a user name or an address out, the page answers 429, not 200, so a
  client that checks the status stops instead of running on anonymously (``LoginView``).

Every other route that checks a password (/api/token-auth/ in apitokens/password_auth.py,
HTTP Basic in apitokens/basic_auth.py) goes through ``check_password``: the same allauth
counters, so guessing is limited across all of them together, and an account with two-factor
authentication is refused there, since a password alone must not stand in for it.
"""

from __future__ import annotations

from allauth.account import app_settings as allauth_account_settings
from allauth.account.adapter import get_adapter
from allauth.account.forms import LoginForm
from allauth.account.views import LoginView as AllauthLoginView
from allauth.core.internal import ratelimit
from allauth.core.internal.ratelimit import parse_rates
from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth import authenticate
from tom_common.accounts.adapters import TomAccountAdapter

from tom_desc.lib.metrics import count_login_lockout

# Django's AuthenticationForm "invalid_login" message, with its %(username)s filled in as Django
# does: the original DESC TOM showed it, and its tom_client.py looks for "Please enter a correct".
DJANGO_INVALID_LOGIN = "Please enter a correct username and password. Note that both fields may be case-sensitive."
LOCKED_OUT_CODE = "too_many_login_attempts"


class LoginFormAcceptingUsername(LoginForm):
    def __init__(self, *args, **kwargs):
        data = kwargs.get("data")
        if data is not None and "login" not in data and "username" in data:
            data = data.copy()
            data["login"] = data["username"]
            kwargs["data"] = data
        super().__init__(*args, **kwargs)


class SiteAccountAdapter(TomAccountAdapter):
    """The TOM Toolkit's adapter with Django's wording for a wrong user name or password."""

    error_messages = {
        **TomAccountAdapter.error_messages,
        "username_password_mismatch": DJANGO_INVALID_LOGIN,
    }


def lockout_seconds() -> int:
    """The longest period of the "login_failed" limits: how long a lockout can last."""
    rates = allauth_account_settings.RATE_LIMITS.get("login_failed")
    if not rates:
        return 0
    return int(max(rate.duration for rate in parse_rates(rates)))


def _is_lockout(form) -> bool:
    return any(error.code == LOCKED_OUT_CODE for errors in form.errors.as_data().values() for error in errors)


class LoginView(AllauthLoginView):
    """allauth's login view, answering 429 (with the page and its message) when locked out."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if _is_lockout(form):
            count_login_lockout("login_page")
            response.status_code = 429
            response["Retry-After"] = str(lockout_seconds())
        return response


class LockedOut(Exception):
    """Too many failed password checks for this user name or address."""


class TwoFactorRequired(Exception):
    """The password is right but the account uses two-factor authentication."""


def check_password(request, username: str, password: str, route: str):
    """The active user with this user name and password, or None.

    ``request`` is Django's HttpRequest (the client address comes from it). Each failure
    counts towards allauth's "login_failed" limits under the same keys as the login page (per
    address and per user name), for every method: allauth itself counts only POSTs, and HTTP
    Basic arrives on GETs. Raises LockedOut once a limit is reached (a right password then
    counts for nothing), and TwoFactorRequired for an account using two-factor
    authentication: a script must then use a token created on the web.
    """
    adapter = get_adapter(request)
    key = adapter._get_login_attempts_cache_key(request, username=username)
    usage = ratelimit.consume(request, app="allauth.account", action="login_failed", key=key, limit_get=True)
    if not usage:
        count_login_lockout(route)
        raise LockedOut(adapter.error_messages[LOCKED_OUT_CODE])
    user = authenticate(request, username=username, password=password)
    if user is None:
        return None
    usage.rollback()  # as allauth does: a success gives back its own try, never wipes the count
    if is_mfa_enabled(user):
        raise TwoFactorRequired(
            "This account uses two-factor authentication, so a password alone is not enough here: "
            "log in on the web and create an API token at /accounts/api-token/."
        )
    return user


def init_anonymous_user(user_model):
    """django-guardian's placeholder for anonymous visitors (GUARDIAN_GET_INIT_ANONYMOUS_USER):
    inactive and without a usable password, so no login, token or SQL call can act as it."""
    user = user_model(**{user_model.USERNAME_FIELD: anonymous_username()})
    user.set_unusable_password()
    user.is_active = False
    return user


def anonymous_username() -> str:
    from guardian.conf import settings as guardian_settings

    return guardian_settings.ANONYMOUS_USER_NAME
