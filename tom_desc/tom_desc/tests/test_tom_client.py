"""The repository's tom_client.py, used against gunicorn the way the original's scripts use it."""

from __future__ import annotations

import importlib.util
import inspect

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from devstack.pytest_plugin import REPO_DIR

PASSWORD = "A-long-test-password-42"
pytestmark = pytest.mark.django_db(transaction=True)


def load_client_module():
    spec = importlib.util.spec_from_file_location("tom_client", REPO_DIR / "tom_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TomClient = load_client_module().TomClient


@pytest.fixture
def analyst():
    cache.clear()  # no lockout left by another test
    yield User.objects.create_user("analyst", "analyst@example.org", PASSWORD)
    cache.clear()


def test_signature_is_the_originals():
    params = inspect.signature(TomClient).parameters
    assert list(params)[:5] == ["url", "username", "password", "passwordfile", "connect"]
    assert params["url"].default == "https://desc-tom.lbl.gov" and params["connect"].default is True
    for method in ("request", "get", "post", "put", "connect"):
        assert callable(getattr(TomClient, method))


def test_password_login_then_requests(live_server_url, analyst):
    tom = TomClient(live_server_url, username="analyst", password=PASSWORD)
    res = tom.get("elasticc/diaobject/")
    assert res.status_code == 200 and "results" in res.json()
    res = tom.request("GET", "elasticc/diaobject/", params={"limit": 1})
    assert res.status_code == 200
    # responses come back untouched, whatever their status: a PUT on a read-only list is a 405
    res = tom.put("elasticc/diaobject/", json={})
    assert res.status_code == 405 and res.json()["code"] == "method_not_allowed"
    # a session POST carries the CSRF header the client set after logging in
    res = tom.post("accounts/api-token/create/", data={"next": "/accounts/api-token/"})
    assert res.status_code == 200
    assert Token.objects.filter(user=analyst).exists()


def test_passwordfile_as_the_original(live_server_url, analyst, tmp_path):
    secret = tmp_path / "tom_password"
    secret.write_text(PASSWORD + "\nignored second line\n")
    tom = TomClient(url=live_server_url, username="analyst", passwordfile=str(secret))
    assert tom.get("elasticc/diaobject/").status_code == 200


def test_not_connected_until_asked(live_server_url, analyst):
    tom = TomClient(live_server_url, username="analyst", password=PASSWORD, connect=False)
    tom.connect()
    assert tom.get("elasticc/diaobject/").status_code == 200


def test_failed_login_raises(live_server_url, analyst):
    with pytest.raises(RuntimeError, match="wrong user name or password"):
        TomClient(live_server_url, username="analyst", password="not-it")


def test_locked_out_login_raises(live_server_url, analyst):
    for _ in range(5):
        with pytest.raises(RuntimeError):
            TomClient(live_server_url, username="analyst", password="not-it")
    with pytest.raises(RuntimeError, match="429"):
        TomClient(live_server_url, username="analyst", password=PASSWORD)


def test_token_instead_of_a_password(live_server_url, analyst):
    key = Token.objects.get_or_create(user=analyst)[0].key
    tom = TomClient(live_server_url, token=key)
    assert tom.get("elasticc/diaobject/").status_code == 200
    assert TomClient(live_server_url, token="0" * 40).get("elasticc/diaobject/").status_code == 401


def test_needs_a_secret():
    with pytest.raises(RuntimeError, match="password"):
        TomClient("http://127.0.0.1:9", username="x", connect=False)
