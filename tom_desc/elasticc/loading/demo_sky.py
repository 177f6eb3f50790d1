"""A deterministic simulated sky written in SNANA format, for demos, tests and benchmarks.

``generate(out, n_objects, seed)`` writes one SNANA-style model directory per object
class -- ``DEMO_<MODEL>/DEMO_<MODEL>-NNNN_HEAD.FITS.gz``, ``..._PHOT.FITS.gz`` and
``DEMO_<MODEL>.DUMP`` -- that ``load_snana_fits`` reads like real ELAsTiCC output.
The light curves come from simulation.py; this module lays them out as SNANA does:
HEAD rows with PTROBS pointers, PHOT rows with an end-of-object marker (MJD -777) after
each object, and a DUMP truth table. Extragalactic objects get a host galaxy (drawn
here, because only the HEAD and DUMP carry it); galactic ones carry SNANA's "no host"
sentinels (-9, -999, 999, -9999).

Same arguments, same bytes: the only randomness is the model's numpy Generator seeded
from (seed, model) (simulation.py draws from it first, then the HEAD, DUMP and PHOT
columns here, in that order), gzip headers carry mtime 0 and no file name, and the
FITS headers hold no dates.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

from elasticc.loading.simulation import BANDS, MODELS, Model, ModelSky, model_counts, simulate_model

# ---------------------------------------------------------------- SNANA columns


def snana_columns(sky: ModelSky) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(HEAD columns per object, DUMP columns per object, PHOT columns per point) of one model.

    The order of the three calls is part of the output: each draws from ``sky.rng``.
    """
    head = _head_columns(sky)
    dump = _dump_columns(sky, head)
    return head, dump, _phot_columns(sky)


def _head_columns(sky: ModelSky) -> dict[str, np.ndarray]:
    """HEAD columns per object: position, extinction, redshifts, two host galaxies (or the no-host sentinels)."""
    rng, model, n, snid, ra, dec, mwebv = sky.rng, sky.model, sky.n, sky.snid, sky.ra, sky.dec, sky.mwebv
    params, obj, mjd, detected = sky.params, sky.obj, sky.mjd, sky.detected
    head: dict[str, np.ndarray] = {
        "SNID": snid,
        "RA": ra,
        "DEC": dec,
        "SNTYPE": np.full(n, 0, np.int32),
        "MWEBV": mwebv.astype(np.float32),
        "MWEBV_ERR": (0.05 * mwebv).astype(np.float32),
    }
    z = params.get("z")
    if model.extragalactic:
        zerr = (0.02 + 0.05 * z) * rng.uniform(0.5, 1.5, n)
        zphot = np.clip(z + rng.normal(0, 1, n) * zerr, 0.001, None)
        has_specz = rng.random(n) < 0.1
        head["REDSHIFT_HELIO"] = z.astype(np.float32)
        head["REDSHIFT_FINAL"] = np.where(has_specz, z, zphot).astype(np.float32)
        head["REDSHIFT_FINAL_ERR"] = np.where(has_specz, 0.0001, zerr).astype(np.float32)
        for prefix, present in (("HOSTGAL", np.ones(n, bool)), ("HOSTGAL2", rng.random(n) < 0.3)):
            primary = prefix == "HOSTGAL"
            hz = zphot if primary else np.clip(zphot + rng.normal(0, 0.3, n), 0.001, None)
            sep = rng.exponential(1.0, n)
            angle = rng.uniform(0, 2 * np.pi, n)
            values = {
                "PHOTOZ": hz,
                "PHOTOZ_ERR": zerr,
                "SPECZ": np.where(has_specz & primary, z, -9.0),
                "SPECZ_ERR": np.where(has_specz & primary, 0.0001, -9.0),
                "RA": ra + sep / 3600 * np.cos(angle) / np.cos(np.radians(dec)),
                "DEC": dec + sep / 3600 * np.sin(angle),
                "SNSEP": sep,
                "ELLIPTICITY": rng.uniform(0, 0.7, n),
                "SQRADIUS": rng.uniform(0.5, 25, n),
            }
            quantiles = np.sort(hz[:, None] + zerr[:, None] * rng.normal(0, 1.2, (n, 11)), axis=1)
            for q in range(11):
                values[f"ZPHOT_Q{q * 10:03d}"] = np.clip(quantiles[:, q], 0.0, None)
            gal_mag = rng.uniform(20.0, 25.0, n)
            for b, offset in zip(BANDS, (1.5, 0.8, 0.3, 0.0, -0.2, -0.3)):
                values[f"MAG_{b}"] = gal_mag + offset
                values[f"MAGERR_{b}"] = 0.01 + 0.1 * 10 ** (0.4 * (gal_mag + offset - 24))
            sentinels = _host_sentinels()
            for key, v in values.items():
                head[f"{prefix}_{key}"] = np.where(present, v, sentinels[key])
    else:
        head["REDSHIFT_HELIO"] = np.zeros(n, np.float32)
        head["REDSHIFT_FINAL"] = np.zeros(n, np.float32)
        head["REDSHIFT_FINAL_ERR"] = np.zeros(n, np.float32)
        for prefix in ("HOSTGAL", "HOSTGAL2"):
            for key, sentinel in _host_sentinels().items():
                head[f"{prefix}_{key}"] = np.full(n, sentinel)
    for key in list(head):
        if key.startswith("HOSTGAL") and not key.endswith(("_RA", "_DEC")):
            head[key] = head[key].astype(np.float32)
    det_first, det_last = np.full(n, np.inf), np.full(n, -np.inf)
    d = np.flatnonzero(detected)
    np.minimum.at(det_first, obj[d], mjd[d])
    np.maximum.at(det_last, obj[d], mjd[d])
    det_first[np.isinf(det_first)] = -9.0
    det_last[np.isinf(det_last)] = -9.0
    head["PEAKMJD"] = params["peakmjd"].astype(np.float32)
    head["MJD_DETECT_FIRST"] = det_first.astype(np.float32)
    head["MJD_DETECT_LAST"] = det_last.astype(np.float32)
    head["SIM_MODEL_NAME"] = np.array([model.name] * n)
    head["SIM_TYPE_INDEX"] = np.full(n, model.gentype, np.int16)
    head["SIM_REDSHIFT_CMB"] = (z if z is not None else np.zeros(n)).astype(np.float32)
    head["SIM_PEAKMJD"] = params["peakmjd"].astype(np.float32)
    return head


