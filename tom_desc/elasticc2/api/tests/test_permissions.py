"""Who may read what under /elasticc2/: anonymous, user, broker, admin x every route x every method.

The rule is ELAsTiCC's (docs/api.md): authentication first (anonymous: 401), then the group
(truth: elasticc_admin, else 403; sending broker messages: elasticc_broker, else 403), then
the route (405 for a method it does not have; the two routes that need an id answer a list
request with 400). On top of that, the ppdb rows
the stream has not made public are hidden from everyone outside elasticc_admin; which rows
those are is computed from the seeding rules (elasticc2/tests/data.py), not by the site.
"""

import itertools

import pytest
from django.db import connection

from elasticc.tests.api_data import make_users
from elasticc2.tests.data import seed

ROLES = ["anonymous", "user", "broker", "admin"]
TABLE_ROUTES = [
    "ppdbdiaobject",
    "ppdbdiasource",
    "ppdbdiaforcedsource",
    "ppdbalert",
    "ppdbdiaobjectwithsources",
    "ppdbdiaobjectofsource",
    "diaobjecttruth",
    "diaobject",
    "diasource",
    "diaforcedsource",
    "brokerclassifier",
    "brokermessage",
]
JSON_ROUTES = ["classids", "classifiers_json"]  # the original's, no trailing slash, no detail
ADMIN_ONLY = {"diaobjecttruth"}
NEEDS_AN_ID = {"ppdbdiaobjectwithsources", "ppdbdiaobjectofsource"}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def expected_status(role: str, route: str, kind: str, method: str) -> int:
    if role == "anonymous":
        return 401
    if route in ADMIN_ONLY and role != "admin":
        return 403
    if route in JSON_ROUTES:
        return 200 if method in ("GET", "POST") else 405
    if route == "brokermessage" and method != "GET":
        # Brokers send classifications (elasticc_broker only: the group is checked before the
        # method, as for ELAsTiCC); "{}" is not a message: 400.
        if role != "broker":
            return 403
        return 400 if kind == "list" and method in ("POST", "PUT") else 405
    if method != "GET":
        return 405
    return 400 if (route in NEEDS_AN_ID and kind == "list") else 200


@pytest.fixture
def world(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    users = make_users()
    data = seed()
    visible_object = data.visible_object_ids()[0]
    detail_ids = {
        "ppdbdiaobject": visible_object,
        "ppdbdiasource": data.source_ids(visible_only=True)[0],
        "ppdbdiaforcedsource": data.forced_ids(visible_only=True)[0],
        "ppdbalert": data.alert_ids(sent=True)[0],
        "ppdbdiaobjectwithsources": visible_object,
        "ppdbdiaobjectofsource": data.source_ids(visible_only=True)[0],
        "diaobjecttruth": data.object_ids[0],
        "diaobject": visible_object,
        "diasource": data.source_ids(visible_only=True)[0],
        "diaforcedsource": data.forced_ids(visible_only=True)[0],
        "brokerclassifier": data.classifier_ids[0],
        "brokermessage": data.message_ids[0],
    }
    return users, data, detail_ids


def cells():
    for route in TABLE_ROUTES:
        for kind, method in itertools.product(("list", "detail"), METHODS):
            yield route, kind, method
    for route in JSON_ROUTES:
        for method in METHODS:
            yield route, "list", method


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, client, role):
    users, _data, detail_ids = world
    if role != "anonymous":
        client.force_login(users[role])
    wrong = []
    all_cells = list(cells())
    for route, kind, method in all_cells:
        if route in JSON_ROUTES:
            url = f"/elasticc2/{route}"
        else:
            url = f"/elasticc2/{route}/" + (f"{detail_ids[route]}/" if kind == "detail" else "")
        response = client.generic(method, url, data="{}", content_type="application/json")
        want = expected_status(role, route, kind, method)
        where = f"{role} {method} {url}"
        if response.status_code != want:
            wrong.append(f"{where}: {response.status_code} (expected {want}) {response.content[:160]!r}")
            continue
        if not response["Content-Type"].startswith("application/json"):
            wrong.append(f"{where}: not JSON but {response['Content-Type']}")
            continue
        body = response.json()
        if want >= 400 and not (body.get("status") == want and body.get("detail")):
            wrong.append(f"{where}: error body {body}")
        if want == 200 and kind == "list" and route in TABLE_ROUTES and not body["results"]:
            wrong.append(f"{where}: an empty list")
        if want == 200 and route in JSON_ROUTES and not body:
            wrong.append(f"{where}: an empty answer")
    assert not wrong, "\n".join(wrong)
    assert len(all_cells) == len(TABLE_ROUTES) * 10 + len(JSON_ROUTES) * 5 == 130


