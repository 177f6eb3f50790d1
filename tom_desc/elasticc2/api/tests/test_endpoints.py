"""The /elasticc2/ table routes: rows and their keys, filters, keyset walks, counts, the
original's object-with-photometry routes, and JSON errors for bad input."""

import pytest
from django.db import connection

from elasticc.api.pagination import decode_cursor
from elasticc.tests.api_data import make_user
from elasticc2.tests.data import GENTYPES, forced_time, seed, source_time


@pytest.fixture
def data(db):
    return seed()


@pytest.fixture
def admin(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.force_login(make_user("walker", "elasticc_admin"))
    return client


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def walk(client, url):
    rows, sizes = [], []
    while url:
        page = get(client, url)
        rows += page["results"]
        sizes.append(len(page["results"]))
        url = page["next"]
    return rows, sizes


def test_rows_are_the_tables_columns(data, admin):
    obj = get(admin, f"/elasticc2/ppdbdiaobject/{data.object_ids[1]}/")
    assert len(obj) == 73
    assert obj["diaobject_id"] == data.object_ids[1] and obj["decl"] == (data.object_ids[1] % 180) - 90
    assert obj["hostgal_mag_y"] == 21.5 and obj["hostgal2_snsep"] == 1.25 and obj["isddf"] is False
    source = get(admin, f"/elasticc2/ppdbdiasource/{data.object_ids[1] * 100000 + 2}/")
    assert source == {
        "diasource_id": data.object_ids[1] * 100000 + 2,
        "diaobject_id": data.object_ids[1],
        "midpointtai": 60004.0,
        "filtername": "r",
        "ra": float(data.object_ids[1] % 360),
        "decl": float(data.object_ids[1] % 180 - 90),
        "psflux": 102.0,
        "psfluxerr": 10.0,
        "snr": pytest.approx(10.2),
        "diaobject": data.object_ids[1],  # the original API's key for the object
    }
    forced = get(admin, f"/elasticc2/ppdbdiaforcedsource/{data.object_ids[1] * 100000 + 51}/")
    assert set(forced) == {
        "diaforcedsource_id",
        "diaobject_id",
        "midpointtai",
        "filtername",
        "psflux",
        "psfluxerr",
        "diaobject",
    }
    alert = get(admin, f"/elasticc2/ppdbalert/{data.object_ids[1] * 100000 + 1}/")
    assert alert["alertsenttimestamp"] == "2024-03-03T12:00:00Z"  # T0 + (60002 - 60000) days
    assert alert["midpointtai"] == 60002.0
    truth = get(admin, f"/elasticc2/diaobjecttruth/{data.object_ids[0]}/")
    assert truth["gentype"] == GENTYPES[data.object_ids[0] % len(GENTYPES)]
    assert truth["dec"] == 2.0 and "decl" not in truth
    tom_object = get(admin, f"/elasticc2/diaobject/{data.visible_object_ids()[0]}/")
    assert "diaobject" not in tom_object and len(tom_object) == 73


def test_broker_messages_carry_their_arrays(data, admin):
    page = get(admin, f"/elasticc2/brokermessage/?alert_id={data.alert_ids(sent=True)[0]}")
    assert page["count"] == 2 and not page["count_is_estimate"]
    assert {m["classifier_id"] for m in page["results"]} == set(data.classifier_ids)
    message = page["results"][0]
    assert message["classid"] == [2222, 2223] and message["probability"] == [0.75, 0.25]
    assert message["topicname"] == "classifications" and message["kafkapartition"] == 0
    one = get(admin, f"/elasticc2/brokermessage/{message['brokermessage_id']}/")
    assert one == message
    classifier = get(admin, f"/elasticc2/brokerclassifier/{data.classifier_ids[1]}/")
    assert classifier["classifiername"] == "RandomSNType" and classifier["brokerversion"] == "v1.0"


def test_filters(data, admin):
    obj = data.object_ids[4]
    rows = get(admin, f"/elasticc2/ppdbdiasource/?diaobject_id={obj}")["results"]
    assert [r["diasource_id"] for r in rows] == [obj * 100000 + i for i in range(1, 5)]
    rows = get(
        admin, f"/elasticc2/ppdbdiaforcedsource/?diaobject_id={obj}&midpointtai__gte=60000&midpointtai__lte=60004"
    )["results"]
    assert [r["midpointtai"] for r in rows] == [forced_time(2), forced_time(3)]
    rows = get(admin, f"/elasticc2/ppdbalert/?diasource_id={obj * 100000 + 3}")["results"]
    assert [r["alert_id"] for r in rows] == [obj * 100000 + 3]
    sent = get(admin, "/elasticc2/ppdbalert/?sent=true&limit=1000")["results"]
    assert [r["alert_id"] for r in sent] == data.alert_ids(sent=True)
    rows = get(admin, f"/elasticc2/ppdbalert/?midpointtai__gte={source_time(4)}&limit=1000")["results"]
    assert len(rows) == data.n_objects
    rows = get(admin, "/elasticc2/diaobjecttruth/?gentype=10")["results"]
    assert [r["diaobject_id"] for r in rows] == [o for o in data.object_ids if GENTYPES[o % len(GENTYPES)] == 10]
    sources = data.source_ids(visible_only=True)
    rows = get(admin, f"/elasticc2/brokermessage/?diasource_id={sources[1]}&limit=10")["results"]
    assert [r["diasource_id"] for r in rows] == [sources[1]] * 2
    rows = get(admin, f"/elasticc2/brokermessage/?classifier_id={data.classifier_ids[0]}&limit=1000")["results"]
    assert len(rows) == len(data.alert_ids(sent=True))
    assert get(admin, "/elasticc2/brokermessage/?brokername=FakeBroker")["count"] == 2 * len(data.alert_ids(sent=True))
    assert get(admin, "/elasticc2/brokermessage/?brokername=Nobody")["count"] == 0
    assert get(admin, "/elasticc2/brokerclassifier/?classifiername=NugentClassifier")["count"] == 1
    rows = get(admin, f"/elasticc2/diaforcedsource/?diaobject_id={data.visible_object_ids()[1]}")["results"]
    assert [r["midpointtai"] for r in rows] == [forced_time(1), forced_time(2), forced_time(3)]


@pytest.mark.parametrize(
    "query, field",
    [
        ("ppdbdiasource/?diaobject_id=abc", "diaobject_id"),
        ("ppdbdiasource/?diaobject_id=", "diaobject_id"),
        ("ppdbdiasource/?diaobject_id=9223372036854775808", "diaobject_id"),
        ("ppdbdiaforcedsource/?midpointtai__gte=nan", "midpointtai__gte"),
        ("ppdbalert/?sent=maybe", "sent"),
        ("brokermessage/?alert_id=1.5", "alert_id"),
        ("diaobjecttruth/?gentype=99999999999", "gentype"),
        ("diasource/?limit=0", "limit"),
        ("diasource/?cursor=garbage", "cursor"),
    ],
)
def test_bad_values_are_400_naming_the_parameter(data, admin, query, field):
    body = get(admin, f"/elasticc2/{query}", status=400)
    assert body["field"] == field and body["status"] == 400


def test_unknown_ids_are_json_404s(data, admin):
    for url in (
        "/elasticc2/ppdbdiaobject/1/",
        "/elasticc2/diasource/99999999999/",
        "/elasticc2/brokermessage/-5/",
        "/elasticc2/ppdbdiaobject/99999999999999999999/",  # beyond 64 bits
        "/elasticc2/ppdbdiaobjectwithsources/1/",
        "/elasticc2/ppdbdiaobjectofsource/1/",
    ):
        assert get(admin, url, status=404)["code"] == "not_found", url


def test_a_walk_sees_every_row_once_in_key_order(data, admin):
    rows, sizes = walk(admin, "/elasticc2/ppdbdiaforcedsource/?limit=7")
    ids = [r["diaforcedsource_id"] for r in rows]
    assert ids == sorted(data.forced_ids())
    assert all(s == 7 for s in sizes[:-1]) and 1 <= sizes[-1] <= 7
    # A cursor continues after (diaforcedsource_id, diaobject_id): the primary key, reversed.
    page = get(admin, "/elasticc2/ppdbdiaforcedsource/?limit=7")
    key, reverse = decode_cursor(page["next"].split("cursor=")[1].split("&")[0], 2)
    assert key == [ids[6], ids[6] // 100000] and not reverse
    # previous of the second page is the first page
    second = get(admin, page["next"])
    assert [r["diaforcedsource_id"] for r in get(admin, second["previous"])["results"]] == ids[:7]
    # The original's LimitOffsetPagination parameters keep working.
    assert [
        r["diaforcedsource_id"] for r in get(admin, "/elasticc2/ppdbdiaforcedsource/?limit=5&offset=10")["results"]
    ] == ids[10:15]
    messages, _ = walk(admin, "/elasticc2/brokermessage/?limit=3")
    assert sorted(m["brokermessage_id"] for m in messages) == sorted(data.message_ids)


def test_walk_of_a_sent_only_list_skips_hidden_rows(data, client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.force_login(make_user("reader"))
    rows, sizes = walk(client, "/elasticc2/ppdbdiasource/?limit=2")
    assert [r["diasource_id"] for r in rows] == data.source_ids(visible_only=True)
    assert all(s == 2 for s in sizes[:-1])


def test_object_with_sources_is_the_original_shape(data, admin, client, settings):
    obj = data.object_ids[2]  # two alerts sent: public up to 60004
    answer = get(admin, f"/elasticc2/ppdbdiaobjectwithsources/{obj}/")
    assert answer["diaobject_id"] == obj and len(answer) == 73 + 2
    assert [s["diasource_id"] for s in answer["diasources"]] == [obj * 100000 + i for i in range(1, 5)]
    assert [f["midpointtai"] for f in answer["diaforcedsources"]] == [forced_time(j) for j in range(1, 7)]
    assert all(s["diaobject"] == obj for s in answer["diasources"] + answer["diaforcedsources"])
    of_source = get(admin, f"/elasticc2/ppdbdiaobjectofsource/{obj * 100000 + 2}/")
    assert [s["midpointtai"] for s in of_source["diasources"]] == [60002.0, 60004.0]
    assert [f["midpointtai"] for f in of_source["diaforcedsources"]] == [59998.0, 60001.0, 60004.0]
    # Outside elasticc_admin: the same object, cut at what the stream revealed.
    client.force_login(make_user("reader"))
    public = get(client, f"/elasticc2/ppdbdiaobjectwithsources/{obj}/")
    assert [s["midpointtai"] for s in public["diasources"]] == [60002.0, 60004.0]
    assert [f["midpointtai"] for f in public["diaforcedsources"]] == [59998.0, 60001.0, 60004.0]
    assert get(client, f"/elasticc2/ppdbdiaobjectofsource/{obj * 100000 + 2}/") == of_source
    assert get(client, "/elasticc2/ppdbdiaobjectwithsources/", status=400)["detail"] == "Must give an object id"
    assert get(client, "/elasticc2/ppdbdiaobjectofsource/", status=400)["detail"] == "Must give a source id"


def test_nan_in_the_tables_is_null_in_json(data, admin):
    with connection.cursor() as cur:
        cur.execute("UPDATE elasticc2_ppdbdiaobject SET mwebv = 'NaN' WHERE diaobject_id = %s", [data.object_ids[0]])
        cur.execute(
            "UPDATE elasticc2_brokermessage SET probability = '{NaN,0.25}' WHERE brokermessage_id = %s",
            [data.message_ids[0]],
        )
    assert get(admin, f"/elasticc2/ppdbdiaobject/{data.object_ids[0]}/")["mwebv"] is None
    assert get(admin, f"/elasticc2/brokermessage/{data.message_ids[0]}/")["probability"] == [None, 0.25]
    assert get(admin, f"/elasticc2/ppdbdiaobjectwithsources/{data.object_ids[0]}/")["mwebv"] is None
