"""load_snana_fits --campaign elasticc2 (and the original's --ppdb): the real ELAsTiCC2 sample into
the ppdb tables and the object truth.

Expected numbers are computed here, independently of the loader, by reading the FITS files
with astropy.io.fits and the DUMP tables line by line; the research notes' counts of the same
sample (346 objects, 1862 sources, 52172 forced sources) are checked too.
"""

import io
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from django.core.management import CommandError, call_command
from django.db import connection

from devstack.pytest_plugin import SHARED_DIR, require
from elasticc.loading import campaigns
from elasticc.loading.tests.snana_sample import dump_rows, extract
from elasticc.loading.tests.snana_sample import head_phot_pairs as pairs
from elasticc2.models import DiaObjectTruth, PpdbAlert, PpdbDiaForcedSource, PpdbDiaObject, PpdbDiaSource
from elasticc2.tests.alert_oracle import write_pair

SAMPLE = SHARED_DIR / "data" / "elasticc2_snana_sample.tar.bz2"
FLUX_SCALE = 10 ** ((31.4 - 27.5) / 2.5)
PPDB = {
    "objects": "elasticc2_ppdbdiaobject",
    "sources": "elasticc2_ppdbdiasource",
    "forced": "elasticc2_ppdbdiaforcedsource",
    "alerts": "elasticc2_ppdbalert",
    "truth": "elasticc2_diaobjecttruth",
}

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    require(SAMPLE, "the tests read ../shared/ beside the project (the ELAsTiCC2 sample)")
    return extract(SAMPLE, tmp_path_factory.mktemp("elasticc2-sample"))


@pytest.fixture(scope="module")
def expected(sample_dir) -> dict[str, int]:
    """Rows per ppdb table from astropy and the DUMP text; DDF objects by the original's rule."""
    objects = forced = detections = ddf = 0
    for head_path, phot_path in pairs(sample_dir):
        head = fits.getdata(head_path, 1)
        phot = fits.getdata(phot_path, 1)
        objects += len(head)
        real = phot["MJD"] != -777.0
        forced += int(real.sum())
        detections += int(((phot["PHOTFLAG"] & 4096) != 0)[real].sum())
        ddf += int(((head["PTROBS_MAX"] - head["PTROBS_MIN"] + 1) > 1000).sum())
    return {
        "objects": objects,
        "sources": detections,
        "forced": forced,
        "alerts": detections,
        "truth": len(dump_rows(sample_dir)),
        "ddf": ddf,
    }


def counts() -> dict[str, int]:
    with connection.cursor() as cur:
        out = {}
        for key, table in PPDB.items():
            cur.execute(f"SELECT count(*) FROM {table}")
            out[key] = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM elasticc2_ppdbdiaobject WHERE isddf")
        out["ddf"] = cur.fetchone()[0]
        return out


def elasticc_objects() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM elasticc_diaobject")
        return cur.fetchone()[0]


