"""POST /db/runsqlquery/: answers, parameters, encodings, limits, errors and authentication."""

import datetime as dt
import json

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from elasticc.models import BrokerClassifier, DiaObjectTruth
from sqlquery.tests.conftest import login, post_json, run_sql

pytestmark = pytest.mark.django_db


def answer(response) -> dict:
    """A successful answer is streamed (encoded while it is sent)."""
    assert response.streaming and response["Content-Type"] == "application/json"
    return json.loads(b"".join(response.streaming_content))


def test_answers_spanning_several_chunks_are_whole_json(plain_user):
    """The rows arrive from PostgreSQL in chunks of MAX_CHUNK_ROWS and are encoded chunk by chunk."""
    from sqlquery.sizing import MAX_CHUNK_ROWS

    n = 2 * MAX_CHUNK_ROWS + 345
    status, body = run_sql(login(plain_user), "SELECT g, 'r' || g AS s FROM generate_series(1, %(n)s) g", {"n": n})
    assert status == 200 and body["status"] == "ok"
    assert body["rows"] == [{"g": g, "s": f"r{g}"} for g in range(1, n + 1)]


def test_rows_of_the_last_statement(plain_user):
    status, body = run_sql(login(plain_user), ["SELECT 1 AS a", "SELECT 2 AS b, 'x' AS c"])
    assert status == 200
    assert body == {"status": "ok", "rows": [{"b": 2, "c": "x"}]}


def test_taxonomy_is_readable_by_everyone(plain_user):
    status, body = run_sql(
        login(plain_user),
        'SELECT "classId", gentype FROM elasticc_gentypeofclassid WHERE "classId" = 113 ORDER BY gentype',
    )
    assert status == 200
    assert [row["gentype"] for row in body["rows"]] == [30, 31, 32, 35, 36, 37]


def test_parameters_lists_with_in_and_any(plain_user):
    client = login(plain_user)
    sql_in = 'SELECT DISTINCT "classId" FROM elasticc_gentypeofclassid WHERE "classId" IN %(ids)s ORDER BY 1'
    sql_any = 'SELECT DISTINCT "classId" FROM elasticc_gentypeofclassid WHERE "classId" = ANY(%(ids)s) ORDER BY 1'
    sql_not_in = 'SELECT count(DISTINCT "classId") AS n FROM elasticc_gentypeofclassid WHERE "classId" NOT IN %(ids)s'
    for sql in (sql_in, sql_any):
        status, body = run_sql(client, sql, {"ids": [111, 121, 999]})
        assert (status, body["rows"]) == (200, [{"classId": 111}, {"classId": 121}])
    _, everything = run_sql(client, 'SELECT count(DISTINCT "classId") AS n FROM elasticc_gentypeofclassid')
    _, rest = run_sql(client, sql_not_in, {"ids": [111, 121]})
    assert rest["rows"][0]["n"] == everything["rows"][0]["n"] - 2
    status, body = run_sql(client, sql_in, {"ids": []})
    assert (status, body["rows"]) == (200, [])


def test_one_subdict_per_query_and_percent_without_parameters(plain_user):
    client = login(plain_user)
    status, body = run_sql(
        client, ["SELECT %(a)s::int AS a", "SELECT %(b)s::text || '%%' AS b"], [{"a": 1}, {"b": "50"}]
    )
    assert (status, body["rows"]) == (200, [{"b": "50%"}])
    status, body = run_sql(client, "SELECT 'a%' AS pct", {})
    assert (status, body["rows"]) == (200, [{"pct": "a%"}])


