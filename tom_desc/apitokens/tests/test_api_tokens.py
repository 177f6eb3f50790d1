"""API tokens: the api_token command, the profile page, and `Authorization: Token ...`."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from elasticc.tests.api_data import make_user


@pytest.fixture
def user(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("scripter")


def run(*args) -> str:
    out = io.StringIO()
    call_command("api_token", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_command_creates_prints_regenerates_and_revokes(client, user):
    key = run("scripter")
    assert Token.objects.get(user=user).key == key
    assert run("scripter") == key  # printing again does not change it
    assert client.get("/elasticc/classids/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    new_key = run("scripter", "--regenerate")
    assert new_key != key
    assert client.get("/elasticc/classids/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert client.get("/elasticc/classids/", HTTP_AUTHORIZATION=f"Token {new_key}").status_code == 200

    assert "revoked" in run("scripter", "--revoke")
    assert not Token.objects.filter(user=user).exists()
    response = client.get("/elasticc/classids/", HTTP_AUTHORIZATION=f"Token {new_key}")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_command_rejects_unknown_user(db):
    with pytest.raises(CommandError):
        run("nobody")


def test_profile_page_regenerates_the_token(client, user):
    client.force_login(user)
    assert client.get("/users/profile/").status_code == 200
    old = run("scripter")
    response = client.post(f"/users/{user.pk}/regenerate-token/")
    assert response.status_code in (200, 302)
    new = Token.objects.get(user=user).key
    assert new != old
    client.logout()
    assert client.get("/elasticc/diaobject/", HTTP_AUTHORIZATION=f"Token {new}").status_code == 200
    assert client.get("/elasticc/diaobject/", HTTP_AUTHORIZATION=f"Token {old}").status_code == 401