def load(*args) -> str:
    out = io.StringIO()
    call_command("load_snana_fits", *map(str, args), "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_sample_loads_into_the_ppdb_with_exact_counts_and_a_second_load_adds_nothing(expected):
    assert (expected["objects"], expected["sources"], expected["forced"]) == (346, 1862, 52172)
    summary = load(SAMPLE, "--campaign", "elasticc2")
    assert counts() == expected
    assert elasticc_objects() == 0  # the ELAsTiCC tables are another campaign's
    assert summary.startswith("the ELAsTiCC2 ppdb tables: ")
    assert f"{expected['objects']} (0) objects" in summary and "source truth" not in summary

    summary = load(SAMPLE, "--campaign", "elasticc2")
    assert counts() == expected
    assert f"0 ({expected['objects']}) objects" in summary
    assert f"0 ({expected['forced']}) forced sources" in summary
    assert f"0 ({expected['truth']}) object truth rows" in summary


def test_rows_are_the_files_values_under_the_originals_names(sample_dir):
    load(sample_dir, "--campaign", "elasticc2")
    assert not PpdbAlert.objects.filter(alertsenttimestamp__isnull=False).exists()
    assert set(PpdbDiaObject.objects.values_list("simversion", flat=True)) == {"2023-04-01"}  # the original's default
    dump = dump_rows(sample_dir)
    head_path, phot_path = next(pairs(sample_dir))
    head, phot = fits.getdata(head_path, 1), fits.getdata(phot_path, 1)
    for row in head[:5]:
        snid = int(row["SNID"])
        points = phot[row["PTROBS_MIN"] - 1 : row["PTROBS_MAX"]]
        obj = PpdbDiaObject.objects.get(diaobject_id=snid)
        assert (obj.ra, obj.decl) == (pytest.approx(row["RA"]), pytest.approx(row["DEC"]))
        assert obj.isddf is False
        assert obj.hostgal_mag_y == (None if row["HOSTGAL_MAG_Y"] >= 99 else pytest.approx(row["HOSTGAL_MAG_Y"]))
        forced = list(
            PpdbDiaForcedSource.objects.filter(diaobject_id=snid)
            .order_by("diaforcedsource_id")
            .values_list("diaforcedsource_id", "midpointtai", "filtername", "psflux", "psfluxerr")
        )
        assert [f[0] for f in forced] == [snid * 100000 + k for k in range(len(points))]
        for (_, mjd, band, flux, err), point in zip(forced, points, strict=True):
            assert (mjd, band) == (pytest.approx(point["MJD"]), point["BAND"].strip())
            assert flux == pytest.approx(point["FLUXCAL"] * FLUX_SCALE, rel=1e-6)
            assert err == pytest.approx(point["FLUXCALERR"] * FLUX_SCALE, rel=1e-6)
        detected = [k for k in range(len(points)) if points["PHOTFLAG"][k] & 4096]
        sources = list(
            PpdbDiaSource.objects.filter(diaobject_id=snid)
            .order_by("diasource_id")
            .values_list("diasource_id", "midpointtai", "snr")
        )
        assert [s[0] for s in sources] == [snid * 100000 + k for k in detected]
        for (_, mjd, snr), k in zip(sources, detected, strict=True):
            assert mjd == pytest.approx(points["MJD"][k])
            assert snr == pytest.approx(points["FLUXCAL"][k] / points["FLUXCALERR"][k], rel=1e-5)
        alerts = list(
            PpdbAlert.objects.filter(diaobject_id=snid)
            .order_by("alert_id")
            .values_list("alert_id", "diasource_id", "midpointtai")
        )
        assert alerts == [(s[0], s[0], s[1]) for s in sources]
        truth = DiaObjectTruth.objects.get(diaobject_id=snid)
        written = dump[snid]
        assert (truth.gentype, truth.sim_template_index, truth.libid, truth.nobs) == (
            int(written["GENTYPE"]),
            int(written["NON1A_INDEX"]),
            int(written["LIBID"]),
            int(written["NOBS"]),
        )
        assert truth.peakmag_y == pytest.approx(float(written["PEAKMAG_Y"]), rel=1e-6)
        assert truth.dec == pytest.approx(float(written["DEC"]))


def test_the_originals_ppdb_flag_loads_the_elasticc2_ppdb(sample_dir, expected):
    """`load_snana_fits -d DIR --ppdb --do` as the original's tests ran it."""
    load("-d", sample_dir, "--ppdb", "--do", "-s", "test-sim", "-n", "5", "-z", "27.5", "-a", "31.4")
    assert counts() == expected
    assert elasticc_objects() == 0
    assert set(PpdbDiaObject.objects.values_list("simversion", flat=True)) == {"test-sim"}
    with pytest.raises(CommandError, match="--ppdb loads the ELAsTiCC2 ppdb tables; it contradicts --campaign"):
        load(sample_dir, "--ppdb", "--campaign", "elasticc")
    with pytest.raises(CommandError, match="invalid choice: 'elasticc3'"):
        load(sample_dir, "--campaign", "elasticc3")


# ---- a hand-made SNANA pair: the DDF boundary, and a DUMP that lacks a required column ----------


def test_isddf_is_more_than_1000_photometry_rows(tmp_path):
    write_pair(tmp_path / "HAND", {7001: 1001, 7002: 1000, 7003: 3})
    load(tmp_path, "--campaign", "elasticc2")
    assert dict(PpdbDiaObject.objects.values_list("diaobject_id", "isddf")) == {7001: True, 7002: False, 7003: False}
    assert PpdbDiaForcedSource.objects.filter(diaobject_id=7001).count() == 1001
    assert PpdbAlert.objects.filter(diaobject_id=7001).count() == 101


def test_a_dump_without_a_required_column_is_one_line_naming_it_and_nothing_is_stored(tmp_path):
    write_pair(tmp_path / "HAND", {7001: 20, 7002: 30}, drop_dump_column="RV")
    with pytest.raises(CommandError) as failure:
        load(tmp_path, "--campaign", "elasticc2")
    message = str(failure.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "HAND" / "HAND.DUMP"))
    assert "no value for elasticc2_diaobjecttruth.rv" in message and "nothing of the pair was loaded" in message
    assert counts() == dict.fromkeys(["objects", "sources", "forced", "alerts", "truth", "ddf"], 0)
    # ELAsTiCC's tables take the same files: their truth columns may be empty.
    load(tmp_path)
    assert elasticc_objects() == 2


def test_every_column_written_exists_with_its_type_and_every_required_one_is_written():
    """What the target makes of the loader's rows matches the tables column for column (binary
    COPY takes no casts), and every NOT NULL column without a default is written, so a model
    change fails here rather than at a user's first load."""
    from elasticc.loading import inputs, loader

    pair = next(iter(inputs.iter_inputs([SAMPLE])))
    lc = pair.read()
    rows = loader.pair_rows(lc, pair.dump, np.ones(lc.n_objects, bool), "sim")
    target = campaigns.target("elasticc2")
    pg_kind = {"bigint": "int8", "integer": "int4", "double precision": "float8", "real": "float4"}
    pg_kind |= {"boolean": "bool", "text": "text", "timestamp with time zone": "timestamptz"}
    with connection.cursor() as cur:
        for logical, table in target.tables.items():
            cur.execute(
                "SELECT column_name, data_type, is_nullable = 'NO' AND column_default IS NULL "
                "FROM information_schema.columns WHERE table_name = %s",
                [table],
            )
            columns = {name: (pg_kind[kind], required) for name, kind, required in cur.fetchall()}
            written = {c.name: c.kind for c in target.columns(rows.columns[logical])}
            assert {name: columns[name][0] for name in written} == written, table
            assert {name for name, (_, required) in columns.items() if required} <= set(written), table