def test_values_json_lacks_are_encoded_predictably(plain_user):
    status, body = run_sql(
        login(plain_user),
        """
        SELECT timestamptz '2024-03-01 12:34:56.5+00' AS ts, timestamp '2024-03-01 01:02:03' AS naive,
               date '2024-03-01' AS d, 1.50::numeric AS num, 'NaN'::numeric AS num_nan,
               'NaN'::float8 AS nan, 'Infinity'::float8 AS inf, '-Infinity'::float4 AS ninf, 0.25::real AS r,
               '\\x00ff10'::bytea AS raw, ARRAY[1, NULL, 3] AS arr, ARRAY[[1.5, 2], [3, 4]]::float8[] AS grid,
               '{"k": [1, "v"]}'::jsonb AS doc, interval '1 day 2 seconds' AS span,
               'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id, NULL::int AS nothing, true AS yes,
               9007199254740993::bigint AS big
    """,
    )
    assert status == 200, body
    assert body["rows"] == [
        {
            "ts": "2024-03-01T12:34:56.500000+00:00",
            "naive": "2024-03-01T01:02:03",
            "d": "2024-03-01",
            "num": "1.50",
            "num_nan": "NaN",
            "nan": None,
            "inf": None,
            "ninf": None,
            "r": 0.25,
            "raw": "AP8Q",
            "arr": [1, None, 3],
            "grid": [[1.5, 2.0], [3.0, 4.0]],
            "doc": {"k": [1, "v"]},
            "span": 86402.0,
            "id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "nothing": None,
            "yes": True,
            "big": 9007199254740993,
        }
    ]


def test_empty_results_and_statements_without_rows(plain_user):
    client = login(plain_user)
    assert run_sql(client, "SELECT 1 AS a WHERE false") == (200, {"status": "ok", "rows": []})
    assert run_sql(client, "SET work_mem = '8MB'") == (200, {"status": "ok", "rows": []})
    _status, body = run_sql(client, ["SET work_mem = '8MB'", "SHOW work_mem"])
    assert body["rows"] == [{"work_mem": "8MB"}]


def test_row_limit_is_exact(plain_user, settings):
    settings.SQLQUERY_ROW_LIMIT = 5
    client = login(plain_user)
    status, body = run_sql(client, "SELECT g FROM generate_series(1, 5) g")
    assert (status, len(body["rows"])) == (200, 5)
    status, body = run_sql(client, "SELECT g FROM generate_series(1, 6) g")
    assert status == 200 and body["status"] == "error"
    assert "more than 5 rows" in body["error"] and "/db/submitsqlquery/" in body["error"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "POST data must include 'query'"),
        ({"query": ""}, "query is empty"),
        ({"query": 42}, "query must be either a list of strings or a string"),
        ({"query": {"oops": "oops"}}, "query must be either a list of strings or a string"),
        ({"query": ["SELECT 1", 7]}, "queries must all be strings"),
        ({"query": "SELECT 1", "subdict": "x"}, "subdict must be either a list of dicts or a dict"),
        ({"query": ["SELECT 1", "SELECT 2"], "subdict": [{}]}, "number of queries and subdicts must match"),
        (
            {"query": "SELECT %(id)s", "subdict": [{"id": 1}, {"foo": "bar"}]},
            "number of queries and subdicts must match",
        ),
        ({"query": ["SELECT 1"], "subdict": [{}, 5]}, "subdicts must all be dicts"),
        ({"queries": "SELECT 1"}, "queries must be a list"),
        ({"query": "SELECT 1", "queries": ["SELECT 2"]}, "either 'query' or 'queries'"),
        ({"query": "SELECT 1", "format": "csv"}, "Unknown return format 'csv'"),
        ([1, 2], "POST data must include 'query'"),
        ({"query": "SELEC 1"}, "syntax error"),
        ({"query": "SELECT %(missing)s", "subdict": {"other": 1}}, "missing"),
        ({"query": "SELECT 1/0"}, "division by zero"),
        ({"query": "SELECT %(x)s::text", "subdict": {"x": {"a": 1}}}, "is a JSON object"),
        # a statement before the last one with a parameter it cannot use is an error, not skipped
        ({"query": ["SELECT %(x)d", "SELECT 1"], "subdict": [{"x": 1}, {}]}, "cannot use the parameters"),
        ({"query": ["SELECT %(x)s AS a", "SELECT 1"], "subdict": [{"x": [1, "a"]}, {}]}, "cannot use the parameters"),
        ({"query": ["SELECT %(x)s::int AS a", "SELECT 1"], "subdict": [{"y": 1}, {}]}, "cannot use the parameters"),
        ({"query": "SELECT 1 AS one\x00; SELECT 2"}, "NUL character (\\u0000) at position 16"),
    ],
)
def test_bad_bodies_and_sql_errors_are_200_with_status_error(plain_user, body, message):
    """The original's contract: HTTP 200, {"status": "error", "error": ...} starting with its texts."""
    response = post_json(login(plain_user), "/db/runsqlquery/", body)
    assert response.status_code == 200
    assert response.json()["status"] == "error" and message in response.json()["error"], response.json()


