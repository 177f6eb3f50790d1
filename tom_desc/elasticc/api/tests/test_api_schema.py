"""The OpenAPI schema: it describes every route, and Schemathesis, fuzzing every
operation through a live gunicorn, finds no 500 and no answer the schema does not
describe (status code, content type, body shape)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from drf_spectacular.generators import EndpointEnumerator

from elasticc.tests.api_data import classification, make_user, seed, store_messages

ROUTES = [
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
DETAIL_PARAMS = {
    "diaobject": "diaObjectId",
    "diasource": "diaSourceId",
    "diaforcedsource": "diaForcedSourceId",
    "diatruth": "diaSourceId",
    "diaobjecttruth": "diaObjectId",
    "diaalert": "alertId",
    "brokerclassifier": "classifierId",
    "brokermessage": "brokerMessageId",
    "classids": "classId",
}
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def elasticc2_api_paths() -> set[str]:
    """Every REST route under /elasticc2/ in the URL map, as OpenAPI paths; the follow-up app's
    original JSON routes, which it leaves out of the schema (docs/followup.md), aside."""
    return {
        path.replace("{pk}", "{id}")
        for path, _regex, _method, view in EndpointEnumerator().get_api_endpoints()
        if path.startswith("/elasticc2/") and not view.cls.__module__.startswith("followup.")
    }


def test_schema_lists_every_route_and_method(client, db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert client.get("/api/schema/").status_code == 401  # the schema is for logged-in users
    client.force_login(make_user("reader"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    expected = set()
    for route in ROUTES:
        expected |= {f"/elasticc/{route}/", f"/elasticc/{route}/{{{DETAIL_PARAMS[route]}}}/"}
    expected.add("/elasticc/brokermessage/{info}/")  # the original's alertid=N/ path filters
    # for data people: cone search, light curves, the columns' units (elasticc/api/tests/test_data_routes.py)
    expected |= {"/elasticc/cone/", "/elasticc/columns/", "/elasticc/diaobject/{object_id}/lightcurve/"}
    # Both campaigns: every /elasticc2/ REST route (elasticc2/api/tests/test_schema.py checks each
    # one's operations; the original's JSON views have no trailing slash).
    elasticc2 = elasticc2_api_paths()
    assert {
        "/elasticc2/classids",
        "/elasticc2/ppdbdiaobject/",
        "/elasticc2/brokermessage/",
        "/elasticc2/brokermessage/{brokermessage_id}/",
    } <= elasticc2
    assert set(paths) == expected | elasticc2
    assert set(paths["/elasticc2/brokermessage/"]) - {"parameters"} == {"get", "post", "put"}
    put = paths["/elasticc2/brokermessage/"]["put"]
    one = put["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert 2222 in one["properties"]["classifications"]["items"]["properties"]["classId"]["enum"]
    assert 111 not in one["properties"]["classifications"]["items"]["properties"]["classId"]["enum"]
    assert "201" in put["responses"]
    for route in ROUTES:
        methods = set(paths[f"/elasticc/{route}/"]) - {"parameters"}
        assert methods == ({"get", "post", "put"} if route == "brokermessage" else {"get"}), route
        assert set(paths[f"/elasticc/{route}/{{{DETAIL_PARAMS[route]}}}/"]) - {"parameters"} == {"get"}
    listing = paths["/elasticc/diasource/"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"cursor", "limit", "diaObjectId", "midPointTai__gte", "midPointTai__lte"} <= names
    assert {"alertId", "diaSourceId", "classifierId", "brokerName"} <= {
        p["name"] for p in paths["/elasticc/brokermessage/"]["get"]["parameters"]
    }
    assert {"sent", "shape"} <= {p["name"] for p in paths["/elasticc/diaalert/"]["get"]["parameters"]}
    assert "offset" in names
    assert set(paths["/elasticc/brokermessage/{info}/"]) - {"parameters"} == {"get"}
    for page in ("/api/docs/", "/api/redoc/"):
        answer = client.get(page)
        assert answer.status_code == 200
        # Swagger UI and Redoc come from the sidecar's local files: no other host, no fonts CDN.
        html = answer.content.decode()
        assert "/static/drf_spectacular_sidecar/" in html
        assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", html), page


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error(live_server_url, tmp_path):
    data = seed(n_objects=6, sources_per_object=4, forced_per_object=6)
    store_messages([classification(a) for a in data.sent_alert_ids[:3]])
    # Member of both groups: every operation is reachable (not only 401/403 answers).
    user = make_user("fuzzer", "elasticc_admin", "elasticc_broker")
    from rest_framework.authtoken.models import Token

    key = Token.objects.get_or_create(user=user)[0].key
    assert (
        requests.get(
            f"{live_server_url}/api/schema/", headers={"Authorization": f"Token {key}"}, timeout=30
        ).status_code
        == 200
    )
    st = Path(sys.executable).with_name("st")
    run = subprocess.run(
        [
            str(st),
            "run",
            f"{live_server_url}/api/schema/",
            "--header",
            f"Authorization: Token {key}",
            "--checks",
            CHECKS,
            "--max-examples",
            os.environ.get("API_FUZZ_EXAMPLES", "25"),
            "--seed",
            "20231001",
            "--generation-database",
            "none",
            "--workers",
            "2",
            "--phases",
            "examples,fuzzing",
            "--request-timeout",
            "30",
            # /elasticc2/getalert answers bad input with the original's HTTP 500 and text
            # (elasticc2/api/tests/test_getalert.py checks those).
            "--exclude-path",
            "/elasticc2/getalert",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
