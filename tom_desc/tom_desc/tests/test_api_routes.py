"""API routes answer as docs/api.md promises, through gunicorn: JSON 401 before anything else for
clients without credentials, JSON 404 for routes that do not exist, and 413/400 (never 500) for
hostile bodies: 10 MB, nested 2,000 deep, lone surrogates."""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

PASSWORD = "A-long-test-password-42"
pytestmark = pytest.mark.django_db(transaction=True)
UNKNOWN = ["/elasticc/nonexistent/", "/elasticc/diaobject/abc/", "/elasticc/diaobject", "/api/nothing/here/"]


@pytest.fixture
def token():
    user = User.objects.create_user("scripter", password=PASSWORD)
    user.groups.add(Group.objects.get(name="elasticc_broker"))
    return Token.objects.get_or_create(user=user)[0].key


def is_json_error(res, status: int) -> bool:
    return (
        res.status_code == status
        and res.headers["Content-Type"].startswith("application/json")
        and res.json()["status"] == status
    )


def test_unknown_routes_401_without_credentials_404_with(live_server_url, token):
    """One test for the three kinds of route (gunicorn is shared; each test costs a database flush)."""
    for path in UNKNOWN:
        for method in ("GET", "PUT"):
            res = requests.request(method, live_server_url + path, allow_redirects=False, timeout=30)
            assert is_json_error(res, 401), (method, path, res.status_code, res.text[:200])
            assert res.headers["WWW-Authenticate"] == "Token"
        bad = {"Authorization": "Token " + "0" * 40}
        res = requests.get(live_server_url + path, headers=bad, allow_redirects=False, timeout=30)
        assert is_json_error(res, 401), ("bad token", path, res.status_code)
    for path in ("/elasticc/nonexistent/", "/elasticc/diaobject/abc/", "/api/nothing/here/"):
        res = requests.get(live_server_url + path, headers={"Authorization": f"Token {token}"}, timeout=30)
        assert is_json_error(res, 404), (path, res.status_code, res.text[:200])


def test_missing_trailing_slash(live_server_url, token):
    headers = {"Authorization": f"Token {token}"}
    res = requests.get(f"{live_server_url}/elasticc/diaobject", headers=headers, allow_redirects=False, timeout=30)
    assert res.status_code == 301 and res.headers["Location"] == "/elasticc/diaobject/"
    followed = requests.get(f"{live_server_url}/elasticc/diaobject", headers=headers, timeout=30)
    assert followed.status_code == 200 and "results" in followed.json()  # requests keeps the token
    # a body would be dropped by following a redirect: other methods get a 404 naming the route
    res = requests.put(
        f"{live_server_url}/elasticc/brokermessage", json=[], headers=headers, allow_redirects=False, timeout=30
    )
    assert is_json_error(res, 404)
    assert "/elasticc/brokermessage/" in res.json()["detail"]


def test_a_10_mb_body_is_413(live_server_url, token):
    body = b"[" + b"1," * (5 * 1024 * 1024) + b"1]"
    res = requests.put(
        f"{live_server_url}/elasticc/brokermessage/",
        data=body,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        timeout=60,
    )
    assert is_json_error(res, 413), (res.status_code, res.text[:300])
    assert res.json()["code"] == "too_large"


MALFORMED = {
    "deep-list": b"[" * 2000 + b"]" * 2000,
    "deep-dict": b'{"a":' * 2000 + b"1" + b"}" * 2000,
    "lone-high-surrogate": b'[{"alertId": 1, "brokerName": "\\ud800"}]',
    "lone-low-surrogate-key": b'[{"\\udfff": 1}]',
    "truncated": b"[1, 2",
    "not-utf8": b"\xff\xfe not utf-8",
}


def test_malformed_json_is_400(live_server_url, token):
    for name, body in MALFORMED.items():
        for method in ("PUT", "POST"):
            res = requests.request(
                method,
                f"{live_server_url}/elasticc/brokermessage/",
                data=body,
                headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
                timeout=60,
            )
            assert is_json_error(res, 400), (name, method, res.status_code, res.text[:300])
            assert res.json()["code"] == "parse_error", name


def test_a_proper_surrogate_pair_is_fine(live_server_url, token):
    """The check refuses only lone surrogates: an escaped pair (here U+1F600) is a character."""
    res = requests.put(
        f"{live_server_url}/elasticc/brokermessage/",
        data=b'[{"brokerName": "\\ud83d\\ude00"}]',
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        timeout=60,
    )
    assert res.status_code == 400 and res.json()["code"] != "parse_error"  # a validation error, not parsing


def test_bytes_that_are_no_utf8_in_the_query_string(live_server_url, token):
    res = requests.get(
        f"{live_server_url}/elasticc/diaobject/?diaObjectId=%ED%A0%80&limit=%FF",
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert res.status_code in (200, 400) and res.headers["Content-Type"].startswith("application/json")
