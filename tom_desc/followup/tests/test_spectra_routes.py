"""The spectrum routes one by one on the hand-built objects (handbuilt.py): what each writes and
answers, the filters of spectrawanted, and bad input answered with a 4xx that writes nothing.
(The whole cycle over HTTP through gunicorn, on the ELAsTiCC2 sample: test_spectrum_cycle.py.)"""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from followup.models import PlannedSpectra, SpectrumInfo, WantedSpectra
from followup.tests.conftest import call, error, ok
from tom_desc.lib.mjd import mjd_now


def ask(client, requester, pairs):
    return call(client, "askforspectrum", {"requester": requester, "objectids": [o for o, _ in pairs],
                                           "priorities": [p for _, p in pairs]})  # fmt: skip


def wanted(client, **filters):
    return ok(call(client, "spectrawanted", {"detected_since_mjd": 0, **filters}))["wantedspectra"]


def test_ask_clamps_priorities_and_a_repeat_updates(clients, objects):
    answer = ok(ask(clients["user"], "pipeline", [(1001, 9), (1002, -3), (1004, 2), (1004, 4)]))
    assert answer == {"status": "ok", "message": "wanted spectra created", "num": 3}
    rows = {w.diaobject_id: w for w in WantedSpectra.objects.all()}
    assert {o: w.priority for o, w in rows.items()} == {1001: 5, 1002: 0, 1004: 4}  # clamped; 1004's last wins
    assert rows[1001].wantspec_id == "1001 ; pipeline" and rows[1001].requester == "pipeline"
    assert rows[1001].user == User.objects.get(username="observer")
    first_time = rows[1001].wanttime
    assert abs(first_time - datetime.now(UTC)) < timedelta(seconds=30)
    ok(ask(clients["admin"], "pipeline", [(1001, 1)]))  # the same (object, requester): replaced
    again = WantedSpectra.objects.get(pk="1001 ; pipeline")
    assert (again.priority, again.user.username) == (1, "boss") and again.wanttime > first_time
    ok(ask(clients["user"], "other", [(1001, 2)]))  # another requester: another request
    assert WantedSpectra.objects.filter(diaobject_id=1001).count() == 2


@pytest.mark.parametrize(
    "body, status, text",
    [
        ({"requester": "x", "objectids": [1001]}, 400, "Mal-formed data for askforspectrum"),
        ({"requester": "x", "objectids": [1001], "priorities": [1, 2]}, 400, "Mal-formed data for askforspectrum"),
        ({"objectids": [1001], "priorities": [1]}, 400, "Mal-formed data for askforspectrum"),
        ({"requester": "x", "objectids": 1001, "priorities": 1}, 400, "Mal-formed data for askforspectrum"),
        ({"requester": "", "objectids": [1001], "priorities": [1]}, 400, "Exception in AskForSpectrumView: requester"),
        ({"requester": 7, "objectids": [1001], "priorities": [1]}, 400, "Exception in AskForSpectrumView: requester must"),
        ({"requester": "x", "objectids": [1001], "priorities": ["high"]}, 400, "Exception in AskForSpectrumView: priorities[0]"),
        ({"requester": "x", "objectids": [1001], "priorities": [1], "why": "?"}, 400, "Exception in AskForSpectrumView: unknown"),
        ({"requester": "x", "objectids": [1001, 9999], "priorities": [1, 1]}, 404, "Exception in AskForSpectrumView: Unknown objectid 9999"),
        ({"requester": "x", "objectids": [1001, 1005], "priorities": [1, 1]}, 404, "Exception in AskForSpectrumView: Unknown objectid 1005"),
    ],
)  # fmt: skip
def test_ask_bad_input_writes_nothing(clients, objects, body, status, text):
    assert error(call(clients["user"], "askforspectrum", body), status).startswith(text)
    assert not WantedSpectra.objects.exists()


