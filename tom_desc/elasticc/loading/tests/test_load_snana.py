"""load_snana_fits on the real ELAsTiCC2 sample.

Expected numbers are computed here, independently of elasticc.loading.snana, by reading the
FITS files with astropy.io.fits and the DUMP tables line by line.
"""

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from django.core.management import CommandError, call_command
from django.db import connection

from devstack.pytest_plugin import REPO_DIR, require
from elasticc.loading.tests.snana_sample import dump_rows as _dump_rows
from elasticc.loading.tests.snana_sample import extract
from elasticc.loading.tests.snana_sample import head_phot_pairs as _head_phot_pairs

SAMPLE = REPO_DIR.parent / "shared" / "data" / "elasticc2_snana_sample.tar.bz2"
FLUX_SCALE = 10 ** ((31.4 - 27.5) / 2.5)
TABLES = ["diaobject", "diasource", "diaforcedsource", "diaalert", "diatruth", "diaobjecttruth"]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, scope="module")
def _sample_present():
    require(SAMPLE, "the tests read ../shared/ beside the project (the ELAsTiCC sample and schemas)")


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    """The sample tarball extracted (by the test, not by the loader)."""
    return extract(SAMPLE, tmp_path_factory.mktemp("snana-sample"))


@pytest.fixture(scope="module")
def expected(sample_dir) -> dict[str, int]:
    """Row counts per table, from astropy and the DUMP text."""
    objects = forced = detections = 0
    for head_path, phot_path in _head_phot_pairs(sample_dir):
        head = fits.getdata(head_path, 1)
        phot = fits.getdata(phot_path, 1)
        objects += len(head)
        real = phot["MJD"] != -777.0  # SNANA's end-of-object marker rows
        forced += int(real.sum())
        detections += int(((phot["PHOTFLAG"] & 4096) != 0)[real].sum())
    dump = _dump_rows(sample_dir)
    return {
        "diaobject": objects,
        "diaforcedsource": forced,
        "diasource": detections,
        "diaalert": detections,
        "diatruth": detections,
        "diaobjecttruth": len(dump),
    }


def table_counts() -> dict[str, int]:
    with connection.cursor() as cur:
        counts = {}
        for table in TABLES:
            cur.execute(f"SELECT count(*) FROM elasticc_{table}")
            counts[table] = cur.fetchone()[0]
        return counts


def load(*paths, **kwargs) -> str:
    out = io.StringIO()
    call_command(
        "load_snana_fits", *[str(p) for p in paths], "--no-progress", stdout=out, stderr=io.StringIO(), **kwargs
    )
    return out.getvalue()


def test_sample_tarball_loads_exact_counts_and_second_load_adds_nothing(expected):
    assert expected["diaobject"] > 300 and expected["diasource"] > 1000  # the sample is what we think it is
    summary = load(SAMPLE)
    assert table_counts() == expected
    assert f"{expected['diaobject']} (0) objects" in summary
    assert f"{expected['diaforcedsource']} (0) forced sources" in summary

    summary = load(SAMPLE)
    assert table_counts() == expected
    assert f"0 ({expected['diaobject']}) objects" in summary
    assert f"0 ({expected['diaforcedsource']}) forced sources" in summary


def test_directory_loads_same_as_tarball_and_alerts_are_unsent(sample_dir, expected):
    load(sample_dir)
    assert table_counts() == expected
    with connection.cursor() as cur:
        cur.execute('SELECT count(*) FROM elasticc_diaalert WHERE "alertSentTimestamp" IS NOT NULL')
        assert cur.fetchone()[0] == 0
        # Every alert matches its source: same id, object and time.
        cur.execute('''SELECT count(*) FROM elasticc_diaalert a JOIN elasticc_diasource s
                       ON s."diaObjectId" = a."diaObjectId" AND s."diaSourceId" = a."diaSourceId"
                       WHERE a."alertId" = s."diaSourceId" AND a."alertMidPointTai" = s."midPointTai"''')
        assert cur.fetchone()[0] == expected["diaalert"]
        # Each source is also a forced source with the same id, time, band and flux.
        cur.execute('''SELECT count(*) FROM elasticc_diasource s JOIN elasticc_diaforcedsource f
                       ON f."diaObjectId" = s."diaObjectId" AND f."diaForcedSourceId" = s."diaSourceId"
                       WHERE f."midPointTai" = s."midPointTai" AND f."filterName" = s."filterName"
                       AND f."psFlux" = s."psFlux"''')
        assert cur.fetchone()[0] == expected["diasource"]


