"""Loading SNANA light curves into a campaign's tables with COPY.

Which tables and column names a campaign has is its ``LoadTarget`` (campaigns.py): the
ELAsTiCC tables (``elasticc``, the default) or the ELAsTiCC2 ppdb tables and truth
(``elasticc2``). The rows of a pair are built once, under ELAsTiCC's column names, and
each target renames them; everything below is the same for every campaign.

One HEAD/PHOT pair is one unit of work and one transaction:

1. parse the pair (snana.read_pair) -- in a background thread, overlapping the
   database work on the previous pair;
2. in one transaction, take the loader's advisory lock (two loaders never interleave
   on the same objects), and ask which of the pair's objects are already in the
   campaign's object table (one primary-key probe per object);
3. COPY the new objects and everything that belongs to them -- objects, forced
   sources (every point), sources (detections), one unsent alert per source,
   per-source truth and the DUMP's per-object truth -- straight into the real tables
   in PostgreSQL's binary COPY format, built with numpy by copy.py (no per-row Python).

Why this is idempotent and still fast: an object and all of its rows are written in
the same transaction, so "object present" means "everything of the object present".
Re-running on the same files finds every object present and writes nothing; the
common first load pays only the primary-key probe, not a staging table and an
``INSERT ... ON CONFLICT`` per row (which roughly halves COPY throughput). If rows of
a "new" object exist anyway (written by something else than this loader, or the
same SNID twice in one pair), the direct COPY fails on a primary key; the pair is
then retried through temporary staging tables with ``ON CONFLICT DO NOTHING``, and
the rows that already existed are counted as skipped.

A file that cannot be read fails its own pair before anything is written; the
transaction guarantees that a pair is stored completely or not at all. Other pairs
still load, and the report lists the failures.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
from django.db import IntegrityError, connection, transaction

from elasticc.loading import inputs, snana
from elasticc.loading.campaigns import ELASTICC, SUMMARY_ORDER, TABLES, LoadTarget
from elasticc.loading.copy import Column, copy_binary, copy_binary_staged
from elasticc.loading.errors import SnanaError
from elasticc.loading.inputs import PairInput
from elasticc.loading.snana import LightCurves

# pg_advisory_xact_lock key of the loader: 'SNAN' as a 32-bit integer.
ADVISORY_LOCK_KEY = 0x534E414E

# An object with more photometry rows than this lies in a deep-drilling field (the original's
# rule for ELAsTiCC2's isddf: PTROBS_MAX - PTROBS_MIN + 1 > 1000); its alerts go to topics of
# their own. ELAsTiCC's tables have no such column.
DDF_MIN_POINTS = 1000


# ---------------------------------------------------------------- rows of a pair


@dataclass
class PairRows:
    """The COPY columns of one pair's new objects, per table."""

    columns: dict[str, list[Column]]

    def count(self, table: str) -> int:
        cols = self.columns[table]
        return len(cols[0].values) if cols else 0