def test_wanted_order_latest_magnitudes_and_filters(clients, objects):
    ok(ask(clients["user"], "a", [(1001, 2), (1002, 4), (1003, 5), (1004, 2)]))
    ok(ask(clients["user"], "b", [(1001, 3)]))
    rows = wanted(clients["user"])
    # 1003 has no forced point with S/N > 3 in any band: left out; by priority, then object id
    assert [(w["oid"], w["req"], w["prio"]) for w in rows] == [(1002, "a", 4), (1001, "b", 3), (1004, "a", 2)]
    first = rows[1]
    assert list(first) == ["oid", "ra", "dec", "req", "prio", "latest"]
    assert (first["ra"], first["dec"]) == (10.5, -20.25)
    # per band the newest point with S/N > 3: g 60020 (2000 nJy), r 60010 (the 60030 r point is S/N 1.5), i 60030
    assert {b: v["mjd"] for b, v in first["latest"].items()} == {"g": 60020.0, "i": 60030.0, "r": 60010.0}
    g = first["latest"]["g"]
    assert g["mag_ab"] == pytest.approx(31.4 - 2.5 * math.log10(2000))  # AB: psflux is in nJy
    assert g["mag"] == pytest.approx(27 - 2.5 * math.log10(2000))  # the original's scale, 4.4 brighter
    # lim_mag (the original's scale, as the answer's "mag") in one band
    assert [w["oid"] for w in wanted(clients["user"], lim_mag=19.0, lim_mag_band="g")] == [1001, 1004]
    assert [w["oid"] for w in wanted(clients["user"], lim_mag=18.0, lim_mag_band="g")] == [1004]
    assert [w["oid"] for w in wanted(clients["user"], lim_mag=21.0, lim_mag_band="i")] == [1002, 1001]
    assert wanted(clients["user"], lim_mag=30.0, lim_mag_band="z") == [w for w in rows if w["oid"] == 1002]
    # detected after an MJD (strictly, as the original)
    assert [w["oid"] for w in wanted(clients["user"], detected_since_mjd=60050)] == [1004]
    assert [w["oid"] for w in wanted(clients["user"], detected_since_mjd=60049.9)] == [1002, 1004]
    # the defaults count days on the wall clock: simulated detections are years old
    assert ok(call(clients["user"], "spectrawanted", {}))["wantedspectra"] == []
    assert len(wanted(clients["user"], detected_in_last_days=365 * 30)) == 3  # no detected_since_mjd: the days


def test_wanted_requested_since_claims_and_spectra(clients, objects):
    ok(ask(clients["user"], "a", [(1001, 2), (1002, 4)]))
    WantedSpectra.objects.filter(diaobject_id=1002).update(wanttime=datetime.now(UTC) - timedelta(days=20))
    assert [w["oid"] for w in wanted(clients["user"])] == [1001]  # requested in the last 14 days by default
    since = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    assert [w["oid"] for w in wanted(clients["user"], requested_since=since)] == [1002, 1001]
    assert [w["oid"] for w in wanted(clients["user"], requested_since=since[:10])] == [1002, 1001]
    iso = (datetime.now(UTC) - timedelta(days=30)).isoformat()  # fractions and a zone, beside the original's form
    assert [w["oid"] for w in wanted(clients["user"], requested_since=iso)] == [1002, 1001]
    # a plan claims the object for not_claimed_in_last_days (7 by default; 0: claims ignored)
    ok(call(clients["user"], "planspectrum", {"objectid": 1001, "facility": "Keck"}))
    assert wanted(clients["user"]) == []
    assert [w["oid"] for w in wanted(clients["user"], not_claimed_in_last_days=0)] == [1001]
    PlannedSpectra.objects.update(created_at=datetime.now(UTC) - timedelta(days=3))
    assert [w["oid"] for w in wanted(clients["user"], not_claimed_in_last_days=2)] == [1001]
    assert wanted(clients["user"], not_claimed_in_last_days=4) == []
    # a spectrum taken in the last no_spectra_in_last_days (7 by default) settles it
    PlannedSpectra.objects.all().delete()
    SpectrumInfo.objects.create(diaobject_id=1001, facility="SALT", mjd=mjd_now() - 3)
    assert wanted(clients["user"]) == []
    assert [w["oid"] for w in wanted(clients["user"], no_spectra_in_last_days=2)] == [1001]
    assert [w["oid"] for w in wanted(clients["user"], not_observed_in_last_days=2)] == [1001]  # what the original read
    assert wanted(clients["user"], no_spectra_in_last_days=2, not_observed_in_last_days=2)[0]["oid"] == 1001


@pytest.mark.parametrize(
    "body, text",
    [
        ({"requested_since": "yesterday"}, "Failed to parse YYYY-MM-DD HH:MM:SS from yesterday"),
        ({"requested_since": 20240101}, "Failed to parse YYYY-MM-DD HH:MM:SS from 20240101"),
        ({"lim_mag": 20}, "Exception in WhatSpectraAreWanted: give lim_mag and lim_mag_band together"),
        ({"lim_mag_band": "g"}, "Exception in WhatSpectraAreWanted: give lim_mag and lim_mag_band together"),
        ({"lim_mag": 20, "lim_mag_band": "q"}, "Exception in WhatSpectraAreWanted: lim_mag_band must be one of"),
        ({"lim_mag": "bright", "lim_mag_band": "g"}, "Exception in WhatSpectraAreWanted: lim_mag must be a number"),
        ({"no_spectra_in_last_days": 1, "not_observed_in_last_days": 2}, "Exception in WhatSpectraAreWanted: no_spectra"),
        ({"not_claimed_in_last_days": "week"}, "Exception in WhatSpectraAreWanted: not_claimed_in_last_days must"),
        ({"detected_since": 0}, "Exception in WhatSpectraAreWanted: unknown parameters passed in request body"),
    ],
)  # fmt: skip
def test_wanted_bad_input(clients, objects, body, text):
    assert error(call(clients["user"], "spectrawanted", body), 400).startswith(text)


