"""Reading SNANA output the tests' own way, independently of elasticc.loading: the tarball
extracted by tarfile, HEAD/PHOT pairs by name, DUMP rows as text. Shared by the ELAsTiCC and
ELAsTiCC2 loader and alert tests."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path


def extract(tarball: Path, into: Path) -> Path:
    """The tarball extracted under `into` (by the test, not by the loader)."""
    with tarfile.open(tarball) as tar:
        tar.extractall(into, filter="data")
    return into


def head_phot_pairs(root: Path) -> Iterator[tuple[Path, Path]]:
    for head in sorted(root.rglob("*_HEAD.FITS.gz")):
        yield head, head.with_name(head.name.replace("_HEAD.", "_PHOT."))


def dump_rows(root: Path) -> dict[int, dict[str, str]]:
    """Every DUMP row under `root`, keyed by CID, as {VARNAME: text}."""
    rows = {}
    for dump in root.rglob("*.DUMP"):
        names = None
        for line in dump.read_text().splitlines():
            words = line.split()
            if words[:1] == ["VARNAMES:"]:
                names = words[1:]
            elif words[:1] == ["SN:"]:
                row = dict(zip(names, words[1:], strict=True))
                rows[int(row["CID"])] = row
    return rows
