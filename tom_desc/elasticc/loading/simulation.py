"""The physics of the demo sky: object classes, a survey cadence and their light curves.

``simulate_model(model_index, n, seed)`` gives one model's objects and points as numpy
columns (``ModelSky``); demo_sky.py lays them out as SNANA HEAD/PHOT/DUMP files. The
physics is deliberately simple but shaped like the real thing:

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
  Extragalactic classes get a redshift and a distance modulus.

The only randomness is a numpy Generator seeded from (seed, model); ``ModelSky.rng``
hands it on, so the same arguments give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BANDS = ("u", "g", "r", "i", "z", "Y")
BAND_PROB = np.array([0.07, 0.10, 0.22, 0.22, 0.20, 0.19])
M5 = np.array([23.8, 24.5, 24.0, 23.4, 22.8, 22.0])  # 5-sigma depth per band
R_EXT = np.array([4.8, 3.7, 2.7, 2.1, 1.6, 1.3])  # A_band / E(B-V)
ZP = 27.5  # FLUXCAL zero point
SURVEY_START = 60800.0
SEASONS = 3
DETECTION_BIT, TRIGGER_BIT = 4096, 2048
C_OVER_H0 = 299792.458 / 70.0  # Mpc


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


def counts_text(n_objects: int) -> str:
    """Objects per model as "84 SNIa, 60 SNII, ...", leaving out models with none (for summaries)."""
    return ", ".join(f"{count} {m.name}" for m, count in zip(MODELS, model_counts(n_objects)) if count)


def first_snid(seed: int, model_index: int) -> int:
    """SNIDs of a model start here: well above ELAsTiCC's, and distinct per seed (mod 100)."""
    return 1_000_000_000 + (seed % 100) * 10_000_000 + model_index * 1_000_000 + 1


# ---------------------------------------------------------------- cadence