def test_plan_replace_and_remove(clients, objects):
    first = ok(call(clients["user"], "planspectrum", {"objectid": 1001, "facility": "Keck", "plantime": "2026-05-01"}))
    assert list(first) == ["status", "objectid", "facility", "created_at", "plantime", "comment"]
    assert (first["objectid"], first["facility"], first["comment"]) == (1001, "Keck", "")
    assert first["plantime"] == "2026-05-01T00:00:00Z" and first["created_at"].endswith("Z")
    plan = PlannedSpectra.objects.get()
    again = ok(call(clients["user"], "planspectrum", {"objectid": 1001, "facility": "Keck",
                                                      "plantime": "2026-05-02T06:00:00+02:00", "comment": "B band"}))  # fmt: skip
    replaced = PlannedSpectra.objects.get(facility="Keck")
    assert replaced.reqspec_id != plan.reqspec_id and replaced.created_at > plan.created_at
    assert replaced.plantime == datetime(2026, 5, 2, 4, tzinfo=UTC) and again["comment"] == "B band"
    ok(call(clients["user"], "planspectrum", {"objectid": 1001, "facility": "SALT"}))
    assert PlannedSpectra.objects.count() == 2 and PlannedSpectra.objects.get(facility="SALT").plantime is None
    removed = ok(call(clients["user"], "removespectrumplan", {"objectid": 1001, "facility": "Keck"}))
    assert removed == {"status": "ok", "facility": "Keck", "objectid": 1001, "n_deleted": 1}
    assert ok(call(clients["user"], "removespectrumplan", {"objectid": 1001, "facility": "Keck"}))["n_deleted"] == 0
    assert list(PlannedSpectra.objects.values_list("facility", flat=True)) == ["SALT"]


@pytest.mark.parametrize(
    "route, body, status, text",
    [
        ("planspectrum", {"objectid": 1001}, 400, "Post data must be json with keys objectid and facility"),
        ("planspectrum", {"objectid": 1001, "facility": ""}, 400, "facility can't be an empty string"),
        ("planspectrum", {"objectid": 1001, "facility": "K", "plantime": "soon"}, 400,
         "Failed to parse 'soon' as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"),
        ("planspectrum", {"objectid": 9999, "facility": "K"}, 404, "Unknown objectid 9999"),
        ("planspectrum", {"objectid": 1005, "facility": "K"}, 404, "Unknown objectid 1005"),
        ("planspectrum", {"objectid": 1001, "facility": "K", "comment": 5}, 400, "Exception in PlanToDoSpectrum: comment"),
        ("planspectrum", {"objectid": 1001, "facility": "K", "when": 1}, 400, "Exception in PlanToDoSpectrum: unknown"),
        ("removespectrumplan", {"facility": "K"}, 400, "Post data must be json with keys objectid and facility"),
        ("removespectrumplan", {"objectid": 9999, "facility": "K"}, 404, "Exception in RemoveSpectrumPlan: Unknown"),
        ("removespectrumplan", {"objectid": "x", "facility": "K"}, 400, "Exception in RemoveSpectrumPlan: objectid"),
    ],
)  # fmt: skip
def test_plan_bad_input_writes_nothing(clients, objects, route, body, status, text):
    assert error(call(clients["user"], route, body), status).startswith(text)
    assert not PlannedSpectra.objects.exists()


def test_report_settles_requests_and_that_facilitys_plan(clients, objects):
    ok(ask(clients["user"], "a", [(1001, 2), (1002, 4)]))
    ok(ask(clients["user"], "b", [(1001, 5)]))
    for facility in ("Keck", "SALT"):
        ok(call(clients["user"], "planspectrum", {"objectid": 1001, "facility": facility}))
    answer = ok(call(clients["user"], "reportspectruminfo",
                     {"objectid": 1001, "facility": "Keck", "mjd": 60031.25, "z": 0.25, "classid": 2222}))  # fmt: skip
    assert list(answer) == ["status", "objectid", "facility", "inserted_at", "mjd", "z", "classid"]
    assert (answer["objectid"], answer["facility"], answer["mjd"], answer["z"], answer["classid"]) == (
        1001, "Keck", 60031.25, 0.25, 2222
    )  # fmt: skip
    info = SpectrumInfo.objects.get()
    assert (info.mjd, info.z, info.classid) == (60031.25, 0.25, 2222)  # the MJD kept in double precision
    assert list(WantedSpectra.objects.values_list("diaobject_id", flat=True)) == [1002]  # every requester's
    assert list(PlannedSpectra.objects.values_list("facility", flat=True)) == ["SALT"]  # the other facility's stays
    unknown = ok(call(clients["user"], "reportspectruminfo", {"objectid": 1002, "facility": "K", "mjd": 1, "z": "",
                                                             "classid": None}))  # fmt: skip
    assert (unknown["z"], unknown["classid"]) == (None, None)


