"""Light curves of TOM-known ELAsTiCC2 objects, as the original's ``ltcv`` and
``gethottransients`` answered them, built by PostgreSQL as JSON text.

Both routes answer ``{"status": "ok", "diaobject": X}`` where X holds, per object, its forced
photometry (``elasticc2_diaforcedsource``, up to ``mjd_now`` when given; read from its per-object
copy ``followup_lightcurve``, which PostgreSQL keeps) in one of three shapes:

- format 0: ``[{"objectid", "ra", "dec", "photometry": {"mjd", "band", "flux", "fluxerr"},
  "zp": 27.5, "redshift": -99, "sncode": -99}, ...]``
- format 1: the same with ``mjd``, ``band``, ``flux``, ``fluxerr`` at the object's top level;
- format 2: one object of parallel lists, ``{"objectid": [...], "ra": [...], ..., "mjd":
  [[...], ...], ...}`` (with no objects: the same keys, empty lists).

Objects in ascending id order, points in time order; an object with no forced point (up to
``mjd_now``) is left out, as in the original. ``flux`` and ``fluxerr`` are the stored
``psflux``/``psfluxerr`` (single precision) written as PostgreSQL writes a ``real``, the shortest
decimal that reads back as the same float32 (683.8559): exactly the numbers the original sent,
whose psycopg2 read that text. They are on the alert's zero point 31.4 (nJy), although ``zp``
says 27.5, as it said there (docs/followup.md). ``redshift`` and ``sncode`` are the original's
placeholders. With ``include_hostinfo`` each object also carries the 64 host-galaxy columns of
``elasticc2_diaobject`` (``hostgal_*``, ``hostgal2_*``): scalars in formats 0 and 1, lists in
format 2.

Why PostgreSQL writes the JSON: a thousand light curves are tens of thousands of rows; building
dicts in Python and encoding them costs several times the query (bench/bench_followup.py
measures the route against one query fetching the same rows). Here the database writes each
object's JSON text (formats 0 and 1), which the view streams on as it arrives, or the whole
format-2 answer, which it sends as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection
from psycopg.adapt import Loader

from elasticc2.models import DiaObject

FORMATS = (0, 1, 2)
ORIGINAL_ZP = 27.5  # what the original's answer says (the numbers are on 31.4: module doc)
PLACEHOLDER = -99  # the original's redshift and sncode
HOST_COLUMNS = tuple(f.column for f in DiaObject._meta.concrete_fields if f.column.startswith("hostgal"))
# PostgreSQL functions take at most 100 arguments: json_build_object at most 50 pairs.
PAIRS_PER_CALL = 40
ROWS_PER_READ = 500  # objects fetched a round trip when streaming
ROWS_PER_PIECE = 2000  # objects a piece of the response (about 1 MB)

# The chosen objects' light curves from followup_lightcurve, each cut at mjd_now ('Infinity' when
# not given): its times are sorted, so width_bucket (a binary search) counts the points at or
# before mjd_now and the arrays are sliced to that many. An object without points there has no
# row or a count of 0, and drops out, as in the original.
#
# The joins are the planner's to choose. For a hot-transients window of tens of thousands of
# objects it runs them in parallel workers (the detected objects grouped per partition of
# elasticc2_diasource, their light curves probed by key, the objects read in parallel), each
# worker writing its objects' JSON, and a Gather Merge puts them in id order: at BENCH_SCALE=1
# a 30-day window (60,000 objects) took 0.43-0.45 s instead of 0.63-0.70 s when each table was
# probed per object from one process, as OFFSET 0 fences once made it (docs/benchmarks.md,
# "Follow-up reads"). ltcv's thousand objects are too few for workers: one process probes them.
LIGHT_CURVES_SQL = """
SELECT {answer} FROM ({chosen}) c
CROSS JOIN LATERAL (
    SELECT l.diaobject_id, l.mjd[1:n.k] AS mjd, l.band[1:n.k] AS band, l.flux[1:n.k] AS flux,
           l.fluxerr[1:n.k] AS fluxerr
    FROM followup_lightcurve l
    CROSS JOIN LATERAL (SELECT width_bucket(%(mjd_now)s::float8, l.mjd) AS k) n
    WHERE l.diaobject_id = c.diaobject_id AND n.k > 0
) lc
JOIN elasticc2_diaobject o ON o.diaobject_id = c.diaobject_id
"""

# ltcv: the objects asked for (each once).
ASKED_SQL = "SELECT DISTINCT unnest(%(object_ids)s::bigint[]) AS diaobject_id"

# gethottransients: objects with a detection (elasticc2_diasource) in [since, until], read from
# elasticc2_diasource_time, (midpointtai) INCLUDE (diaobject_id), in each partition: the index
# alone answers. GROUP BY, not DISTINCT: with enable_partitionwise_aggregate (on in the site's
# servers: k8s, docker-compose, devstack) each partition is grouped apart, by a parallel worker.
# The original's newest rule (an older one took forced points with S/N >= 5).
DETECTED_SQL = """
    SELECT s.diaobject_id FROM elasticc2_diasource s
    WHERE s.midpointtai >= %(since)s AND s.midpointtai <= %(until)s
    GROUP BY s.diaobject_id
