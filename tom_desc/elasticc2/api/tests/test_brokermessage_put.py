"""Brokers sending ELAsTiCC2 classifications to PUT/POST /elasticc2/brokermessage/ (issue 14, items 5-6).

The answer as the original's clients read it (201, brokerMessageId, num_loaded, the Location
header), tried with a script of the original's apiclassifier shape through gunicorn; each
message one row with classid and probability arrays, stored once however often it is sent;
a three-digit classId a 400 naming it, with nothing of the request stored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from elasticc.api.tests.test_api_original_clients import APICLASSIFIER_SCRIPT, run_apiclassifier
from elasticc.models import BrokerMessage as ElasticcBrokerMessage
from elasticc.tests.api_data import make_user
from elasticc2.models import BrokerClassifier, BrokerMessage

PUBLISHED = 1709294400000  # 2024-03-01T12:00:00Z in milliseconds


def sent_alerts(*alert_ids: int) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO elasticc2_ppdbalert (alert_id, diasource_id, diaobject_id, midpointtai, alertsenttimestamp) "
            "SELECT a, a, a / 100, 60000, now() FROM unnest(%s::bigint[]) a",
            [list(alert_ids)],
        )


def message(alert_id: int, probs=((2222, 0.75), (2223, 0.25)), **kw) -> dict:
    body = {
        "alertId": alert_id,
        "diaSourceId": alert_id,
        "elasticcPublishTimestamp": PUBLISHED,
        "brokerIngestTimestamp": PUBLISHED + 1500.25,
        "brokerName": "apiclassifier",
        "brokerVersion": "1.0",
        "classifierName": "AlwaysTheSame",
        "classifierParams": "0.75 2222, 0.25 2223",
        "classifications": [{"classId": c, "probability": p} for c, p in probs],
    }
    body.update(kw)
    return body


@pytest.fixture
def broker(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("sender2", "elasticc_broker")


def put(client, user, body, method="put"):
    token, _ = Token.objects.get_or_create(user=user)
    return getattr(client, method)(
        "/elasticc2/brokermessage/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )


@pytest.mark.django_db(transaction=True)
def test_the_original_api_classifier_shape_through_gunicorn(live_server_url, tmp_path):
    """The original's tests/apiclassifier.py logs in with the CSRF form and PUTs a list with float
    timestamps; here aimed at /elasticc2/ with four-digit classIds."""
    make_user("apibroker", "elasticc_broker")
    sent_alerts(301, 302, 303)
    script = (
        APICLASSIFIER_SCRIPT.replace("/elasticc/brokermessage/", "/elasticc2/brokermessage/")
        .replace('"classId": 111', '"classId": 2222')
        .replace('"classId": 112', '"classId": 2223')
    )
    assert "/elasticc2/brokermessage/" in script and "2223" in script
    status, location, answer = run_apiclassifier(script, live_server_url, [301, 302, 303], tmp_path)
    assert status == "201", answer
    assert {"brokerMessageId", "num_loaded"} <= set(answer)
    assert answer["num_loaded"] == 3 and answer["brokerMessageId"] == min(answer["brokerMessageIds"])
    assert location == f"{live_server_url}/elasticc2/brokermessage/{answer['brokerMessageId']}"
    rows = list(BrokerMessage.objects.order_by("alert_id"))
    assert [r.alert_id for r in rows] == [301, 302, 303]
    assert all(r.classid == [2222, 2223] and r.probability == [0.25, 0.75] for r in rows)
    first = rows[0]
    assert first.brokermessage_id == answer["brokerMessageId"]
    assert (first.topicname, first.streammessage_id) == ("REST_push", -1)  # as the original marked a push
    # brokerPublishTimestamp 1696161612345.678 ms is msghdrtimestamp, to the microsecond.
    assert first.msghdrtimestamp == datetime(2023, 10, 1, 12, 0, 12, 345678, tzinfo=UTC)
    assert first.elasticcpublishtimestamp == datetime(2023, 10, 1, 12, 0, tzinfo=UTC)
    assert abs(first.brokeringesttimestamp - first.descingesttimestamp).total_seconds() < 120
    classifier = BrokerClassifier.objects.get()
    assert (classifier.brokername, classifier.classifierparams, classifier.registeredby) == (
        "apiclassifier",
        "0.5 111, 0.75 112",
        "rest:apibroker",
    )
    # The message is readable as the list and by the alert and source filters.
    token = Token.objects.get_or_create(user=make_user("reader2"))[0].key
    by_alert = requests.get(
        f"{live_server_url}/elasticc2/brokermessage/?alert_id=302", headers={"Authorization": f"Token {token}"}
    ).json()
    assert [m["alert_id"] for m in by_alert["results"]] == [302]
    assert by_alert["results"][0]["classid"] == [2222, 2223]
    by_source = requests.get(
        f"{live_server_url}/elasticc2/brokermessage/?diasource_id=303", headers={"Authorization": f"Token {token}"}
    ).json()
    assert [m["diasource_id"] for m in by_source["results"]] == [303]


def test_answer_shape_location_and_a_resend_storing_nothing(client, broker):
    sent_alerts(401, 402)
    first = put(client, broker, [message(401), message(402)])
    assert first.status_code == 201, first.content
    answer = first.json()
    assert answer["num_loaded"] == 2 and answer["stored"] == 2 and answer["duplicates"] == 0
    assert answer["classifications"] == 4
    assert answer["brokerMessageId"] == answer["brokerMessageIds"][0]
    assert first["Location"] == f"http://testserver/elasticc2/brokermessage/{answer['brokerMessageId']}"
    assert BrokerMessage.objects.count() == 2 and not ElasticcBrokerMessage.objects.exists()
    row = BrokerMessage.objects.get(alert_id=401)
    assert (row.classid, row.probability) == ([2222, 2223], [0.75, 0.25])
    assert row.msghdrtimestamp is None  # no brokerPublishTimestamp: null, as the original stored it
    assert row.brokeringesttimestamp == datetime(2024, 3, 1, 12, 0, 1, 500250, tzinfo=UTC)

    again = put(client, broker, message(401), method="post")  # POST does the same as PUT
    assert again.status_code == 201
    assert again.json()["num_loaded"] == 0 and again.json()["brokerMessageId"] == -1
    assert again.json()["brokerMessageIds"] == [row.brokermessage_id]
    assert again["Location"] == "http://testserver/elasticc2/brokermessage/-1"
    assert BrokerMessage.objects.count() == 2


def test_a_three_digit_classid_is_a_400_naming_it_and_nothing_is_stored(client, broker):
    sent_alerts(501, 502)
    response = put(client, broker, [message(501), message(502, probs=((2222, 0.5), (111, 0.5)))])
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "[1].classifications[1].classId"
    assert body["errors"][body["field"]] == [
        "111 is not a classId of the ELAsTiCC2 taxonomy (four-digit classIds, e.g. 2222 for SN Ia)"
    ]
    assert not BrokerMessage.objects.exists() and not BrokerClassifier.objects.exists()
    # The same message with ELAsTiCC2's ids goes in.
    assert put(client, broker, [message(501), message(502)]).status_code == 201
    assert BrokerMessage.objects.count() == 2


@pytest.mark.parametrize(
    "body, field, reason",
    [
        (message(9001), "body", "alertId 9001 is not an ELAsTiCC2 alert of this site"),
        (message(601, diaSourceId=7), "body", "diaSourceId 7 is not the source of alert 601 (its source is 601)"),
        (message(601, probs=((2222, 0.8), (2223, 0.8))), "classifications", "probabilities add up to 1.6"),
        (message(601, elasticcPublishTimestamp="soon"), "elasticcPublishTimestamp", "must be a number"),
    ],
)
def test_the_admission_rules_apply_to_elasticc2(client, broker, body, field, reason):
    sent_alerts(601)
    response = put(client, broker, body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["field"] == field and reason in answer["errors"][field][0]
    assert not BrokerMessage.objects.exists()


def test_an_unsent_alert_is_refused(client, broker):
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO elasticc2_ppdbalert (alert_id, diasource_id, diaobject_id, midpointtai) "
            "VALUES (701, 701, 7, 60000)"
        )
    response = put(client, broker, message(701))
    assert response.status_code == 400
    assert response.json()["errors"]["body"] == ["alert 701 has not been sent yet"]


def test_only_brokers_send(client, db, broker):
    sent_alerts(801)
    body = json.dumps(message(801))
    assert client.put("/elasticc2/brokermessage/", data=body, content_type="application/json").status_code == 401
    reader = make_user("reader3")
    client.force_login(reader)
    response = client.put("/elasticc2/brokermessage/", data=body, content_type="application/json")
    assert response.status_code == 403
    assert "elasticc_broker" in response.json()["detail"]
    assert not BrokerMessage.objects.exists()


def test_timestamps_in_milliseconds_as_integers_or_floats(client, broker):
    sent_alerts(901, 902)
    assert put(client, broker, message(901, brokerPublishTimestamp=PUBLISHED + 0.5)).status_code == 201
    assert BrokerMessage.objects.get(alert_id=901).msghdrtimestamp == datetime(2024, 3, 1, 12, 0, 0, 500, tzinfo=UTC)
    assert put(client, broker, message(902, brokerPublishTimestamp=PUBLISHED + 2000)).status_code == 201
    assert BrokerMessage.objects.get(alert_id=902).msghdrtimestamp == datetime(
        2024, 3, 1, 12, 0, tzinfo=UTC
    ) + timedelta(seconds=2)
