"""TOM Toolkit Targets made from ELAsTiCC2 objects: made once (the REST call and the object page's
button), the photometry the Toolkit plots, the way back from the Target page, permissions (no
truth on a Target, no unsent object), and two callers at once making one Target."""

import math
import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from followup import targets
from followup.models import DiaObjectOfTarget
from followup.tests.handbuilt import FORCED, forced_id

TRUTH_VALUES = ["0.4321", "60033.25", "gentype", "zcmb"]  # handbuilt's truth rows: never on a Target


def make(client, body):
    return client.post("/elasticc2/maketarget", body, content_type="application/json")


def test_made_once_with_its_photometry(clients, objects):
    first = make(clients["user"], {"objectid": 1001})
    assert first.status_code == 201, first.content
    answer = first.json()
    target = Target.objects.get()
    assert answer == {
        "status": "ok", "objectid": 1001, "target_id": target.pk, "name": "1001", "created": True,
        "photometry_points_added": 5, "url": f"http://testserver/targets/{target.pk}/",
    }  # fmt: skip
    assert first["Location"] == answer["url"]
    assert (target.name, target.type, target.ra, target.dec, target.permissions) == (
        "1001", "SIDEREAL", 10.5, -20.25, "PUBLIC"
    )  # fmt: skip
    assert sorted(target.aliases.values_list("name", flat=True)) == ["ELAsTiCC2 1001", "ELAsTiCC2 diaObject 1001"]
    assert list(DiaObjectOfTarget.objects.values_list("diaobject_id", "tomtarget_id")) == [(1001, target.pk)]
    points = {p.value["diaforcedsource_id"]: p for p in PhotometryReducedDatum.objects.filter(target=target)}
    assert set(points) == {forced_id(1001, k) for k in range(5)}
    detected = points[forced_id(1001, 2)]  # 60020 g 2000 ± 40 nJy: S/N 50
    assert detected.bandpass == "g" and detected.unit == "AB mag" and detected.limit is None
    assert detected.brightness == pytest.approx(31.4 - 2.5 * math.log10(2000))
    assert detected.brightness_error == pytest.approx(2.5 / math.log(10) * 40 / 2000)
    assert detected.timestamp.isoformat() == "2023-03-17T00:00:00+00:00"  # MJD 60020
    assert detected.value == {"mjd": 60020.0, "flux": 2000.0, "fluxerr": 40.0, "flux_unit": "nJy",
                              "diaforcedsource_id": forced_id(1001, 2)}  # fmt: skip
    faint = points[forced_id(1001, 4)]  # 60030 r 30 ± 20: S/N 1.5, a 3-sigma upper limit
    assert faint.brightness is None and faint.limit == pytest.approx(31.4 - 2.5 * math.log10(60))
    negative = points[forced_id(1001, 0)]  # -5 ± 10
    assert negative.brightness is None and negative.limit == pytest.approx(31.4 - 2.5 * math.log10(30))
    # again: the same Target, nothing added; after the stream made one more point public, that one
    again = make(clients["admin"], {"objectid": 1001})
    assert again.status_code == 200 and again.json()["target_id"] == target.pk and not again.json()["created"]
    assert again.json()["photometry_points_added"] == 0 and Target.objects.count() == 1
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO elasticc2_diaforcedsource (diaforcedsource_id, diaobject_id, midpointtai, filtername, "
            "psflux, psfluxerr) VALUES (1001099, 1001, 60040.0, 'z', 700, 35)"
        )
    assert make(clients["user"], {"objectid": 1001}).json()["photometry_points_added"] == 1
    assert PhotometryReducedDatum.objects.filter(target=target).count() == len(FORCED[1001]) + 1


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"objectid": 9999}, 404, None),
        ({"objectid": 1005}, 404, None),  # never sent: unknown to the TOM
        ({"objectid": 1003, "why": 1}, 400, "why"),
        ({"objectid": "first"}, 400, "objectid"),
        ({}, 400, "objectid"),
    ],
)
def test_bad_input_makes_nothing(clients, objects, body, status, field):
    response = make(clients["user"], body)
    assert response.status_code == status and response.json()["status"] == status
    assert response.json().get("field") == field
    assert not Target.objects.exists() and not DiaObjectOfTarget.objects.exists()