def _host_sentinels() -> dict[str, float]:
    values = {
        "PHOTOZ": -9.0,
        "PHOTOZ_ERR": -9.0,
        "SPECZ": -9.0,
        "SPECZ_ERR": -9.0,
        "RA": -999.0,
        "DEC": -999.0,
        "SNSEP": -9.0,
        "ELLIPTICITY": -9999.0,
        "SQRADIUS": -9999.0,
    }
    values.update({f"ZPHOT_Q{q * 10:03d}": -9.0 for q in range(11)})
    values.update({f"MAG_{b}": 999.0 for b in BANDS})
    values.update({f"MAGERR_{b}": 999.0 for b in BANDS})
    return values


DUMP_VARNAMES = [
    "CID",
    "LIBID",
    "SIM_SEARCHEFF_MASK",
    "GENTYPE",
    "NON1A_INDEX",
    "ZCMB",
    "ZHELIO",
    "ZCMB_SMEAR",
    "RA",
    "DEC",
    "MWEBV",
    "GALID",
    "GALZPHOT",
    "GALZPHOTERR",
    "GALSNSEP",
    "GALSNDDLR",
    "RV",
    "AV",
    "MU",
    "LENSDMU",
    "PEAKMJD",
    "MJD_DETECT_FIRST",
    "MJD_DETECT_LAST",
    "DTSEASON_PEAK",
    "PEAKMAG_u",
    "PEAKMAG_g",
    "PEAKMAG_r",
    "PEAKMAG_i",
    "PEAKMAG_z",
    "PEAKMAG_Y",
    "SNRMAX",
    "SNRMAX2",
    "SNRMAX3",
    "NOBS",
    "NOBS_SATURATE",
]


