"""Create and revoke one's REST API token from the profile page (and /accounts/api-token/)."""

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

PASSWORD = "A-long-test-password-42"


@pytest.fixture
def user(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return User.objects.create_user("scripter", "s@example.org", PASSWORD)


def api_status(client, key: str) -> int:
    return client.get("/elasticc/classids/", HTTP_AUTHORIZATION=f"Token {key}").status_code


def profile(client) -> str:
    response = client.get("/users/profile/")
    assert response.status_code == 200
    return response.content.decode()


def test_profile_page_revokes_and_creates_the_token(client, user):
    client.force_login(user)
    first = Token.objects.get(user=user).key  # the toolkit gives every new user one
    page = profile(client)
    assert f'<code id="api-token-key">{first}</code>' in page
    assert 'action="/accounts/api-token/revoke/"' in page and 'action="/accounts/api-token/create/"' in page

    response = client.post("/accounts/api-token/revoke/", {"next": "/users/profile/"})
    assert response.status_code == 302 and response["Location"] == "/users/profile/"
    assert not Token.objects.filter(user=user).exists()
    page = profile(client)
    assert 'id="api-token-none"' in page and first not in page
    assert 'action="/accounts/api-token/revoke/"' not in page  # nothing left to revoke
    client.logout()
    assert api_status(client, first) == 401

    client.force_login(user)
    response = client.post("/accounts/api-token/create/", {"next": "/users/profile/"})
    assert response.status_code == 302 and response["Location"] == "/users/profile/"
    key = Token.objects.get(user=user).key
    assert key != first and f'<code id="api-token-key">{key}</code>' in profile(client)
    client.logout()
    assert api_status(client, key) == 200


def test_creating_again_replaces_the_token(client, user):
    client.force_login(user)
    client.post("/accounts/api-token/create/")
    old = Token.objects.get(user=user).key
    response = client.post("/accounts/api-token/create/")
    assert response["Location"] == "/accounts/api-token/"  # no `next`: the token page
    new = Token.objects.get(user=user).key
    assert new != old
    client.logout()
    assert api_status(client, old) == 401 and api_status(client, new) == 200


def test_token_page_and_foreign_redirects(client, user):
    client.force_login(user)
    key = Token.objects.get(user=user).key
    page = client.get("/accounts/api-token/")
    assert page.status_code == 200 and f'<code id="api-token-key">{key}</code>' in page.content.decode()
    response = client.post("/accounts/api-token/create/", {"next": "https://evil.example.org/"})
    assert response["Location"] == "/accounts/api-token/"


def test_only_the_logged_in_user_and_only_by_post(client, user):
    other = User.objects.create_user("other", "o@example.org", PASSWORD)
    other_key = Token.objects.get(user=other).key
    assert client.post("/accounts/api-token/revoke/").status_code == 302  # to the login page
    assert Token.objects.filter(key=other_key).exists()
    client.force_login(user)
    assert client.get("/accounts/api-token/revoke/").status_code == 405
    client.post("/accounts/api-token/revoke/")
    assert Token.objects.filter(key=other_key).exists()  # one's own token only


def test_csrf_is_required(user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    key = Token.objects.get(user=user).key
    # The CSRF 403 becomes the toolkit's redirect to the login page (Raise403Middleware).
    for url in ("/accounts/api-token/create/", "/accounts/api-token/revoke/"):
        response = strict.post(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert Token.objects.get(user=user).key == key
