"""The original's JSON routes /elasticc2/classids and /elasticc2/classifiers_json: their answer
shapes, and called the way the original's tom_client.py calls them, over HTTP through gunicorn."""

import json

import pytest
import requests

from elasticc.tests.api_data import PASSWORD, make_user
from elasticc2.models import BrokerClassifier, ClassIdOfGentype, GentypeOfClassId

ENTRY_KEYS = ["exactmatch", "categorymatch", "broadmatch", "generalmatch", "description", "gentype"]


def classids_as_the_original_built_them() -> dict:
    """The original's recipe, on the rows in the tables: group elasticc2_classidofgentype by
    classid and flags (first description, list of gentypes), then add every other classid of
    elasticc2_gentypeofclassid with all flags false and no gentypes; sort by classid."""
    groups: dict[int, dict] = {}
    for row in ClassIdOfGentype.objects.order_by("id").values():
        flags = (row["exactmatch"], row["categorymatch"], row["broadmatch"], row["generalmatch"])
        entry = groups.setdefault(row["classid"], {"flags": flags, "description": row["description"], "gentype": []})
        assert entry["flags"] == flags  # one set of flags per classid, or the original would fail
        entry["gentype"].append(row["gentype"])
    for row in GentypeOfClassId.objects.values("classid", "description"):
        groups.setdefault(row["classid"], {"flags": (False,) * 4, "description": row["description"], "gentype": []})
    return {
        str(classid): dict(
            zip(ENTRY_KEYS, [*groups[classid]["flags"], groups[classid]["description"], groups[classid]["gentype"]])
        )
        for classid in sorted(groups)
    }


@pytest.fixture
def user_client(db, client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.force_login(make_user("reader"))
    return client


def test_classids_answer(user_client):
    response = user_client.get("/elasticc2/classids")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    answer = json.loads(response.content)
    assert list(answer) == [str(c) for c in sorted(int(k) for k in answer)]
    assert len(answer) == 42
    assert all(list(entry) == ENTRY_KEYS for entry in answer.values())
    assert answer == classids_as_the_original_built_them()
    assert answer["0"] == dict(zip(ENTRY_KEYS, [False, False, False, False, "Meta", []]))
    assert answer["2000"]["broadmatch"] and not answer["2000"]["generalmatch"]
    assert answer["2000"]["description"] == "Variable" and len(answer["2000"]["gentype"]) == 31
    assert answer["2220"] == dict(
        zip(ENTRY_KEYS, [False, True, True, True, "SN-like", [10, 11, 12, 20, 21, 25, 26, 27, 30, 31, 32, 35, 36, 37]])
    )
    assert answer["2223"] == dict(zip(ENTRY_KEYS, [True, True, True, True, "Ib/c", [20, 21, 25, 26, 27]]))
    assert answer["2300"]["gentype"] == [60, 80, 83, 90, 91] and not answer["2300"]["categorymatch"]
    assert sum(1 for e in answer.values() if e["gentype"]) == 27
    assert [k for k, e in answer.items() if not e["gentype"]] == [
        "0", "100", "200", "300", "1000", "1100", "2100", "2210", "2221", "2231", "2241", "2310", "2321", "2326", "2331"
    ]  # fmt: skip
    assert (
        json.loads(user_client.post("/elasticc2/classids", data="{}", content_type="application/json").content)
        == answer
    )


def test_classifiers_json_answer(user_client):
    response = user_client.get("/elasticc2/classifiers_json")
    assert response.status_code == 200 and response.json() == {}  # the original failed here with a 500
    made = [
        BrokerClassifier.objects.create(brokername="FakeBroker", brokerversion="v1.0", classifiername="NugentClassifier", classifierparams="100%"),
        BrokerClassifier.objects.create(brokername="apiclassifier", brokerversion=None, classifiername="AlwaysTheSame", classifierparams=None),
    ]  # fmt: skip
    answer = json.loads(
        user_client.post("/elasticc2/classifiers_json", data="{}", content_type="application/json").content
    )
    assert answer == {
        str(made[0].classifier_id): {"brokername": "FakeBroker", "brokerversion": "v1.0", "classifiername": "NugentClassifier", "classifierparams": "100%"},
        str(made[1].classifier_id): {"brokername": "apiclassifier", "brokerversion": None, "classifiername": "AlwaysTheSame", "classifierparams": None},
    }  # fmt: skip
    assert list(answer) == [str(c.classifier_id) for c in made]
    assert all(
        list(v) == ["brokername", "brokerversion", "classifiername", "classifierparams"] for v in answer.values()
    )


class TomClientLike:
    """What the original's tom_client.py does: log in through the login form with the CSRF
    cookie, then send every request with X-CSRFToken; pages are "elasticc2/<name>"."""

    def __init__(self, url: str, username: str, password: str):
        self.url = url
        self.session = requests.session()
        self.session.get(f"{url}/accounts/login/", timeout=30)
        response = self.session.post(
            f"{url}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": self.session.cookies["csrftoken"]},
            timeout=30,
        )
        assert response.status_code == 200 and "Please enter a correct" not in response.text
        self.csrf = {"X-CSRFToken": self.session.cookies["csrftoken"]}

    def post(self, page: str, **kwargs):
        return self.session.post(f"{self.url}/{page}", headers=self.csrf, timeout=30, **kwargs)

    def get(self, page: str, **kwargs):
        return self.session.get(f"{self.url}/{page}", headers=self.csrf, timeout=30, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_called_as_tom_client_calls_them(live_server_url):
    make_user("tomclient")
    BrokerClassifier.objects.create(brokername="B", brokerversion="1", classifiername="C", classifierparams="p")
    tom = TomClientLike(live_server_url, "tomclient", PASSWORD)
    classids = tom.post("elasticc2/classids", json={})
    assert classids.status_code == 200 and classids.json() == classids_as_the_original_built_them()
    assert tom.get("elasticc2/classids").json() == classids.json()
    classifiers = tom.post("elasticc2/classifiers_json", json={})
    assert classifiers.status_code == 200
    assert [v["brokername"] for v in classifiers.json().values()] == ["B"]
    # Without the CSRF header a session POST is refused, as Django refused it in the original.
    refused = tom.session.post(f"{live_server_url}/elasticc2/classids", json={}, timeout=30)
    assert refused.status_code == 403 and refused.headers["Content-Type"].startswith("application/json")
    # The table routes answer the same session.
    assert tom.get("elasticc2/brokerclassifier/").json()["count"] == 1
