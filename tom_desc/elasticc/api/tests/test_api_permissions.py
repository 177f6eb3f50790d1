"""Who may do what: anonymous, user, broker, admin x every endpoint x every method.

Rule (docs/api.md): authentication first (anonymous: 401), then the group check
(truth tables: elasticc_admin; writing broker messages: elasticc_broker; both
403), then the method (405 for one the route does not have). Every answer,
success or error, is JSON.
"""

import itertools
import json

import pytest

from elasticc.tests.api_data import classification, make_users, seed, sent_alerts, store_messages

ROLES = ["anonymous", "user", "broker", "admin"]
ENDPOINTS = [
    "diaobject",
    "diasource",
    "diaforcedsource",
    "diatruth",
    "diaobjecttruth",
    "diaalert",
    "brokerclassifier",
    "brokermessage",
    "classids",
]
ADMIN_ONLY = {"diatruth", "diaobjecttruth"}
OPERATIONS = [
    ("list", "GET"),
    ("list", "POST"),
    ("list", "PUT"),
    ("list", "PATCH"),
    ("list", "DELETE"),
    ("detail", "GET"),
    ("detail", "POST"),
    ("detail", "PUT"),
    ("detail", "PATCH"),
    ("detail", "DELETE"),
]


def expected_status(role: str, endpoint: str, route: str, method: str) -> int:
    if role == "anonymous":
        return 401
    if endpoint in ADMIN_ONLY and role != "admin":
        return 403
    if method == "GET":
        return 200
    if endpoint == "brokermessage":
        if role != "broker":
            return 403
        return 201 if route == "list" and method in ("POST", "PUT") else 405
    return 405


@pytest.fixture
def world(db, client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    users = make_users()
    data = seed(n_objects=3)
    message_ids = store_messages([classification(data.sent_alert_ids[0])])
    sent_alerts(*range(9_000_000, 9_000_000 + len(ENDPOINTS) * len(OPERATIONS)))  # what a broker may classify
    from elasticc.models import BrokerClassifier

    classifier_id = BrokerClassifier.objects.get().classifierId
    detail_ids = {
        "diaobject": data.object_ids[0],
        "diasource": data.source_ids[0],
        "diaforcedsource": data.forced_ids[0],
        "diatruth": data.source_ids[0],
        "diaobjecttruth": data.object_ids[0],
        "diaalert": data.sent_alert_ids[0],
        "brokerclassifier": classifier_id,
        "brokermessage": message_ids[0],
        "classids": 111,
    }
    return users, data, detail_ids


def check_cell(client, detail_ids, role, endpoint, route, method, serial) -> str | None:
    """None if the answer is the expected one, else a description of the difference."""
    url = f"/elasticc/{endpoint}/" + (f"{detail_ids[endpoint]}/" if route == "detail" else "")
    # A new alert each time, so a successful send really stores something.
    body = classification(9_000_000 + serial, millis=True)
    response = client.generic(method, url, data=json.dumps(body), content_type="application/json")
    want = expected_status(role, endpoint, route, method)
    where = f"{role} {method} {url}"
    if response.status_code != want:
        return f"{where}: {response.status_code} (expected {want}) {response.content[:200]!r}"
    if not response["Content-Type"].startswith("application/json"):
        return f"{where}: not JSON but {response['Content-Type']}"
    payload = response.json()
    if want >= 400 and not (payload.get("status") == want and payload.get("detail")):
        return f"{where}: error body {payload}"
    if (
        want == 200
        and route == "list"
        and not (set(payload) >= {"count", "next", "previous", "results"} and payload["results"])
    ):
        return f"{where}: list body {payload}"
    if want == 201 and not (payload["stored"] == 1 and len(payload["brokerMessageIds"]) == 1):
        return f"{where}: stored {payload}"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, client, role):
    """Every endpoint x route x method for one role, each with its exact expected status."""
    users, _data, detail_ids = world
    if role != "anonymous":
        client.force_login(users[role])
    cells = list(itertools.product(ENDPOINTS, OPERATIONS))
    wrong = [
        problem
        for serial, (endpoint, (route, method)) in enumerate(cells)
        if (problem := check_cell(client, detail_ids, role, endpoint, route, method, serial))
    ]
    assert not wrong, "\n".join(wrong)
    assert len(cells) == len(ENDPOINTS) * len(OPERATIONS) == 90


@pytest.mark.parametrize("role, status", [("user", 404), ("broker", 404), ("admin", 200)])
def test_unsent_alert_detail_only_for_admins(world, client, role, status):
    users, data, _ = world
    client.force_login(users[role])
    response = client.get(f"/elasticc/diaalert/{data.unsent_alert_ids[0]}/")
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("role, status", [("user", 403), ("broker", 403), ("admin", 200)])
def test_listing_unsent_alerts_only_for_admins(world, client, role, status):
    users, data, _ = world
    client.force_login(users[role])
    response = client.get("/elasticc/diaalert/?sent=false&shape=rows")
    assert response.status_code == status
    if status == 200:
        assert sorted(r["alertId"] for r in response.json()["results"]) == sorted(data.unsent_alert_ids)
        assert all(r["alertSentTimestamp"] is None for r in response.json()["results"])


@pytest.mark.parametrize("role, sees_unsent", [("user", False), ("admin", True)])
def test_alert_list_shows_unsent_alerts_to_admins_only(world, client, role, sees_unsent):
    users, data, _ = world
    client.force_login(users[role])
    ids = sorted(r["alertId"] for r in client.get("/elasticc/diaalert/?limit=1000").json()["results"])
    expected = data.sent_alert_ids + (data.unsent_alert_ids if sees_unsent else [])
    assert ids == sorted(expected)


def test_anonymous_gets_json_401_not_a_redirect(db, client):
    for url in ("/elasticc/diaobject/", "/elasticc/diatruth/1/", "/elasticc/brokermessage/", "/api/schema/"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["Content-Type"].startswith("application/json")
        assert "Location" not in response
        assert response["WWW-Authenticate"].startswith("Token")


def test_anonymous_unknown_api_url_is_json_not_html(db, client):
    response = client.get("/elasticc/no-such-table/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")
