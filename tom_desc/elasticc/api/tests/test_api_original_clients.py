"""The REST API as the original DESC TOM's clients use it (issue 13, item 5): scripts of their shape
against a live gunicorn (session login with the CSRF header, HTTP Basic, hand-made offsets), and the
answers they read (brokerMessageId/num_loaded/Location, path filters, diaObject, whole alerts)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from rest_framework.authtoken.models import Token

from elasticc.models import BrokerMessage
from elasticc.stream import alerts
from elasticc.tests.api_data import PASSWORD, T0, classification, make_user, seed, sent_alerts, store_messages

# The shape of the original's tests/apiclassifier.py: log in like its TomClient (GET the login page
# for the CSRF cookie, POST username/password/csrfmiddlewaretoken, then X-CSRFToken on every
# request) and PUT a list of messages whose ingest/publish timestamps are float milliseconds.
APICLASSIFIER_SCRIPT = """
import datetime, json, sys
import requests

url, username, password = sys.argv[1], sys.argv[2], sys.argv[3]
alerts = json.loads(sys.argv[4])
rqs = requests.session()
rqs.get(f"{url}/accounts/login/")
res = rqs.post(f"{url}/accounts/login/", data={"username": username, "password": password,
                                               "csrfmiddlewaretoken": rqs.cookies["csrftoken"]})
if res.status_code != 200 or "Please enter a correct" in res.text:
    raise RuntimeError("login failed")
rqs.headers.update({"X-CSRFToken": rqs.cookies["csrftoken"]})
ingesttime = datetime.datetime.now()
brokermsgs = []
for alert in alerts:
    brokermsgs.append({"alertId": alert, "diaSourceId": alert,
                       "elasticcPublishTimestamp": 1696161600000,
                       "brokerIngestTimestamp": ingesttime.timestamp() * 1000,
                       "brokerPublishTimestamp": 1696161612345.678,
                       "brokerName": "apiclassifier", "brokerVersion": "1.0",
                       "classifierName": "AlwaysTheSame", "classifierParams": "0.5 111, 0.75 112",
                       "classifications": [{"classId": 111, "probability": 0.25},
                                           {"classId": 112, "probability": 0.75}]})