def pair_rows(lc: LightCurves, dump: snana.DumpTable, keep: np.ndarray, sim_version: str | None = None) -> PairRows:
    """Columns for the objects selected by the boolean mask ``keep`` (over HEAD rows)."""
    obj_idx = np.flatnonzero(keep)
    point_keep = keep[lc.point_object]
    object_id = lc.object_id[obj_idx]

    # Gentype per object: HEAD, else the DUMP.
    if lc.gentype is not None:
        gentype_by_row = lc.gentype
    else:
        gentype_by_row = np.array(
            [
                dump.rows[int(i)][snana.DUMP_COLUMNS.index("gentype")] if int(i) in dump.rows else -1
                for i in lc.object_id
            ],
            dtype=np.int32,
        )
        unknown = np.flatnonzero((gentype_by_row < 0) & keep)
        if len(unknown):
            raise SnanaError(
                lc.head_name, f"SNID {lc.object_id[unknown[0]]}: no SIM_TYPE_INDEX in HEAD and no row in {dump.name}"
            )

    n_points = np.bincount(lc.point_object, minlength=lc.n_objects)
    objects = [
        Column("diaObjectId", "int8", object_id),
        Column("isddf", "bool", n_points[obj_idx] > DDF_MIN_POINTS),
        Column("ra", "float8", lc.ra[obj_idx]),
        Column("decl", "float8", lc.decl[obj_idx]),
    ]
    if sim_version is not None:
        objects.append(Column("simVersion", "text", np.full(len(obj_idx), sim_version.encode())))
    objects += [
        Column(name, "float4", values[obj_idx].astype(np.float32)) for name, values in lc.object_columns.items()
    ]

    p_obj = lc.point_object[point_keep]
    p_id = lc.point_id[point_keep]
    p_objid = lc.object_id[p_obj]
    mjd = lc.mjd[point_keep]
    band = lc.band[point_keep]
    flux = lc.flux[point_keep]
    err = lc.flux_err[point_keep]
    forced = [
        Column("diaForcedSourceId", "int8", p_id),
        Column("diaObjectId", "int8", p_objid),
        Column("midPointTai", "float8", mjd),
        Column("filterName", "text", band),
        Column("psFlux", "float4", flux, null=np.zeros(len(p_id), bool)),
        Column("psFluxErr", "float4", err, null=np.zeros(len(p_id), bool)),
    ]

    det = lc.detected[point_keep]
    s_obj = p_obj[det]
    s_id = p_id[det]
    s_objid = p_objid[det]
    s_mjd = mjd[det]
    s_flux, s_err = flux[det], err[det]
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = (s_flux / s_err).astype(np.float32)
    not_null = np.zeros(len(s_id), bool)
    sources = [
        Column("diaSourceId", "int8", s_id),
        Column("diaObjectId", "int8", s_objid),
        Column("midPointTai", "float8", s_mjd),
        Column("filterName", "text", band[det]),
        Column("ra", "float8", lc.ra[s_obj]),
        Column("decl", "float8", lc.decl[s_obj]),
        Column("psFlux", "float4", s_flux, null=not_null),
        Column("psFluxErr", "float4", s_err, null=not_null),
        Column("snr", "float4", snr, null=not_null),
    ]
    alerts = [
        Column("alertId", "int8", s_id),
        Column("diaSourceId", "int8", s_id),
        Column("diaObjectId", "int8", s_objid),
        Column("alertMidPointTai", "float8", s_mjd),
    ]
    genmag = lc.genmag[point_keep][det] if lc.genmag is not None else np.full(len(s_id), np.nan, np.float32)
    truth = [
        Column("diaSourceId", "int8", s_id),
        Column("diaObjectId", "int8", s_objid),
        Column("mjd", "float8", s_mjd),
        Column("detect", "bool", np.ones(len(s_id), bool)),
        Column("gentype", "int4", gentype_by_row[s_obj].astype(np.int32)),
        Column("genmag", "float4", genmag),
    ]
    return PairRows(
        {
            "objects": objects,
            "forced_sources": forced,
            "sources": sources,
            "alerts": alerts,
            "truth": truth,
            "object_truth": _object_truth_columns(
                object_id, dump, {name: values[obj_idx] for name, values in lc.head_truth.items()}
            ),
        }
    )


def _object_truth_columns(
    object_id: np.ndarray, dump: snana.DumpTable, head_truth: dict[str, np.ndarray]
) -> list[Column]:
    """The DUMP rows of these objects; a column the DUMP lacks comes from the HEAD when it has
    one (`head_truth`: snana.HEAD_TRUTH columns, aligned with `object_id`)."""
    present = [k for k, i in enumerate(object_id) if int(i) in dump.rows]
    ids = [int(object_id[k]) for k in present]
    rows = [dump.rows[i] for i in ids]
    columns = [Column("diaObjectId", "int8", np.array(ids, dtype=np.int64))]
    for j, name in enumerate(snana.DUMP_COLUMNS):
        raw = [r[j] for r in rows]
        if name in head_truth:
            raw = [int(head_truth[name][k]) if v is None else v for v, k in zip(raw, present)]
        null = np.array([v is None for v in raw], dtype=bool)
        if name in {"galid"}:
            kind, dtype = "int8", np.int64
        elif name in snana.DUMP_INT_COLUMNS:
            kind, dtype = "int4", np.int32
        elif name in {"ra", "dec", "peakmjd", "mjd_detect_first", "mjd_detect_last"}:
            kind, dtype = "float8", np.float64
        else:
            kind, dtype = "float4", np.float32
        values = np.array([0 if v is None else v for v in raw], dtype=dtype)
        columns.append(Column(name, kind, values, null=null))
    return columns


