"""The original DESC TOM's materialized analysis views (migration 0010) and refreshing them.

A materialized view holds what its query returned when last refreshed; PostgreSQL never
refreshes one by itself. ``refresh_views`` recomputes them in dependency order (a view built
from another is refreshed after it), each in its own transaction. A view that holds data is
refreshed CONCURRENTLY (each has a unique index for that), so analysts' queries keep reading
the previous contents meanwhile; an empty one (just created) is filled plainly. An advisory
lock keeps two refreshes from running at once. ``manage.py refresh_elasticc_views`` is the
command; docs/sqlviews.md says what each view holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, transaction

# In dependency order: each view only reads tables and the views before it.
MATERIALIZED_VIEWS = (
    "elasticc_view_prevsourcecounts",
    "elasticc_view_dedupedclassifications",
    "elasticc_view_classifications_probmetrics",
    "elasticc_view_classifications_totprobpersource",
    "elasticc_view_class_max_right_in_bin",
    "elasticc_view_nobjclassified_in_timebin",
    "elasticc_view_class_max_right_hist",
    "elasticc_view_maxprobdiff",
    "elasticc_view_maxprobdiff_hist",
)
PLAIN_VIEWS = ("elasticc_view_sourceclassifications", "elasticc_view_classifiersourcetotprob")
TABLES = ("elasticc_maxprob_timebins",)

# Session advisory lock key of the refresh ("elasView" as a big-endian int64).
REFRESH_LOCK_KEY = int.from_bytes(b"elasView", "big")


class RefreshError(Exception):
    """A refresh that cannot start (another one runs, an unknown view name)."""


@dataclass
class Refreshed:
    name: str
    rows: int
    seconds: float
    concurrently: bool


def _populated(cursor, name: str) -> bool:
    cursor.execute("SELECT relispopulated FROM pg_class WHERE oid = %s::regclass", [name])
    return cursor.fetchone()[0]


def refresh_views(
    names: Iterable[str] | None = None, progress: Callable[[Refreshed], None] | None = None
) -> list[Refreshed]:
    """Refresh `names` (default: all) in dependency order; RefreshError if another refresh runs.

    Refreshing one view does not refresh the ones it reads: give them too (or none, for all).
    """
    wanted = list(MATERIALIZED_VIEWS) if names is None else list(names)
    unknown = sorted(set(wanted) - set(MATERIALIZED_VIEWS))
    if unknown:
        raise RefreshError(f"not a materialized view of the elasticc app: {', '.join(unknown)}")
    done = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [REFRESH_LOCK_KEY])
        if not cursor.fetchone()[0]:
            raise RefreshError("another refresh of the elasticc views is running; not starting a second one")
        try:
            for name in (n for n in MATERIALIZED_VIEWS if n in wanted):
                started = time.monotonic()
                with transaction.atomic():
                    concurrently = _populated(cursor, name)
                    cursor.execute(f"REFRESH MATERIALIZED VIEW {'CONCURRENTLY ' if concurrently else ''}{name}")
                    cursor.execute(f"SELECT count(*) FROM {name}")
                    rows = cursor.fetchone()[0]
                item = Refreshed(name, rows, time.monotonic() - started, concurrently)
                done.append(item)
                if progress is not None:
                    progress(item)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [REFRESH_LOCK_KEY])
    return done
