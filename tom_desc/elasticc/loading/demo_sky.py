"""A deterministic simulated sky in SNANA format, for demos, tests and benchmarks.

``generate(out, n_objects, seed)`` writes one SNANA-style model directory per object
class -- ``DEMO_<MODEL>/DEMO_<MODEL>-NNNN_HEAD.FITS.gz``, ``..._PHOT.FITS.gz`` and
``DEMO_<MODEL>.DUMP`` -- that ``load_snana_fits`` reads like real ELAsTiCC output.

The physics is deliberately simple but shaped like the real thing:

* a survey of three ~200-day observing seasons (MJD 60800 onwards) in ugrizY with
  LSST-like 5-sigma depths, a visit about every third night per object (sometimes two
  in one night, in different bands) and per-visit depth jitter;
* fluxes are difference-image fluxes in SNANA's FLUXCAL units (zero point 27.5) with
  Gaussian noise from the depth plus a source photon term; a point is a detection
  (PHOTFLAG bit 4096) when |flux| / error >= 5, the first detection also gets SNANA's
  trigger bit 2048; SIM_MAGOBS holds the noiseless source magnitude;
* light curves: SN Ia (Bazin rise and decline, time-dilated), SN II (rise, plateau,
  drop and tail), kilonova (fast, band-dependent decline), M-dwarf flares (random
  flares with exponential decay), RR Lyrae (sawtooth) and eclipsing binaries
  (two eclipses per period) as periodic variables, and AGN (damped random walk).
  Extragalactic classes get a redshift, a distance modulus and a host galaxy;
  galactic ones carry SNANA's "no host" sentinels (-9, -999, 999, -9999).

Same arguments, same bytes: the only randomness is a numpy Generator seeded from
(seed, model), gzip headers carry mtime 0 and no file name, and the FITS headers
hold no dates.
"""
from __future__ import annotations

import gzip
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BANDS = ("u", "g", "r", "i", "z", "Y")
BAND_PROB = np.array([0.07, 0.10, 0.22, 0.22, 0.20, 0.19])
M5 = np.array([23.8, 24.5, 24.0, 23.4, 22.8, 22.0])        # 5-sigma depth per band
R_EXT = np.array([4.8, 3.7, 2.7, 2.1, 1.6, 1.3])            # A_band / E(B-V)
ZP = 27.5                                                   # FLUXCAL zero point
SURVEY_START = 60800.0
SEASONS = 3
DETECTION_BIT, TRIGGER_BIT = 4096, 2048
C_OVER_H0 = 299792.458 / 70.0                               # Mpc


@dataclass(frozen=True)
class Model:
    name: str
    gentype: int
    weight: float
    extragalactic: bool


MODELS = (
    Model("SNIa", 10, 0.28, True),
    Model("SNII", 32, 0.20, True),
    Model("KN", 51, 0.06, True),
    Model("MDWARF_FLARE", 82, 0.10, False),
    Model("RRLYRAE", 80, 0.10, False),
    Model("EB", 83, 0.11, False),
    Model("AGN", 60, 0.15, True),
)


def model_counts(n_objects: int) -> list[int]:
    """Objects per model: proportional to the weights, the remainder in model order."""
    counts = [int(n_objects * m.weight) for m in MODELS]
    for i in range(n_objects - sum(counts)):
        counts[i % len(MODELS)] += 1
    return counts


def first_snid(seed: int, model_index: int) -> int:
    """SNIDs of a model start here: well above ELAsTiCC's, and distinct per seed (mod 100)."""
    return 1_000_000_000 + (seed % 100) * 10_000_000 + model_index * 1_000_000 + 1


# ---------------------------------------------------------------- cadence

