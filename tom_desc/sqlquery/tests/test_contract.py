"""The original DESC TOM's /db/ contract, tested the way its clients call it, against gunicorn.

OriginalClient does what the original's tom_client.py and notebook helpers do: log in through
the login form (or send a token), POST JSON, raise on any status but 200, then read "status".
"""

import decimal
import io
import json

import pandas
import pytest
import requests
from rest_framework.authtoken.models import Token

from sqlquery.tests.conftest import runner_env, start_runner

PASSWORD = "Contract-test-pw-5521"
JUNK = 'SELECT * FROM elasticc_gentypeofclassid WHERE "classId" = %(id)s'


class OriginalClient:
    """The original's TomClient, reduced to what /db/ needs (written from its interface)."""

    def __init__(self, url, username=None, password=None, token=None):
        self.url = url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Token {token}"
            return
        response = self.session.get(f"{url}/accounts/login/")
        assert response.status_code == 200
        response = self.session.post(
            f"{url}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": self.session.cookies["csrftoken"]},
        )
        if response.status_code != 200 or "Please enter a correct" in response.text:
            raise RuntimeError(f"Failed to log in (HTTP {response.status_code})")
        self.session.headers["X-CSRFToken"] = self.session.cookies["csrftoken"]

    def post(self, page, **kwargs):
        return self.session.post(f"{self.url}/{page}", timeout=120, **kwargs)

    def runsql(self, body):
        """The helper of the original's notebook: POST, raise on a status but 200, return the JSON."""
        response = self.post("db/runsqlquery/", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"Got status {response.status_code}: {response.text[:200]}")
        return response.json()


@pytest.fixture
def analyst(django_user_model):
    user = django_user_model.objects.create_user("contract-analyst", password=PASSWORD)
    return user, Token.objects.get_or_create(user=user)[0].key


@pytest.fixture
def clients(live_server_url, analyst):
    user, token = analyst
    return [
        OriginalClient(live_server_url, username=user.username, password=PASSWORD),
        OriginalClient(live_server_url, token=token),
    ]


@pytest.mark.django_db(transaction=True)
def test_sql_errors_are_200_with_status_error(clients):
    for client in clients:
        data = client.runsql({"query": "DROP TABLE elasticc_gentypeofclassid"})
        assert data["status"] == "error" and data["error"].startswith(
            "must be owner of table elasticc_gentypeofclassid"
        )
        data = client.runsql({"query": "SELEC 1"})
        assert data["status"] == "error" and "syntax error" in data["error"]
        data = client.runsql({"foo": "bar"})
        assert data["status"] == "error" and data["error"].startswith("POST data must include 'query'")
        data = client.runsql({"query": JUNK, "subdict": [{"id": 2223}, {"foo": "bar"}]})
        assert data["error"].startswith("number of queries and subdicts must match")


@pytest.mark.django_db(transaction=True)
def test_temporary_tables_and_lists_of_queries_under_both_spellings(clients):
    for client in clients:
        for keys in (("query", "subdict"), ("queries", "subdicts")):
            data = client.runsql(
                {
                    keys[0]: ["CREATE TEMP TABLE junk AS " + JUNK, "SELECT * FROM pg_temp.junk ORDER BY gentype"],
                    keys[1]: [{"id": 113}, {}],
                }
            )
            assert data["status"] == "ok", data
            assert [row["gentype"] for row in data["rows"]] == [30, 31, 32, 35, 36, 37], keys
        data = client.runsql({"query": ["SELECT 1 INTO TEMP TABLE one", "SELECT * FROM one"]})
        assert data == {"status": "ok", "rows": [{"?column?": 1}]}
        # Without parameters, a doubled % means one, as the original always substituted ...
        data = client.runsql({"query": "SELECT 7 %% 4 AS m, 'SN' LIKE 'S%%' AS yes"})
        assert data["rows"] == [{"m": 3, "yes": True}], data
        # ... and a single % is taken as it is (this site's rule before).
        assert client.runsql({"query": "SELECT 'a%' AS pct"})["rows"] == [{"pct": "a%"}]


@pytest.mark.django_db(transaction=True)
def test_column_answers_missing_slashes_and_bodies_without_json_type(clients):
    client = clients[1]
    data = client.runsql(
        {"query": 'SELECT "classId", gentype FROM elasticc_gentypeofclassid WHERE gentype = 50', "format": 1}
    )
    assert data == {"status": "ok", "data": {"classId": [121], "gentype": [50]}}
    response = client.post("db/runsqlquery", json={"query": "SELECT 2 AS two"}, allow_redirects=False)
    assert (response.status_code, response.json()) == (200, {"status": "ok", "rows": [{"two": 2}]})
    response = client.post("db/runsqlquery/", data=json.dumps({"query": "SELECT 3 AS three"}))  # no Content-Type
    assert response.json() == {"status": "ok", "rows": [{"three": 3}]}


