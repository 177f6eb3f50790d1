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


def test_schema_lists_every_route_and_method(client, db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert client.get("/api/schema/").status_code == 401  # the schema is for logged-in users
    client.force_login(make_user("reader"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    expected = set()
    for route in ROUTES:
        expected |= {f"/elasticc/{route}/", f"/elasticc/{route}/{{{DETAIL_PARAMS[route]}}}/"}
    assert set(paths) == expected
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
    assert "sent" in {p["name"] for p in paths["/elasticc/diaalert/"]["get"]["parameters"]}
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
