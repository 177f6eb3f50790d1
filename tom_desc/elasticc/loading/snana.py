"""Reading SNANA simulation output: HEAD/PHOT FITS tables and the DUMP truth table.

A SNANA model directory holds pairs ``<prefix>_HEAD.FITS.gz`` (one row per object)
and ``<prefix>_PHOT.FITS.gz`` (one row per photometry point), plus one ``<dir>.DUMP``
ASCII table of per-object truth. This module says what they mean and turns them into
numpy columns named after the ``elasticc`` models. Finding and pairing the files is
inputs.py's job, decoding the FITS tables fits.py's; it knows nothing about the
database (see loader.py).

Conventions (the original DESC TOM's, written down here because tests rely on them):

1. An object's points are PHOT rows PTROBS_MIN..PTROBS_MAX (1-based, inclusive).
   SNANA writes an end-of-object marker row (MJD = -777) after each object; it lies
   outside that range and is never loaded. Every row inside the range is a forced
   source; a row with ``PHOTFLAG & 4096`` is also a source (a detection).
2. The point index ``k`` is the 0-based position of the row within its object's
   range (counting every forced point, detected or not), and
   ``diaForcedSourceId = diaSourceId = alertId = SNID * 100000 + k``. So a
   detection's source id equals its forced-source id. More than 100000 points
   per object would make ids collide and is refused.
3. FLUXCAL has zero point 27.5; alerts use 31.4, so flux and error are multiplied by
   ``FLUX_SCALE = 10**((31.4 - 27.5) / 2.5)``; snr = flux / error.
4. SNANA marks "no value" with sentinels (-9, -99, -999, -9999 and 99/999 for
   magnitudes). diaObject columns store NULL for them; the rules, per kind of
   column, are in ``_OBJECT_RULES``. Truth tables (DUMP rows) are stored verbatim.
5. The per-source truth gentype is the HEAD's SIM_GENTYPE, else SIM_TYPE_INDEX
   (what ELAsTiCC2 HEAD files carry), else the DUMP GENTYPE; genmag is PHOT
   SIM_MAGOBS with SNANA's 99 ("no model flux") stored as NULL.
6. Columns of the original DESC TOM that SNANA files may lack are filled where a file has
   them and left NULL otherwise: hostgal(2)_zphot_p50 from HEAD HOSTGAL(2)_ZPHOT_P50;
   object truth sim_template_index from the DUMP's SIM_TEMPLATE_INDEX or NON1A_INDEX, else
   HEAD SIM_TEMPLATE_INDEX, and galnmatch from the DUMP's GALNMATCH, else HEAD
   HOSTGAL_NMATCH. SNANA's PHOT tables carry no ccdVisitId, parentDiaSourceId, nobs (of a
   source) or totFlux(Err), so those columns stay NULL.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from elasticc.loading import fits
from elasticc.loading.errors import SnanaError

SNANA_ZEROPOINT = 27.5
ALERT_ZEROPOINT = 31.4
FLUX_SCALE = 10 ** ((ALERT_ZEROPOINT - SNANA_ZEROPOINT) / 2.5)
DETECTION_BIT = 4096
ID_STRIDE = 100_000
END_OF_OBJECT_MJD = -777.0
BANDS = ("u", "g", "r", "i", "z", "Y")


# ---------------------------------------------------------------- diaObject columns


def _missing_if_negative_sentinel(v: np.ndarray) -> np.ndarray:
    # -9, -99, -999, -9999: SNANA's "undefined". Small negative redshifts stay.
    return v <= -9


def _missing_magnitude(v: np.ndarray) -> np.ndarray:
    # 99 / 999 = "not measured"; no host galaxy is brighter than magnitude 0.
    return (v >= 99) | (v < 0)


def _missing_ra(v: np.ndarray) -> np.ndarray:
    return (v < -360) | (v > 360)


def _missing_dec(v: np.ndarray) -> np.ndarray:
    return (v < -90) | (v > 90)


_OBJECT_RULES = {
    "sentinel": _missing_if_negative_sentinel,
    "mag": _missing_magnitude,
    "ra": _missing_ra,
    "dec": _missing_dec,
}


def _object_column_map() -> list[tuple[str, str, str]]:
    """(diaObject field, HEAD column, rule) for every nullable diaObject column."""
    cols = [
        ("mwebv", "MWEBV", "sentinel"),
        ("mwebv_err", "MWEBV_ERR", "sentinel"),
        ("z_final", "REDSHIFT_FINAL", "sentinel"),
        ("z_final_err", "REDSHIFT_FINAL_ERR", "sentinel"),
    ]
    for field_prefix, head_prefix in (("hostgal", "HOSTGAL"), ("hostgal2", "HOSTGAL2")):
        cols += [
            (f"{field_prefix}_ellipticity", f"{head_prefix}_ELLIPTICITY", "sentinel"),
            (f"{field_prefix}_sqradius", f"{head_prefix}_SQRADIUS", "sentinel"),
            (f"{field_prefix}_zspec", f"{head_prefix}_SPECZ", "sentinel"),
            (f"{field_prefix}_zspec_err", f"{head_prefix}_SPECZ_ERR", "sentinel"),
            (f"{field_prefix}_zphot", f"{head_prefix}_PHOTOZ", "sentinel"),
            (f"{field_prefix}_zphot_err", f"{head_prefix}_PHOTOZ_ERR", "sentinel"),
        ]
        cols += [
            (f"{field_prefix}_zphot_q{q:03d}", f"{head_prefix}_ZPHOT_Q{q:03d}", "sentinel") for q in range(0, 101, 10)
        ]
        cols.append((f"{field_prefix}_zphot_p50", f"{head_prefix}_ZPHOT_P50", "sentinel"))
        cols += [(f"{field_prefix}_mag_{b}", f"{head_prefix}_MAG_{b}", "mag") for b in BANDS]
        cols += [
            (f"{field_prefix}_ra", f"{head_prefix}_RA", "ra"),
            (f"{field_prefix}_dec", f"{head_prefix}_DEC", "dec"),
            (f"{field_prefix}_snsep", f"{head_prefix}_SNSEP", "sentinel"),
        ]
        cols += [(f"{field_prefix}_magerr_{b}", f"{head_prefix}_MAGERR_{b}", "mag") for b in BANDS]
    return cols


OBJECT_COLUMNS = _object_column_map()
"""(diaObject field, HEAD column, null rule); a HEAD without the column gives NULL."""


# ---------------------------------------------------------------- DUMP

# DUMP columns stored as integers; every other known column is a float.
DUMP_INT_COLUMNS = {
    "libid",
    "sim_searcheff_mask",
    "gentype",
    "non1a_index",
    "sim_template_index",
    "galnmatch",
    "galid",
    "nobs",
    "nobs_saturate",
}
DUMP_COLUMNS = [
    "libid",
    "sim_searcheff_mask",
    "gentype",
    "non1a_index",
    "sim_template_index",
    "galnmatch",
    "zcmb",
    "zhelio",
    "zcmb_smear",
    "ra",
    "dec",
    "mwebv",
    "galid",
    "galzphot",
    "galzphoterr",
    "galsnsep",
    "galsnddlr",
    "rv",
    "av",
    "mu",
    "lensdmu",
    "peakmjd",
    "mjd_detect_first",
    "mjd_detect_last",
    "dtseason_peak",
    "peakmag_u",
    "peakmag_g",
    "peakmag_r",
    "peakmag_i",
    "peakmag_z",
    "peakmag_Y",
    "snrmax",
    "snrmax2",
    "snrmax3",
    "nobs",
    "nobs_saturate",
]
"""The diaObjectTruth columns (lower-cased DUMP VARNAMES, CID becoming diaObjectId; see DUMP_SOURCES)."""

# Where a table column's name is not its lower-cased DUMP VARNAME: the VARNAMES to take it
# from, first found wins (SNANA's DUMPs of different eras name these differently).
DUMP_SOURCES = {
    "peakmag_Y": ("peakmag_y",),
    "sim_template_index": ("sim_template_index", "non1a_index"),
}

# Object truth a DUMP may lack and a HEAD has: (table column, HEAD column).
HEAD_TRUTH = (("sim_template_index", "SIM_TEMPLATE_INDEX"), ("galnmatch", "HOSTGAL_NMATCH"))


def _dump_position(varnames: list[str], column: str) -> int | None:
    for name in DUMP_SOURCES.get(column, (column,)):
        if name in varnames:
            return varnames.index(name)
    return None


@dataclass
class DumpTable:
    """Per-object truth rows of one DUMP file, keyed by CID."""

    name: str
    rows: dict[int, tuple] = field(default_factory=dict)  # cid -> values in DUMP_COLUMNS order (None = absent)

    def merge(self, other: DumpTable) -> None:
        self.rows.update(other.rows)


def read_dump(stream: BinaryIO, name: str) -> DumpTable:
    """Parse a SNANA DUMP table: ``VARNAMES:`` then one ``SN:`` line per object.

    Columns are matched by name (case-insensitive), so extra or reordered columns are
    fine; CID and GENTYPE are required. A short or unparsable row is an error naming
    the file and the line.
    """
    table = DumpTable(name)
    varnames: list[str] | None = None
    positions: list[int | None] = []
    try:
        text = stream.read().decode("ascii")
        for lineno, line in enumerate(text.splitlines(), start=1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "VARNAMES:":
                varnames = [w.lower() for w in words[1:]]
                if "cid" not in varnames or "gentype" not in varnames:
                    raise SnanaError(name, f"line {lineno}: VARNAMES lacks CID or GENTYPE")
                positions = [_dump_position(varnames, c) for c in DUMP_COLUMNS]
                cid_pos = varnames.index("cid")
                continue
            if words[0] != "SN:":
                continue
            if varnames is None:
                raise SnanaError(name, f"line {lineno}: SN row before VARNAMES")
            values = words[1:]
            if len(values) != len(varnames):
                raise SnanaError(name, f"line {lineno}: {len(values)} values for {len(varnames)} columns (truncated?)")
            try:
                row = tuple(
                    None if pos is None else (int(values[pos]) if col in DUMP_INT_COLUMNS else float(values[pos]))
                    for col, pos in zip(DUMP_COLUMNS, positions)
                )
                cid = int(values[cid_pos])
            except ValueError as exc:
                raise SnanaError(name, f"line {lineno}: {exc}") from None
            table.rows[cid] = row
    except UnicodeDecodeError as exc:
        raise SnanaError(name, f"not an ASCII DUMP table ({exc.reason})") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise SnanaError(name, f"unreadable ({exc})") from None
    if varnames is None:
        raise SnanaError(name, "no VARNAMES line (empty or truncated DUMP)")
    return table


# ---------------------------------------------------------------- HEAD / PHOT


@dataclass
class LightCurves:
    """The objects of one HEAD/PHOT pair and all their points, as numpy columns.

    Object arrays have length n_objects; point arrays have length n_points and are
    grouped by object in HEAD order (``point_object`` is the object's row index).
    """

    head_name: str
    phot_name: str
    object_id: np.ndarray  # int64
    ra: np.ndarray  # float64
    decl: np.ndarray  # float64
    object_columns: dict[str, np.ndarray]  # OBJECT_COLUMNS fields, float64 with NaN for NULL
    gentype: np.ndarray | None  # int32 per object, from HEAD, or None (use the DUMP)
    point_object: np.ndarray  # int64 row index into the object arrays
    point_id: np.ndarray  # int64 SNID * ID_STRIDE + k
    mjd: np.ndarray  # float64
    band: np.ndarray  # bytes (S*) stripped band names
    photflag: np.ndarray  # int32
    flux: np.ndarray  # float32, zero point 31.4
    flux_err: np.ndarray  # float32
    genmag: np.ndarray | None  # float32 with NaN for NULL, or None when PHOT has no SIM_MAGOBS
    head_truth: dict[str, np.ndarray] = field(default_factory=dict)  # HEAD_TRUTH columns the HEAD has, int64

    @property
    def n_objects(self) -> int:
        return len(self.object_id)

    @property
    def n_points(self) -> int:
        return len(self.point_id)

    @property
    def detected(self) -> np.ndarray:
        return (self.photflag & DETECTION_BIT) != 0


def read_pair(head_raw: bytes, head_name: str, phot_raw: bytes, phot_name: str) -> LightCurves:
    """Parse one HEAD/PHOT pair (bytes of the possibly gzipped files)."""
    head = fits.read_table(head_raw, head_name)
    phot = fits.read_table(phot_raw, phot_name)
    n_obj = len(head) if head.dtype.names else 0
    for col in ("SNID", "RA", "DEC", "PTROBS_MIN", "PTROBS_MAX"):
        if n_obj and col not in head.dtype.names:
            raise SnanaError(head_name, f"no {col} column")
    if n_obj and len(phot) and phot.dtype.names:
        for col in ("MJD", "BAND", "PHOTFLAG", "FLUXCAL", "FLUXCALERR"):
            if col not in phot.dtype.names:
                raise SnanaError(phot_name, f"no {col} column")

    if n_obj == 0:
        return _empty(head_name, phot_name)

    try:
        object_id = np.char.strip(head["SNID"].astype("U")).astype(np.int64)
    except ValueError:
        raise SnanaError(head_name, "SNID is not an integer") from None
    first = head["PTROBS_MIN"].astype(np.int64)
    last = head["PTROBS_MAX"].astype(np.int64)
    n_phot = len(phot)
    if np.any(first < 1) or np.any(last > n_phot) or np.any(last < first - 1):
        bad = int(np.flatnonzero((first < 1) | (last > n_phot) | (last < first - 1))[0])
        raise SnanaError(
            head_name,
            f"SNID {object_id[bad]}: PTROBS {first[bad]}..{last[bad]} outside the "
            f"{n_phot} rows of {os.path.basename(phot_name)} (truncated PHOT?)",
        )
    counts = last - first + 1
    if np.any(counts > ID_STRIDE):
        raise SnanaError(head_name, f"an object has more than {ID_STRIDE} points; ids would collide")

    # Row numbers of every object's points, in HEAD order, without a Python loop.
    total = int(counts.sum())
    point_object = np.repeat(np.arange(n_obj, dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    k = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    rows = np.repeat(first - 1, counts) + k

    mjd = phot["MJD"][rows].astype(np.float64)
    if np.any(mjd == END_OF_OBJECT_MJD):
        raise SnanaError(phot_name, "an end-of-object marker (MJD -777) lies inside an object's PTROBS range")
    band = np.char.strip(phot["BAND"][rows].astype("S"))
    flux = phot["FLUXCAL"][rows].astype(np.float64)
    err = phot["FLUXCALERR"][rows].astype(np.float64)
    genmag = None
    if "SIM_MAGOBS" in phot.dtype.names:
        genmag = phot["SIM_MAGOBS"][rows].astype(np.float32)
        genmag[genmag >= 99] = np.nan

    object_columns = {}
    for field_name, head_col, rule in OBJECT_COLUMNS:
        values = fits.column(head, head_col, np.float64)
        if values is None:
            values = np.full(n_obj, np.nan)
        else:
            values[_OBJECT_RULES[rule](values)] = np.nan
        object_columns[field_name] = values

    gentype = fits.column(head, "SIM_GENTYPE", np.int32)
    if gentype is None:
        gentype = fits.column(head, "SIM_TYPE_INDEX", np.int32)
    head_truth = {}
    for name, head_col in HEAD_TRUTH:
        values = fits.column(head, head_col, np.int64)
        if values is not None:
            head_truth[name] = values

    return LightCurves(
        head_name=head_name,
        phot_name=phot_name,
        object_id=object_id,
        ra=head["RA"].astype(np.float64),
        decl=head["DEC"].astype(np.float64),
        object_columns=object_columns,
        gentype=gentype,
        point_object=point_object,
        point_id=np.repeat(object_id, counts) * ID_STRIDE + k,
        mjd=mjd,
        band=band,
        photflag=phot["PHOTFLAG"][rows].astype(np.int32),
        flux=(flux * FLUX_SCALE).astype(np.float32),
        flux_err=(err * FLUX_SCALE).astype(np.float32),
        genmag=genmag,
        head_truth=head_truth,
    )


def _empty(head_name: str, phot_name: str) -> LightCurves:
    i8, f8 = np.zeros(0, np.int64), np.zeros(0, np.float64)
    return LightCurves(
        head_name,
        phot_name,
        i8,
        f8,
        f8,
        {f: f8 for f, _, _ in OBJECT_COLUMNS},
        None,
        i8,
        i8,
        f8,
        np.zeros(0, "S1"),
        np.zeros(0, np.int32),
        np.zeros(0, np.float32),
        np.zeros(0, np.float32),
        None,
    )
