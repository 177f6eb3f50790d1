"""A user's REST API token, in one place for every way of managing it.

The profile page and /accounts/api-token/ (views.py), ``manage.py api_token`` and the
user export/import of ops (ops/users.py) all act on DRF's ``Token`` through these
functions: one token per user, replaced as a whole (a key is never edited), so that a
script holding an old key gets 401 from the moment a new one exists.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from rest_framework.authtoken.models import Token

from apitokens.anonymous import is_placeholder


class NoTokenForPlaceholder(ValueError):
    """The anonymous placeholder user never holds a token (anonymous.py)."""


def _refuse_placeholder(user) -> None:
    if is_placeholder(user):
        raise NoTokenForPlaceholder(f"{user.username} is the placeholder for anonymous visitors; it holds no token.")


def token_of(user) -> Token | None:
    return Token.objects.filter(user=user).first()


def get_or_create(user) -> tuple[Token, bool]:
    """The user's token, created if missing; (token, created)."""
    _refuse_placeholder(user)
    return Token.objects.get_or_create(user=user)


@transaction.atomic
def regenerate(user) -> tuple[Token, bool]:
    """A new token for the user; (token, whether an old one was replaced)."""
    _refuse_placeholder(user)
    replaced = revoke(user)
    return Token.objects.create(user=user), replaced


def revoke(user) -> bool:
    """Delete the user's token; True when there was one."""
    return Token.objects.filter(user=user).delete()[0] > 0


def all_by_user() -> dict[int, Token]:
    """{user id: token} of every account that has one (the user export)."""
    return {token.user_id: token for token in Token.objects.all()}


def holder_of(key: str):
    """The user id owning this key, or None."""
    return Token.objects.filter(key=key).values_list("user_id", flat=True).first()


@transaction.atomic
def install(user, key: str, created: dt.datetime) -> None:
    """Give the user exactly this key (an imported account keeps its scripts working).

    ``created`` is auto_now_add on the model; it is written afterwards, because token
    expiry (TOM_API_TOKEN_EXPIRY_DAYS) counts from it and an import must not renew it.
    """
    _refuse_placeholder(user)
    revoke(user)
    new = Token.objects.create(key=key, user=user)
    Token.objects.filter(pk=new.pk).update(created=created)
