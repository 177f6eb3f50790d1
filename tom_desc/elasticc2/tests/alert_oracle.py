"""An independent oracle of ELAsTiCC2 alerts and hand-made SNANA files for the ELAsTiCC2 alert tests.

``SampleOracle`` reads the SNANA sample's FITS files with astropy (not the loader) and applies
the ELAsTiCC2 history rule written the obvious way, point by point, from the research notes:
prvDiaSources are the object's detections strictly before the alert's source and no more than
`days` before it; prvDiaForcedSources are an empty list within 0.5 day of the object's first
detection, otherwise every photometry point strictly before the source, no more than `days`
before it and no earlier than 30 days before the first detection. Ids follow SNANA's scheme
(SNID * 100000 + the point's index within the object).
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

DETECTED = 4096


@dataclass
class ObjectPoints:
    snid: int
    mjd: np.ndarray  # every photometry point of the object, in PHOT order
    detected: np.ndarray  # bool per point

    @property
    def first(self) -> float:
        return float(self.mjd[self.detected].min())

    def point_id(self, k: int) -> int:
        return self.snid * 100000 + k


@dataclass
class Expected:
    alert_id: int
    object_id: int
    time: float
    prv: list[int] = field(default_factory=list)  # source ids, time order
    forced: list[int] = field(default_factory=list)  # forced-source ids, time order


class SampleOracle:
    """Every object of a SNANA directory tree or tarball, from astropy, and the alerts it implies."""

    def __init__(self, root: Path):
        self.objects: dict[int, ObjectPoints] = {}
        for head_path in sorted(root.rglob("*_HEAD.FITS.gz")):
            head = fits.getdata(head_path, 1)
            phot = fits.getdata(head_path.with_name(head_path.name.replace("_HEAD.", "_PHOT.")), 1)
            for row in head:
                points = phot[row["PTROBS_MIN"] - 1 : row["PTROBS_MAX"]]
                snid = int(str(row["SNID"]).strip())
                self.objects[snid] = ObjectPoints(
                    snid, np.asarray(points["MJD"], float), (np.asarray(points["PHOTFLAG"]) & DETECTED) != 0
                )
        self.object_of = {o.point_id(k): o for o in self.objects.values() for k in np.flatnonzero(o.detected).tolist()}

    def alert_ids(self, through: float = np.inf) -> list[int]:
        return sorted(s for s, o in self.object_of.items() if o.mjd[s % 100000] <= through)

    def expected(self, alert_id: int, days: float = 365.0) -> Expected:
        o = self.object_of[alert_id]
        k = alert_id % 100000
        t = float(o.mjd[k])
        out = Expected(alert_id, o.snid, t)
        order = sorted(range(len(o.mjd)), key=lambda j: (o.mjd[j], j))
        for j in order:
            if o.detected[j] and t - days <= o.mjd[j] < t:
                out.prv.append(o.point_id(j))
        if t - o.first > 0.5:
            for j in order:
                if max(t - days, o.first - 30) <= o.mjd[j] < t:
                    out.forced.append(o.point_id(j))
        return out


def summarize(alert: dict) -> tuple:
    """(alertId, object, source time, prv source ids, forced ids) of an alert dict."""
    return (
        alert["alertId"],
        alert["diaObject"]["diaObjectId"],
        alert["diaSource"]["midPointTai"],
        [s["diaSourceId"] for s in alert["prvDiaSources"]],
        [f["diaForcedSourceId"] for f in alert["prvDiaForcedSources"]],
    )


def as_expected(e: Expected) -> tuple:
    return (e.alert_id, e.object_id, e.time, e.prv, e.forced)


# ---- hand-made SNANA files --------------------------------------------------------------------

DUMP_VARNAMES = [
    "CID", "LIBID", "SIM_SEARCHEFF_MASK", "GENTYPE", "NON1A_INDEX", "ZCMB", "ZHELIO", "ZCMB_SMEAR", "RA", "DEC",
    "MWEBV", "GALID", "GALZPHOT", "GALZPHOTERR", "GALSNSEP", "GALSNDDLR", "RV", "AV", "MU", "LENSDMU", "PEAKMJD",
    "MJD_DETECT_FIRST", "MJD_DETECT_LAST", "DTSEASON_PEAK", "PEAKMAG_u", "PEAKMAG_g", "PEAKMAG_r", "PEAKMAG_i",
    "PEAKMAG_z", "PEAKMAG_Y", "SNRMAX", "SNRMAX2", "SNRMAX3", "NOBS", "NOBS_SATURATE",
]  # fmt: skip


def write_pair(
    directory: Path,
    points: dict[int, int],
    drop_dump_column: str | None = None,
    start: float = 60000.0,
    step: float = 0.1,
    every: int = 10,
) -> None:
    """One HEAD/PHOT pair and its DUMP: object SNID with `points[SNID]` photometry rows `step`
    days apart from `start`, every `every`-th of them a detection, and SNANA's -777 marker row
    after each object."""
    directory.mkdir(parents=True)
    snids = list(points)
    mjd, band, flag, flux, lo, hi = [], [], [], [], [], []
    for snid in snids:
        lo.append(len(mjd) + 1)
        for k in range(points[snid]):
            mjd.append(start + k * step)
            band.append("ugrizY"[k % 6])
            flag.append(DETECTED if k % every == 0 else 0)
            flux.append(100.0 + k)
        hi.append(len(mjd))
        mjd.append(-777.0)
        band.append("-")
        flag.append(0)
        flux.append(0.0)
    head = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="SNID", format="16A", array=np.array([str(s) for s in snids], dtype="S16")),
            fits.Column(name="RA", format="D", array=np.full(len(snids), 10.0)),
            fits.Column(name="DEC", format="D", array=np.full(len(snids), -20.0)),
            fits.Column(name="PTROBS_MIN", format="J", array=np.array(lo, dtype=np.int32)),
            fits.Column(name="PTROBS_MAX", format="J", array=np.array(hi, dtype=np.int32)),
            fits.Column(name="SIM_TYPE_INDEX", format="J", array=np.full(len(snids), 10, dtype=np.int32)),
        ]
    )
    phot = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="MJD", format="D", array=np.array(mjd)),
            fits.Column(name="BAND", format="2A", array=np.array(band, dtype="S2")),
            fits.Column(name="PHOTFLAG", format="J", array=np.array(flag, dtype=np.int32)),
            fits.Column(name="FLUXCAL", format="E", array=np.array(flux, dtype=np.float32)),
            fits.Column(name="FLUXCALERR", format="E", array=np.full(len(mjd), 5.0, dtype=np.float32)),
        ]
    )
    for hdu, kind in ((head, "HEAD"), (phot, "PHOT")):
        buffer = io.BytesIO()
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
        (directory / f"HAND_{kind}.FITS.gz").write_bytes(gzip.compress(buffer.getvalue()))
    names = [n for n in DUMP_VARNAMES if n != drop_dump_column]
    lines = ["VARNAMES: " + " ".join(names)]
    for snid in snids:
        values = dict.fromkeys(names, "1") | {
            "CID": str(snid),
            "GENTYPE": "10",
            "GALID": "7",
            "NOBS": str(points[snid]),
        }
        lines.append("SN: " + " ".join(values[n] for n in names))
    (directory / f"{directory.name}.DUMP").write_text("\n".join(lines) + "\n")
