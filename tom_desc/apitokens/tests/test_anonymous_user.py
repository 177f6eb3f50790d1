"""The TOM Toolkit's "AnonymousUser" row (django-guardian's placeholder) can never act: inactive,
no usable password, no token; the data fix repairs an old site, the guards keep it so."""

from __future__ import annotations

import importlib
from io import StringIO

import pytest
import requests
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from apitokens import tokens
from apitokens.anonymous import disarm, placeholder_name

SQL = {"query": "SELECT 1 AS one"}


def placeholder() -> User:
    return User.objects.get(username=placeholder_name())


def revive_as_before() -> str:
    """The state the review found: active, with an API token (written without signals)."""
    User.objects.filter(username=placeholder_name()).update(is_active=True)
    Token.objects.filter(user=placeholder()).delete()
    Token.objects.bulk_create([Token(key="a" * 40, user=placeholder())])
    return "a" * 40


@pytest.mark.django_db
def test_a_new_database_has_it_inactive_without_token_or_password():
    user = placeholder()
    assert not user.is_active
    assert not user.has_usable_password()
    assert not Token.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_the_migration_repairs_an_old_site():
    revive_as_before()
    User.objects.filter(pk=placeholder().pk).update(password="pbkdf2_sha256$1$salt$hash")
    migration = importlib.import_module("apitokens.migrations.0001_disarm_anonymous_user")
    from django.apps import apps as global_apps
    from django.db import connection

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.forwards(global_apps, editor)
    user = placeholder()
    assert not user.is_active and not user.has_usable_password()
    assert not Token.objects.filter(user=user).exists()
    assert disarm(User, Token) == 0  # nothing left to do


@pytest.mark.django_db
def test_guards_keep_it_unusable():
    user = placeholder()
    Token.objects.create(user=user)
    assert not Token.objects.filter(user=user).exists()
    user.is_active = True
    user.set_password("a-password-someone-set")
    user.save()
    user.refresh_from_db()
    assert not user.is_active and not user.has_usable_password()
    with pytest.raises(tokens.NoTokenForPlaceholder):
        tokens.get_or_create(user)
    with pytest.raises(tokens.NoTokenForPlaceholder):
        tokens.regenerate(user)
    with pytest.raises(CommandError, match="placeholder"):
        call_command("api_token", placeholder_name(), stdout=StringIO(), stderr=StringIO())
    # an ordinary account is untouched by the guards
    other = User.objects.create_user("someone", password="A-long-test-password-42")
    assert other.is_active and Token.objects.filter(user=other).exists()


@pytest.mark.django_db(transaction=True)
def test_its_old_token_reads_nothing(live_server_url):
    key = revive_as_before()
    headers = {"Authorization": f"Token {key}"}
    before = requests.get(f"{live_server_url}/elasticc/diaobject/", headers=headers, timeout=30)
    assert before.status_code == 200  # the finding, reproduced

    call_command("migrate", "--noinput", verbosity=0)  # every migrate disarms it (post_migrate)
    assert not Token.objects.filter(key=key).exists()
    api = requests.get(f"{live_server_url}/elasticc/diaobject/", headers=headers, timeout=30)
    assert api.status_code == 401
    sql = requests.post(f"{live_server_url}/db/runsqlquery/", json=SQL, headers=headers, timeout=30)
    assert sql.status_code == 401
    # even with the token back in place (written around every guard), the inactive row is refused
    Token.objects.bulk_create([Token(key=key, user=placeholder())])
    assert requests.get(f"{live_server_url}/elasticc/diaobject/", headers=headers, timeout=30).status_code == 401
    sql = requests.post(f"{live_server_url}/db/runsqlquery/", json=SQL, headers=headers, timeout=30)
    assert sql.status_code == 401
