"""/elasticc2/ltcv and /elasticc2/gethottransients on the hand-built objects (handbuilt.py): which
objects, which points, the three answer formats, host information, and every kind of bad input."""

import json

import pytest

from followup.lightcurves import HOST_COLUMNS
from followup.tests.conftest import call, error, ok
from followup.tests.handbuilt import expected_curve

OBJECT_KEYS = ["objectid", "ra", "dec", "photometry", "zp", "redshift", "sncode"]
FLAT_KEYS = ["objectid", "ra", "dec", "mjd", "band", "flux", "fluxerr", "zp", "redshift", "sncode"]
ARRAYS = ["mjd", "band", "flux", "fluxerr"]


def ids(answer) -> list[int]:
    return [o["objectid"] for o in answer["diaobject"]]


def test_ltcv_format_0_points_and_order(clients, objects):
    answer = ok(call(clients["user"], "ltcv", {"objectids": [1002, 1001, 1003]}))
    assert list(answer) == ["status", "diaobject"]
    assert ids(answer) == [1001, 1002]  # ascending; 1003 has no forced point and is left out
    first = answer["diaobject"][0]
    assert list(first) == OBJECT_KEYS
    assert (first["ra"], first["dec"]) == (10.5, -20.25)
    assert (first["zp"], first["redshift"], first["sncode"]) == (27.5, -99, -99)
    assert list(first["photometry"]) == ARRAYS
    assert first["photometry"] == expected_curve(1001)
    # the two points at MJD 60030 in id order: i (flux 500) before r (flux 30)
    assert first["photometry"]["band"][-2:] == ["i", "r"]
    assert answer["diaobject"][1]["photometry"] == expected_curve(1002)


def test_ltcv_formats_1_and_2_and_mjd_now(clients, objects):
    flat = ok(call(clients["user"], "ltcv", {"objectids": [1001, 1002], "return_format": 1, "mjd_now": 60045}))
    assert [list(o) for o in flat["diaobject"]] == [FLAT_KEYS, FLAT_KEYS]
    assert {k: flat["diaobject"][0][k] for k in ARRAYS} == expected_curve(1001, 60045)
    assert {k: flat["diaobject"][1][k] for k in ARRAYS} == expected_curve(1002, 60045) == {
        "mjd": [60040.0], "band": ["i"], "flux": [10.0], "fluxerr": [10.0]
    }  # fmt: skip
    lists = ok(call(clients["user"], "ltcv", {"objectids": [1001, 1002], "return_format": 2, "mjd_now": 60015}))
    columns = lists["diaobject"]
    assert list(columns) == FLAT_KEYS
    assert columns["objectid"] == [1001]  # 1002 has no point up to 60015
    assert columns["mjd"] == [[60000.0, 60010.0]] and columns["band"] == [["g", "r"]]
    assert columns["flux"] == [[-5.0, 1000.0]] and columns["zp"] == [27.5] and columns["sncode"] == [-99]
    empty = ok(call(clients["user"], "ltcv", {"objectid": 1003, "return_format": 2}))
    assert empty["diaobject"] == {key: [] for key in FLAT_KEYS}
    assert ok(call(clients["user"], "ltcv", {"objectid": 1003}))["diaobject"] == []


def test_ltcv_one_object_by_get_and_with_host_information(clients, objects):
    answer = ok(call(clients["user"], "ltcv", {"objectid": 1001, "include_hostinfo": True}, method="get"))
    (obj,) = answer["diaobject"]
    assert list(obj) == OBJECT_KEYS + list(HOST_COLUMNS) and len(HOST_COLUMNS) == 64
    assert obj["hostgal_zphot"] == pytest.approx(0.3) and obj["hostgal_mag_r"] == 21.5
    assert obj["hostgal2_snsep"] == 2.0 and obj["hostgal_zspec"] is None
    lists = ok(call(clients["user"], "ltcv", {"objectids": [1001, 1002], "return_format": 2, "include_hostinfo": 1}))
    assert lists["diaobject"]["hostgal_mag_r"] == [21.5, None]
    assert list(lists["diaobject"]) == FLAT_KEYS + list(HOST_COLUMNS)
    plain = ok(call(clients["user"], "ltcv", {"objectid": "1001"}))  # an id as a string, as int() took it
    assert "hostgal_zphot" not in plain["diaobject"][0]


