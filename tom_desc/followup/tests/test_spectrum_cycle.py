"""The spectrum cycle end to end over HTTP through gunicorn, called as the original's tom_client.py
calls it (login form, CSRF header), on the ELAsTiCC2 sample as the original's test had it
(sample.py): ask -> wanted -> plan -> wanted without the claimed object -> report -> wanted
without it, and at the end empty -> known spectra. It follows the steps of the original's
tests/test_elasticc2_spectrumcycle.py and its numbers, but for the latest magnitude: the
original took an arbitrary point per band (its test: object 114982, i at MJD 60294.17, 19.125),
here it is the newest one (i at 60295.26, 19.20; docs/followup.md). Also hot transients and
light curves of the same data."""

import random
import time
from datetime import UTC, datetime

import pytest

from elasticc.tests.api_data import PASSWORD, make_user
from elasticc2.api.tests.test_original_json import TomClientLike
from elasticc2.models import DiaForcedSource, DiaObject, DiaSource
from followup.models import PlannedSpectra, SpectrumInfo, WantedSpectra
from followup.tests import sample
from tom_desc.lib.mjd import datetime_of, mjd_now, mjd_of

pytestmark = pytest.mark.django_db(transaction=True)

HOT_SINCE_60660 = {15232, 1913410, 2110476, 416626, 1286131, 1684659, 1045654, 1263066}  # the original's test


@pytest.fixture
def tom(live_server_url):
    sample.load_as_the_original_knew_it()
    make_user("spectro")  # no group: any logged-in user asks, reads, plans and reports
    return TomClientLike(live_server_url, "spectro", PASSWORD)


