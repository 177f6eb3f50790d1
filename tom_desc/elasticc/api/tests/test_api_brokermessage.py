"""Broker messages over REST: reading them with their classifier and classifications, and sending them."""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from elasticc.models import BrokerClassification, BrokerClassifier, BrokerMessage
from elasticc.tests.api_data import T0, classification, make_user, sent_alerts, store_messages


@pytest.fixture
def users(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return {"user": make_user("reader"), "broker": make_user("sender", "elasticc_broker")}


def send(client, user, body, method="put"):
    """Like a broker's script: token authentication, JSON body."""
    token, _ = Token.objects.get_or_create(user=user)
    return getattr(client, method)(
        "/elasticc/brokermessage/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )


def test_list_carries_classifier_and_classifications(client, users):
    ids = store_messages(
        [
            classification(11, broker="A", classifier="RF", probs=((111, 0.6), (112, 0.4))),
            classification(12, broker="A", classifier="RF", probs=((121, 1.0),)),
            classification(11, broker="B", classifier="NN", probs=((113, 0.9), (221, 0.05), (0, 0.05))),
        ]
    )
    client.force_login(users["user"])
    page = client.get("/elasticc/brokermessage/").json()
    assert page["count"] == 3 and page["count_is_estimate"] is False
    by_id = {m["brokerMessageId"]: m for m in page["results"]}
    assert sorted(by_id) == sorted(ids)
    first = by_id[ids[0]]
    assert first["alertId"] == 11 and first["diaSourceId"] == 11
    assert first["classifier"]["brokerName"] == "A" and first["classifier"]["classifierName"] == "RF"
    assert first["classifier"]["classifierId"] == first["classifierId"]
    assert first["classifications"] == [
        {"classId": 111, "probability": pytest.approx(0.6)},
        {"classId": 112, "probability": pytest.approx(0.4)},
    ]
    assert [c["classId"] for c in by_id[ids[2]]["classifications"]] == [0, 113, 221]
    assert first["elasticcPublishTimestamp"] == "2023-10-01T12:00:00Z"
    detail = client.get(f"/elasticc/brokermessage/{ids[2]}/").json()
    assert detail == by_id[ids[2]]


def test_classifications_of_a_page_cost_one_query_whatever_the_page_size(client, users):
    store_messages([classification(a, classifier=f"C{a % 3}") for a in range(100, 160)])
    client.force_login(users["user"])
    client.get("/elasticc/brokermessage/?limit=2")  # warm up session/user lookups

    def queries(limit):
        with CaptureQueriesContext(connection) as ctx:
            assert len(client.get(f"/elasticc/brokermessage/?limit={limit}").json()["results"]) == limit
        return [q["sql"] for q in ctx.captured_queries]

    small, large = queries(2), queries(50)
    assert len(small) == len(large)
    assert sum("elasticc_brokerclassification" in q for q in large) == 1


def test_filters(client, users):
    ids = store_messages(
        [
            classification(21, broker="A", classifier="RF"),
            classification(22, broker="A", classifier="RF"),
            classification(21, broker="B", classifier="NN"),
        ]
    )
    rf = BrokerClassifier.objects.get(classifierName="RF").classifierId
    client.force_login(users["user"])

    def ids_for(query):
        return sorted(m["brokerMessageId"] for m in client.get(f"/elasticc/brokermessage/?{query}").json()["results"])

    assert ids_for("alertId=21") == sorted([ids[0], ids[2]])
    assert ids_for("diaSourceId=22") == [ids[1]]
    assert ids_for(f"classifierId={rf}") == sorted(ids[:2])
    assert ids_for("brokerName=B") == [ids[2]]
    assert ids_for("brokerName=nobody") == []
    assert ids_for("brokerName=A&alertId=22") == [ids[1]]
    assert client.get("/elasticc/brokermessage/?alertId=abc").status_code == 400
    assert client.get(f"/elasticc/brokermessage/?alertId={2**63}").status_code == 400
    classifiers = client.get("/elasticc/brokerclassifier/?brokerName=A").json()["results"]
    assert [c["classifierId"] for c in classifiers] == [rf]


def test_put_one_message_stores_it_like_the_kafka_path(client, users):
    sent_alerts(31)
    body = classification(31, millis=True, probs=((111, 0.25), (112, 0.75)))
    response = send(client, users["broker"], body)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["stored"] == 1 and answer["duplicates"] == 0 and answer["classifications"] == 2
    message = BrokerMessage.objects.get(brokerMessageId=answer["brokerMessageIds"][0])
    assert message.alertId == 31 and message.topicName is None and message.streamMessageId is None
    assert message.elasticcPublishTimestamp == T0
    assert message.brokerIngestTimestamp == datetime(2023, 10, 1, 12, 0, 5, tzinfo=UTC)
    assert sorted(
        BrokerClassification.objects.filter(brokerMessageId=message.brokerMessageId).values_list(
            "classId", "probability"
        )
    ) == [(111, 0.25), (112, 0.75)]


@pytest.mark.parametrize("method", ["put", "post"])
def test_a_list_and_resending_it_stores_nothing_new(client, users, method):
    sent_alerts(41, 42)
    body = [classification(41, millis=True), classification(42, millis=True, classifier="Other")]
    first = send(client, users["broker"], body, method)
    assert first.status_code == 201 and first.json()["stored"] == 2
    again = send(client, users["broker"], body, method)
    assert again.status_code == 201
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 2
    assert again.json()["brokerMessageIds"] == first.json()["brokerMessageIds"]
    assert BrokerMessage.objects.count() == 2 and BrokerClassification.objects.count() == 4


@pytest.mark.parametrize(
    "change, field",
    [
        ({"alertId": "x"}, "[1].alertId"),
        ({"elasticcPublishTimestamp": "2023-10-01"}, "[1].elasticcPublishTimestamp"),
        ({"elasticcPublishTimestamp": 10**20}, "[1].elasticcPublishTimestamp"),
        ({"brokerName": ""}, "[1].brokerName"),
        ({"classifications": []}, "[1].classifications"),
        ({"classifications": [{"classId": 111, "probability": 1.5}]}, "[1].classifications[0].probability"),
        ({"classifications": [{"classId": 999, "probability": 0.5}]}, "[1].classifications[0].classId"),
    ],
)
def test_a_bad_record_is_a_400_naming_the_field_and_nothing_is_stored(client, users, change, field):
    sent_alerts(51, 52, 53)
    body = [classification(51, millis=True), classification(52, millis=True, **change), classification(53, millis=True)]
    response = send(client, users["broker"], body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["status"] == 400
    assert BrokerMessage.objects.count() == 0 and BrokerClassifier.objects.count() == 0


def test_malformed_bodies(client, users):
    for raw, field in (("[]", "body"), ('"text"', "body"), ("[1]", "[0]")):
        token, _ = Token.objects.get_or_create(user=users["broker"])
        response = client.put(
            "/elasticc/brokermessage/",
            data=raw,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token.key}",
        )
        assert response.status_code == 400 and response.json()["field"] == field, raw
    response = client.put(
        "/elasticc/brokermessage/",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")


def test_probability_rounded_to_the_real_column_like_avro(client, users):
    sent_alerts(61)
    response = send(client, users["broker"], classification(61, millis=True, probs=((111, 1e-308), (112, 1.0))))
    assert response.status_code == 201
    assert sorted(BrokerClassification.objects.values_list("probability", flat=True)) == [0.0, 1.0]


def test_only_brokers_may_send(client, users):
    sent_alerts(71)
    response = send(client, users["user"], classification(71, millis=True))
    assert response.status_code == 403
    assert BrokerMessage.objects.count() == 0