@pytest.mark.django_db(transaction=True)
def test_malformed_requests(clients):
    """A NUL would cut the statement short in libpq (a query error, 200); a lone surrogate is no
    character, and it, a huge body or a deeply nested one is the HTTP request's fault (4xx)."""
    client = clients[1]
    data = client.runsql({"query": "SELECT 1 AS one\x00; SELECT * FROM auth_user"})
    assert data["status"] == "error" and "NUL character" in data["error"] and "position 16" in data["error"]
    data = client.runsql({"query": "SELECT %(x)s AS x", "subdict": {"x": "a\x00b"}})
    assert data["status"] == "error" and "NUL character" in data["error"]
    for body in (b'{"query": "SELECT \'\\ud800\' AS x"}', b'{"query": "SELECT %(x)s", "subdict": {"x": "\\udfff"}}'):
        # Valid JSON syntax, but no UTF-8 text holds it: the body is malformed (as on every API route)
        response = client.post("db/runsqlquery/", data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and "lone UTF-16 surrogate" in response.json()["error"], response.text
        assert response.json()["status"] == "error"
    data = client.runsql({"query": ["SELECT %(x)s::int AS a", "SELECT 1 AS b"], "subdict": [{"x": {"no": 1}}, {}]})
    assert data["status"] == "error" and "JSON object" in data["error"]
    response = client.post("db/runsqlquery/", data=b'{"query": "' + b"x" * 10_000_000 + b'"}')
    assert response.status_code == 413 and response.json()["status"] == "error"
    response = client.post("db/runsqlquery/", data=b"[" * 2000 + b"]" * 2000)
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]


@pytest.mark.django_db(transaction=True)
def test_long_query_checked_and_fetched_by_post_in_csv_and_pandas(clients):
    """The runner and the gunicorn of live_server_url share the default results directory."""
    client = clients[0]
    sql = [
        "CREATE TEMP TABLE picked AS " + JUNK,
        "SELECT gentype, description, 0.5::numeric * gentype AS half, NULL::text AS nothing FROM picked ORDER BY 1",
    ]
    ids = {}
    for fmt in ("csv", "pandas"):
        response = client.post("db/submitsqlquery/", json={"query": sql, "subdict": [{"id": 113}, {}], "format": fmt})
        assert response.status_code == 200 and response.json()["status"] == "ok", response.text
        ids[fmt] = response.json()["queryid"]
    response = client.post(f"db/checksqlquery/{ids['pandas']}/")
    info = response.json()
    assert response.status_code == 200 and info["status"] == "queued" and info["queryid"] == ids["pandas"]
    assert info["queries"] == sql and info["subdicts"] == [{"id": 113}, {}]
    assert {"submitted", "started", "finished", "error"} <= set(info) and info["started"] is None
    assert client.post("db/checksqlquery/00000000-0000-0000-0000-000000000000/").json()["status"] == "error"

    runner = start_runner(runner_env(), "--exit-when-idle")
    output, _ = runner.communicate(timeout=180)
    assert runner.returncode == 0 and "2 finished" in output, output

    for queryid in ids.values():
        info = client.post(f"db/checksqlquery/{queryid}/").json()
        assert info["status"] == "finished" and info["started"] and info["finished"] and info["error"] is None
    response = client.post(f"db/getsqlqueryresults/{ids['csv']}/")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv"
    assert response.text.splitlines()[:3] == [",gentype,description,half,nothing", "0,30,II,15.0,", "1,31,II,15.5,"]
    frame = pandas.read_csv(io.StringIO(response.text), index_col=0)  # as the original's scripts read it
    assert list(frame.columns) == ["gentype", "description", "half", "nothing"] and list(frame.index) == [*range(6)]
    response = client.post(f"db/getsqlqueryresults/{ids['pandas']}/")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/octet-stream"
    frame = pandas.read_pickle(io.BytesIO(response.content))
    assert list(frame.columns) == ["gentype", "description", "half", "nothing"]
    assert frame["gentype"].tolist() == [30, 31, 32, 35, 36, 37]
    assert frame["half"].tolist()[0] == decimal.Decimal("15.0")  # numeric stays exact, as psycopg gives it
    assert frame["nothing"].isna().all() and len(frame) == 6