# ---------------------------------------------------------------- the load


@dataclass
class Count:
    added: int = 0
    skipped: int = 0


@dataclass
class LoadReport:
    """What a load did: rows added/skipped per table, pairs loaded and failures."""

    counts: dict[str, Count] = field(default_factory=lambda: {t: Count() for t in TABLES})
    pairs_loaded: int = 0
    failures: list[SnanaError] = field(default_factory=list)
    seconds: float = 0.0
    target: LoadTarget = ELASTICC

    @property
    def rows_added(self) -> int:
        return sum(c.added for c in self.counts.values())

    def summary(self) -> str:
        """One line; ELAsTiCC's reads as it always did, another campaign's names its tables first."""
        c = self.counts
        parts = [f"{c[t].added} ({c[t].skipped}) {words}" for t, words in SUMMARY_ORDER if t in self.target.tables]
        text = "" if self.target is ELASTICC else f"{self.target.description}: "
        text += (
            f"{self.pairs_loaded} file pairs loaded in {self.seconds:.1f} s; added (skipped as already present): "
            + ", ".join(parts)
        )
        if self.failures:
            text += f"; {len(self.failures)} file pairs FAILED"
        return text

    def progress_text(self) -> str:
        """Rows added so far and their rate, for a progress bar."""
        rate = self.rows_added / self.seconds if self.seconds else 0.0
        return f"{self.rows_added:,} rows, {rate:,.0f} rows/s"

    def failure_text(self) -> str:
        """One line naming the first failed pair and how many more failed (the command's exit error)."""
        more = f" (and {len(self.failures) - 1} more file pairs failed)" if len(self.failures) > 1 else ""
        return f"{self.failures[0]}{more}"


def load_pair(
    lc: LightCurves, dump: snana.DumpTable, sim_version: str | None = None, target: LoadTarget = ELASTICC
) -> dict[str, Count]:
    """Store one parsed pair atomically in `target`'s tables; returns the rows added and skipped per table."""
    tables = [t for t in TABLES if t in target.tables]
    counts = {t: Count() for t in TABLES}
    if lc.n_objects == 0:
        return counts
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor, for COPY
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        cursor.execute(target.present_sql(), [lc.object_id.tolist()])
        present = np.isin(lc.object_id, np.array([r[0] for r in cursor.fetchall()], dtype=np.int64))
        if present.any():
            old = pair_rows(lc, dump, present, sim_version)
            for t in tables:
                counts[t].skipped += old.count(t)
        if present.all():
            return counts
        new = pair_rows(lc, dump, ~present, sim_version)
        try:
            with transaction.atomic():
                for t in tables:
                    counts[t].added = copy_binary(cursor, target.tables[t], target.columns(new.columns[t]))
        except (IntegrityError, psycopg.errors.UniqueViolation):
            # Rows of "new" objects already exist (see the module docstring): go row by row.
            for t in tables:
                inserted = copy_binary_staged(cursor, target.tables[t], target.columns(new.columns[t]))
                counts[t].added = inserted
                counts[t].skipped += new.count(t) - inserted
    return counts


