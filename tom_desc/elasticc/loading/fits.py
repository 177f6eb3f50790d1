"""A minimal FITS binary-table reader: the first extension of a (gzipped) file as numpy columns.

Only what SNANA writes is supported (FITS standard 4.2 headers, fixed-width columns,
no TSCAL/TZERO, no variable-length arrays); anything else is refused by name, never
misread. It knows nothing about SNANA's columns (see snana.py).

Why not astropy.io.fits: it reads the same files (the tests use it as the independent
reference) but builds Python objects per header card and column, about 50 ms for a
171-column HEAD table, which would dominate loading the many small files of a SNANA run.
"""

from __future__ import annotations

import gzip
import zlib

import numpy as np

from elasticc.loading.errors import SnanaError

_TFORM_DTYPES = {"L": "i1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
_END_CARD = b"END" + b" " * 77


def _decompress(raw: bytes, name: str) -> bytes:
    if name.endswith(".gz"):
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise SnanaError(name, f"corrupt or truncated gzip data ({exc})") from None
    return raw


def _header_at(raw: bytes, offset: int, name: str) -> tuple[dict, int]:
    """(keyword -> value, offset of the data) for the FITS header starting at ``offset``.

    Only what a binary table needs: integers and quoted strings (FITS standard 4.2);
    other values are kept as their stripped text.
    """
    header: dict = {}
    pos = offset
    while True:
        card = raw[pos : pos + 80]
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
            while closing != -1 and text[closing + 1 : closing + 2] == "'":  # '' is an escaped quote
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


def read_table(raw: bytes, name: str) -> np.ndarray:
    """The first extension's binary table as a numpy record array (big-endian fields).

    ``raw`` is the file's bytes, gunzipped first when ``name`` ends in .gz. The table
    is a zero-copy numpy view of the bytes with a dtype built from TTYPE/TFORM. The
    size is checked against NAXIS1 x NAXIS2, so a truncated file is an error, never a
    short table.
    """
    raw = _decompress(raw, name)
    if not raw.startswith(b"SIMPLE  ="):
        raise SnanaError(name, "not a FITS file")
    try:
        primary, offset = _header_at(raw, 0, name)
        skip = (
            abs(primary.get("BITPIX", 8))
            // 8
            * int(np.prod([primary.get(f"NAXIS{i}", 0) for i in range(1, primary.get("NAXIS", 0) + 1)] or [0]))
        )
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


def column(table: np.ndarray, name: str, dtype, default=None):
    """The column ``name`` converted to ``dtype``, or ``default`` when the table has no such column."""
    if table.dtype.names and name in table.dtype.names:
        return np.asarray(table[name]).astype(dtype)
    return default
