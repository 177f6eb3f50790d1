"""Broker messages over REST checked against the alerts table and the classifier caps (issue 12,
items 6 and 7): each finding reproduced as a request that used to be stored, now a 400 that names
the record and stores nothing."""

import json

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from elasticc.models import BrokerClassification, BrokerClassifier, BrokerMessage
from elasticc.stream import admission
from elasticc.tests.api_data import classification, make_user, sent_alerts


@pytest.fixture
def broker(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("sender", "elasticc_broker")


def put(client, user, body):
    token, _ = Token.objects.get_or_create(user=user)
    return client.put(
        "/elasticc/brokermessage/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )


def relations() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")
        return cur.fetchone()[0]


def nothing_stored() -> bool:
    return not (
        BrokerMessage.objects.exists() or BrokerClassification.objects.exists() or BrokerClassifier.objects.exists()
    )


@pytest.mark.parametrize(
    "record, reason",
    [
        (classification(9001, millis=True), "alertId 9001 is not an alert of this site"),
        (classification(902, millis=True), "alert 902 has not been sent yet"),
        (
            classification(903, millis=True, diaSourceId=77),
            "diaSourceId 77 is not the source of alert 903 (its source is 903)",
        ),
    ],
)
def test_messages_the_alerts_table_contradicts_are_refused(client, broker, record, reason):
    sent_alerts(901, 903)
    sent_alerts(902, sent=None)
    response = put(client, broker, [classification(901, millis=True), record])
    assert response.status_code == 400
    assert response.json()["field"] == "[1]" and response.json()["errors"]["[1]"] == [reason]
    assert nothing_stored()
    single = put(client, broker, record)
    assert single.status_code == 400 and single.json()["field"] == "body"


def test_probabilities_adding_up_to_more_than_one_are_refused(client, broker):
    sent_alerts(911)
    record = classification(911, millis=True, probs=((111, 0.9), (112, 0.9)))
    response = put(client, broker, record)
    assert response.status_code == 400 and response.json()["field"] == "classifications"
    assert "add up to 1.8" in response.json()["detail"]
    assert nothing_stored()
    # Rounding is tolerated; a partial list (a broker's likeliest classes only) is accepted.
    assert put(client, broker, classification(911, millis=True, probs=((111, 0.505), (112, 0.5)))).status_code == 201
    sent_alerts(912)
    assert put(client, broker, classification(912, millis=True, probs=((111, 0.2),))).status_code == 201


def test_a_run_id_in_classifier_params_cannot_make_thousands_of_partitions(client, broker):
    """The finding: 1,000 records, each with its own classifierParams, made 1,000 classifiers and
    13,000 relations. Now the request is refused whole and no relation is created."""
    sent_alerts(*range(100_000, 101_000))
    body = [classification(a, millis=True, classifierParams=f"run {a}") for a in range(100_000, 101_000)]
    before = relations()
    response = put(client, broker, body)
    assert response.status_code == 400
    assert "at most 50 new classifiers" in response.json()["detail"]
    assert response.json()["field"] == "[50]" and len(response.json()["errors"]) == 950
    assert relations() == before and nothing_stored()


def test_the_per_broker_cap_counts_what_the_account_registered(client, broker, settings):
    settings.ELASTICC_MAX_CLASSIFIERS_PER_BROKER = 3
    sent_alerts(*range(921, 926))
    ok = put(client, broker, [classification(921 + i, millis=True, classifier=f"C{i}") for i in range(3)])
    assert ok.status_code == 201
    assert set(BrokerClassifier.objects.values_list("registeredBy", flat=True)) == {"rest:sender"}
    refused = put(client, broker, classification(924, millis=True, classifier="C3"))
    assert refused.status_code == 400
    assert "rest:sender has registered the most classifiers allowed (3" in refused.json()["detail"]
    # Known classifiers still take messages; another broker account has its own count.
    assert put(client, broker, classification(924, millis=True, classifier="C0")).status_code == 201
    other = make_user("sender2", "elasticc_broker")
    assert put(client, other, classification(925, millis=True, classifier="C9")).status_code == 201
    assert BrokerClassifier.objects.count() == 4


def test_screening_keeps_the_first_new_classifiers_of_a_batch(db):
    """The batch cap, as brokerpoll applies it: the first new classifiers in record order stay."""
    sent_alerts(*range(931, 937))
    records = [dict(classification(931 + i), classifierName=f"N{i % 4}") for i in range(6)]
    refused = admission.screen(records, "kafka:test", admission.Limits(new_per_batch=2, per_broker=100))
    assert sorted(refused) == [2, 3]  # N2 and N3; records 4 and 5 reuse N0 and N1
    assert all("at most 2 new classifiers" in r for r in refused.values())