def _first_object_with_detection(sample_dir):
    for head_path, phot_path in _head_phot_pairs(sample_dir):
        head = fits.getdata(head_path, 1)
        phot = fits.getdata(phot_path, 1)
        for row in head:
            points = phot[row["PTROBS_MIN"] - 1 : row["PTROBS_MAX"]]
            if ((points["PHOTFLAG"] & 4096) != 0).any() and row["HOSTGAL_SNSEP"] > 0:
                return row, points
    raise AssertionError("no object with a detection in the sample")


def test_ids_flux_scaling_and_object_columns(sample_dir):
    load(SAMPLE)
    head, points = _first_object_with_detection(sample_dir)
    snid = int(head["SNID"])
    with connection.cursor() as cur:
        cur.execute(
            '''SELECT "diaForcedSourceId", "midPointTai", "filterName", "psFlux", "psFluxErr"
                       FROM elasticc_diaforcedsource WHERE "diaObjectId" = %s ORDER BY "diaForcedSourceId"''',
            [snid],
        )
        forced = cur.fetchall()
        assert [r[0] for r in forced] == [snid * 100000 + k for k in range(len(points))]
        for (_, mjd, band, flux, err), point in zip(forced, points):
            assert mjd == pytest.approx(point["MJD"], abs=1e-9)
            assert band == point["BAND"].strip()
            assert flux == pytest.approx(point["FLUXCAL"] * FLUX_SCALE, rel=1e-6)
            assert err == pytest.approx(point["FLUXCALERR"] * FLUX_SCALE, rel=1e-6)

        detected = np.flatnonzero((points["PHOTFLAG"] & 4096) != 0)
        cur.execute(
            '''SELECT "diaSourceId", ra, decl, "psFlux", snr FROM elasticc_diasource
                       WHERE "diaObjectId" = %s ORDER BY "diaSourceId"''',
            [snid],
        )
        sources = cur.fetchall()
        assert [r[0] for r in sources] == [snid * 100000 + int(k) for k in detected]
        for (_, ra, decl, _flux, snr), k in zip(sources, detected):
            assert (ra, decl) == (pytest.approx(head["RA"]), pytest.approx(head["DEC"]))
            assert snr == pytest.approx(points["FLUXCAL"][k] / points["FLUXCALERR"][k], rel=1e-5)

        cur.execute(
            '''SELECT "diaSourceId", mjd, detect, gentype, genmag FROM elasticc_diatruth
                       WHERE "diaObjectId" = %s ORDER BY "diaSourceId"''',
            [snid],
        )
        truth = cur.fetchall()
        assert [r[0] for r in truth] == [s[0] for s in sources]
        for (_, mjd, detect, gentype, genmag), k in zip(truth, detected):
            assert detect is True and gentype == head["SIM_TYPE_INDEX"]
            assert mjd == pytest.approx(points["MJD"][k])
            assert genmag == pytest.approx(points["SIM_MAGOBS"][k], rel=1e-6)

        cur.execute(
            """SELECT ra, decl, mwebv, z_final, hostgal_zphot_q050, hostgal_mag_r, hostgal_snsep,
                              hostgal_zspec, hostgal2_ra, hostgal2_mag_r, hostgal2_ellipticity
                       FROM elasticc_diaobject WHERE "diaObjectId" = %s""",
            [snid],
        )
        (ra, decl, mwebv, z_final, q050, mag_r, snsep, zspec, host2_ra, host2_mag_r, host2_ell) = cur.fetchone()
        assert (ra, decl) == (pytest.approx(head["RA"]), pytest.approx(head["DEC"]))
        assert mwebv == pytest.approx(head["MWEBV"], rel=1e-6)
        assert z_final == pytest.approx(head["REDSHIFT_FINAL"], rel=1e-6)
        assert q050 == pytest.approx(head["HOSTGAL_ZPHOT_Q050"], rel=1e-6)
        assert mag_r == pytest.approx(head["HOSTGAL_MAG_r"], rel=1e-6)
        assert snsep == pytest.approx(head["HOSTGAL_SNSEP"], rel=1e-6)
        # SNANA sentinels become NULL: -9 (no spec-z), -999 (no RA), 999 (no mag), -9999.
        assert head["HOSTGAL_SPECZ"] == -9 and zspec is None
        assert head["HOSTGAL2_RA"] == -999 and host2_ra is None
        assert head["HOSTGAL2_MAG_r"] == 999 and host2_mag_r is None
        assert head["HOSTGAL2_ELLIPTICITY"] == -9999 and host2_ell is None

    dump = _dump_rows(sample_dir)[snid]
    with connection.cursor() as cur:
        cur.execute(
            """SELECT gentype, non1a_index, libid, galid, peakmjd, zcmb, "peakmag_Y", nobs,
                      sim_template_index, galnmatch
                       FROM elasticc_diaobjecttruth WHERE "diaObjectId" = %s""",
            [snid],
        )
        gentype, non1a, libid, galid, peakmjd, zcmb, peakmag_y, nobs, template, galnmatch = cur.fetchone()
    assert (gentype, non1a, libid, galid, nobs) == (
        int(dump["GENTYPE"]),
        int(dump["NON1A_INDEX"]),
        int(dump["LIBID"]),
        int(dump["GALID"]),
        int(dump["NOBS"]),
    )
    assert peakmjd == pytest.approx(float(dump["PEAKMJD"]))
    assert zcmb == pytest.approx(float(dump["ZCMB"]), rel=1e-6)
    assert peakmag_y == pytest.approx(float(dump["PEAKMAG_Y"]), rel=1e-6)
    # The original's names: sim_template_index is the DUMP's NON1A_INDEX; this DUMP has no
    # GALNMATCH, so galnmatch comes from the HEAD's HOSTGAL_NMATCH.
    assert template == int(dump["NON1A_INDEX"])
    assert "GALNMATCH" not in dump
    head = _head_row(sample_dir, snid)
    assert galnmatch == int(head["HOSTGAL_NMATCH"])