@pytest.mark.parametrize(
    "body, status, text",
    [
        (
            {"objectid": 1001, "foo": 1},
            400,
            "Exception in LtcvsView: unknown parameters passed in request body: ['foo']",
        ),
        (
            {"objectid": 1001, "objectids": [1001]},
            400,
            "Exception in LtcvsView: Can't supply both objectid and objectids",
        ),
        ({}, 400, "Exception in LtcvsView: Must supply either objectid or objectids"),
        ({"objectid": 1001, "return_format": 3}, 400, "Exception in LtcvsView: Unknown return_format 3"),
        ({"objectid": 1001, "return_format": True}, 400, "Exception in LtcvsView: Unknown return_format True"),
        ({"objectid": "abc"}, 400, "Exception in LtcvsView: objectid must be an integer, not 'abc'"),
        ({"objectids": [1001, 2.5]}, 400, "Exception in LtcvsView: objectids[1] must be a 64-bit integer, not 2.5"),
        ({"objectid": 2**63}, 400, "Exception in LtcvsView: objectid must be a 64-bit integer"),
        ({"objectid": 1001, "mjd_now": "soon"}, 400, "Exception in LtcvsView: mjd_now must be a number, not 'soon'"),
        ({"objectid": 1001, "include_hostinfo": "yes"}, 400, "Exception in LtcvsView: include_hostinfo must be true"),
        ([1001], 400, "Exception in LtcvsView: the request body must be a JSON object, not list"),
        ("{1001", 400, "Exception in LtcvsView: the request body is not JSON"),
        ({"objectids": [1001, 9999, 9998]}, 404, "Exception in LtcvsView: Unknown objectids [9998, 9999]"),
        ({"objectid": 1005}, 404, "Exception in LtcvsView: Unknown objectid 1005"),  # never sent: unknown
    ],
)
def test_ltcv_bad_input(clients, objects, body, status, text):
    assert error(call(clients["user"], "ltcv", body), status).startswith(text)


def test_hot_transients_windows(clients, objects):
    user = clients["user"]
    assert ids(ok(call(user, "gethottransients", {"detected_since_mjd": 60045}))) == [1002, 1004]
    assert ids(ok(call(user, "gethottransients", {"detected_since_mjd": 60050}))) == [1002, 1004]  # inclusive
    assert ids(ok(call(user, "gethottransients", {"detected_since_mjd": 60050.001}))) == [1004]
    # mjd_now bounds the window and the photometry, with either window key
    bounded = ok(call(user, "gethottransients", {"detected_since_mjd": 60045, "mjd_now": 60055}))
    assert ids(bounded) == [1002] and bounded["diaobject"][0]["photometry"] == expected_curve(1002, 60055)
    recent = ok(call(user, "gethottransients", {"detected_in_last_days": 50, "mjd_now": 60055}, method="get"))
    assert ids(recent) == [1001, 1002]  # since 60005: 1001 (60010, 60020), 1003 (no points), 1002 (60050)
    assert recent["diaobject"][0]["photometry"] == expected_curve(1001)
    assert ids(ok(call(user, "gethottransients", {"mjd_now": 60105}))) == [1004]  # 30 days by default
    assert ids(ok(call(user, "gethottransients", {"mjd_now": 60105, "detected_in_last_days": 5}))) == [1004]
    assert ids(ok(call(user, "gethottransients", {"mjd_now": 60099, "detected_in_last_days": 5}))) == []
    # without mjd_now the window ends at the wall clock's MJD: simulated detections are years old
    assert ok(call(user, "gethottransients", {}))["diaobject"] == []
    assert ok(call(user, "gethottransients", {"return_format": 2}))["diaobject"] == {k: [] for k in FLAT_KEYS}


def test_hot_transients_formats_and_host_information(clients, objects):
    user = clients["user"]
    answer = ok(call(user, "gethottransients", {"detected_since_mjd": 60045, "return_format": 1}))
    assert [list(o) for o in answer["diaobject"]] == [FLAT_KEYS, FLAT_KEYS]
    assert {k: answer["diaobject"][1][k] for k in ARRAYS} == expected_curve(1004)
    lists = ok(call(user, "gethottransients", {"detected_since_mjd": 0, "return_format": 2, "include_hostinfo": True}))
    assert lists["diaobject"]["objectid"] == [1001, 1002, 1004]
    assert lists["diaobject"]["ra"] == [10.5, 11.0, 13.0] and lists["diaobject"]["hostgal_mag_r"] == [21.5, None, None]
    assert lists["diaobject"]["mjd"][2] == [60090.0, 60100.0]
    zero = ok(call(user, "gethottransients", {"detected_since_mjd": 0}))
    assert [list(o) for o in zero["diaobject"]] == [OBJECT_KEYS] * 3