"""
# ... of the given truth gentypes (cheat_gentypes; the truth is elasticc_admin's to read).
DETECTED_OF_GENTYPES_SQL = """
    SELECT s.diaobject_id FROM elasticc2_diasource s
    JOIN elasticc2_diaobjecttruth t ON t.diaobject_id = s.diaobject_id AND t.gentype = ANY(%(gentypes)s::int[])
    WHERE s.midpointtai >= %(since)s AND s.midpointtai <= %(until)s
    GROUP BY s.diaobject_id
"""

# Which known objects exist among ids asked for (the rest is an error naming them).
KNOWN_SQL = "SELECT diaobject_id FROM elasticc2_diaobject WHERE diaobject_id = ANY(%(object_ids)s::bigint[])"


@dataclass(frozen=True)
class Shape:
    return_format: int = 0
    include_hostinfo: bool = False


def _arguments(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"'{key}', {expression}" for key, expression in pairs)


def _pairs(return_format: int, host: bool) -> list[tuple[str, str]]:
    """(key, SQL expression) of one object, in the original's key order."""
    arrays = [("mjd", "lc.mjd"), ("band", "lc.band"), ("flux", "lc.flux"), ("fluxerr", "lc.fluxerr")]
    if return_format == 0:
        arrays = [("photometry", f"json_build_object({_arguments(arrays)})")]
    pairs = [
        ("objectid", "o.diaobject_id"),
        ("ra", "o.ra"),
        ("dec", "o.decl"),
        *arrays,
        ("zp", str(ORIGINAL_ZP)),
        ("redshift", str(PLACEHOLDER)),
        ("sncode", str(PLACEHOLDER)),
    ]
    if host:
        pairs += [(column, f"o.{column}") for column in HOST_COLUMNS]
    return pairs


def json_object_text(pairs: list[tuple[str, str]]) -> str:
    """SQL for the text of a JSON object with these (key, expression) pairs, in order.

    More than PAIRS_PER_CALL pairs are built by several json_build_object calls whose texts are
    joined: each is ``{...}`` exactly (json, not jsonb, keeps the order and adds no space after
    the brace), so dropping the last character of one and the first of the next joins them."""
    calls = [
        f"json_build_object({_arguments(pairs[i : i + PAIRS_PER_CALL])})::text"
        for i in range(0, len(pairs), PAIRS_PER_CALL)
    ]
    if len(calls) == 1:
        return calls[0]
    middle = [f"left({calls[0]}, -1)", *(f"substr(left({c}, -1), 2)" for c in calls[1:-1]), f"substr({calls[-1]}, 2)"]
    return "(" + " || ', ' || ".join(middle) + ")"


def streamed(shape: Shape) -> bool:
    """Formats 0 and 1 are a list of objects: sent an object at a time as PostgreSQL writes them.
    Format 2 (parallel lists) only exists whole, so it is one JSON text from the aggregate."""
    return shape.return_format in (0, 1)