def _head_row(root: Path, snid: int):
    for head_path, _ in _head_phot_pairs(root):
        table = fits.getdata(head_path, 1)
        match = np.flatnonzero(np.char.strip(table["SNID"].astype("U")) == str(snid))
        if len(match):
            return table[int(match[0])]
    raise AssertionError(f"SNID {snid} in no HEAD file")


def test_columns_snana_lacks_stay_null(sample_dir):
    """The original's columns that SNANA's files do not carry are NULL, not made up."""
    load(sample_dir)
    with connection.cursor() as cur:
        cur.execute(
            'SELECT count(*), count("ccdVisitId"), count("parentDiaSourceId"), count(nobs) FROM elasticc_diasource'
        )
        total, *filled = cur.fetchone()
        assert total > 0 and filled == [0, 0, 0]
        cur.execute(
            'SELECT count(*), count("ccdVisitId"), count("totFlux"), count("totFluxErr") FROM elasticc_diaforcedsource'
        )
        total, *filled = cur.fetchone()
        assert total > 0 and filled == [0, 0, 0]
        cur.execute("SELECT count(hostgal_zphot_p50), count(hostgal2_zphot_p50) FROM elasticc_diaobject")
        assert cur.fetchone() == (0, 0)  # no HOSTGAL_ZPHOT_P50 in these HEADs


def _objects_of(head_path: Path) -> list[int]:
    return [int(s) for s in fits.getdata(head_path, 1)["SNID"]]


def _stored_objects(ids: list[int]) -> int:
    with connection.cursor() as cur:
        cur.execute('SELECT count(*) FROM elasticc_diaobject WHERE "diaObjectId" = ANY(%s)', [ids])
        n = cur.fetchone()[0]
        for table in TABLES[1:]:
            cur.execute(f'SELECT count(*) FROM elasticc_{table} WHERE "diaObjectId" = ANY(%s)', [ids])
            n += cur.fetchone()[0]
        return n