def test_hot_transients_cheat_gentypes_for_elasticc_admin_only(clients, objects):
    admin = clients["admin"]
    assert ids(ok(call(admin, "gethottransients", {"detected_since_mjd": 0, "cheat_gentypes": [10]}))) == [1004]
    assert ids(ok(call(admin, "gethottransients", {"detected_since_mjd": 0, "cheat_gentypes": [42, 60]}))) == [
        1001,
        1002,
    ]
    assert ids(ok(call(admin, "gethottransients", {"detected_since_mjd": 0, "cheat_gentypes": []}))) == []
    refused = call(clients["user"], "gethottransients", {"detected_since_mjd": 0, "cheat_gentypes": [10]})
    assert "only members of elasticc_admin" in error(refused, 403)
    assert error(call(admin, "gethottransients", {"cheat_gentypes": 10}), 400) == (
        "Error, cheat_gentypes must be a list"
    )


@pytest.mark.parametrize(
    "body, text",
    [
        (
            {"detected_since_mjd": 1, "detected_in_last_days": 2},
            "Error, only give one of detected_since_mjd or detected_in_last_days",
        ),
        ({"detected_since_mjd": 0, "return_format": 7}, "Error, unknown return_format 7"),
        ({"detected_since_mjd": 0, "sne": 1}, "Exception in GetHotSNeView: unknown parameters passed in request body"),
        ({"detected_since_mjd": "yesterday"}, "Exception in GetHotSNeView: detected_since_mjd must be a number"),
        ({"detected_in_last_days": float("nan")}, "Exception in GetHotSNeView: detected_in_last_days must be a finite"),
        ({"cheat_gentypes": ["Ia"]}, "Exception in GetHotSNeView: cheat_gentypes[0] must be an integer"),
    ],
)
def test_hot_transients_bad_input(clients, objects, body, text):
    assert error(call(clients["admin"], "gethottransients", body), 400).startswith(text)


def test_who_may_call_and_how(clients, objects):
    anonymous = call(clients["anonymous"], "ltcv", {"objectid": 1001})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    assert call(clients["anonymous"], "gethottransients", {}).status_code == 401
    assert call(clients["user"], "ltcv/", {"objectid": 1001}).status_code == 404  # no trailing slash, as the original
    assert call(clients["user"], "ltcv", {"objectid": 1001}, method="put").status_code == 405
    csrf = type(clients["user"])(enforce_csrf_checks=True)
    csrf.cookies = clients["user"].cookies
    assert call(csrf, "ltcv", {"objectid": 1001}).status_code == 403  # a session POST needs the CSRF header


@pytest.mark.parametrize("per_piece", [1, 2, 1000])
def test_lists_of_objects_are_streamed_in_pieces_that_join_into_one_answer(clients, objects, monkeypatch, per_piece):
    """Formats 0 and 1 go out an object text at a time (lightcurves._answer): whatever the piece
    size, the pieces join into the same JSON; format 2 is sent whole."""
    from followup import lightcurves

    monkeypatch.setattr(lightcurves, "ROWS_PER_PIECE", per_piece)
    monkeypatch.setattr(lightcurves, "ROWS_PER_READ", 1)
    response = call(clients["user"], "ltcv", {"objectids": [1004, 1002, 1001]})
    assert response.streaming
    pieces = list(response.streaming_content)
    assert len(pieces) == 4 + {1: 3, 2: 2, 1000: 1}[per_piece]  # prefix, "[", the objects, "]", "}"
    answer = json.loads(b"".join(pieces))
    assert ids(answer) == [1001, 1002, 1004]
    assert [o["photometry"] for o in answer["diaobject"]] == [expected_curve(i) for i in (1001, 1002, 1004)]
    hot = call(clients["user"], "gethottransients", {"detected_since_mjd": 60045, "return_format": 1})
    assert hot.streaming and [o["objectid"] for o in json.loads(b"".join(hot.streaming_content))["diaobject"]] == [
        1002,
        1004,
    ]
    whole = call(clients["user"], "ltcv", {"objectids": [1001, 1002], "return_format": 2})
    assert not whole.streaming and json.loads(whole.content)["diaobject"]["objectid"] == [1001, 1002]


