"""Answers of the TOM as pandas DataFrames and astropy Tables, with units.

Why a module of its own: every road into a table (a synchronous SQL answer, a long query's
Parquet file, a light curve or cone search served as ECSV) ends here, so the same column gets
the same unit whichever road it took. Units come from the server's ``/elasticc/columns/``
catalogue (the one place the site keeps them: fluxes in nJy, times in MJD (TAI), angles in
degrees), matched whatever the spelling: ``diaObjectId`` and ``diaobject_id`` are one column.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd
from astropy import units as u
from astropy.table import Table


def key(name: str) -> str:
    """The spelling-free form of a column name, as the server matches them."""
    return name.replace("_", "").lower()


def frame_of_columns(data: Mapping[str, list]) -> pd.DataFrame:
    """A DataFrame of ``{column: [values]}`` (the SQL answer's ``format: 1``), column order kept."""
    return pd.DataFrame(dict(data))


def describe(table: Table, catalogue: Mapping[str, Mapping[str, Any]]) -> Table:
    """Give each column of `table` without a unit the unit and description the catalogue has for
    it (in place; returned for chaining). Columns the catalogue does not know are left alone."""
    by_key = {key(name): info for name, info in catalogue.items()}
    for column in table.columns.values():
        info = by_key.get(key(column.name))
        if info is None:
            continue
        if column.unit is None and info.get("unit"):
            column.unit = u.Unit(info["unit"], parse_strict="silent")
        if not column.description and info.get("description"):
            column.description = info["description"]
        if info.get("ucd"):
            column.meta.setdefault("ucd", info["ucd"])
    return table


def has_units(table: Table) -> bool:
    """Whether the file described its columns itself (any unit or description): then its
    server's words are kept as they are, and the catalogue is not fetched."""
    return any(c.unit is not None or c.description for c in table.columns.values())


def table_of_frame(frame: pd.DataFrame, catalogue: Mapping[str, Mapping[str, Any]]) -> Table:
    """An astropy Table of a DataFrame, with units from the catalogue."""
    return describe(Table.from_pandas(frame), catalogue)


def read_table(content: bytes, fmt: str) -> Table:
    """A Table from a file the server sent: ``ecsv`` (units and descriptions in its header),
    ``parquet`` (the same in its metadata, when the server wrote them), ``votable`` or ``csv``."""
    if fmt == "ecsv":
        return Table.read(content.decode("utf-8"), format="ascii.ecsv")  # astropy reads text as data
    if fmt == "parquet":
        table = Table.read(io.BytesIO(content), format="parquet")
        # pyarrow's dataset scanner leaves worker threads behind; if they meet the interpreter's
        # final teardown, the process aborts at exit ("terminate called without an active
        # exception", apache/arrow#34314) after all the work is done. Collecting now joins them
        # while Arrow is still alive.
        gc.collect()
        return table
    if fmt == "votable":
        return Table.read(io.BytesIO(content), format="votable")
    if fmt == "csv":
        return Table.read(content.decode("utf-8"), format="ascii.csv")
    raise ValueError(f"unknown table format {fmt!r}: give ecsv, parquet, votable or csv")


def frame_of_table(table: Table) -> pd.DataFrame:
    """A DataFrame of a Table; masked values become NaN/None. The units stay in ``frame.attrs``
    (``{"units": {column: "nJy"}}``), since pandas columns have none."""
    frame = table.to_pandas()
    frame.attrs["units"] = {name: str(c.unit) for name, c in table.columns.items() if c.unit is not None}
    return frame