def test_invalid_json_is_a_400(plain_user):
    response = login(plain_user).post("/db/runsqlquery/", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["status"] == "error"
    assert response.json()["error"].startswith("JSON parse error - ")  # the site-wide parser's words


def test_anonymous_gets_json_401():
    for path, method in (
        ("/db/runsqlquery/", "post"),
        ("/db/submitsqlquery/", "post"),
        ("/db/checksqlquery/00000000-0000-0000-0000-000000000000/", "get"),
    ):
        if method == "post":
            response = post_json(Client(), path, {"query": "SELECT 1"})
        else:
            response = Client().get(path)
        assert response.status_code == 401, (path, response.status_code)
        assert response.json()["status"] == "error"


def test_token_authentication(plain_user):
    token, _ = Token.objects.get_or_create(user=plain_user)
    response = Client().post(
        "/db/runsqlquery/",
        data=json.dumps({"query": "SELECT current_user AS u"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 200 and answer(response)["rows"] == [{"u": "elasticc_ro"}]
    response = Client().post(
        "/db/runsqlquery/",
        data=json.dumps({"query": "SELECT 1"}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Token wrong",
    )
    assert response.status_code == 401 and response.json()["status"] == "error"


def test_session_needs_the_csrf_token(plain_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(plain_user)
    response = post_json(client, "/db/runsqlquery/", {"query": "SELECT 1 AS one"})
    assert response.status_code == 401 and "CSRF" in response.json()["error"]
    client.get("/accounts/login/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = post_json(client, "/db/runsqlquery/", {"query": "SELECT 1 AS one"}, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200 and answer(response)["rows"] == [{"one": 1}]


@pytest.mark.django_db(transaction=True)
def test_truth_tables_admin_only(plain_user, admin_user, django_user_model):
    """Committed rows (the query connection is not the test's transaction): admin reads them, others not."""
    DiaObjectTruth.objects.create(diaObjectId=42, gentype=10)
    BrokerClassifier.objects.create(brokerName="b", brokerVersion="1", classifierName="c", classifierParams="p")
    superuser = django_user_model.objects.create_superuser("root-sqlq")
    for user in (admin_user, superuser):
        status, body = run_sql(login(user), 'SELECT "diaObjectId", gentype FROM elasticc_diaobjecttruth')
        assert (status, body["rows"]) == (200, [{"diaObjectId": 42, "gentype": 10}])
    status, body = run_sql(login(plain_user), 'SELECT "diaObjectId" FROM elasticc_diaobjecttruth')
    assert status == 200 and body["status"] == "error" and "permission denied" in body["error"]
    for user in (plain_user, admin_user):  # the broker tables are everyone's
        status, body = run_sql(login(user), 'SELECT "brokerName" FROM elasticc_brokerclassifier')
        assert (status, body["rows"]) == (200, [{"brokerName": "b"}])


def test_transaction_is_rolled_back_between_requests(plain_user):
    """Session state a query sets (here a setting) does not leak into the next request."""
    client = login(plain_user)
    run_sql(client, "SELECT set_config('work_mem', '7MB', false)")
    _status, body = run_sql(client, "SHOW work_mem")
    assert body["rows"] != [{"work_mem": "7MB"}]


def test_times_are_utc(plain_user):
    _status, body = run_sql(login(plain_user), "SELECT timestamptz '2024-01-01 00:00:00+05' AS t")
    assert dt.datetime.fromisoformat(body["rows"][0]["t"]) == dt.datetime(2023, 12, 31, 19, tzinfo=dt.UTC)
    assert body["rows"][0]["t"].endswith("+00:00")


def test_streamed_answer_is_the_bytes_of_one_dumps():
    """The answer encoded chunk by chunk equals one dumps() of the whole, for every kind of value,
    in both shapes (format 0: rows, format 1: a list per column)."""
    import decimal
    import uuid

    from sqlquery import encoding as enc
    from sqlquery.encoding import dumps
    from sqlquery.request import COLUMNS, ROWS
    from sqlquery.sizing import Columns
    from sqlquery.sync import collect

    utc = dt.UTC
    names = ["i", "f", "r", "t", "t", "n", "ts", "d", "b", "u", "raw", "j", "arr", "naive", "span", "100%", 'q"k']
    oids = [
        enc.INT8,
        enc.FLOAT8,
        enc.FLOAT4,
        enc.TEXT,
        enc.VARCHAR,
        enc.NUMERIC,
        enc.TIMESTAMPTZ,
        enc.DATE,
        enc.BOOL,
        enc.UUID,
        enc.BYTEA,
        enc.JSONB,
        1007,
        enc.TIMESTAMP,
        enc.INTERVAL,
        enc.INT4,
        enc.TEXT,
    ]
    rows = []
    for g in range(1, 2500):
        rows.append(
            (
                g,
                g / 7 if g % 5 else float("nan"),
                float("inf") if g % 11 == 0 else g * 0.25,
                f'a, "quoted" {g}, ünï\n,' if g % 3 else None,
                f"later {g}",
                decimal.Decimal(g) / 8 if g % 4 else decimal.Decimal("NaN"),
                dt.datetime(2024, 1, 1, tzinfo=utc) + dt.timedelta(seconds=g * 1.5) if g % 6 else None,
                dt.date(2024, 1, 1) + dt.timedelta(days=g),
                g % 2 == 0,
                uuid.UUID(int=g),
                bytes([g % 256, 44, 0]),
                {"k": [g, "x,y"], "z": None} if g % 2 else [1, 2],
                [g, None, 3],
                dt.datetime(2024, 2, 2, 3, 4, 5),
                dt.timedelta(days=g, microseconds=5),
                -g,
                "%s %b",
            )
        )
    chunks = [rows[:1000], [], rows[1000:1001], rows[1001:]]

    def answer(columns, chunks, shape):
        return b"".join(collect(columns, iter([list(c) for c in chunks]), shape).pieces())

    columns = Columns(names, oids)
    assert answer(columns, chunks, ROWS) == dumps({"status": "ok", "rows": [dict(zip(names, row)) for row in rows]})
    by_column = {name: [row[i] for row in rows] for i, name in enumerate(names)}  # a repeated name: the later
    assert answer(columns, chunks, COLUMNS) == dumps({"status": "ok", "data": by_column})
    assert answer(columns, [], ROWS) == b'{"status":"ok","rows":[]}'
    assert answer(columns, [], COLUMNS) == dumps({"status": "ok", "data": {name: [] for name in names}})
    assert answer(Columns([], []), [[(), ()]], ROWS) == b'{"status":"ok","rows":[{},{}]}'


def test_rows_without_columns(plain_user):
    status, body = run_sql(login(plain_user), "SELECT FROM generate_series(1, 3)")
    assert (status, body["rows"]) == (200, [{}, {}, {}])


def test_http_basic_authentication(django_user_model):
    """The REST API's authentication classes, HTTP Basic included, serve /db/ too."""
    import base64

    django_user_model.objects.create_user("basic-sql", password="Basic-sql-pw-4417")
    credentials = base64.b64encode(b"basic-sql:Basic-sql-pw-4417").decode()
    response = Client().post(
        "/db/runsqlquery/",
        data=json.dumps({"query": "SELECT current_user AS u"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )
    assert response.status_code == 200 and answer(response)["rows"] == [{"u": "elasticc_ro"}]
