"""ELAsTiCC2's lists and cone search (elasticc2/api/) on the engines of ELAsTiCC's data routes
(elasticc/api/renderers.py, cone.py; their own tests: elasticc/api/tests/test_data_routes.py):
files astropy reads back equal to the JSON rows, snake_case columns with the same units. Here,
at the project level, since elasticc's tests may not import the apps built on it."""

from __future__ import annotations

import pytest
from followup.tests import handbuilt

from elasticc.api.tests.test_data_routes import as_typed, astronomer, cell, file_table  # noqa: F401


@pytest.mark.parametrize("fmt", ["votable", "parquet"])
def test_elasticc2_files_and_cone_share_the_engines(astronomer, fmt):  # noqa: F811
    handbuilt.build()
    rows = astronomer.get("/elasticc2/ppdbdiaforcedsource/", {"limit": 5}).json()["results"]
    read = file_table(astronomer.get("/elasticc2/ppdbdiaforcedsource/", {"limit": 5, "format": fmt}), fmt)
    for name in read.colnames:
        assert [cell(v) for v in read[name]] == as_typed([r[name] for r in rows], read[name]), name
    assert str(read["psflux"].unit) == "nJy" and str(read["midpointtai"].unit) == "d"
    near = astronomer.get("/elasticc2/ppdbcone/", {"ra": "10.5", "dec": "-20.25", "radius": "5"}).json()
    assert [r["diaobject_id"] for r in near["results"]] == [1001] and near["results"][0]["dist_arcsec"] == 0.0