def _dump_columns(sky: ModelSky, head: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """DUMP truth per object (DUMP_VARNAMES), consistent with its HEAD columns."""
    rng, model, n, snid, params = sky.rng, sky.model, sky.n, sky.snid, sky.params
    obj, band, snr, magobs = sky.obj, sky.band, sky.snr, sky.magobs
    z = params.get("z", np.zeros(n))
    counts = np.bincount(obj, minlength=n)
    # Top three SNRs per object: sort by (object, -snr) and take ranks 0..2.
    order = np.lexsort((-snr, obj))
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(obj)) - starts[obj[order]]
    snrmax = np.full((n, 3), -9.0)
    top = rank < 3
    snrmax[obj[order][top], rank[top]] = snr[order][top]
    peakmag = np.full((n, len(BANDS)), 99.0)
    np.minimum.at(peakmag, (obj, band), magobs)
    peakmjd = params["peakmjd"]
    has_host = head["HOSTGAL_SNSEP"] > -9
    return {
        "CID": snid,
        "LIBID": rng.integers(1, 50000, n),
        "SIM_SEARCHEFF_MASK": np.full(n, 3),
        "GENTYPE": np.full(n, model.gentype),
        "NON1A_INDEX": np.full(n, MODELS.index(model) + 1),
        "ZCMB": z,
        "ZHELIO": z,
        "ZCMB_SMEAR": head["REDSHIFT_FINAL"].astype(np.float64),
        "RA": head["RA"],
        "DEC": head["DEC"],
        "MWEBV": head["MWEBV"].astype(np.float64),
        "GALID": np.where(has_host, rng.integers(10**9, 10**10, n), -9),
        "GALZPHOT": np.where(has_host, head["HOSTGAL_PHOTOZ"], -9.0),
        "GALZPHOTERR": np.where(has_host, head["HOSTGAL_PHOTOZ_ERR"], -9.0),
        "GALSNSEP": np.where(has_host, head["HOSTGAL_SNSEP"], -9.0),
        "GALSNDDLR": np.where(has_host, head["HOSTGAL_SNSEP"] / np.sqrt(np.abs(head["HOSTGAL_SQRADIUS"])), -9.0),
        "RV": np.full(n, 3.1),
        "AV": np.where(model.extragalactic, rng.exponential(0.2, n), 0.0),
        "MU": params.get("mu", np.zeros(n)),
        "LENSDMU": np.zeros(n),
        "PEAKMJD": peakmjd,
        "MJD_DETECT_FIRST": head["MJD_DETECT_FIRST"].astype(np.float64),
        "MJD_DETECT_LAST": head["MJD_DETECT_LAST"].astype(np.float64),
        "DTSEASON_PEAK": np.full(n, -9.0),
        **{f"PEAKMAG_{b}": peakmag[:, i] for i, b in enumerate(BANDS)},
        "SNRMAX": snrmax[:, 0],
        "SNRMAX2": snrmax[:, 1],
        "SNRMAX3": snrmax[:, 2],
        "NOBS": counts,
        "NOBS_SATURATE": np.zeros(n, np.int64),
    }


def _phot_columns(sky: ModelSky) -> dict[str, np.ndarray]:
    rng, n_points = sky.rng, len(sky.obj)
    return dict(
        MJD=sky.mjd,
        BAND=np.array(BANDS)[sky.band],
        PHOTFLAG=sky.photflag,
        FLUXCAL=sky.flux.astype(np.float32),
        FLUXCALERR=sky.err.astype(np.float32),
        ZEROPT=np.float32(31.4) + rng.normal(0, 0.05, n_points).astype(np.float32),
        SIM_MAGOBS=sky.magobs.astype(np.float32),
    )


# ---------------------------------------------------------------- writing


def _gzip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buffer.getvalue()


def _fits_bytes(columns: dict[str, np.ndarray], extname: str) -> bytes:
    from astropy.io import fits

    cols = []
    for name, values in columns.items():
        values = np.asarray(values)
        if values.dtype.kind in "US":
            width = max(2 if name == "BAND" else 1, max((len(str(v)) for v in values), default=1))
            cols.append(fits.Column(name=name, format=f"{width}A", array=values.astype(f"S{width}")))
        else:
            fmt = {
                np.dtype("float64"): "D",
                np.dtype("float32"): "E",
                np.dtype("int64"): "K",
                np.dtype("int32"): "J",
                np.dtype("int16"): "I",
            }[values.dtype]
            cols.append(fits.Column(name=name, format=fmt, array=values))
    table = fits.BinTableHDU.from_columns(cols, name=extname)
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(buffer)
    return buffer.getvalue()


