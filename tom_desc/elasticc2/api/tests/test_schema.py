"""The OpenAPI schema of the /elasticc2/ routes: complete, without warnings, and true.

The site's schema view (/api/schema/) describes both campaigns' routes (its preprocessing
hook, elasticc.api.schema.only_elasticc_routes, keeps /elasticc/ and /elasticc2/; the ELAsTiCC
schema test checks the whole set); these tests generate the schema of the /elasticc2/ routes
alone with the same generator, then Schemathesis fuzzes every operation through a live
gunicorn and must find no 500 and no answer the schema does not describe.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings

from elasticc.tests.api_data import make_user
from elasticc2.tests.data import seed

TABLES = {
    "ppdbdiaobject": "diaobject_id",
    "ppdbdiasource": "diasource_id",
    "ppdbdiaforcedsource": "diaforcedsource_id",
    "ppdbalert": "alert_id",
    "ppdbdiaobjectwithsources": "diaobject_id",
    "ppdbdiaobjectofsource": "diasource_id",
    "diaobjecttruth": "diaobject_id",
    "diaobject": "diaobject_id",
    "diasource": "diasource_id",
    "diaforcedsource": "diaforcedsource_id",
    "brokerclassifier": "classifier_id",
    "brokermessage": "brokermessage_id",
}


def elasticc2_routes(endpoints: list) -> list:
    return [e for e in endpoints if e[0].startswith("/elasticc2/")]


def elasticc2_schema() -> dict:
    GENERATOR_STATS.reset()
    with patched_settings({"PREPROCESSING_HOOKS": [f"{__name__}.elasticc2_routes"]}):
        schema = SchemaGenerator().get_schema(request=None, public=True)
    # (Authentication classes are the site's settings, not this app's: their warnings are not ours.)
    warnings = [w for w in GENERATOR_STATS._warn_cache if "could not resolve authenticator" not in w]
    assert not warnings and not GENERATOR_STATS._error_cache, warnings
    return schema


def test_schema_lists_every_route_method_and_filter(db):
    schema = elasticc2_schema()
    paths = schema["paths"]
    expected = {"/elasticc2/classids", "/elasticc2/classifiers_json", "/elasticc2/getalert"}
    for table, key in TABLES.items():
        expected |= {f"/elasticc2/{table}/", f"/elasticc2/{table}/{{{key}}}/"}
    # for data people: cone searches and light curves (elasticc2/api/astro.py)
    expected |= {"/elasticc2/cone/", "/elasticc2/ppdbcone/"}
    expected |= {f"/elasticc2/{t}/{{object_id}}/lightcurve/" for t in ("diaobject", "ppdbdiaobject")}
    assert set(paths) == expected
    for path, operations in paths.items():
        methods = set(operations) - {"parameters"}
        if path in ("/elasticc2/classids", "/elasticc2/classifiers_json", "/elasticc2/getalert"):
            assert methods == {"get", "post"}, path
        elif path == "/elasticc2/brokermessage/":  # brokers PUT (or POST) classifications
            assert methods == {"get", "post", "put"}, path
        else:
            assert methods == {"get"}, path

    def names(path):
        return {p["name"] for p in paths[path]["get"].get("parameters", [])}

    assert {"cursor", "limit", "diaobject_id", "midpointtai__gte", "midpointtai__lte"} <= names(
        "/elasticc2/ppdbdiasource/"
    )
    assert {"alert_id", "diasource_id", "classifier_id", "brokername"} <= names("/elasticc2/brokermessage/")
    assert {"sent", "diasource_id", "diaobject_id"} <= names("/elasticc2/ppdbalert/")
    assert "gentype" in names("/elasticc2/diaobjecttruth/")
    components = schema["components"]["schemas"]
    # Both campaigns have tables called DiaObject...: the elasticc2 components carry a prefix.
    assert {"Elasticc2DiaObject", "Elasticc2PpdbDiaSource", "Elasticc2BrokerMessage", "Elasticc2PpdbAlert"} <= set(
        components
    )
    assert "DiaObject" not in components  # only /elasticc2/ routes here, and no name taken from elasticc
    message = components["Elasticc2BrokerMessage"]["properties"]
    assert message["classid"]["type"] == "array" and message["classid"]["items"]["type"] == "integer"
    assert message["probability"]["items"]["type"] == "number"
    assert "diaobject" in components["Elasticc2PpdbDiaSource"]["properties"]
    classids = paths["/elasticc2/classids"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert classids["type"] == "object"
    assert list(classids["additionalProperties"]["properties"]) == [
        "exactmatch", "categorymatch", "broadmatch", "generalmatch", "description", "gentype"
    ]  # fmt: skip
    for operations in paths.values():
        for method, operation in operations.items():
            if method != "parameters":
                assert {"401", "403", "404"} <= set(operation["responses"]), operation["operationId"]


CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error(live_server_url, tmp_path):
    seed(n_objects=6)
    from rest_framework.authtoken.models import Token

    user = make_user("fuzzer2", "elasticc_admin")  # every operation reachable, not only 403s
    key = Token.objects.get_or_create(user=user)[0].key
    schema_file = tmp_path / "elasticc2.json"
    schema_file.write_text(json.dumps(elasticc2_schema()))
    st = Path(sys.executable).with_name("st")
    run = subprocess.run(
        [
            str(st), "run", str(schema_file), "--url", live_server_url,
            "--header", f"Authorization: Token {key}",
            "--checks", CHECKS,
            "--max-examples", os.environ.get("API_FUZZ_EXAMPLES", "25"),
            "--seed", "20240301",
            "--generation-database", "none",
            "--workers", "2",
            "--phases", "examples,fuzzing",
            "--request-timeout", "30",
            # getalert answers bad input with the original's HTTP 500 and text (test_getalert.py
            # checks those, and that hostile input gets nothing else).
            "--exclude-path", "/elasticc2/getalert",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert "elasticc2/ppdbdiaobjectofsource" in run.stdout  # the operations were really run