@pytest.mark.django_db
def test_a_failure_mid_stream_ends_the_answer_short_never_closed(monkeypatch):
    """Pieces already sent stay sent; the error surfaces where the rest would be, and the
    closing brackets never come, so no client can take a cut answer for a whole one."""
    from psycopg.errors import DivisionByZero

    from followup import lightcurves

    monkeypatch.setattr(lightcurves, "ROWS_PER_PIECE", 1)
    monkeypatch.setattr(lightcurves, "ROWS_PER_READ", 1)
    failing = "SELECT CASE WHEN i < 3 THEN '{}' ELSE (1 / (i - i))::text END FROM generate_series(1, 5) i"
    pieces = lightcurves.wrap(lightcurves._stream(failing, {}))
    sent = [next(pieces) for _ in range(4)]
    assert sent == [lightcurves.ANSWER_START, b"[", b"{}", b", {}"]
    with pytest.raises(DivisionByZero):
        next(pieces)


# Planner costs under which PostgreSQL builds even a few hundred objects' answer in parallel
# workers, as it does for a real window of tens of thousands (followup/lightcurves.py).
PARALLEL_EVEN_WHEN_SMALL = [
    "SET LOCAL parallel_setup_cost = 0",
    "SET LOCAL parallel_tuple_cost = 0",
    "SET LOCAL min_parallel_table_scan_size = 0",
    "SET LOCAL min_parallel_index_scan_size = 0",
]
COPIES = 300  # of object 1001, ids 100001..100300: what the planner needs to see rows, not guesses


def gathered(node: dict, table: str, below_gather: bool = False) -> list[bool]:
    """For each scan of ``table`` in an EXPLAIN (FORMAT JSON) plan: whether parallel workers run
    it (it lies below a Gather or Gather Merge)."""
    below_gather = below_gather or node["Node Type"] in ("Gather", "Gather Merge")
    found = [below_gather] if node.get("Relation Name") == table else []
    for child in node.get("Plans", []):
        found += gathered(child, table, below_gather)
    return found


def copy_object(cursor, object_id: int, copies: int) -> list[int]:
    """``copies`` TOM-known objects with ``object_id``'s row, detections and forced points (ids
    100001, 100002, ...); the light-curve table follows by its triggers."""
    from elasticc2.models import DiaForcedSource, DiaObject, DiaSource

    for model in (DiaObject, DiaSource, DiaForcedSource):
        columns = [f.column for f in model._meta.concrete_fields]
        values = ["100000 + g" if c == "diaobject_id" else c for c in columns]
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM {model._meta.db_table}, generate_series(1, %s) g WHERE diaobject_id = %s",
            [copies, object_id],
        )
    return [100000 + g for g in range(1, copies + 1)]


@pytest.mark.django_db
@pytest.mark.parametrize("return_format, host", [(0, False), (1, True), (2, True)])
def test_an_answer_built_by_parallel_workers_is_the_same_answer(objects, return_format, host):
    """A hot-transients window's light curves are probed and written by parallel workers whose
    rows a Gather Merge (or the ordered aggregate of format 2) puts back in id order. Forced
    into such a plan (checked), the answer is byte for byte the one-process answer, in every
    format, and holds the objects detected in the window.

    The plan is chosen from statistics, so the test makes them its own: a few hundred copies of
    an object, analysed. On the four hand-built objects alone the planner guessed at row counts
    that earlier tests had left (or at dead rows they left behind), and one time in several it
    probed the light curves from the leader, under forcing costs or not (a CI run saw it)."""
    from django.db import connection

    from followup import lightcurves as lc

    shape = lc.Shape(return_format, host)
    with connection.cursor() as cursor:
        copies = copy_object(cursor, 1001, COPIES)
        cursor.execute("ANALYZE elasticc2_diasource, elasticc2_diaobject, followup_lightcurve")

    def answer() -> bytes:
        text = lc.hot_transients(60000.0, 60100.0, shape)
        return text if isinstance(text, bytes) else b"".join(text)

    def workers_probe_light_curves() -> bool:
        params = {"since": 60000.0, "until": 60100.0, "mjd_now": 60100.0}
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + lc.light_curves_sql(lc.DETECTED_SQL, shape), params)
            (probed,) = gathered(cursor.fetchone()[0][0]["Plan"], "followup_lightcurve")
            return probed

    assert not workers_probe_light_curves()  # too few rows to be worth workers
    one_process = answer()
    with connection.cursor() as cursor:
        for setting in PARALLEL_EVEN_WHEN_SMALL:
            cursor.execute(setting)
    assert workers_probe_light_curves()
    assert answer() == one_process
    listed = json.loads(one_process)
    rows = listed if return_format != 2 else [dict(zip(listed, row)) for row in zip(*listed.values())]
    assert [o["objectid"] for o in rows] == [1001, 1002, 1004, *copies]
    curves = [o["photometry"] if return_format == 0 else {k: o[k] for k in ARRAYS} for o in rows]
    assert curves[3:] == [expected_curve(1001)] * COPIES