def _dump_text(dump: dict[str, np.ndarray], rows: np.ndarray | slice, model: Model) -> str:
    lines = [
        f"# Simulation SUMMARY: one row per event (tom_desc demo sky, model {model.name}).",
        "",
        "VARNAMES:  " + " ".join(DUMP_VARNAMES),
        "",
    ]
    ints = {"CID", "LIBID", "SIM_SEARCHEFF_MASK", "GENTYPE", "NON1A_INDEX", "GALID", "NOBS", "NOBS_SATURATE"}
    formatted = []
    for name in DUMP_VARNAMES:
        values = dump[name][rows]
        if name in ints:
            formatted.append([str(int(v)) for v in values])
        elif name in ("RA", "DEC"):
            formatted.append([f"{v:.6f}" for v in values])
        elif name in ("PEAKMJD", "MJD_DETECT_FIRST", "MJD_DETECT_LAST"):
            formatted.append([f"{v:.3f}" for v in values])
        else:
            formatted.append([f"{v:.5e}" for v in values])
    for row in zip(*formatted):
        lines.append("SN:  " + " ".join(row))
    return "\n".join(lines) + "\n"


def write_model(sky: ModelSky, out: Path, per_file: int) -> list[Path]:
    """Write one model directory; returns the files written."""
    sky_head, sky_dump, sky_phot = snana_columns(sky)
    prefix = f"DEMO_{sky.model.name}"
    directory = out / prefix
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    n = len(sky.snid)
    counts = np.bincount(sky.obj, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)])
    for file_no, first in enumerate(range(0, n, per_file), start=1):
        objs = np.arange(first, min(first + per_file, n))
        # PHOT rows of these objects, each followed by SNANA's end-of-object marker row.
        pieces, ptr_min, ptr_max, row = [], [], [], 0
        for o in objs:
            pieces.append(np.arange(starts[o], starts[o + 1]))
            ptr_min.append(row + 1)
            ptr_max.append(row + counts[o])
            row += counts[o] + 1
        point_rows = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
        markers = np.cumsum(counts[objs] + 1) - 1  # positions of marker rows
        total = int(row)
        phot: dict[str, np.ndarray] = {}
        is_point = np.ones(total, bool)
        is_point[markers] = False
        for name, values in sky_phot.items():
            if name == "BAND":
                column = np.full(total, "-", dtype="U2")
            elif name == "MJD":
                column = np.full(total, -777.0)
            elif name == "PHOTFLAG":
                column = np.zeros(total, np.int32)
            elif name == "SIM_MAGOBS":
                column = np.full(total, 99.0, np.float32)
            else:
                column = np.full(total, -777.0 if name.startswith("FLUXCAL") else -9.0, dtype=values.dtype)
            column[is_point] = values[point_rows]
            phot[name] = column
        phot["FIELD"] = np.where(is_point, "DEMO", "XXXX")
        head = {k: v[objs] for k, v in sky_head.items()}
        head["SNID"] = np.array([str(s) for s in sky.snid[objs]])
        head["NOBS"] = counts[objs].astype(np.int32)
        head["PTROBS_MIN"] = np.array(ptr_min, np.int32)
        head["PTROBS_MAX"] = np.array(ptr_max, np.int32)
        ordered_head = {
            "SNID": head.pop("SNID"),
            "RA": head.pop("RA"),
            "DEC": head.pop("DEC"),
            "SNTYPE": head.pop("SNTYPE"),
            "NOBS": head.pop("NOBS"),
            "PTROBS_MIN": head.pop("PTROBS_MIN"),
            "PTROBS_MAX": head.pop("PTROBS_MAX"),
            **head,
        }
        stem = directory / f"{prefix}-{file_no:04d}"
        for suffix, columns, extname in (
            ("_HEAD.FITS.gz", ordered_head, "Header"),
            ("_PHOT.FITS.gz", phot, "Photometry"),
        ):
            path = Path(f"{stem}{suffix}")
            path.write_bytes(_gzip(_fits_bytes(columns, extname)))
            written.append(path)
    dump_path = directory / f"{prefix}.DUMP"
    dump_path.write_text(_dump_text(sky_dump, slice(None), sky.model))
    written.append(dump_path)
    return written


def generate(out: Path, n_objects: int, seed: int, per_file: int = 200, progress=None) -> list[Path]:
    """Write the demo sky under ``out``; returns the files written (sorted).

    ``progress(model, count)`` is called after each model's files are written.
    """
    out = Path(out)
    written = []
    for index, (model, count) in enumerate(zip(MODELS, model_counts(n_objects))):
        if count == 0:
            continue
        sky = simulate_model(index, count, seed)
        written += write_model(sky, out, per_file)
        if progress is not None:
            progress(model, count)
    return sorted(written)
