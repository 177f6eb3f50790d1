"""The TOM Toolkit's placeholder account for anonymous visitors, kept unusable.

django-guardian keeps a real user row, "AnonymousUser" (GUARDIAN ANONYMOUS_USER_NAME), to
hang object permissions for anonymous visitors on; the TOM Toolkit's post_save signal then
gave it an API token like any new user, and it was active, so that token read the REST API
and ran SQL as a logged-in user. Nobody may act as it:

- it is created inactive with no usable password (tom_desc.accounts.init_anonymous_user);
- the migration 0001 and every ``migrate`` (post_migrate, apps.py) make an existing row so
  and delete its tokens;
- a token saved for it is deleted at once, and a save of the row puts it back to inactive
  without a password (the signals below), so an admin form or a script cannot revive it;
- tokens.py refuses to make one for it (``manage.py api_token AnonymousUser`` says so).

Inactive users are refused by every authentication the site uses (session, token, Basic).
"""

from __future__ import annotations

from django.contrib.auth.hashers import make_password


def placeholder_name() -> str:
    from guardian.conf import settings as guardian_settings

    return guardian_settings.ANONYMOUS_USER_NAME


def is_placeholder(user) -> bool:
    name = placeholder_name()
    return bool(name) and user is not None and getattr(user, "username", None) == name


def disarm(user_model, token_model, using: str = "default") -> int:
    """Make the placeholder inactive and passwordless and delete its tokens; rows changed."""
    name = placeholder_name()
    if not name:
        return 0
    users = user_model.objects.using(using).filter(username=name)
    changed = users.filter(is_active=True).update(is_active=False)
    users.exclude(password__startswith="!").update(password=make_password(None))
    changed += token_model.objects.using(using).filter(user__username=name).delete()[0]
    return changed


def keep_inactive(sender, instance, **kwargs) -> None:
    """pre_save of User: the placeholder is saved inactive and without a usable password."""
    if is_placeholder(instance):
        instance.is_active = False
        if instance.has_usable_password():
            instance.set_unusable_password()


def drop_token(sender, instance, created, **kwargs) -> None:
    """post_save of Token: a token of the placeholder is deleted as soon as it exists."""
    if is_placeholder(instance.user):
        type(instance).objects.filter(pk=instance.pk).delete()


def disarm_after_migrate(sender, using="default", **kwargs) -> None:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    disarm(get_user_model(), Token, using=using)