def _busiest_pair(root: Path) -> tuple[Path, Path]:
    return max(_head_phot_pairs(root), key=lambda pair: len(fits.getdata(pair[0], 1)))


def test_truncated_fits_fails_cleanly_naming_the_file(sample_dir, expected, tmp_path):
    copy = tmp_path / "sample"
    shutil.copytree(sample_dir, copy)
    head_path, phot_path = _busiest_pair(copy)
    data = phot_path.read_bytes()
    phot_path.write_bytes(data[: len(data) // 2])
    broken_ids = _objects_of(head_path)

    with pytest.raises(CommandError) as excinfo:
        load(copy)
    message = str(excinfo.value)
    assert "\n" not in message and str(phot_path) in message and "truncated" in message

    assert _stored_objects(broken_ids) == 0  # nothing of the broken pair
    counts = table_counts()
    assert counts["diaobject"] == expected["diaobject"] - len(broken_ids)  # every other pair loaded

    # Once the file is repaired, a re-run adds exactly the missing pair.
    phot_path.write_bytes(data)
    load(copy)
    assert table_counts() == expected


def test_truncated_uncompressed_fits_is_caught(sample_dir, tmp_path):
    copy = tmp_path / "sample"
    shutil.copytree(sample_dir, copy)
    head_path, phot_path = _busiest_pair(copy)
    import gzip

    raw = gzip.decompress(phot_path.read_bytes())
    phot_path.unlink()
    plain = phot_path.with_name(phot_path.name.removesuffix(".gz"))
    plain.write_bytes(raw[: len(raw) - 2880])  # a whole FITS block short: only the size gives it away
    head_path.with_name(head_path.name.removesuffix(".gz")).write_bytes(gzip.decompress(head_path.read_bytes()))
    head_path.unlink()
    with pytest.raises(CommandError, match=f"{plain}: truncated FITS table"):
        load(copy)
    assert _stored_objects(_objects_of(head_path.with_name(head_path.name.removesuffix(".gz")))) == 0


def test_missing_phot_file_is_named(sample_dir, tmp_path):
    copy = tmp_path / "sample"
    shutil.copytree(sample_dir, copy)
    head_path, phot_path = _busiest_pair(copy)
    phot_path.unlink()
    with pytest.raises(CommandError, match=f"{phot_path}: missing"):
        load(copy)
    assert _stored_objects(_objects_of(head_path)) == 0


def test_missing_dump_is_named_and_its_directory_not_loaded(sample_dir, tmp_path, expected):
    copy = tmp_path / "sample"
    shutil.copytree(sample_dir, copy)
    dump = next(copy.rglob("*KN_K17.DUMP"))
    dump.unlink()
    with pytest.raises(CommandError, match=r"\.DUMP: missing"):
        load(copy)
    kn_ids = [i for head, _ in _head_phot_pairs(dump.parent) for i in _objects_of(head)]
    assert kn_ids and _stored_objects(kn_ids) == 0
    assert table_counts()["diaobject"] == expected["diaobject"] - len(kn_ids)


def test_dump_cut_at_a_line_break_is_named_and_nothing_of_its_pairs_loaded(sample_dir, tmp_path, expected):
    """A DUMP that lost its last rows parses cleanly; the objects it lacks must not load without truth."""
    copy = tmp_path / "sample"
    shutil.copytree(sample_dir, copy)
    dump = next(copy.rglob("*KN_K17.DUMP"))
    lines = dump.read_text().splitlines(keepends=True)
    rows = [i for i, line in enumerate(lines) if line.startswith("SN:")]
    dump.write_text("".join(lines[: rows[len(rows) // 2]]))
    with pytest.raises(CommandError, match=r"\.DUMP: no row for \d+ of the \d+ objects of .*truncated") as excinfo:
        load(copy)
    assert "\n" not in str(excinfo.value)
    kn_ids = [i for head, _ in _head_phot_pairs(dump.parent) for i in _objects_of(head)]
    with connection.cursor() as cur:
        cur.execute(
            'SELECT o."diaObjectId", t."diaObjectId" IS NOT NULL FROM elasticc_diaobject o '
            'LEFT JOIN elasticc_diaobjecttruth t ON t."diaObjectId" = o."diaObjectId" '
            'WHERE o."diaObjectId" = ANY(%s)',
            [kn_ids],
        )
        stored = dict(cur.fetchall())
    assert stored and all(stored.values()), "every stored object has its truth"
    assert len(stored) < len(kn_ids)

    # With the whole DUMP back, a re-run completes the directory.
    dump.write_text("".join(lines))
    load(copy)
    assert table_counts() == expected


def test_missing_argument_is_named(tmp_path):
    with pytest.raises(CommandError, match=f"{tmp_path / 'nope.tar.bz2'}: no such file"):
        load(tmp_path / "nope.tar.bz2")


def test_the_original_commands_flags_load_the_same(sample_dir, expected):
    """`load_snana_fits -d DIR --do` with the original's fixed settings. (Its --ppdb chooses the
    ELAsTiCC2 ppdb tables, as in the original: elasticc2/tests/test_loading.py.)"""
    out = io.StringIO()
    call_command(
        "load_snana_fits",
        "-d",
        str(sample_dir),
        "--do",
        "-s",
        "2023-04-01",
        "-n",
        "5",
        "-z",
        "27.5",
        "-a",
        "31.4",
        "-m",
        "100000",
        "-p",
        "4096",
        "--no-progress",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert table_counts() == expected
    with connection.cursor() as cur:
        cur.execute('SELECT DISTINCT "simVersion" FROM elasticc_diaobject')
        assert cur.fetchall() == [("2023-04-01",)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--train"], "--train .* not supported here: there are no training tables"),
        (["-z", "27"], "-z 27: this loader's SNANA zero point is fixed at 27.5"),
        (["-m", "1000"], "-m 1000: this loader's id stride is fixed at 100000"),
        (["-f", "x_HEAD.FITS.gz"], "-f .* not supported here: give the directories"),
        ([], "give at least one directory or tarball"),
    ],
)
def test_the_original_commands_other_flags_are_clear_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("load_snana_fits", *args, "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    assert table_counts()["diaobject"] == 0


def test_truncated_tarball_keeps_only_whole_pairs(tmp_path, expected, sample_dir):
    broken = tmp_path / "sample.tar.bz2"
    broken.write_bytes(SAMPLE.read_bytes()[: SAMPLE.stat().st_size * 2 // 3])
    with pytest.raises(CommandError, match=f"{broken}: corrupt or truncated archive"):
        load(broken)
    # Whatever was loaded before the archive broke is complete, object by object.
    nobs = {}
    for head_path, _ in _head_phot_pairs(sample_dir):
        head = fits.getdata(head_path, 1)
        nobs.update({int(s): int(n) for s, n in zip(head["SNID"], head["PTROBS_MAX"] - head["PTROBS_MIN"] + 1)})
    with connection.cursor() as cur:
        cur.execute('''SELECT o."diaObjectId", count(f."diaForcedSourceId") FROM elasticc_diaobject o
                       LEFT JOIN elasticc_diaforcedsource f ON f."diaObjectId" = o."diaObjectId"
                       GROUP BY o."diaObjectId"''')
        stored = dict(cur.fetchall())
    assert 0 < len(stored) < expected["diaobject"]
    assert all(stored[snid] == nobs[snid] for snid in stored)


def test_rows_present_without_their_object_are_skipped_not_duplicated(sample_dir, expected):
    """Rows written by something other than the loader make the pair take the staged path."""
    head, _points = _first_object_with_detection(sample_dir)
    snid = int(head["SNID"])
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO elasticc_diaforcedsource ("diaForcedSourceId", "diaObjectId", "midPointTai",
                       "filterName", "psFlux", "psFluxErr") VALUES (%s, %s, 0, 'r', 0, 1)""",
            [snid * 100000, snid],
        )
    summary = load(SAMPLE)
    assert f"{expected['diaforcedsource'] - 1} (1) forced sources" in summary
    assert table_counts() == expected