def walk_ids(client, url: str, key: str) -> list[int]:
    ids = []
    while url:
        page = client.get(url).json()
        ids += [row[key] for row in page["results"]]
        url = page["next"]
    return ids


PPDB_LISTS = {
    "ppdbdiaobject": ("diaobject_id", lambda d, visible: d.visible_object_ids() if visible else d.object_ids),
    "ppdbdiasource": ("diasource_id", lambda d, visible: d.source_ids(visible_only=visible)),
    "ppdbdiaforcedsource": ("diaforcedsource_id", lambda d, visible: d.forced_ids(visible_only=visible)),
    "ppdbalert": ("alert_id", lambda d, visible: d.alert_ids(sent=True if visible else None)),
}


@pytest.mark.parametrize("role, sees_everything", [("user", False), ("broker", False), ("admin", True)])
def test_ppdb_lists_show_others_only_what_was_sent(world, client, role, sees_everything):
    users, data, _ = world
    client.force_login(users[role])
    # The count is exact when the planner knows the table is small; earlier tests may have left
    # statistics of a big table behind (pg_class.reltuples), so refresh them first.
    with connection.cursor() as cur:
        for route in PPDB_LISTS:
            cur.execute(f"ANALYZE elasticc2_{route}")
    for route, (key, expected) in PPDB_LISTS.items():
        got = walk_ids(client, f"/elasticc2/{route}/?limit=5", key)
        assert got == sorted(expected(data, not sees_everything)), route
        # and the count says so, exactly
        counted = client.get(f"/elasticc2/{route}/").json()
        assert (counted["count"], counted["count_is_estimate"]) == (len(got), False), route
    # The TOM-known tables hold what was sent; everyone sees them whole.
    assert walk_ids(client, "/elasticc2/diasource/?limit=4", "diasource_id") == data.source_ids(visible_only=True)


def test_boundary_rows_of_the_sent_rule(world, client):
    """Object 2 of the seed has its alerts at 60002 and 60004 sent: its source at 60004 and the
    forced point at exactly 60004 are public; the source at 60006 and forced point at 60007 are not."""
    users, data, _ = world
    client.force_login(users["user"])
    obj = data.object_ids[2]
    assert data.horizon(obj) == 60004.0
    cases = {
        f"/elasticc2/ppdbdiasource/{obj * 100000 + 2}/": 200,  # 60004, its own alert sent
        f"/elasticc2/ppdbdiasource/{obj * 100000 + 3}/": 404,  # 60006
        f"/elasticc2/ppdbdiaforcedsource/{obj * 100000 + 53}/": 200,  # 60004, at the horizon
        f"/elasticc2/ppdbdiaforcedsource/{obj * 100000 + 54}/": 404,  # 60007
        f"/elasticc2/ppdbdiaobject/{data.object_ids[0]}/": 404,  # nothing sent
        f"/elasticc2/ppdbalert/{obj * 100000 + 3}/": 404,  # unsent alert
        f"/elasticc2/ppdbdiaobjectwithsources/{data.object_ids[0]}/": 404,
        f"/elasticc2/ppdbdiaobjectofsource/{obj * 100000 + 3}/": 404,
        f"/elasticc2/ppdbdiaobjectofsource/{obj * 100000 + 2}/": 200,
    }
    for url, status in cases.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert response["Content-Type"].startswith("application/json")
    client.force_login(users["admin"])
    for url in cases:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role, status", [("user", 403), ("broker", 403), ("admin", 200)])
def test_listing_unsent_alerts_only_for_admins(world, client, role, status):
    users, data, _ = world
    client.force_login(users[role])
    response = client.get("/elasticc2/ppdbalert/?sent=false&limit=1000")
    assert response.status_code == status
    if status == 200:
        rows = response.json()["results"]
        assert [r["alert_id"] for r in rows] == data.alert_ids(sent=False)
        assert all(r["alertsenttimestamp"] is None for r in rows)


def test_anonymous_gets_json_401_and_unknown_urls_json_404(db, client):
    for url in ("/elasticc2/ppdbdiaobject/", "/elasticc2/diaobjecttruth/1/", "/elasticc2/classids"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["Content-Type"].startswith("application/json")
        assert "Location" not in response
    # An unknown URL under /elasticc2/ is answered as one under /elasticc/ is: JSON, never a page.
    response = client.get("/elasticc2/no-such-table/")
    assert response.status_code == client.get("/elasticc/no-such-table/").status_code
    assert response["Content-Type"].startswith("application/json")


def test_logged_in_unknown_url_and_trailing_slash_rules(db, client):
    client.force_login(make_users()["user"])
    for url in ("/elasticc2/no-such-table/", "/elasticc2/classids/", "/elasticc2/classifiers_json/"):
        response = client.get(url)
        assert response.status_code == 404, url  # the original's JSON routes take no trailing slash
        assert response.json()["code"] == "not_found"
