"""Each endpoint's rows, details, filters and errors."""

import pytest
from django.urls import reverse

from elasticc.stream.alerts import build_alerts
from elasticc.tests.api_data import make_user, seed


@pytest.fixture
def data(db, client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.force_login(make_user("astro", "elasticc_admin"))
    return seed(n_objects=8, sources_per_object=4, forced_per_object=6)


def test_details_by_their_ids(client, data):
    obj, src, forced = data.object_ids[2], data.source_ids[5], data.forced_ids[7]
    assert client.get(f"/elasticc/diaobject/{obj}/").json()["diaObjectId"] == obj
    source = client.get(f"/elasticc/diasource/{src}/").json()
    assert source["diaSourceId"] == src and set(source) == {
        "diaSourceId",
        "diaObjectId",
        "midPointTai",
        "filterName",
        "ra",
        "decl",
        "psFlux",
        "psFluxErr",
        "snr",
        "ccdVisitId",  # the original's columns (null: SNANA has no such values)
        "parentDiaSourceId",
        "nobs",
        "diaObject",  # the original's key of the object, equal to diaObjectId
    }
    assert source["diaObject"] == source["diaObjectId"]
    assert client.get(f"/elasticc/diaforcedsource/{forced}/").json()["diaForcedSourceId"] == forced
    truth = client.get(f"/elasticc/diatruth/{src}/").json()
    assert truth["diaSourceId"] == src and truth["gentype"] == 10
    assert client.get(f"/elasticc/diaobjecttruth/{obj}/").json()["diaObjectId"] == obj
    assert client.get("/elasticc/classids/121/").json() == {
        "classId": 121,
        "description": "KN",
        "level": "exact",
        "parent": 12,
        "gentypes": [50, 51],
    }
    for url in (
        "/elasticc/diaobject/1/",
        "/elasticc/diasource/99999999999/",
        "/elasticc/classids/999/",
        f"/elasticc/diaobject/{2**64}/",
    ):
        response = client.get(url)
        assert response.status_code == 404 and response.json()["status"] == 404, url


def test_alert_detail_is_the_streamed_alert(client, data):
    alert_id = data.sent_alert_ids[-1]
    alert = client.get(f"/elasticc/diaalert/{alert_id}/").json()
    assert set(alert) == {"alertId", "diaSource", "prvDiaSources", "prvDiaForcedSources", "diaObject"}
    assert alert["diaSource"]["diaSourceId"] == alert_id
    # Exactly what the alert sender builds (JSON-equal).
    import json

    from rest_framework.utils.encoders import JSONEncoder

    assert alert == json.loads(json.dumps(build_alerts([alert_id])[0], cls=JSONEncoder))


def test_filters_by_object_and_time(client, data):
    obj = data.object_ids[1]
    for table, key in (
        ("diasource", "diaSourceId"),
        ("diaforcedsource", "diaForcedSourceId"),
        ("diatruth", "diaSourceId"),
        ("diaalert", "alertId"),
    ):
        shape = "&shape=rows" if table == "diaalert" else ""  # the alert rows, not the whole alerts
        rows = client.get(f"/elasticc/{table}/?diaObjectId={obj}{shape}").json()["results"]
        assert rows and all(r["diaObjectId"] == obj for r in rows), table
        assert [r[key] for r in rows] == sorted(r[key] for r in rows)
    rows = client.get("/elasticc/diasource/?midPointTai__gte=60003&midPointTai__lte=60006").json()["results"]
    assert {r["midPointTai"] for r in rows} == {60004.0, 60006.0} and len(rows) == 16
    rows = client.get("/elasticc/diatruth/?mjd__lte=60002").json()["results"]
    assert len(rows) == 8
    rows = client.get("/elasticc/diaalert/?sent=true").json()["results"]
    assert sorted(r["alertId"] for r in rows) == sorted(data.sent_alert_ids)
    rows = client.get("/elasticc/diaobjecttruth/?gentype=50").json()["results"]
    assert [r["diaObjectId"] for r in rows] == [o for o in data.object_ids if o % 2]
    assert client.get("/elasticc/diasource/?midPointTai__gte=nan").status_code == 400
    assert client.get("/elasticc/diasource/?diaObjectId=").status_code == 400
    # The same time window on forced sources and alerts, against the rows filtered here.
    # (The alert rows: shape=rows; the default list gives whole alerts.)
    for listing, key in (("diaforcedsource/?", "diaForcedSourceId"), ("diaalert/?shape=rows&", "alertId")):
        everything = client.get(f"/elasticc/{listing}limit=1000").json()
        assert everything["next"] is None, listing
        times = sorted({r["midPointTai"] for r in everything["results"]})
        lo, hi = times[len(times) // 4], times[3 * len(times) // 4]
        want = sorted(r[key] for r in everything["results"] if lo <= r["midPointTai"] <= hi)
        rows = client.get(f"/elasticc/{listing}midPointTai__gte={lo}&midPointTai__lte={hi}&limit=1000").json()
        assert want and len(want) < len(everything["results"]), listing
        assert sorted(r[key] for r in rows["results"]) == want, listing


def test_errors_are_json(client, data):
    cases = [
        ("get", "/elasticc/no-such-thing/", 404),
        ("get", "/elasticc/diasource/not-a-number/", 404),
        ("delete", "/elasticc/diaobject/", 405),
        ("post", f"/elasticc/diaobject/{data.object_ids[0]}/", 405),
        ("options", "/elasticc/diaobject/", 405),
        ("get", "/elasticc/diasource/?limit=0", 400),
    ]
    for method, url, status in cases:
        response = getattr(client, method)(url)
        assert response.status_code == status, url
        assert response["Content-Type"].startswith("application/json"), url
        assert response.json()["status"] == status


def test_unexpected_failure_is_a_json_500(client, data, monkeypatch):
    from elasticc.api import viewsets

    def broken(self, rows):
        raise RuntimeError("boom")

    monkeypatch.setattr(viewsets.DiaObjectViewSet, "present", broken)
    client.raise_request_exception = False
    response = client.get("/elasticc/diaobject/")
    assert response.status_code == 500
    assert response.json() == {"status": 500, "code": "server_error", "detail": "Internal server error."}


def test_pages_under_elasticc_keep_their_html_behaviour(client, data):
    response = client.get(reverse("elasticc:summary"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