def _cadence(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(object index, MJD, band index) of every visit, sorted by object then time."""
    days = 220
    season_start = rng.uniform(0, 140, n)            # the field rises at a different time for each object
    season_len = rng.uniform(150, 210, n)
    night = np.arange(days)
    obj, season, day = [], [], []
    for s in range(SEASONS):
        observed = (rng.random((n, days)) < 0.33) & (night[None, :] < season_len[:, None])
        o, d = np.nonzero(observed)
        obj.append(o)
        day.append(d)
        season.append(np.full(len(o), s))
    obj, day, season = np.concatenate(obj), np.concatenate(day), np.concatenate(season)
    mjd = SURVEY_START + 365.25 * season + season_start[obj] + day + rng.uniform(0.05, 0.35, len(obj))
    # A second visit the same night for about half of the nights, 20-60 minutes later.
    twice = rng.random(len(obj)) < 0.5
    obj = np.concatenate([obj, obj[twice]])
    mjd = np.concatenate([mjd, mjd[twice] + rng.uniform(0.014, 0.042, int(twice.sum()))])
    order = np.lexsort((mjd, obj))
    obj, mjd = obj[order], np.round(mjd[order], 4)
    band = rng.choice(len(BANDS), size=len(obj), p=BAND_PROB)
    return obj, mjd, band


def _distance_modulus(z: np.ndarray) -> np.ndarray:
    q0 = -0.55
    d_l = C_OVER_H0 * (z + 0.5 * (1 - q0) * z * z)
    return 5 * np.log10(d_l) + 25


def _mag_to_flux(mag):
    return 10 ** (-0.4 * (np.asarray(mag) - ZP))


# ---------------------------------------------------------------- light curves
# Each returns (per-object parameters for the DUMP, source flux per point in FLUXCAL,
# reference flux per point subtracted by difference imaging).

def _transient_common(rng, n, z_range):
    z = rng.uniform(*z_range, n)
    mu = _distance_modulus(z)
    t0 = SURVEY_START + rng.uniform(-20, 365.25 * SEASONS, n)
    return z, mu, t0


def _sn_ia(rng, n, obj, mjd, band):
    z, mu, t0 = _transient_common(rng, n, (0.05, 0.7))
    abs_mag = rng.normal(-19.3, 0.15, n)
    color = np.array([1.0, 0.0, 0.1, 0.6, 0.7, 0.8])
    stretch = rng.uniform(0.8, 1.2, n)
    dt = (mjd - t0[obj]) / (1 + z[obj])
    tau_rise = 3.0 * stretch[obj]
    tau_fall = 22.0 * stretch[obj] * np.array([0.6, 0.75, 1.0, 1.3, 1.4, 1.5])[band]
    shape = np.exp(-np.clip(dt, -60, None) / tau_fall) / (1 + np.exp(-np.clip(dt, -60, 60) / tau_rise))
    t_max = tau_rise * np.log(tau_fall / tau_rise - 1)     # where the Bazin shape peaks
    shape_max = np.exp(-t_max / tau_fall) / (1 + np.exp(-t_max / tau_rise))
    peak = abs_mag[obj] + mu[obj] + color[band]
    return dict(z=z, mu=mu, peakmjd=t0, abs_mag=abs_mag), _mag_to_flux(peak) * shape / shape_max, 0.0


def _sn_ii(rng, n, obj, mjd, band):
    z, mu, t0 = _transient_common(rng, n, (0.02, 0.35))
    abs_mag = rng.normal(-17.0, 0.4, n)
    plateau = rng.uniform(70, 110, n)
    color = np.array([1.3, 0.3, 0.0, 0.0, 0.1, 0.2])
    dt = (mjd - t0[obj]) / (1 + z[obj])
    rise = np.where(dt > 0, 1 - np.exp(-np.clip(dt, 0, None) / 4.0), 0.0)
    p = plateau[obj]
    fade = 0.008 * np.clip(dt, 0, None) + 2.2 / (1 + np.exp(-(dt - p) / 3.0)) + 0.01 * np.clip(dt - p, 0, None)
    fade += np.array([0.02, 0.01, 0, 0, 0, 0])[band] * np.clip(dt, 0, None)   # blue fades faster
    peak = abs_mag[obj] + mu[obj] + color[band]
    return dict(z=z, mu=mu, peakmjd=t0 + 5 * (1 + z), abs_mag=abs_mag), _mag_to_flux(peak + fade) * rise, 0.0


def _kilonova(rng, n, obj, mjd, band):
    z, mu, t0 = _transient_common(rng, n, (0.01, 0.08))
    abs_mag = rng.normal(-16.0, 0.5, n)
    tau = np.array([0.8, 1.0, 1.5, 2.0, 2.5, 3.0])[band] * rng.uniform(0.7, 1.3, n)[obj]
    color = np.array([0.8, 0.3, 0.0, 0.0, 0.2, 0.4])
    dt = (mjd - t0[obj]) / (1 + z[obj])
    shape = np.where(dt > 0, (1 - np.exp(-np.clip(dt, 0, None) / 0.2)) * np.exp(-np.clip(dt, 0, None) / tau), 0)
    peak = abs_mag[obj] + mu[obj] + color[band]
    return dict(z=z, mu=mu, peakmjd=t0, abs_mag=abs_mag), _mag_to_flux(peak) * shape, 0.0


def _quiescent(rng, n, mag_range, color):
    mean_mag = rng.uniform(*mag_range, n)
    return mean_mag, np.asarray(color)


def _mdwarf_flare(rng, n, obj, mjd, band):
    mean_mag, color = _quiescent(rng, n, (19.0, 22.0), [4.0, 2.5, 1.2, 0.0, -0.5, -0.8])
    ref = _mag_to_flux(mean_mag[obj] + color[band])
    span = 365.25 * SEASONS + 60
    rate = rng.uniform(1 / 12, 1 / 4, n)                     # flares per day
    n_flares = rng.poisson(rate * span)
    f_obj = np.repeat(np.arange(n), n_flares)
    f_time = SURVEY_START - 10 + rng.uniform(0, span, len(f_obj))
    order = np.lexsort((f_time, f_obj))
    f_obj, f_time = f_obj[order], f_time[order]
    f_amp = 10 ** rng.uniform(0.0, 1.6, len(f_obj))          # peak g-band brightening factor - 1
    f_tau = 10 ** rng.uniform(-1.3, -0.3, len(f_obj))        # 0.05 to 0.5 day decay
    # The latest flare before each point (earlier ones have decayed): search on time + object offset.
    key_f = f_obj * 1e5 + (f_time - SURVEY_START)
    key_p = obj * 1e5 + (mjd - SURVEY_START)
    idx = np.searchsorted(key_f, key_p, side="right") - 1
    valid = (idx >= 0) & (f_obj[np.clip(idx, 0, None)] == obj)
    idx = np.clip(idx, 0, None)
    since = np.where(valid, mjd - f_time[idx], np.inf)
    blue = np.array([3.0, 1.0, 0.45, 0.2, 0.12, 0.08])[band]  # flares are hot: strongest in u and g
    g_ref = _mag_to_flux(mean_mag[obj] + color[1])
    extra = np.where(valid, f_amp[idx] * blue * g_ref * np.exp(-since / f_tau[idx]), 0.0)
    return dict(mean_mag=mean_mag, peakmjd=np.full(n, -9.0)), ref + extra, ref


def _rr_lyrae(rng, n, obj, mjd, band):
    mean_mag, color = _quiescent(rng, n, (16.5, 20.5), [1.2, 0.2, 0.0, -0.05, -0.1, -0.1])
    period = rng.uniform(0.45, 0.75, n)
    amp = rng.uniform(0.5, 1.0, n)[obj] * np.array([1.3, 1.0, 0.8, 0.6, 0.5, 0.45])[band]
    epoch = SURVEY_START + rng.uniform(0, 1, n) * period
    phase = np.mod((mjd - epoch[obj]) / period[obj], 1.0)
    dm = np.where(phase < 0.85, amp * (phase / 0.85 - 0.5), amp * (0.5 - (phase - 0.85) / 0.15))
    ref = _mag_to_flux(mean_mag[obj] + color[band])
    return dict(mean_mag=mean_mag, period=period, peakmjd=epoch), ref * 10 ** (-0.4 * dm), ref


def _eclipsing_binary(rng, n, obj, mjd, band):
    mean_mag, color = _quiescent(rng, n, (15.5, 20.0), [1.0, 0.3, 0.0, -0.1, -0.15, -0.2])
    period = 10 ** rng.uniform(np.log10(0.3), 1.0, n)
    depth1 = rng.uniform(0.3, 1.0, n)
    depth2 = depth1 * rng.uniform(0.1, 0.6, n)
    width = rng.uniform(0.03, 0.08, n)
    epoch = SURVEY_START + rng.uniform(0, 1, n) * period
    phase = np.mod((mjd - epoch[obj]) / period[obj] + 0.5, 1.0) - 0.5      # primary eclipse at 0
    w = width[obj]
    dm = (depth1[obj] * np.exp(-0.5 * (phase / w) ** 2)
          + depth2[obj] * np.exp(-0.5 * ((np.abs(phase) - 0.5) / w) ** 2))
    dm *= np.array([1.1, 1.05, 1.0, 0.95, 0.92, 0.9])[band]
    ref = _mag_to_flux(mean_mag[obj] + color[band])
    return dict(mean_mag=mean_mag, period=period, peakmjd=epoch), ref * 10 ** (-0.4 * dm), ref


def _agn(rng, n, obj, mjd, band):
    z = rng.uniform(0.1, 2.0, n)
    mean_mag = rng.uniform(19.0, 22.0, n)
    color = np.array([0.3, 0.1, 0.0, 0.0, 0.05, 0.1])
    tau = 10 ** rng.uniform(2.0, 2.7, n)                     # damping time, days
    sigma = rng.uniform(0.1, 0.3, n)                         # long-term rms, mag
    # Damped random walk, one step per visit, vectorised across objects.
    counts = np.bincount(obj, minlength=n)
    starts = np.cumsum(counts) - counts
    k = np.arange(len(obj)) - starts[obj]
    grid = np.zeros((n, counts.max() if n else 0))
    times = np.full(grid.shape, np.nan)
    times[obj, k] = mjd
    x = rng.normal(0, 1, n) * sigma
    grid[:, 0] = x
    for j in range(1, grid.shape[1]):
        dt = np.nan_to_num(times[:, j] - times[:, j - 1], nan=0.0)
        decay = np.exp(-dt / tau)
        x = x * decay + sigma * np.sqrt(1 - decay ** 2) * rng.normal(0, 1, n)
        grid[:, j] = x
    dm = grid[obj, k] * np.array([1.4, 1.2, 1.0, 0.9, 0.85, 0.8])[band]
    ref = _mag_to_flux(mean_mag[obj] + color[band])
    return dict(z=z, mu=_distance_modulus(z), mean_mag=mean_mag, peakmjd=np.full(n, -9.0)), \
        ref * 10 ** (-0.4 * dm), ref


LIGHT_CURVES = {"SNIa": _sn_ia, "SNII": _sn_ii, "KN": _kilonova, "MDWARF_FLARE": _mdwarf_flare,
                "RRLYRAE": _rr_lyrae, "EB": _eclipsing_binary, "AGN": _agn}


# ---------------------------------------------------------------- one model

@dataclass
class ModelSky:
    """Everything generated for one model: per-object and per-point columns."""

    model: Model
    snid: np.ndarray
    head: dict[str, np.ndarray]
    dump: dict[str, np.ndarray]
    obj: np.ndarray
    phot: dict[str, np.ndarray]


def simulate_model(model_index: int, n: int, seed: int) -> ModelSky:
    model = MODELS[model_index]
    rng = np.random.default_rng([seed, model_index])
    snid = np.arange(n, dtype=np.int64) + first_snid(seed, model_index)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, np.sin(np.radians(10)), n)))   # southern sky, up to +10
    mwebv = rng.uniform(0.01, 0.15, n)

    obj, mjd, band = _cadence(rng, n)
    params, source_flux, ref_flux = LIGHT_CURVES[model.name](rng, n, obj, mjd, band)
    extinction = 10 ** (-0.4 * R_EXT[band] * mwebv[obj])
    diff_true = (source_flux - ref_flux) * extinction
    total = source_flux * extinction

    depth = M5[band] + rng.normal(0, 0.25, len(obj))
    sky_sigma = _mag_to_flux(depth) / 5.0
    err = np.sqrt(sky_sigma ** 2 + np.clip(total, 0, None) * 0.5)
    flux = diff_true + rng.normal(0, 1, len(obj)) * err
    snr = flux / err
    detected = np.abs(snr) >= 5
    photflag = np.where(detected, DETECTION_BIT, 0).astype(np.int32)
    first_det = np.full(n, -1)
    det_idx = np.flatnonzero(detected)
    if len(det_idx):
        firsts = det_idx[np.unique(obj[det_idx], return_index=True)[1]]
        photflag[firsts] |= TRIGGER_BIT
        first_det[obj[firsts]] = firsts
    with np.errstate(divide="ignore", invalid="ignore"):
        magobs = np.where(total > 0, ZP - 2.5 * np.log10(np.where(total > 0, total, 1)), 99.0)

    head = _head_columns(rng, model, n, snid, ra, dec, mwebv, params, obj, mjd, detected)
    dump = _dump_columns(rng, model, n, snid, head, params, obj, mjd, band, detected, snr, magobs)
    phot = dict(MJD=mjd, BAND=np.array(BANDS)[band], PHOTFLAG=photflag,
                FLUXCAL=flux.astype(np.float32), FLUXCALERR=err.astype(np.float32),
                ZEROPT=np.float32(31.4) + rng.normal(0, 0.05, len(obj)).astype(np.float32),
                SIM_MAGOBS=magobs.astype(np.float32))
    return ModelSky(model, snid, head, dump, obj, phot)


def _head_columns(rng, model, n, snid, ra, dec, mwebv, params, obj, mjd, detected):
    head: dict[str, np.ndarray] = {
        "SNID": snid, "RA": ra, "DEC": dec,
        "SNTYPE": np.full(n, 0, np.int32),
        "MWEBV": mwebv.astype(np.float32), "MWEBV_ERR": (0.05 * mwebv).astype(np.float32),
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
                "PHOTOZ": hz, "PHOTOZ_ERR": zerr,
                "SPECZ": np.where(has_specz & primary, z, -9.0),
                "SPECZ_ERR": np.where(has_specz & primary, 0.0001, -9.0),
                "RA": ra + sep / 3600 * np.cos(angle) / np.cos(np.radians(dec)),
                "DEC": dec + sep / 3600 * np.sin(angle),
                "SNSEP": sep, "ELLIPTICITY": rng.uniform(0, 0.7, n), "SQRADIUS": rng.uniform(0.5, 25, n),
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
    values = {"PHOTOZ": -9.0, "PHOTOZ_ERR": -9.0, "SPECZ": -9.0, "SPECZ_ERR": -9.0, "RA": -999.0, "DEC": -999.0,
              "SNSEP": -9.0, "ELLIPTICITY": -9999.0, "SQRADIUS": -9999.0}
    values.update({f"ZPHOT_Q{q * 10:03d}": -9.0 for q in range(11)})
    values.update({f"MAG_{b}": 999.0 for b in BANDS})
    values.update({f"MAGERR_{b}": 999.0 for b in BANDS})
    return values


DUMP_VARNAMES = ("CID LIBID SIM_SEARCHEFF_MASK GENTYPE NON1A_INDEX ZCMB ZHELIO ZCMB_SMEAR RA DEC MWEBV GALID "
                 "GALZPHOT GALZPHOTERR GALSNSEP GALSNDDLR RV AV MU LENSDMU PEAKMJD MJD_DETECT_FIRST "
                 "MJD_DETECT_LAST DTSEASON_PEAK PEAKMAG_u PEAKMAG_g PEAKMAG_r PEAKMAG_i PEAKMAG_z PEAKMAG_Y "
                 "SNRMAX SNRMAX2 SNRMAX3 NOBS NOBS_SATURATE").split()


def _dump_columns(rng, model, n, snid, head, params, obj, mjd, band, detected, snr, magobs):
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
        "CID": snid, "LIBID": rng.integers(1, 50000, n), "SIM_SEARCHEFF_MASK": np.full(n, 3),
        "GENTYPE": np.full(n, model.gentype), "NON1A_INDEX": np.full(n, MODELS.index(model) + 1),
        "ZCMB": z, "ZHELIO": z, "ZCMB_SMEAR": head["REDSHIFT_FINAL"].astype(np.float64),
        "RA": head["RA"], "DEC": head["DEC"], "MWEBV": head["MWEBV"].astype(np.float64),
        "GALID": np.where(has_host, rng.integers(10 ** 9, 10 ** 10, n), -9),
        "GALZPHOT": np.where(has_host, head["HOSTGAL_PHOTOZ"], -9.0),
        "GALZPHOTERR": np.where(has_host, head["HOSTGAL_PHOTOZ_ERR"], -9.0),
        "GALSNSEP": np.where(has_host, head["HOSTGAL_SNSEP"], -9.0),
        "GALSNDDLR": np.where(has_host, head["HOSTGAL_SNSEP"] / np.sqrt(np.abs(head["HOSTGAL_SQRADIUS"])), -9.0),
        "RV": np.full(n, 3.1), "AV": np.where(model.extragalactic, rng.exponential(0.2, n), 0.0),
        "MU": params.get("mu", np.zeros(n)), "LENSDMU": np.zeros(n),
        "PEAKMJD": peakmjd, "MJD_DETECT_FIRST": head["MJD_DETECT_FIRST"].astype(np.float64),
        "MJD_DETECT_LAST": head["MJD_DETECT_LAST"].astype(np.float64),
        "DTSEASON_PEAK": np.full(n, -9.0),
        **{f"PEAKMAG_{b}": peakmag[:, i] for i, b in enumerate(BANDS)},
        "SNRMAX": snrmax[:, 0], "SNRMAX2": snrmax[:, 1], "SNRMAX3": snrmax[:, 2],
        "NOBS": counts, "NOBS_SATURATE": np.zeros(n, np.int64),
    }


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
            fmt = {np.dtype("float64"): "D", np.dtype("float32"): "E", np.dtype("int64"): "K",
                   np.dtype("int32"): "J", np.dtype("int16"): "I"}[values.dtype]
            cols.append(fits.Column(name=name, format=fmt, array=values))
    table = fits.BinTableHDU.from_columns(cols, name=extname)
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(buffer)
    return buffer.getvalue()


def _dump_text(dump: dict[str, np.ndarray], rows: np.ndarray | slice, model: Model) -> str:
    lines = [f"# Simulation SUMMARY: one row per event (tom_desc demo sky, model {model.name}).", "",
             "VARNAMES:  " + " ".join(DUMP_VARNAMES), ""]
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
        markers = np.cumsum(counts[objs] + 1) - 1                     # positions of marker rows
        total = int(row)
        phot: dict[str, np.ndarray] = {}
        is_point = np.ones(total, bool)
        is_point[markers] = False
        for name, values in sky.phot.items():
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
        head = {k: v[objs] for k, v in sky.head.items()}
        head["SNID"] = np.array([str(s) for s in sky.snid[objs]])
        head["NOBS"] = counts[objs].astype(np.int32)
        head["PTROBS_MIN"] = np.array(ptr_min, np.int32)
        head["PTROBS_MAX"] = np.array(ptr_max, np.int32)
        ordered_head = {"SNID": head.pop("SNID"), "RA": head.pop("RA"), "DEC": head.pop("DEC"),
                        "SNTYPE": head.pop("SNTYPE"), "NOBS": head.pop("NOBS"),
                        "PTROBS_MIN": head.pop("PTROBS_MIN"), "PTROBS_MAX": head.pop("PTROBS_MAX"), **head}
        stem = directory / f"{prefix}-{file_no:04d}"
        for suffix, columns, extname in (("_HEAD.FITS.gz", ordered_head, "Header"),
                                         ("_PHOT.FITS.gz", phot, "Photometry")):
            path = Path(f"{stem}{suffix}")
            path.write_bytes(_gzip(_fits_bytes(columns, extname)))
            written.append(path)
    dump_path = directory / f"{prefix}.DUMP"
    dump_path.write_text(_dump_text(sky.dump, slice(None), sky.model))
    written.append(dump_path)
    return written


def generate(out: Path, n_objects: int, seed: int, per_file: int = 200, progress=None) -> list[Path]:
    """Write the demo sky under ``out``; returns the files written (sorted)."""
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


def files_for(n_objects: int, per_file: int) -> int:
    """How many HEAD files ``generate`` writes (for progress bars)."""
    return sum(math.ceil(c / per_file) for c in model_counts(n_objects) if c)