def _missing_value(exc: psycopg.errors.NotNullViolation, pair: PairInput, target: LoadTarget) -> SnanaError:
    """A required column the files gave no value for, as a one-line error naming the file
    (the DUMP for object truth, else the HEAD). PostgreSQL names a partition: map it back."""
    table = exc.diag.table_name or "?"
    logical = target.table_of(table) or next(
        (name for name, real in target.tables.items() if table.startswith(f"{real}_")), None
    )
    file = pair.dump.name if logical == "object_truth" and pair.dump is not None else pair.head_name
    return SnanaError(
        file,
        f"no value for {target.tables.get(logical, table)}.{exc.diag.column_name}, which {target.description} "
        "require (a column missing from the file?); nothing of the pair was loaded",
    )


_DONE = object()


def _parsed_pairs(paths: list[Path]) -> Iterator[tuple[PairInput, LightCurves | None, SnanaError | None]]:
    """(pair, light curves or None, error or None), parsed one pair ahead in a thread.

    Decompressing and parsing the next pair overlaps the COPY of the current one
    (numpy, zlib, bz2 and the socket all release the GIL).
    """
    out: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce():
        try:
            for pair in inputs.iter_inputs(paths):
                if stop.is_set():
                    pair.close()
                    break
                if pair.error is not None:
                    item = (pair, None, pair.error)
                else:
                    try:
                        item = (pair, pair.read(), None)
                    except SnanaError as exc:
                        item = (pair, None, exc)
                    finally:
                        pair.close()
                while not stop.is_set():
                    try:
                        out.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # handed to the consumer, which re-raises it
            out.put(exc)
        finally:
            out.put(_DONE)

    thread = threading.Thread(target=produce, name="snana-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                out.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()


def missing_truth(lc: LightCurves, pair: PairInput) -> SnanaError | None:
    """An error naming the DUMP when it has no row for some of the pair's objects.

    SNANA writes a DUMP row for every simulated object, so a missing one means a DUMP cut
    short (at a line break, which parses cleanly) or one from another simulation. Loading
    the pair anyway would store objects without truth for good: a re-run skips objects
    already present.
    """
    if lc.n_objects == 0 or pair.dump is None:
        return None
    known = np.fromiter(pair.dump.rows.keys(), dtype=np.int64, count=len(pair.dump.rows))
    missing = lc.object_id[~np.isin(lc.object_id, known)]
    if len(missing) == 0:
        return None
    return SnanaError(
        pair.dump.name,
        f"no row for {len(missing)} of the {lc.n_objects} objects of "
        f"{pair.head_name} (first: {int(missing[0])}); truncated, or not this "
        "directory's DUMP? Nothing of the pair was loaded",
    )


def progress_bar_callback(bar) -> Callable[[PairInput, LoadReport], None]:
    """A ``progress`` for ``load`` that advances a tqdm bar by one pair and shows the rows added and their rate."""

    def progress(pair: PairInput, report: LoadReport) -> None:
        bar.update(1)
        bar.set_postfix_str(report.progress_text(), refresh=False)

    return progress


def load(
    paths: Iterable[str | Path],
    sim_version: str | None = None,
    progress: Callable[[PairInput, LoadReport], None] | None = None,
    target: LoadTarget = ELASTICC,
) -> LoadReport:
    """Load every HEAD/PHOT pair under ``paths`` (directories or tarballs) into `target`'s tables.

    ``progress`` is called after each pair (loaded or failed) with the report so far.
    """
    paths = inputs.existing_paths(paths)
    report = LoadReport(target=target)
    if sim_version is None:
        sim_version = target.default_sim_version
    start = time.perf_counter()
    for pair, lc, error in _parsed_pairs(paths):
        if error is None:
            error = missing_truth(lc, pair)
        if error is None:
            try:
                counts = load_pair(lc, pair.dump, sim_version, target)
            except SnanaError as exc:
                error = exc
            except psycopg.errors.NotNullViolation as exc:
                error = _missing_value(exc, pair, target)
            else:
                report.pairs_loaded += 1
                for t in TABLES:
                    report.counts[t].added += counts[t].added
                    report.counts[t].skipped += counts[t].skipped
        if error is not None:
            report.failures.append(error)
        report.seconds = time.perf_counter() - start
        if progress is not None:
            progress(pair, report)
    report.seconds = time.perf_counter() - start
    return report
