"""Finding SNANA input: HEAD/PHOT pairs and their directory's DUMP, in directories or tarballs.

A SNANA model directory holds pairs ``<prefix>_HEAD.FITS.gz`` / ``<prefix>_PHOT.FITS.gz``
(uncompressed ``.FITS`` works too) and one ``<dir>.DUMP`` truth table. This module
walks directories and streams tarballs, pairs the files up and hands the loader one
``PairInput`` per pair -- or one carrying the error when a partner or the DUMP is
missing, so a broken pair fails alone. Parsing the files is snana.py's job.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from elasticc.loading.errors import SnanaError
from elasticc.loading.snana import DumpTable, LightCurves, read_dump, read_pair

HEAD_SUFFIXES = ("_HEAD.FITS.gz", "_HEAD.FITS")
PHOT_SUFFIXES = ("_PHOT.FITS.gz", "_PHOT.FITS")
DUMP_SUFFIX = ".DUMP"


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
                err = SnanaError(
                    f"{label_directory(directory)}/*{DUMP_SUFFIX}",
                    f"missing: no DUMP truth table beside {os.path.basename(present_name)}",
                )
            yield PairInput(
                parts["head"][0] if "head" in parts else f"{key}_HEAD.FITS{gz}",
                parts.get("phot", ("", None))[0],
                parts.get("head", (None, None))[1],
                parts.get("phot", (None, None))[1],
                error=err,
            )
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
                    spool = tempfile.SpooledTemporaryFile(max_size=spool_bytes)  # noqa: SIM115 (PairInput.close)
                    shutil.copyfileobj(stream, spool)
                    yield from pairing.add(kind[0], directory, f"{label}:{kind[1]}", name, spool)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        for pair in pairing.leftovers(lambda d: d):
            pair.close()
        yield PairInput(label, error=SnanaError(label, f"corrupt or truncated archive ({exc})"))
        return
    yield from pairing.leftovers(lambda d: f"{label}:{d}")


def existing_paths(paths: Iterable[str | Path]) -> list[Path]:
    """The arguments as paths, or an error naming the first that does not exist.

    Checked before anything is read, so a typo fails the whole run at once rather than
    after the other inputs have loaded.
    """
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.exists():
            raise SnanaError(str(path), "no such file or directory")
    return paths


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