res = rqs.request("PUT", f"{url}/elasticc/brokermessage/", json=brokermsgs)
print(res.status_code)
print(res.headers.get("Location"))
print(res.text)
"""


def run_apiclassifier(script: str, url: str, alerts: list[int], tmp_path) -> tuple[str, str, dict]:
    """Run a script of APICLASSIFIER_SCRIPT's shape as user apibroker; (status, Location, answer)."""
    path = tmp_path / "apiclassifier.py"
    path.write_text(script)
    run = subprocess.run(
        [sys.executable, str(path), url, "apibroker", PASSWORD, json.dumps(alerts)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    status, location, body = run.stdout.splitlines()[:3]
    return status, location, json.loads(body)


@pytest.mark.django_db(transaction=True)
def test_the_original_api_classifier_puts_float_timestamps(live_server_url, tmp_path):
    make_user("apibroker", "elasticc_broker")
    sent_alerts(301, 302, 303)
    status, location, answer = run_apiclassifier(APICLASSIFIER_SCRIPT, live_server_url, [301, 302, 303], tmp_path)
    assert status == "201", answer
    assert answer["num_loaded"] == 3 and answer["stored"] == 3
    assert answer["brokerMessageId"] == min(answer["brokerMessageIds"])
    assert location == f"{live_server_url}/elasticc/brokermessage/{answer['brokerMessageId']}"
    message = BrokerMessage.objects.get(brokerMessageId=answer["brokerMessageId"])
    assert message.msgHdrTimestamp == datetime(2023, 10, 1, 12, 0, 12, 345678, tzinfo=UTC)  # brokerPublishTimestamp
    assert message.elasticcPublishTimestamp == T0
    assert abs(message.brokerIngestTimestamp - message.descIngestTimestamp).total_seconds() < 120


@pytest.fixture
def broker(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("sender", "elasticc_broker")


def put(client, user, body, path="/elasticc/brokermessage/"):
    token, _ = Token.objects.get_or_create(user=user)
    return client.put(
        path, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}"
    )


def test_answer_of_a_put_with_nothing_new_and_without_publish_time(client, broker):
    sent_alerts(401)
    first = put(client, broker, classification(401, millis=True))
    assert first.status_code == 201
    stored = BrokerMessage.objects.get(alertId=401)
    # No brokerPublishTimestamp: msgHdrTimestamp is when the site received the message.
    assert abs((stored.msgHdrTimestamp - stored.descIngestTimestamp).total_seconds()) < 60
    again = put(client, broker, classification(401, millis=True))
    assert again.json()["num_loaded"] == 0 and again.json()["brokerMessageId"] == -1
    assert again["Location"] == "http://testserver/elasticc/brokermessage/-1"


@pytest.mark.parametrize(
    "value, stored",
    [
        (1696161600000, T0),
        (1696161600000.5, datetime(2023, 10, 1, 12, 0, 0, 500, tzinfo=UTC)),
        ("1696161600000", None),
        (True, None),
        (1e30, None),
    ],
)
def test_timestamps_take_integers_and_floats_only(client, broker, value, stored):
    sent_alerts(411)
    response = put(client, broker, classification(411, millis=True, elasticcPublishTimestamp=value))
    if stored is None:
        assert response.status_code == 400 and response.json()["field"] == "elasticcPublishTimestamp"
        assert not BrokerMessage.objects.exists()
    else:
        assert response.status_code == 201, response.content
        assert BrokerMessage.objects.get().elasticcPublishTimestamp == stored


def test_original_path_filters(client, broker):
    data = seed(n_objects=3, sources_per_object=4, forced_per_object=1)
    sent = data.sent_alert_ids
    ids = store_messages(
        [classification(a, classifier=c) for a in sent for c in ("RF", "NN")]
        + [classification(sent[0], classifier="XGB", probs=((121, 1.0),))]
    )
    client.force_login(make_user("reader"))

    page = client.get(f"/elasticc/brokermessage/alertid={sent[0]}/").json()
    assert set(page) == {"offset", "num", "totalcount", "count", "brokermessages"}
    assert page["totalcount"] == page["count"] == 3 and page["offset"] == 0 and page["num"] == 100
    message = page["brokermessages"][0]
    assert message["alertId"] == sent[0] and message["brokerName"] == "TestBroker"
    assert message["elasticcPublishTimestamp"] == int(T0.timestamp() * 1000)
    assert datetime.fromisoformat(message["descIngestTimestamp"]).tzinfo is not None
    assert {c["classifierName"] for m in page["brokermessages"] for c in m["classifications"]} == {"RF", "NN", "XGB"}

    both = client.get(f"/elasticc/brokermessage/alertid={sent[0]},{sent[1]}/").json()
    assert both["totalcount"] == 5
    obj = data.object_ids[1]
    by_object = client.get(f"/elasticc/brokermessage/objectid={obj}/").json()
    assert {m["diaSourceId"] // 100000 for m in by_object["brokermessages"]} == {obj}
    assert by_object["totalcount"] == 2 * sum(1 for a in sent if a // 100000 == obj)
    assert client.get(f"/elasticc/brokermessage/diaobjectid={obj}/").json() == by_object
    by_source = client.get(f"/elasticc/brokermessage/sourceid={sent[2]}/").json()
    assert (
        by_source["totalcount"] == 2
        and client.get(f"/elasticc/brokermessage/diasourceid={sent[2]}/").json() == by_source
    )

    # offset and num work (the original ignored them); num=None is everything.
    ordered = [m["brokerMessageId"] for m in both["brokermessages"]]
    assert ordered == sorted(ordered)
    paged = client.get(f"/elasticc/brokermessage/alertid={sent[0]},{sent[1]}/?offset=1&num=2").json()
    assert [m["brokerMessageId"] for m in paged["brokermessages"]] == ordered[1:3] and paged["totalcount"] == 5
    assert client.get(f"/elasticc/brokermessage/alertid={sent[0]},{sent[1]}/?num=None").json()["count"] == 5
    assert client.get(f"/elasticc/brokermessage/{ids[0]}/").json()["brokerMessageId"] == ids[0]  # detail unchanged

    for bad in ("alertId=5", "alertid=x", "foo=1", "alertid=1/sourceid=2", f"alertid={2**63}"):
        response = client.get(f"/elasticc/brokermessage/{bad}/")
        assert response.status_code == 400 and response.json()["field"] == "path", bad
    assert client.get(f"/elasticc/brokermessage/alertid={sent[0]}/?num=0").status_code == 400
    client.logout()
    assert client.get(f"/elasticc/brokermessage/alertid={sent[0]}/").status_code == 401


def test_source_rows_carry_the_original_diaobject_key(client, db):
    data = seed(n_objects=2, sources_per_object=2, forced_per_object=1)
    client.force_login(make_user("reader"))
    rows = client.get("/elasticc/diasource/").json()["results"]
    assert rows and all(r["diaObject"] == r["diaObjectId"] for r in rows)
    assert {r["diaObject"] for r in rows} == set(data.object_ids)
    detail = client.get(f"/elasticc/diasource/{data.source_ids[0]}/").json()
    assert detail["diaObject"] == data.object_ids[0]
    assert {"ccdVisitId", "parentDiaSourceId", "nobs"} <= set(detail)


def test_alert_list_is_whole_alerts_and_rows_on_request(client, db):
    data = seed(n_objects=3, sources_per_object=4, forced_per_object=6)
    client.force_login(make_user("reader"))
    page = client.get("/elasticc/diaalert/?limit=4").json()
    assert [a["alertId"] for a in page["results"]] == sorted(data.sent_alert_ids)[:4]
    for alert in page["results"]:
        assert alert == json.loads(json.dumps(alerts.build_alert(alert["alertId"])))
        assert set(alert) == {"alertId", "diaSource", "prvDiaSources", "prvDiaForcedSources", "diaObject"}
    assert page["results"][0]["prvDiaSources"] == [] and page["results"][0]["prvDiaForcedSources"] == []
    following = client.get(page["next"]).json()["results"]
    assert [a["alertId"] for a in following] == sorted(data.sent_alert_ids)[4:8]
    rows = client.get("/elasticc/diaalert/?limit=4&shape=rows").json()["results"]
    assert [r["alertId"] for r in rows] == sorted(data.sent_alert_ids)[:4]
    assert set(rows[0]) == {"alertId", "diaSourceId", "diaObjectId", "midPointTai", "alertSentTimestamp"}
    response = client.get("/elasticc/diaalert/?shape=table")
    assert response.status_code == 400 and response.json()["field"] == "shape"


@pytest.mark.django_db(transaction=True)
def test_an_offset_walk_with_basic_auth_as_hand_paged_scripts_do(live_server_url):
    """limit/offset pages through gunicorn with HTTP Basic credentials: every row once, in order;
    next links are keyset cursors that carry no offset."""
    import requests

    data = seed(n_objects=25, sources_per_object=4, forced_per_object=1)
    make_user("pager")
    auth = ("pager", PASSWORD)
    seen, offset = [], 0
    while True:
        response = requests.get(
            f"{live_server_url}/elasticc/diasource/", params={"limit": 30, "offset": offset}, auth=auth, timeout=30
        )
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [r["diaSourceId"] for r in page["results"]]
        if page["next"] is not None:
            assert "offset=" not in page["next"] and "cursor=" in page["next"]
        if len(page["results"]) < 30:
            break
        offset += 30
    assert seen == sorted(data.source_ids)
    page = requests.get(f"{live_server_url}/elasticc/diasource/?limit=30&offset=30", auth=auth, timeout=30).json()
    following = requests.get(page["next"], auth=auth, timeout=30).json()
    assert [r["diaSourceId"] for r in following["results"]] == sorted(data.source_ids)[60:90]
    back = requests.get(page["previous"], auth=auth, timeout=30).json()
    assert [r["diaSourceId"] for r in back["results"]] == sorted(data.source_ids)[:30]
    assert (
        requests.get(f"{live_server_url}/elasticc/diasource/", auth=("pager", "wrong"), timeout=30).status_code == 401
    )
    bad = requests.get(f"{live_server_url}/elasticc/diasource/?offset=-1", auth=auth, timeout=30)
    assert bad.status_code == 400 and bad.json()["field"] == "offset"


def test_offset_on_the_taxonomy_list(client, db):
    client.force_login(make_user("reader"))
    everything = [c["classId"] for c in client.get("/elasticc/classids/?limit=1000").json()["results"]]
    page = client.get("/elasticc/classids/?limit=5&offset=10").json()
    assert [c["classId"] for c in page["results"]] == everything[10:15]
    assert page["previous"] is not None
