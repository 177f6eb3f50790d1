"""Clients of the follow-up tests: a logged-in astronomer, an elasticc_admin member, anonymous;
and the hand-built objects (handbuilt.py)."""

import json

import pytest
from django.test import Client

from elasticc.tests.api_data import make_user
from followup.tests import handbuilt
from tom_desc.lib.groups import ADMIN_GROUP


@pytest.fixture
def clients(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user, admin = Client(), Client()
    user.force_login(make_user("observer"))
    admin.force_login(make_user("boss", ADMIN_GROUP))
    return {"user": user, "admin": admin, "anonymous": Client()}


@pytest.fixture
def objects(db):
    handbuilt.build()


def call(client, route: str, body, method: str = "post"):
    """A route called as the original's clients call it: the JSON body, whatever the method."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.generic(method.upper(), f"/elasticc2/{route}", data, content_type="application/json")


def body(response) -> bytes:
    """The body, whether sent whole or streamed (ltcv/gethottransients formats 0 and 1)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def ok(response) -> dict:
    content = body(response)
    assert response.status_code == 200, (response.status_code, content[:300])
    assert response["Content-Type"] == "application/json"
    answer = json.loads(content)
    assert answer["status"] == "ok"
    return answer


def error(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    return response.content.decode()
