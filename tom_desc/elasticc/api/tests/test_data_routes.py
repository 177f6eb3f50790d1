"""REST for data people (elasticc/api/renderers.py, cone.py, lightcurves.py, columns.py): files
that astropy reads back equal to the JSON rows, with units; ``fields=``; the cone search at RA
0/360 and at the poles, and its refusals; one-call light curves."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from astropy.table import Table
from django.db import connection

from elasticc.tests.api_data import make_user, seed
from tom_desc.lib import sky

# Objects placed where cone searches go wrong: both sides of RA 0/360, around both poles.
EDGE_OBJECTS = {
    7001: (359.9995, 0.0),  # 1.8" west of RA 0
    7002: (0.0010, 0.0),  # 3.6" east of RA 0
    7003: (180.0, 0.0),  # far away
    7004: (0.0, 89.9995),  # 1.8" from the north pole
    7005: (180.0, 89.9990),  # 3.6" from it, on the other side
    7006: (90.0, -89.9995),  # 1.8" from the south pole
}


@pytest.fixture
def astronomer(db, client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.force_login(make_user("astro", "elasticc_admin"))
    return client


@pytest.fixture
def edges(astronomer):
    with connection.cursor() as cur:
        for object_id, (ra, dec) in EDGE_OBJECTS.items():
            cur.execute(
                'INSERT INTO elasticc_diaobject ("diaObjectId", "simVersion", ra, decl) VALUES (%s, %s, %s, %s)',
                [object_id, "edge", ra, dec],
            )
    return astronomer


def file_table(response, fmt: str) -> Table:
    assert response.status_code == 200, response.content[:500]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if fmt == "parquet":
        return Table.read(io.BytesIO(content), format="parquet")
    if fmt == "votable":
        return Table.read(io.BytesIO(content), format="votable")
    return Table.read(content.decode(), format="ascii.ecsv" if fmt == "ecsv" else "ascii.csv")


def cell(value):
    """A Table cell as JSON would hold it: masked -> None, numpy scalars -> Python."""
    if value is None or getattr(value, "mask", False) is True or str(value) == "--":
        return None
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value


def as_typed(values: list, column) -> list:
    """JSON values as the file's column type holds them: a ``real`` column (float32) is written
    as float32, whose shortest text JSON gives (10.1 is the float32 nearest 10.1)."""
    if column.dtype == np.float32:
        return [None if v is None else np.float32(v).item() for v in values]
    return values


@pytest.mark.parametrize("fmt", ["ecsv", "votable", "parquet", "csv"])
@pytest.mark.parametrize("table", ["diaobject", "diasource", "diaforcedsource"])
def test_files_read_back_by_astropy_equal_the_json_rows(astronomer, fmt, table):
    seed(n_objects=8, sources_per_object=3, forced_per_object=3)
    rows = astronomer.get(f"/elasticc/{table}/", {"limit": 7}).json()["results"]
    assert len(rows) == 7
    read = file_table(astronomer.get(f"/elasticc/{table}/", {"limit": 7, "format": fmt}), fmt)
    assert read.colnames == list(rows[0])
    for name in read.colnames:
        assert [cell(v) for v in read[name]] == as_typed([r[name] for r in rows], read[name]), name
    if fmt != "csv":  # CSV has no place for units
        if table == "diaobject":
            assert str(read["ra"].unit) == "deg" and str(read["decl"].unit) == "deg"
            assert "Declination" in read["decl"].description or "declination" in read["decl"].description
        else:
            flux = read["psFlux"]
            assert str(flux.unit) == "nJy" and str(read["midPointTai"].unit) == "d"


def test_a_file_walk_by_next_links_sees_every_row_once(astronomer):
    seed(n_objects=5)
    ids, url = [], "/elasticc/diaobject/?format=ecsv&limit=2"
    while url:
        response = astronomer.get(url)
        ids += [int(i) for i in file_table(response, "ecsv")["diaObjectId"]]
        link = response.get("Link", "")
        url = link[link.index("<") + 1 : link.index(">")].split("testserver", 1)[1] if link else ""
    assert ids == list(range(1000, 1005))


def test_fields_choose_columns_and_bad_choices_are_named(astronomer):
    seed(n_objects=3)
    rows = astronomer.get("/elasticc/diaobject/", {"fields": "diaObjectId,ra"}).json()["results"]
    assert [set(r) for r in rows] == [{"diaObjectId", "ra"}] * 3
    read = file_table(astronomer.get("/elasticc/diaobject/", {"fields": "decl,ra", "format": "ecsv"}), "ecsv")
    assert read.colnames == ["decl", "ra"]
    answer = astronomer.get("/elasticc/diaobject/", {"fields": "ra,brightness"})
    assert answer.status_code == 400 and "Unknown column brightness" in answer.json()["errors"]["fields"][0]
    answer = astronomer.get("/elasticc/diaobject/", {"format": "fits"})
    assert answer.status_code == 400 and "csv, ecsv, votable, parquet" in answer.json()["errors"]["format"][0]
    answer = astronomer.get("/elasticc/diaobject/", {"format": "csv", "limit": 10**9})
    assert answer.status_code == 400 and answer.json()["field"] == "limit"


def cone(client, **params):
    return client.get("/elasticc/cone/", params)


def test_cone_across_ra_zero(edges):
    for ra in ("0", "360", "00:00:00"):
        answer = cone(edges, ra=ra, dec="0", radius="5").json()
        assert [r["diaObjectId"] for r in answer["results"]] == [7001, 7002], ra
    found = cone(edges, ra="0", dec="0", radius="5").json()["results"]
    for row in found:
        ra, dec = EDGE_OBJECTS[row["diaObjectId"]]
        assert row["dist_arcsec"] == pytest.approx(sky.angular_distance_arcsec(0, 0, ra, dec), abs=1e-6)
    assert found[0]["dist_arcsec"] == pytest.approx(1.8, abs=1e-3)
    # from the other side: a cone centred just west of 360 reaches the object east of 0
    near_360 = cone(edges, ra="359.9999", dec="0", radius="5").json()["results"]
    assert {r["diaObjectId"] for r in near_360} == {7001, 7002}


def test_cone_at_the_poles_takes_every_ra(edges):
    north = cone(edges, ra="123", dec="90", radius="5").json()["results"]
    assert [r["diaObjectId"] for r in north] == [7004, 7005]
    assert [round(r["dist_arcsec"], 3) for r in north] == [1.8, 3.6]
    # a cone near (not on) the pole, at an RA far from both objects, still finds them
    assert [r["diaObjectId"] for r in cone(edges, ra="270", dec="89.9999", radius="5").json()["results"]] == [
        7004,
        7005,
    ]
    assert [r["diaObjectId"] for r in cone(edges, ra="0", dec="-90", radius="2").json()["results"]] == [7006]
    assert cone(edges, ra="0", dec="-90", radius="1").json()["results"] == []


def test_cone_limit_truncated_and_files(edges):
    answer = cone(edges, ra="0", dec="0", radius="5", limit="1").json()
    assert answer["count"] == 1 and answer["truncated"] is True and answer["radius"] == 5.0
    read = file_table(cone(edges, ra="0", dec="0", radius="5", format="votable"), "votable")
    assert list(read["diaObjectId"]) == [7001, 7002] and str(read["dist_arcsec"].unit) == "arcsec"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"dec": "0", "radius": "5"}, "ra", "ra is required"),
        ({"ra": "400", "dec": "0", "radius": "5"}, "ra", "from 0 to 360"),
        ({"ra": "-1", "dec": "0", "radius": "5"}, "ra", "from 0 to 360"),
        ({"ra": "nan", "dec": "0", "radius": "5"}, "ra", "from 0 to 360"),
        ({"ra": "twelve", "dec": "0", "radius": "5"}, "ra", "cannot read"),
        ({"ra": "10", "dec": "91", "radius": "5"}, "dec", "from -90 to 90"),
        ({"ra": "10", "dec": "-90.5", "radius": "5"}, "dec", "from -90 to 90"),
        ({"ra": "10", "dec": "0"}, "radius", "number of arcseconds"),
        ({"ra": "10", "dec": "0", "radius": "0"}, "radius", "more than 0"),
        ({"ra": "10", "dec": "0", "radius": "3601"}, "radius", "at most 3600 arcsec"),
        ({"ra": "10", "dec": "0", "radius": "inf"}, "radius", "number of arcseconds"),
        ({"ra": "10", "dec": "0", "radius": "5", "limit": "0"}, "limit", "integer from 1"),
        ({"ra": "10", "dec": "0", "radius": "5", "fields": "nope"}, "fields", "Unknown column nope"),
    ],
)
def test_cone_refuses_bad_input_naming_the_parameter(astronomer, params, field, words):
    answer = cone(astronomer, **params)
    assert answer.status_code == 400
    assert answer.json()["field"] == field and words in answer.json()["errors"][field][0]


def test_cone_needs_a_login(client, db):
    assert client.get("/elasticc/cone/", {"ra": "0", "dec": "0", "radius": "5"}).status_code in (401, 403)


def test_light_curve_in_one_call(astronomer):
    data = seed(n_objects=2, sources_per_object=4, forced_per_object=6)
    object_id = data.object_ids[0]
    answer = astronomer.get(f"/elasticc/diaobject/{object_id}/lightcurve/").json()
    assert answer["diaObjectId"] == object_id and answer["ra"] == 280.0
    assert answer["units"]["psFlux"] == "nJy" and answer["units"]["midPointTai"] == "d"
    assert len(answer["diaSources"]) == 4 and len(answer["diaForcedSources"]) == 6
    times = [p["midPointTai"] for p in answer["diaForcedSources"]]
    assert times == sorted(times)
    read = file_table(astronomer.get(f"/elasticc/diaobject/{object_id}/lightcurve/", {"format": "ecsv"}), "ecsv")
    assert list(read["kind"]).count("source") == 4 and list(read["kind"]).count("forced") == 6
    assert list(read["midPointTai"]) == sorted(read["midPointTai"])
    assert str(read["psFlux"].unit) == "nJy" and read.meta["diaObjectId"] == object_id
    sources_in_r = astronomer.get(
        f"/elasticc/diaobject/{object_id}/lightcurve/", {"which": "sources", "band": "r", "mjd_max": "60004"}
    ).json()
    assert [p["midPointTai"] for p in sources_in_r["diaSources"]] == [60002.0, 60004.0]
    assert sources_in_r["diaForcedSources"] == []
    assert astronomer.get(f"/elasticc/diaobject/{object_id}/lightcurve/", {"band": "q"}).status_code == 400
    assert astronomer.get(f"/elasticc/diaobject/{object_id}/lightcurve/", {"mjd_min": "x"}).status_code == 400
    assert astronomer.get("/elasticc/diaobject/1/lightcurve/").status_code == 404


def test_columns_catalogue_and_openapi_descriptions_carry_units(astronomer):
    columns = astronomer.get("/elasticc/columns/").json()["columns"]
    assert columns["psFlux"]["unit"] == "nJy" and columns["midPointTai"]["unit"] == "d"
    assert columns["ra"]["unit"] == "deg" and columns["ra"]["ucd"].startswith("pos.eq.ra")
    schema = astronomer.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    source = schema["components"]["schemas"]["DiaSource"]["properties"]
    assert source["psFlux"]["description"].endswith("Unit: nJy.")
