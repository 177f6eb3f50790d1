"""generate_demo_sky: deterministic SNANA-format output that load_snana_fits reads, with plausible light curves.

The generated files are read back here with astropy.io.fits (not elasticc.loading.snana).
"""

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from django.core.management import call_command
from django.db import connection

from elasticc.loading import demo_sky, simulation

N_OBJECTS = 140
SEED = 7


def generate(out: Path, seed: int = SEED, n: int = N_OBJECTS, per_file: int = 15) -> str:
    stdout = io.StringIO()
    call_command(
        "generate_demo_sky",
        "--objects",
        str(n),
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--per-file",
        str(per_file),
        "--no-progress",
        stdout=stdout,
    )
    return stdout.getvalue()


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sky(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo-sky")
    generate(out)
    return out


def light_curves(root: Path) -> dict[int, dict]:
    """gentype -> list of (head row, points) for every object, read with astropy."""
    result: dict[int, list] = {}
    for head_path in sorted(root.rglob("*_HEAD.FITS.gz")):
        head = fits.getdata(head_path, 1)
        phot = fits.getdata(head_path.with_name(head_path.name.replace("_HEAD.", "_PHOT.")), 1)
        for row in head:
            points = phot[row["PTROBS_MIN"] - 1 : row["PTROBS_MAX"]]
            result.setdefault(int(row["SIM_TYPE_INDEX"]), []).append((row, points))
    return result


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(sky, tmp_path):
    again = tmp_path / "again"
    generate(again)
    assert digests(again) == digests(sky)
    other = tmp_path / "other"
    generate(other, seed=SEED + 1)
    assert digests(other).keys() == digests(sky).keys()
    assert all(digests(other)[k] != v for k, v in digests(sky).items())
    # gzip members carry no timestamp or file name (bytes 4-8 = MTIME, flag byte 3 = FNAME).
    gz = next(sky.rglob("*_PHOT.FITS.gz")).read_bytes()
    assert gz[4:8] == b"\0\0\0\0" and not gz[3] & 0x08


def test_layout_counts_and_snana_conventions(sky):
    curves = light_curves(sky)
    assert {g: len(v) for g, v in curves.items()} == {
        m.gentype: c for m, c in zip(demo_sky.MODELS, demo_sky.model_counts(N_OBJECTS))
    }
    for model in demo_sky.MODELS:
        directory = sky / f"DEMO_{model.name}"
        dump_rows = [
            line for line in (directory / f"DEMO_{model.name}.DUMP").read_text().splitlines() if line.startswith("SN:")
        ]
        assert len(dump_rows) == len(curves[model.gentype])
        assert {int(r.split()[4]) for r in dump_rows} == {model.gentype}  # GENTYPE column
    for head_path in sky.rglob("*_HEAD.FITS.gz"):
        head = fits.getdata(head_path, 1)
        phot = fits.getdata(head_path.with_name(head_path.name.replace("_HEAD.", "_PHOT.")), 1)
        # Every object is followed by an end-of-object marker row, as SNANA writes them.
        assert (phot["MJD"][head["PTROBS_MAX"]] == -777).all()
        assert (phot["MJD"] == -777).sum() == len(head)
        assert set(np.char.strip(phot["BAND"][phot["MJD"] != -777])) <= set(demo_sky.BANDS)


def test_detections_are_the_high_snr_points(sky):
    for objects in light_curves(sky).values():
        for _, points in objects:
            snr = np.abs(points["FLUXCAL"] / points["FLUXCALERR"])
            detected = (points["PHOTFLAG"] & 4096) != 0
            assert np.array_equal(detected, snr >= 5)
            assert ((points["PHOTFLAG"] & 2048) != 0).sum() == (1 if detected.any() else 0)


def _seasons(mjd: np.ndarray) -> set[int]:
    return set(((mjd - simulation.SURVEY_START) // 365.25).astype(int).tolist())


def test_light_curves_are_plausible(sky):
    curves = light_curves(sky)
    cadence = [np.diff(points["MJD"]) for objects in curves.values() for _, points in objects]
    assert all((gaps >= 0).all() for gaps in cadence)
    assert 150 < np.mean([len(g) + 1 for g in cadence]) < 400  # ~3 seasons, every few nights
    all_mjd = np.concatenate([p["MJD"] for objects in curves.values() for _, p in objects])
    assert _seasons(all_mjd) == {0, 1, 2}

    # Periodic variables (RR Lyrae 80, eclipsing binaries 83) are detected in more than one season.
    for gentype in (80, 83):
        multi = [len(_seasons(p["MJD"][(p["PHOTFLAG"] & 4096) != 0])) > 1 for _, p in curves[gentype]]
        assert np.mean(multi) > 0.8, gentype

    # Supernovae (Ia 10, II 32) peak once: detections span one event, not several seasons.
    for gentype, longest in ((10, 250), (32, 400)):
        spans = [
            np.ptp(p["MJD"][(p["PHOTFLAG"] & 4096) != 0])
            for _, p in curves[gentype]
            if ((p["PHOTFLAG"] & 4096) != 0).sum() >= 2
        ]
        assert spans and max(spans) < longest, gentype
        brightest_first = 0
        for _, p in curves[gentype]:
            flux = p["FLUXCAL"]
            if (np.abs(flux / p["FLUXCALERR"]) >= 5).sum() >= 4:
                peak = p["MJD"][np.argmax(flux)]
                far = np.abs(p["MJD"] - peak) > 150
                brightest_first += int(np.all(flux[far] < 0.5 * flux.max()))
        assert brightest_first > 0

    # Kilonovae fade within days: no detection more than 30 days after the first.
    for _, p in curves[51]:
        det = p["MJD"][(p["PHOTFLAG"] & 4096) != 0]
        if len(det):
            assert np.ptp(det) < 30

    # M-dwarf flares are brief positive excursions, brightest in u and g.
    flare_snr = {"blue": [], "red": []}
    for _, p in curves[82]:
        det = (p["PHOTFLAG"] & 4096) != 0
        band = np.char.strip(p["BAND"])
        snr = p["FLUXCAL"] / p["FLUXCALERR"]
        flare_snr["blue"] += list(snr[det & np.isin(band, ["u", "g"])])
        flare_snr["red"] += list(snr[det & np.isin(band, ["z", "Y"])])
    assert flare_snr["blue"] and np.median(flare_snr["blue"]) > 0
    assert len(flare_snr["blue"]) > len(flare_snr["red"])

    # AGN vary in both directions around the reference.
    agn_flux = np.concatenate([p["FLUXCAL"][(p["PHOTFLAG"] & 4096) != 0] for _, p in curves[60]])
    assert (agn_flux > 0).any() and (agn_flux < 0).any()


@pytest.mark.django_db
def test_demo_sky_loads(sky):
    curves = light_curves(sky)
    n_points = sum(len(p) for objects in curves.values() for _, p in objects)
    n_detected = sum(int(((p["PHOTFLAG"] & 4096) != 0).sum()) for objects in curves.values() for _, p in objects)
    out = io.StringIO()
    call_command("load_snana_fits", str(sky), "--no-progress", stdout=out)
    with connection.cursor() as cur:
        counts = {}
        for table in ("diaobject", "diaforcedsource", "diasource", "diaalert", "diatruth", "diaobjecttruth"):
            cur.execute(f"SELECT count(*) FROM elasticc_{table}")
            counts[table] = cur.fetchone()[0]
        cur.execute("SELECT gentype, count(*) FROM elasticc_diaobjecttruth GROUP BY gentype")
        per_gentype = dict(cur.fetchall())
        # Galactic objects carry SNANA's no-host sentinels; they load as NULL.
        cur.execute("""SELECT count(*) FROM elasticc_diaobject o JOIN elasticc_diaobjecttruth t USING ("diaObjectId")
                       WHERE t.gentype = 80 AND o.hostgal_ra IS NULL AND o.hostgal_mag_r IS NULL""")
        galactic_without_host = cur.fetchone()[0]
    assert counts == {
        "diaobject": N_OBJECTS,
        "diaforcedsource": n_points,
        "diasource": n_detected,
        "diaalert": n_detected,
        "diatruth": n_detected,
        "diaobjecttruth": N_OBJECTS,
    }
    assert per_gentype == {g: len(v) for g, v in curves.items()}
    assert galactic_without_host == len(curves[80])