def _cadence(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(object index, MJD, band index) of every visit, sorted by object then time."""
    days = 220
    season_start = rng.uniform(0, 140, n)  # the field rises at a different time for each object
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
    t_max = tau_rise * np.log(tau_fall / tau_rise - 1)  # where the Bazin shape peaks
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
    fade += np.array([0.02, 0.01, 0, 0, 0, 0])[band] * np.clip(dt, 0, None)  # blue fades faster
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
    rate = rng.uniform(1 / 12, 1 / 4, n)  # flares per day
    n_flares = rng.poisson(rate * span)
    f_obj = np.repeat(np.arange(n), n_flares)
    f_time = SURVEY_START - 10 + rng.uniform(0, span, len(f_obj))
    order = np.lexsort((f_time, f_obj))
    f_obj, f_time = f_obj[order], f_time[order]
    f_amp = 10 ** rng.uniform(0.0, 1.6, len(f_obj))  # peak g-band brightening factor - 1
    f_tau = 10 ** rng.uniform(-1.3, -0.3, len(f_obj))  # 0.05 to 0.5 day decay
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
    phase = np.mod((mjd - epoch[obj]) / period[obj] + 0.5, 1.0) - 0.5  # primary eclipse at 0
    w = width[obj]
    dm = depth1[obj] * np.exp(-0.5 * (phase / w) ** 2) + depth2[obj] * np.exp(-0.5 * ((np.abs(phase) - 0.5) / w) ** 2)
    dm *= np.array([1.1, 1.05, 1.0, 0.95, 0.92, 0.9])[band]
    ref = _mag_to_flux(mean_mag[obj] + color[band])
    return dict(mean_mag=mean_mag, period=period, peakmjd=epoch), ref * 10 ** (-0.4 * dm), ref


def _agn(rng, n, obj, mjd, band):
    z = rng.uniform(0.1, 2.0, n)
    mean_mag = rng.uniform(19.0, 22.0, n)
    color = np.array([0.3, 0.1, 0.0, 0.0, 0.05, 0.1])
    tau = 10 ** rng.uniform(2.0, 2.7, n)  # damping time, days
    sigma = rng.uniform(0.1, 0.3, n)  # long-term rms, mag
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
        x = x * decay + sigma * np.sqrt(1 - decay**2) * rng.normal(0, 1, n)
        grid[:, j] = x
    dm = grid[obj, k] * np.array([1.4, 1.2, 1.0, 0.9, 0.85, 0.8])[band]
    ref = _mag_to_flux(mean_mag[obj] + color[band])
    return dict(z=z, mu=_distance_modulus(z), mean_mag=mean_mag, peakmjd=np.full(n, -9.0)), ref * 10 ** (-0.4 * dm), ref


LIGHT_CURVES = {
    "SNIa": _sn_ia,
    "SNII": _sn_ii,
    "KN": _kilonova,
    "MDWARF_FLARE": _mdwarf_flare,
    "RRLYRAE": _rr_lyrae,
    "EB": _eclipsing_binary,
    "AGN": _agn,
}


# ---------------------------------------------------------------- one model


@dataclass
class ModelSky:
    """One model's simulated objects (per-object arrays) and their points (per-point arrays, by object and time).

    ``rng`` is the model's generator, positioned after the light curves: demo_sky draws the
    host galaxies and truth columns from it next, in a fixed order, so the same seed gives
    the same bytes.
    """

    model: Model
    rng: np.random.Generator
    snid: np.ndarray  # int64
    ra: np.ndarray  # degrees
    dec: np.ndarray
    mwebv: np.ndarray
    params: dict[str, np.ndarray]  # per-object light-curve parameters (z, mu, peakmjd, ...)
    obj: np.ndarray  # per point: the object's index
    mjd: np.ndarray
    band: np.ndarray  # index into BANDS
    flux: np.ndarray  # FLUXCAL, with noise
    err: np.ndarray  # FLUXCALERR
    snr: np.ndarray
    detected: np.ndarray  # bool: |snr| >= 5
    photflag: np.ndarray  # int32: DETECTION_BIT, plus TRIGGER_BIT on an object's first detection
    magobs: np.ndarray  # noiseless source magnitude, 99 where the source has no flux

    @property
    def n(self) -> int:
        return len(self.snid)


def simulate_model(model_index: int, n: int, seed: int) -> ModelSky:
    model = MODELS[model_index]
    rng = np.random.default_rng([seed, model_index])
    snid = np.arange(n, dtype=np.int64) + first_snid(seed, model_index)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, np.sin(np.radians(10)), n)))  # southern sky, up to +10
    mwebv = rng.uniform(0.01, 0.15, n)

    obj, mjd, band = _cadence(rng, n)
    params, source_flux, ref_flux = LIGHT_CURVES[model.name](rng, n, obj, mjd, band)
    extinction = 10 ** (-0.4 * R_EXT[band] * mwebv[obj])
    diff_true = (source_flux - ref_flux) * extinction
    total = source_flux * extinction

    depth = M5[band] + rng.normal(0, 0.25, len(obj))
    sky_sigma = _mag_to_flux(depth) / 5.0
    err = np.sqrt(sky_sigma**2 + np.clip(total, 0, None) * 0.5)
    flux = diff_true + rng.normal(0, 1, len(obj)) * err
    snr = flux / err
    detected = np.abs(snr) >= 5
    photflag = np.where(detected, DETECTION_BIT, 0).astype(np.int32)
    det_idx = np.flatnonzero(detected)
    if len(det_idx):
        firsts = det_idx[np.unique(obj[det_idx], return_index=True)[1]]
        photflag[firsts] |= TRIGGER_BIT
    with np.errstate(divide="ignore", invalid="ignore"):
        magobs = np.where(total > 0, ZP - 2.5 * np.log10(np.where(total > 0, total, 1)), 99.0)
    return ModelSky(
        model, rng, snid, ra, dec, mwebv, params, obj, mjd, band, flux, err, snr, detected, photflag, magobs
    )