def ok(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    answer = response.json()
    assert answer["status"] == "ok"
    return answer


def wanted(tom, **filters) -> list[dict]:
    return ok(tom.post("elasticc2/spectrawanted", json=filters))["wantedspectra"]


def parsed(when: str) -> datetime:
    return datetime.fromisoformat(when)


def test_the_spectrum_cycle(tom):
    assert (DiaObject.objects.count(), DiaSource.objects.count(), DiaForcedSource.objects.count()) == (131, 650, 5765)
    objects = list(DiaObject.objects.order_by("diaobject_id").values_list("diaobject_id", flat=True))
    asked = objects[:25]
    random.seed(42)
    priorities = [random.randint(1, 5) for _ in asked]
    answer = ok(tom.post("elasticc2/askforspectrum", json={"requester": "tests", "objectids": asked,
                                                           "priorities": priorities}))  # fmt: skip
    assert answer["num"] == 25
    rows = list(WantedSpectra.objects.order_by("diaobject_id"))
    assert [(w.wantspec_id, w.diaobject_id, w.requester, w.priority) for w in rows] == [
        (f"{o} ; tests", o, "tests", p) for o, p in zip(asked, priorities)
    ]

    # What is wanted: everything detected at all; the first one and its latest magnitudes.
    every = wanted(tom, detected_since_mjd=0)
    assert len(every) == 25 and {w["oid"] for w in every} == set(asked)
    first = every[0]
    assert (first["oid"], first["prio"]) == (114982, 5)
    assert first["ra"] == pytest.approx(93.721805, abs=0.25 / 3600) and first["dec"] == pytest.approx(
        -65.509372, abs=0.25 / 3600
    )
    assert first["latest"]["i"]["mjd"] == pytest.approx(60295.26, abs=0.01)
    assert first["latest"]["i"]["mag"] == pytest.approx(19.20, abs=0.01)
    assert first["latest"]["i"]["mag_ab"] == pytest.approx(19.20 + 4.4, abs=0.01)
    assert [w["prio"] for w in every] == sorted((w["prio"] for w in every), reverse=True)
    # Detected since an MJD: those whose latest point in some band is that recent.
    recent = {w["oid"] for w in every if any(b["mjd"] >= 60660 for b in w["latest"].values())}
    assert recent == {15232, 416626}
    assert {w["oid"] for w in wanted(tom, detected_since_mjd=60660)} == recent
    # Requested since a time: only the requests made after it.
    time.sleep(1)
    since = datetime.now(UTC).isoformat()[0:19]
    time.sleep(1)
    later = objects[25:28]
    ok(tom.post("elasticc2/askforspectrum", json={"requester": "tests", "objectids": later, "priorities": [1, 2, 3]}))
    assert {w["oid"] for w in wanted(tom, requested_since=since, detected_since_mjd=0)} == set(later)
    WantedSpectra.objects.filter(diaobject_id__in=later).delete()

    # Plan: the object is claimed; asking to ignore claims shows it again.
    mjd = max(b["mjd"] for b in first["latest"].values())
    plantime = datetime_of(mjd + 2).replace(tzinfo=None).isoformat(timespec="milliseconds")
    planned = ok(tom.post("elasticc2/planspectrum", json={"objectid": 114982, "plantime": plantime,
                                                          "facility": "Test Spectrumifier"}))  # fmt: skip
    assert PlannedSpectra.objects.count() == 1
    assert (planned["objectid"], planned["facility"], planned["comment"]) == (114982, "Test Spectrumifier", "")
    assert mjd_of(parsed(planned["created_at"])) == pytest.approx(mjd_now(), abs=0.0003)
    assert mjd_of(parsed(planned["plantime"])) == pytest.approx(mjd + 2, abs=0.01)
    assert len(wanted(tom, detected_since_mjd=0, not_claimed_in_last_days=1)) == 24
    assert len(wanted(tom, detected_since_mjd=0, not_claimed_in_last_days=0)) == 25
    replanned = datetime_of(mjd + 3).replace(tzinfo=None).isoformat()
    ok(
        tom.post(
            "elasticc2/planspectrum", json={"objectid": 114982, "plantime": replanned, "facility": "Test Spectrumifier"}
        )
    )
    (plan,) = PlannedSpectra.objects.all()
    assert mjd_of(plan.plantime) == pytest.approx(mjd + 3, abs=0.01) and plan.created_at > parsed(planned["created_at"])
    ok(
        tom.post(
            "elasticc2/planspectrum",
            json={"objectid": 114982, "plantime": replanned, "facility": "Test Spectrumifier 2"},
        )
    )
    assert PlannedSpectra.objects.count() == 2
    removed = ok(tom.post("elasticc2/removespectrumplan", json={"objectid": 114982, "facility": "Test Spectrumifier"}))
    assert (removed["facility"], removed["objectid"], removed["n_deleted"]) == ("Test Spectrumifier", 114982, 1)
    assert list(PlannedSpectra.objects.values_list("facility", flat=True)) == ["Test Spectrumifier 2"]

    # Report: the spectrum is kept, the plan and every request for the object go.
    report = {"objectid": 114982, "facility": "Test Spectrumifier 2", "mjd": 65536.0, "z": 0.25, "classid": 2222}
    reported = ok(tom.post("elasticc2/reportspectruminfo", json=report))
    assert {k: reported[k] for k in report} == report
    assert mjd_of(parsed(reported["inserted_at"])) == pytest.approx(mjd_now(), abs=0.01)
    (info,) = SpectrumInfo.objects.all()
    assert (info.diaobject_id, info.facility, info.mjd, info.z, info.classid) == tuple(report.values())
    assert PlannedSpectra.objects.count() == 0
    assert WantedSpectra.objects.count() == 24 and not WantedSpectra.objects.filter(diaobject_id=114982).exists()
    assert 114982 not in {w["oid"] for w in wanted(tom, detected_since_mjd=0, not_claimed_in_last_days=0)}

    # Reports for every other wanted object: nothing is wanted any more, 25 spectra are known.
    for w in wanted(tom, detected_since_mjd=0):
        ok(tom.post("elasticc2/reportspectruminfo", json={"objectid": w["oid"], "facility": "SALT", "mjd": 60700.5,
                                                          "z": None, "classid": None}))  # fmt: skip
    assert wanted(tom, detected_since_mjd=0, not_claimed_in_last_days=0, no_spectra_in_last_days=0) == []
    known = ok(tom.post("elasticc2/getknownspectruminfo", json={}))["spectra"]
    assert len(known) == 25 and known[-1]["objectid"] == 114982  # by MJD: 65536 is the last
    assert (known[-1]["mjd"], known[-1]["z"], known[-1]["classid"]) == (65536.0, 0.25, 2222)
    assert [
        s["objectid"] for s in ok(tom.post("elasticc2/getknownspectruminfo", json={"classid": 2222}))["spectra"]
    ] == [114982]


def test_filters_on_the_sample(tom):
    objects = list(DiaObject.objects.order_by("diaobject_id").values_list("diaobject_id", flat=True))
    ok(tom.post("elasticc2/askforspectrum", json={"requester": "filters", "objectids": objects,
                                                  "priorities": [3] * len(objects)}))  # fmt: skip
    every = wanted(tom, detected_since_mjd=0)
    with_a_point = {
        f.diaobject_id for f in DiaForcedSource.objects.all() if f.psflux > 0 and f.psflux > 3 * f.psfluxerr
    }
    assert {w["oid"] for w in every} == with_a_point and len(with_a_point) == 129  # of 131 known objects
    assert [w["oid"] for w in every] == sorted(w["oid"] for w in every)  # one priority: by object id
    # a magnitude limit in a band: the objects whose latest point in it is brighter (original scale)
    in_r = sorted(w["latest"]["r"]["mag"] for w in every if "r" in w["latest"])
    limit = in_r[len(in_r) // 2]
    expected = [w["oid"] for w in every if "r" in w["latest"] and w["latest"]["r"]["mag"] < limit]
    assert 0 < len(expected) < len(every)
    assert [w["oid"] for w in wanted(tom, detected_since_mjd=0, lim_mag=limit, lim_mag_band="r")] == expected
    # the defaults count days on the wall clock; a spectrum taken 3 days ago settles an object for 7 days
    assert wanted(tom) == []
    ok(tom.post("elasticc2/reportspectruminfo", json={"objectid": objects[0], "facility": "NOT", "mjd": mjd_now() - 3,
                                                      "z": 0.1, "classid": 2224}))  # fmt: skip
    ok(
        tom.post(
            "elasticc2/askforspectrum", json={"requester": "filters", "objectids": [objects[0]], "priorities": [5]}
        )
    )
    assert objects[0] not in {w["oid"] for w in wanted(tom, detected_since_mjd=0)}
    assert wanted(tom, detected_since_mjd=0, no_spectra_in_last_days=2)[0]["oid"] == objects[0]
    # bad input is a 4xx naming the problem, as text
    bad = tom.post("elasticc2/spectrawanted", json={"detected_since": 0})
    assert bad.status_code == 400 and "['detected_since']" in bad.text
    assert bad.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_hot_transients_and_light_curves_of_the_sample(tom):
    hot = ok(tom.post("elasticc2/gethottransients", json={"detected_since_mjd": 60660}))["diaobject"]
    assert {o["objectid"] for o in hot} == HOT_SINCE_60660
    assert set(hot[0]) == {"objectid", "ra", "dec", "photometry", "zp", "redshift", "sncode"}
    assert set(hot[0]["photometry"]) == {"mjd", "band", "flux", "fluxerr"}
    ids = sorted(HOT_SINCE_60660)
    curves = ok(tom.get("elasticc2/ltcv", json={"objectids": ids}))["diaobject"]
    assert curves == hot  # the same objects, the same shape and points
    for obj in curves:
        forced = DiaForcedSource.objects.filter(diaobject_id=obj["objectid"]).order_by(
            "midpointtai", "diaforcedsource_id"
        )
        assert obj["photometry"]["mjd"] == [f.midpointtai for f in forced]
        assert obj["photometry"]["flux"] == [f.psflux for f in forced]  # a real's text, as the original sent them
    columns = ok(tom.post("elasticc2/ltcv", json={"objectids": ids, "return_format": 2, "mjd_now": 60660}))["diaobject"]
    before = sorted(set(DiaForcedSource.objects.filter(diaobject_id__in=ids, midpointtai__lte=60660).values_list(
        "diaobject_id", flat=True)))  # fmt: skip
    assert all(max(m) <= 60660 for m in columns["mjd"]) and columns["objectid"] == before and len(before) < len(ids)
    bounded = ok(tom.post("elasticc2/gethottransients", json={"detected_in_last_days": 10, "mjd_now": 60670}))
    assert {o["objectid"] for o in bounded["diaobject"]} <= HOT_SINCE_60660
    unknown = tom.post("elasticc2/ltcv", json={"objectid": 1})
    assert (unknown.status_code, unknown.text) == (404, "Exception in LtcvsView: Unknown objectid 1")