def test_a_name_taken_by_another_target_is_a_conflict(clients, objects):
    Target.objects.create(name="ELAsTiCC2 1002", type="SIDEREAL", ra=1, dec=2)  # someone's own Target
    response = make(clients["user"], {"objectid": 1002})
    assert response.status_code == 409 and "exists and is not this object's" in response.json()["detail"]
    assert Target.objects.count() == 1 and not DiaObjectOfTarget.objects.exists()
    assert not PhotometryReducedDatum.objects.exists()


def test_anonymous_and_get(clients, objects):
    assert make(clients["anonymous"], {"objectid": 1001}).status_code == 401
    assert clients["user"].get("/elasticc2/maketarget").status_code == 405


def test_the_target_page_links_back_and_shows_no_truth(clients, objects):
    target_id = make(clients["admin"], {"objectid": 1001}).json()["target_id"]  # made by an elasticc_admin
    clients["user"].post(
        "/elasticc2/reportspectruminfo",
        {"objectid": 1001, "facility": "Keck", "mjd": 60031.5, "z": 0.25, "classid": 2243},
        content_type="application/json",
    )
    page = clients["user"].get(f"/targets/{target_id}/")  # a user who may not read truth
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/elasticc2/objects/1001/"' in html and 'id="elasticc2-target-spectra"' in html
    assert "60031.500" in html and "2243" in html  # the reported spectrum
    assert not [value for value in TRUTH_VALUES if value in html]
    # The Toolkit's REST API shows a Target to those granted it (the site grants nobody): the
    # user sees nothing there, a superuser sees it, with no truth either.
    assert clients["user"].get(f"/api/targets/{target_id}/").status_code == 404
    assert clients["user"].get(f"/api/reduceddatums/?target={target_id}").json() == []
    root = type(clients["user"])()
    root.force_login(User.objects.create_superuser("root", password="x-long-password"))
    for route, shown in (
        (f"/api/targets/{target_id}/", "ELAsTiCC2 1001"),
        (f"/api/reduceddatums/?target={target_id}", "AB mag"),
    ):
        response = root.get(route)
        assert response.status_code == 200 and shown in response.content.decode()
        assert not [v for v in TRUTH_VALUES if v in response.content.decode()]


def test_the_object_pages_button(clients, objects):
    page = clients["user"].get("/elasticc2/objects/1001/").content.decode()
    assert 'id="followup-make-target"' in page and "Make a Target" in page
    response = clients["user"].post(
        "/elasticc2/followup/target", {"objectid": 1001, "next": "/elasticc2/objects/1001/"}
    )
    target = Target.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/targets/{target.pk}/"
    page = clients["user"].get("/elasticc2/objects/1001/").content.decode()
    assert f'href="/targets/{target.pk}/"' in page and "Update the Target" in page
    response = clients["user"].post("/elasticc2/followup/target", {"objectid": 1005, "next": "/elasticc2/"})
    assert response.status_code == 302 and response["Location"] == "/elasticc2/"
    assert Target.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_callers_at_once_make_one_target():
    from followup.tests import handbuilt

    handbuilt.build()
    barrier, results, errors = threading.Barrier(4), [], []

    def call():
        try:
            barrier.wait(timeout=10)
            results.append(targets.target_for_object(1002))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert Target.objects.count() == 1 and DiaObjectOfTarget.objects.count() == 1
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert {r.target.pk for r in results} == {Target.objects.get().pk}
    assert PhotometryReducedDatum.objects.count() == len(FORCED[1002])