def answer_sql(shape: Shape) -> str:
    """The SELECT list that turns the joined rows (lc, o) into JSON text: one object's for a
    streamed shape, else the whole format-2 answer."""
    pairs = _pairs(shape.return_format, shape.include_hostinfo)
    if streamed(shape):
        return json_object_text(pairs)
    lists = [(key, f"coalesce(json_agg({expr} ORDER BY o.diaobject_id), '[]'::json)") for key, expr in pairs]
    return json_object_text(lists)


def light_curves_sql(chosen: str, shape: Shape) -> str:
    sql = LIGHT_CURVES_SQL.format(chosen=chosen, answer=answer_sql(shape))
    return sql + "ORDER BY lc.diaobject_id\n" if streamed(shape) else sql


class _TextAsBytes(Loader):
    """JSON text as PostgreSQL sent it (UTF-8 bytes): a hot-transients answer is tens of MB,
    which decoding into a str and encoding back would copy twice for nothing."""

    def load(self, data) -> bytes:
        return bytes(data)


@contextmanager
def _bytes_cursor() -> Iterator:
    """A psycopg cursor of Django's connection that reads text as bytes (this cursor only)."""
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("text", _TextAsBytes)
        yield cursor.cursor


def _answer(sql: str, params: dict, shape: Shape) -> bytes | Iterator[bytes]:
    """The JSON text of ``diaobject``: whole for format 2, in pieces (``_stream``) otherwise."""
    if streamed(shape):
        return _stream(sql, params)
    with _bytes_cursor() as pg:
        pg.execute(sql, params)
        return pg.fetchone()[0]


def _stream(sql: str, params: dict) -> Iterator[bytes]:
    """A list of objects' JSON texts, in pieces.

    The objects' texts come through psycopg's ``stream`` (ROWS_PER_READ a round trip) and are
    handed on joined, ROWS_PER_PIECE objects a piece: PostgreSQL writes the next objects while
    the web server sends the last ones, and the web worker holds one piece, not the answer (a
    30-day window of hot transients is tens of MB; docs/benchmarks.md). Runs as the response is
    sent: a failure past the first piece cuts the answer short (the client's JSON reader
    reports it) and is logged by the web server."""
    with _bytes_cursor() as pg:
        yield b"["
        piece: list[bytes] = []
        separator = b""
        for (text,) in pg.stream(sql, params, size=ROWS_PER_READ):
            piece.append(text)
            if len(piece) == ROWS_PER_PIECE:
                yield separator + b", ".join(piece)
                piece, separator = [], b", "
        if piece:
            yield separator + b", ".join(piece)
        yield b"]"


def _until(mjd_now: float | None) -> float:
    return float("inf") if mjd_now is None else mjd_now


def known_objects(object_ids: list[int]) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(KNOWN_SQL, {"object_ids": object_ids})
        return {row[0] for row in cursor.fetchall()}


def ltcv(object_ids: list[int], mjd_now: float | None, shape: Shape) -> bytes | Iterator[bytes]:
    """The JSON text of the objects' light curves (the value of the answer's ``diaobject``)."""
    return _answer(light_curves_sql(ASKED_SQL, shape), {"object_ids": object_ids, "mjd_now": _until(mjd_now)}, shape)


def hot_transients(
    since: float, mjd_now: float | None, shape: Shape, gentypes: list[int] | None = None
) -> bytes | Iterator[bytes]:
    """The JSON text of the light curves of the objects detected in [since, mjd_now]."""
    chosen = DETECTED_SQL if gentypes is None else DETECTED_OF_GENTYPES_SQL
    params = {"since": since, "until": _until(mjd_now), "mjd_now": _until(mjd_now), "gentypes": gentypes}
    return _answer(light_curves_sql(chosen, shape), params, shape)


ANSWER_START = b'{"status": "ok", "diaobject": '


def wrap(diaobject: bytes | Iterator[bytes]) -> bytes | Iterator[bytes]:
    """The whole answer around the JSON text of ``diaobject`` (whole, or in pieces)."""
    if isinstance(diaobject, bytes):
        return ANSWER_START + diaobject + b"}"
    return _wrapped(diaobject)


def _wrapped(pieces: Iterator[bytes]) -> Iterator[bytes]:
    yield ANSWER_START
    yield from pieces
    yield b"}"