@pytest.mark.parametrize(
    "body, status, text",
    [
        ({"objectid": 1001, "facility": "K", "mjd": 1}, 400, "Incorrect fields. Missing required fields: ['classid', 'z']."),
        ({"objectid": 1001, "facility": "", "mjd": 1, "z": 0, "classid": 0}, 400, "facility can't be an empty string"),
        ({"objectid": 1001, "facility": "K", "mjd": "x", "z": 0, "classid": 0}, 400, "Exception in ReportSpectrumInfo: mjd"),
        ({"objectid": 1001, "facility": "K", "mjd": 1, "z": "far", "classid": 0}, 400, "Exception in ReportSpectrumInfo: z"),
        ({"objectid": 1001, "facility": "K", "mjd": 1, "z": 1e39, "classid": 0}, 400, "Exception in ReportSpectrumInfo: z"),
        ({"objectid": 1001, "facility": "K", "mjd": 1, "z": 0, "classid": 2**40}, 400, "Exception in ReportSpectrumInfo: classid"),
        ({"objectid": 1001, "facility": "K", "mjd": 1, "z": 0, "classid": 0, "seen": 1}, 400, "Exception in ReportSpectrumInfo: unknown"),
        ({"objectid": 9999, "facility": "K", "mjd": 1, "z": 0, "classid": 0}, 404, "Unknown objectid 9999"),
    ],
)  # fmt: skip
def test_report_bad_input_writes_nothing(clients, objects, body, status, text):
    ok(ask(clients["user"], "a", [(1001, 2)]))
    ok(call(clients["user"], "planspectrum", {"objectid": 1001, "facility": "K"}))
    assert error(call(clients["user"], "reportspectruminfo", body), status).startswith(text)
    assert not SpectrumInfo.objects.exists()
    assert WantedSpectra.objects.count() == 1 and PlannedSpectra.objects.count() == 1


def test_known_spectra_and_their_filters(clients, objects):
    reports = [
        (1001, "Keck", 60031.0, 0.25, 2222),
        (1002, "SALT", 60061.0, None, 2332),
        (1004, "Keck", 60101.0, 0.1, None),
    ]
    for object_id, facility, mjd, z, classid in reversed(reports):
        ok(call(clients["user"], "reportspectruminfo",
                {"objectid": object_id, "facility": facility, "mjd": mjd, "z": z, "classid": classid}))  # fmt: skip

    def known(**filters):
        return [s["objectid"] for s in ok(call(clients["user"], "getknownspectruminfo", filters))["spectra"]]

    everything = ok(call(clients["user"], "getknownspectruminfo", {}))["spectra"]
    assert [list(s) for s in everything] == [["objectid", "facility", "mjd", "z", "classid", "report_time"]] * 3
    assert [s["objectid"] for s in everything] == [1001, 1002, 1004]  # by MJD
    assert everything[1]["z"] is None and everything[2]["classid"] is None
    assert known(objectid=1002) == [1002] and known(objectid=[1004, 1001]) == [1001, 1004]
    assert known(facility="Keck") == [1001, 1004]  # the original filtered a misspelt field here
    assert known(mjd_min=60061, mjd_max=60101) == [1002, 1004]  # ... and read "mjd" for these
    assert known(classid=2222) == [1001] and known(z_min=0.2) == [1001] and known(z_max=0.2) == [1004]
    assert known(since=(datetime.now(UTC) + timedelta(minutes=5)).isoformat()) == []
    assert known(since="2000-01-01") == [1001, 1002, 1004]
    text = error(call(clients["user"], "getknownspectruminfo", {"mjd": 1}), 400)
    assert text.startswith("Exception in GetKnownSpectrumInfo: unknown parameters passed in request body: ['mjd']")


def test_spectrum_routes_are_post_only_and_need_login(clients, objects):
    for route in ("askforspectrum", "spectrawanted", "planspectrum", "removespectrumplan", "reportspectruminfo",
                  "getknownspectruminfo"):  # fmt: skip
        assert call(clients["user"], route, {}, method="get").status_code == 405, route
        assert call(clients["anonymous"], route, {}).status_code == 401, route
