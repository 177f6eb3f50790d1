"""Reading SNANA simulation output: HEAD/PHOT FITS tables and the DUMP truth table.

A SNANA model directory holds pairs ``<prefix>_HEAD.FITS.gz`` (one row per object)
and ``<prefix>_PHOT.FITS.gz`` (one row per photometry point), plus one ``<dir>.DUMP``
ASCII table of per-object truth. This module turns them into numpy columns named
after the ``elasticc`` models; it knows nothing about the database (see loading.py).

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
"""
from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

FLUX_SCALE = 10 ** ((31.4 - 27.5) / 2.5)
DETECTION_BIT = 4096
ID_STRIDE = 100_000
END_OF_OBJECT_MJD = -777.0
BANDS = ("u", "g", "r", "i", "z", "Y")

HEAD_SUFFIXES = ("_HEAD.FITS.gz", "_HEAD.FITS")
PHOT_SUFFIXES = ("_PHOT.FITS.gz", "_PHOT.FITS")
DUMP_SUFFIX = ".DUMP"


class SnanaError(Exception):
    """A file that cannot be read; str() is one line that starts with the file's name."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


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


_OBJECT_RULES = {"sentinel": _missing_if_negative_sentinel, "mag": _missing_magnitude,
                 "ra": _missing_ra, "dec": _missing_dec}


def _object_column_map() -> list[tuple[str, str, str]]:
    """(diaObject field, HEAD column, rule) for every nullable diaObject column."""
    cols = [("mwebv", "MWEBV", "sentinel"), ("mwebv_err", "MWEBV_ERR", "sentinel"),
            ("z_final", "REDSHIFT_FINAL", "sentinel"), ("z_final_err", "REDSHIFT_FINAL_ERR", "sentinel")]
    for field_prefix, head_prefix in (("hostgal", "HOSTGAL"), ("hostgal2", "HOSTGAL2")):
        cols += [
            (f"{field_prefix}_ellipticity", f"{head_prefix}_ELLIPTICITY", "sentinel"),
            (f"{field_prefix}_sqradius", f"{head_prefix}_SQRADIUS", "sentinel"),
            (f"{field_prefix}_zspec", f"{head_prefix}_SPECZ", "sentinel"),
            (f"{field_prefix}_zspec_err", f"{head_prefix}_SPECZ_ERR", "sentinel"),
            (f"{field_prefix}_zphot", f"{head_prefix}_PHOTOZ", "sentinel"),
            (f"{field_prefix}_zphot_err", f"{head_prefix}_PHOTOZ_ERR", "sentinel"),
        ]
        cols += [(f"{field_prefix}_zphot_q{q:03d}", f"{head_prefix}_ZPHOT_Q{q:03d}", "sentinel")
                 for q in range(0, 101, 10)]
        cols += [(f"{field_prefix}_mag_{b}", f"{head_prefix}_MAG_{b}", "mag") for b in BANDS]
        cols += [(f"{field_prefix}_ra", f"{head_prefix}_RA", "ra"),
                 (f"{field_prefix}_dec", f"{head_prefix}_DEC", "dec"),
                 (f"{field_prefix}_snsep", f"{head_prefix}_SNSEP", "sentinel")]
        cols += [(f"{field_prefix}_magerr_{b}", f"{head_prefix}_MAGERR_{b}", "mag") for b in BANDS]
    return cols


OBJECT_COLUMNS = _object_column_map()
"""(diaObject field, HEAD column, null rule); a HEAD without the column gives NULL."""


# ---------------------------------------------------------------- DUMP

# DUMP columns stored as integers; every other known column is a float.
_DUMP_INT_COLUMNS = {"libid", "sim_searcheff_mask", "gentype", "non1a_index", "galid", "nobs", "nobs_saturate"}
DUMP_COLUMNS = [
    "libid", "sim_searcheff_mask", "gentype", "non1a_index", "zcmb", "zhelio", "zcmb_smear", "ra", "dec",
    "mwebv", "galid", "galzphot", "galzphoterr", "galsnsep", "galsnddlr", "rv", "av", "mu", "lensdmu",
    "peakmjd", "mjd_detect_first", "mjd_detect_last", "dtseason_peak", "peakmag_u", "peakmag_g",
    "peakmag_r", "peakmag_i", "peakmag_z", "peakmag_y", "snrmax", "snrmax2", "snrmax3", "nobs",
    "nobs_saturate",
]
"""The diaObjectTruth columns (lower-cased DUMP VARNAMES, CID becoming diaObjectId)."""


@dataclass
class DumpTable:
    """Per-object truth rows of one DUMP file, keyed by CID."""

    name: str
    rows: dict[int, tuple] = field(default_factory=dict)  # cid -> values in DUMP_COLUMNS order (None = absent)

    def merge(self, other: "DumpTable") -> None:
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
                positions = [varnames.index(c) if c in varnames else None for c in DUMP_COLUMNS]
                cid_pos = varnames.index("cid")
                continue
            if words[0] != "SN:":
                continue
            if varnames is None:
                raise SnanaError(name, f"line {lineno}: SN row before VARNAMES")
            values = words[1:]
            if len(values) != len(varnames):
                raise SnanaError(name, f"line {lineno}: {len(values)} values for {len(varnames)} columns "
                                       "(truncated?)")
            try:
                row = tuple(
                    None if pos is None else (int(values[pos]) if col in _DUMP_INT_COLUMNS else float(values[pos]))
                    for col, pos in zip(DUMP_COLUMNS, positions))
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
    object_id: np.ndarray          # int64
    ra: np.ndarray                 # float64
    decl: np.ndarray               # float64
    object_columns: dict[str, np.ndarray]  # OBJECT_COLUMNS fields, float64 with NaN for NULL
    gentype: np.ndarray | None     # int32 per object, from HEAD, or None (use the DUMP)
    point_object: np.ndarray       # int64 row index into the object arrays
    point_id: np.ndarray           # int64 SNID * ID_STRIDE + k
    mjd: np.ndarray                # float64
    band: np.ndarray               # bytes (S*) stripped band names
    photflag: np.ndarray           # int32
    flux: np.ndarray               # float32, zero point 31.4
    flux_err: np.ndarray           # float32
    genmag: np.ndarray | None      # float32 with NaN for NULL, or None when PHOT has no SIM_MAGOBS

    @property
    def n_objects(self) -> int:
        return len(self.object_id)

    @property
    def n_points(self) -> int:
        return len(self.point_id)

    @property
    def detected(self) -> np.ndarray:
        return (self.photflag & DETECTION_BIT) != 0


def _decompress(raw: bytes, name: str) -> bytes:
    if name.endswith(".gz"):
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise SnanaError(name, f"corrupt or truncated gzip data ({exc})") from None
    return raw


_TFORM_DTYPES = {"L": "i1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
_END_CARD = b"END" + b" " * 77


def _header_at(raw: bytes, offset: int, name: str) -> tuple[dict, int]:
    """(keyword -> value, offset of the data) for the FITS header starting at ``offset``.

    Only what a binary table needs: integers and quoted strings (FITS standard 4.2);
    other values are kept as their stripped text.
    """
    header: dict = {}
    pos = offset
    while True:
        card = raw[pos:pos + 80]
        if len(card) < 80:
            raise SnanaError(name, "truncated FITS header")
        pos += 80
        if card == _END_CARD:
            break
        if card[8:10] != b"= ":
            continue
        try:
            text = card[10:].decode("ascii")
        except UnicodeDecodeError:
            raise SnanaError(name, "bad FITS header (non-ASCII card)") from None
        keyword = card[:8].decode("ascii").strip()
        text = text.strip()
        if text.startswith("'"):
            closing = text.find("'", 1)
            while closing != -1 and text[closing + 1:closing + 2] == "'":  # '' is an escaped quote
                closing = text.find("'", closing + 2)
            if closing == -1:
                raise SnanaError(name, f"bad FITS header card {keyword}")
            header[keyword] = text[1:closing].replace("''", "'").rstrip()
        else:
            value = text.split("/", 1)[0].strip()
            try:
                header[keyword] = int(value)
            except ValueError:
                header[keyword] = value
    return header, offset + (pos - offset + 2879) // 2880 * 2880


def _fits_table(raw: bytes, name: str) -> np.ndarray:
    """The first extension's binary table as a numpy record array (big-endian fields).

    The table is a zero-copy numpy view of the bytes with a dtype built from
    TTYPE/TFORM. astropy.io.fits reads the same files (the tests use it as the
    independent reference) but builds Python objects per header card and column:
    about 50 ms for a 171-column HEAD table, which would dominate loading the many
    small files of a SNANA run. The size is checked against NAXIS1 x NAXIS2, so a
    truncated file is an error, never a short table.
    """
    raw = _decompress(raw, name)
    if not raw.startswith(b"SIMPLE  ="):
        raise SnanaError(name, "not a FITS file")
    try:
        primary, offset = _header_at(raw, 0, name)
        skip = abs(primary.get("BITPIX", 8)) // 8 * int(np.prod([primary.get(f"NAXIS{i}", 0)
                                                                 for i in range(1, primary.get("NAXIS", 0) + 1)]
                                                                or [0]))
        offset += (skip + 2879) // 2880 * 2880
        if offset >= len(raw):
            raise SnanaError(name, "no table extension (truncated?)")
        header, data_offset = _header_at(raw, offset, name)
        if str(header.get("XTENSION", "")).strip() != "BINTABLE":
            raise SnanaError(name, "first extension is not a binary table")
        width, n_rows = int(header["NAXIS1"]), int(header["NAXIS2"])
        fields = []
        for j in range(1, int(header["TFIELDS"]) + 1):
            form = str(header[f"TFORM{j}"]).strip()
            repeat, code = (int(form[:-1]) if form[:-1] else 1), form[-1]
            if code == "A":
                dtype = f"S{repeat}"
            elif code in _TFORM_DTYPES:
                dtype = (_TFORM_DTYPES[code], (repeat,)) if repeat != 1 else _TFORM_DTYPES[code]
            else:
                raise SnanaError(name, f"unsupported column format {form!r}")
            if f"TSCAL{j}" in header or f"TZERO{j}" in header:
                raise SnanaError(name, f"scaled column {header[f'TTYPE{j}']} is not supported")
            fields.append((str(header[f"TTYPE{j}"]).strip(), dtype))
    except KeyError as exc:
        raise SnanaError(name, f"FITS table header lacks {exc}") from None
    except ValueError as exc:
        raise SnanaError(name, f"bad FITS table header ({exc})") from None
    dtype = np.dtype(fields)
    if dtype.itemsize != width:
        raise SnanaError(name, f"row width {dtype.itemsize} from TFORMs but NAXIS1 = {width}")
    if data_offset + width * n_rows > len(raw):
        raise SnanaError(name, f"truncated FITS table ({len(raw) - data_offset} of {width * n_rows} bytes)")
    return np.frombuffer(raw, dtype=dtype, count=n_rows, offset=data_offset)


def _column(table: np.ndarray, name: str, dtype, default=None):
    if table.dtype.names and name in table.dtype.names:
        return np.asarray(table[name]).astype(dtype)
    return default


def read_pair(head_raw: bytes, head_name: str, phot_raw: bytes, phot_name: str) -> LightCurves:
    """Parse one HEAD/PHOT pair (bytes of the possibly gzipped files)."""
    head = _fits_table(head_raw, head_name)
    phot = _fits_table(phot_raw, phot_name)
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
        raise SnanaError(head_name, f"SNID {object_id[bad]}: PTROBS {first[bad]}..{last[bad]} outside the "
                                    f"{n_phot} rows of {os.path.basename(phot_name)} (truncated PHOT?)")
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
        values = _column(head, head_col, np.float64)
        if values is None:
            values = np.full(n_obj, np.nan)
        else:
            values[_OBJECT_RULES[rule](values)] = np.nan
        object_columns[field_name] = values

    gentype = _column(head, "SIM_GENTYPE", np.int32)
    if gentype is None:
        gentype = _column(head, "SIM_TYPE_INDEX", np.int32)

    return LightCurves(
        head_name=head_name, phot_name=phot_name, object_id=object_id,
        ra=head["RA"].astype(np.float64), decl=head["DEC"].astype(np.float64),
        object_columns=object_columns, gentype=gentype,
        point_object=point_object, point_id=np.repeat(object_id, counts) * ID_STRIDE + k,
        mjd=mjd, band=band, photflag=phot["PHOTFLAG"][rows].astype(np.int32),
        flux=(flux * FLUX_SCALE).astype(np.float32), flux_err=(err * FLUX_SCALE).astype(np.float32),
        genmag=genmag,
    )


def _empty(head_name: str, phot_name: str) -> LightCurves:
    i8, f8 = np.zeros(0, np.int64), np.zeros(0, np.float64)
    return LightCurves(head_name, phot_name, i8, f8, f8, {f: f8 for f, _, _ in OBJECT_COLUMNS}, None,
                       i8, i8, f8, np.zeros(0, "S1"), np.zeros(0, np.int32), np.zeros(0, np.float32),
                       np.zeros(0, np.float32), None)


# ---------------------------------------------------------------- finding pairs

@dataclass
class PairInput:
    """One HEAD/PHOT pair found in a directory or tarball, with its directory's DUMP.

    ``error`` is set instead when the pair cannot be loaded (a partner or the DUMP is
    missing, or the tarball broke); the loader reports it and carries on.
    """

    head_name: str
    phot_name: str = ""
    head: BinaryIO | Path | None = None
    phot: BinaryIO | Path | None = None
    dump: DumpTable | None = None
    error: SnanaError | None = None

    def read(self) -> LightCurves:
        try:
            head = _read_bytes(self.head)
        except OSError as exc:
            raise SnanaError(self.head_name, f"unreadable ({exc})") from None
        try:
            phot = _read_bytes(self.phot)
        except OSError as exc:
            raise SnanaError(self.phot_name, f"unreadable ({exc})") from None
        return read_pair(head, self.head_name, phot, self.phot_name)

    def close(self) -> None:
        for f in (self.head, self.phot):
            if f is not None and not isinstance(f, Path):
                f.close()


def _read_bytes(src: BinaryIO | Path) -> bytes:
    if isinstance(src, Path):
        return src.read_bytes()
    src.seek(0)
    return src.read()


def _kind(name: str) -> tuple[str, str] | None:
    """('head'|'phot'|'dump', name without the suffix), or None for other files."""
    for suffix in HEAD_SUFFIXES:
        if name.endswith(suffix):
            return "head", name[: -len(suffix)]
    for suffix in PHOT_SUFFIXES:
        if name.endswith(suffix):
            return "phot", name[: -len(suffix)]
    if name.endswith(DUMP_SUFFIX):
        return "dump", name[: -len(DUMP_SUFFIX)]
    return None


class _Pairing:
    """Matches HEAD, PHOT and DUMP members that arrive in any order (tar streams).

    Keys: ``directory`` groups a DUMP with its pairs; ``key`` (directory + file prefix)
    groups a HEAD with its PHOT.
    """

    def __init__(self):
        self.pending: dict[str, dict] = {}
        self.directory_of: dict[str, str] = {}
        self.dumps: dict[str, DumpTable | SnanaError] = {}

    def add_dump(self, directory: str, dump: DumpTable | SnanaError) -> Iterator[PairInput]:
        known = self.dumps.get(directory)
        if isinstance(known, DumpTable) and isinstance(dump, DumpTable):
            known.merge(dump)
        elif not isinstance(known, SnanaError):
            self.dumps[directory] = dump
        for key in [k for k, d in self.directory_of.items() if d == directory]:
            yield from self._ready(key)

    def add(self, kind: str, directory: str, key: str, name: str, payload) -> Iterator[PairInput]:
        self.pending.setdefault(key, {})[kind] = (name, payload)
        self.directory_of[key] = directory
        yield from self._ready(key)

    def _ready(self, key: str) -> Iterator[PairInput]:
        parts = self.pending[key]
        dump = self.dumps.get(self.directory_of[key])
        if "head" in parts and "phot" in parts and dump is not None:
            del self.pending[key], self.directory_of[key]
            (head_name, head), (phot_name, phot) = parts["head"], parts["phot"]
            if isinstance(dump, SnanaError):
                yield PairInput(head_name, phot_name, head, phot, error=dump)
            else:
                yield PairInput(head_name, phot_name, head, phot, dump)

    def leftovers(self, label_directory) -> Iterator[PairInput]:
        """Pairs that never became complete: each an error naming what is missing."""
        for key, parts in sorted(self.pending.items()):
            directory = self.directory_of[key]
            present_name = (parts.get("head") or parts.get("phot"))[0]
            gz = ".gz" if present_name.endswith(".gz") else ""
            if "head" not in parts:
                err = SnanaError(f"{key}_HEAD.FITS{gz}", "missing (its PHOT file is present)")
            elif "phot" not in parts:
                err = SnanaError(f"{key}_PHOT.FITS{gz}", "missing (its HEAD file is present)")
            else:
                err = SnanaError(f"{label_directory(directory)}/*{DUMP_SUFFIX}",
                                 f"missing: no DUMP truth table beside {os.path.basename(present_name)}")
            yield PairInput(parts["head"][0] if "head" in parts else f"{key}_HEAD.FITS{gz}",
                            parts.get("phot", ("", None))[0], parts.get("head", (None, None))[1],
                            parts.get("phot", (None, None))[1], error=err)
        self.pending.clear()
        self.directory_of.clear()


def _read_dump_or_error(stream: BinaryIO, name: str) -> DumpTable | SnanaError:
    try:
        return read_dump(stream, name)
    except SnanaError as exc:
        return exc


def iter_directory(root: Path) -> Iterator[PairInput]:
    """Pairs under a directory tree, sorted by name (DUMPs are read first per directory)."""
    pairing = _Pairing()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files = sorted(filenames, key=lambda f: (not f.endswith(DUMP_SUFFIX), f))
        for filename in files:
            path = os.path.join(dirpath, filename)
            kind = _kind(filename)
            if kind is None:
                continue
            if kind[0] == "dump":
                try:
                    with open(path, "rb") as f:
                        dump = _read_dump_or_error(f, path)
                except OSError as exc:
                    dump = SnanaError(path, f"unreadable ({exc.strerror})")
                yield from pairing.add_dump(dirpath, dump)
            else:
                yield from pairing.add(kind[0], dirpath, os.path.join(dirpath, kind[1]), path, Path(path))
        # A directory's pairs are complete once its files are listed.
        yield from pairing.leftovers(lambda d: d)


def iter_tarball(path: Path, spool_bytes: int = 32 << 20) -> Iterator[PairInput]:
    """Pairs in a (compressed) tarball, read in one streaming pass.

    The archive is never extracted: each HEAD/PHOT member is copied into a spooled
    temporary file (memory up to ``spool_bytes``, then disk) only until its partner
    and its directory's DUMP have been seen; SNANA tarballs list members in no
    particular order, so a pair may have to wait for a DUMP stored later.
    """
    pairing = _Pairing()
    label = str(path)
    try:
        with tarfile.open(path, mode="r|*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                name = f"{label}:{member.name}"
                directory = os.path.dirname(member.name)
                kind = _kind(member.name)
                if kind is None:
                    continue
                stream = tar.extractfile(member)
                if kind[0] == "dump":
                    yield from pairing.add_dump(directory, _read_dump_or_error(stream, name))
                else:
                    spool = tempfile.SpooledTemporaryFile(max_size=spool_bytes)
                    shutil.copyfileobj(stream, spool)
                    yield from pairing.add(kind[0], directory, f"{label}:{kind[1]}", name, spool)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        for pair in pairing.leftovers(lambda d: d):
            pair.close()
        yield PairInput(label, error=SnanaError(label, f"corrupt or truncated archive ({exc})"))
        return
    yield from pairing.leftovers(lambda d: f"{label}:{d}")


def iter_inputs(paths: list[Path]) -> Iterator[PairInput]:
    """Every pair in the given directories and tarballs, in argument order."""
    for path in paths:
        if path.is_dir():
            yield from iter_directory(path)
        else:
            yield from iter_tarball(path)


def count_pairs(paths: list[Path]) -> int | None:
    """Number of HEAD files (for a progress total), or None if a tarball is involved."""
    total = 0
    for path in paths:
        if not path.is_dir():
            return None
        total += sum(1 for _, _, files in os.walk(path) for f in files if f.endswith(HEAD_SUFFIXES))
    return total
