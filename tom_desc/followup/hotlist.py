"""The "hot transients" page's list: TOM-known objects detected in a window of simulated days,
one row each with its detections in the window, its latest detection and its brightest one (AB),
sorted on the server by any of them, a page at a time; and each shown object's recent forced
photometry for its sparkline (sparklines.py).

The simulation's "now" is by default the latest detection the TOM knows (the alert stream's
clock), not the wall clock: simulated MJDs are years away from today's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.db import connection

AB_ZP = 31.4  # psflux is in nJy
PAGE_SIZE = 100
SPARK_DAYS = 60.0  # a sparkline shows this many days up to "now"

# Sort keys of the page (query string ?sort=) and the ORDER BY each means; ties by object id.
SORTS = {
    "latest": "h.latest DESC, h.diaobject_id",
    "-latest": "h.latest ASC, h.diaobject_id",
    "brightest": "h.peak_flux DESC, h.diaobject_id",
    "-brightest": "h.peak_flux ASC, h.diaobject_id",
    "detections": "h.n_detections DESC, h.diaobject_id",
    "-detections": "h.n_detections ASC, h.diaobject_id",
    "objectid": "h.diaobject_id ASC",
    "-objectid": "h.diaobject_id DESC",
}
DEFAULT_SORT = "latest"

# The latest detection known to the TOM: a backward probe of elasticc2_diasource_time in each
# partition.
SIMULATED_NOW_SQL = "SELECT max(midpointtai) FROM elasticc2_diasource"

# Detections in [since, until] per object (elasticc2_diasource_time in each partition), then the
# page's rows of them with the object's position.
HOT_SQL = """
WITH hot AS (
    SELECT s.diaobject_id, count(*) AS n_detections, max(s.midpointtai) AS latest,
           max(s.psflux) AS peak_flux,
           (array_agg(s.filtername ORDER BY s.psflux DESC))[1] AS peak_band
    FROM elasticc2_diasource s
    WHERE s.midpointtai >= %(since)s AND s.midpointtai <= %(until)s
    GROUP BY s.diaobject_id
)
SELECT h.diaobject_id, o.ra, o.decl, h.n_detections, h.latest, h.peak_flux, h.peak_band,
       count(*) OVER () AS total
FROM hot h JOIN elasticc2_diaobject o ON o.diaobject_id = h.diaobject_id
ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s
"""

# How many objects were detected in [since, until] (for a page past the last one).
COUNT_SQL = """
SELECT count(DISTINCT s.diaobject_id) FROM elasticc2_diasource s
WHERE s.midpointtai >= %(since)s AND s.midpointtai <= %(until)s
"""

# The shown objects' forced points of the sparkline's window (elasticc2_diaforced_obj_time).
SPARK_SQL = """
SELECT diaobject_id, midpointtai, filtername, psflux FROM elasticc2_diaforcedsource
WHERE diaobject_id = ANY(%(object_ids)s::bigint[]) AND midpointtai >= %(since)s AND midpointtai <= %(until)s
ORDER BY diaobject_id, midpointtai
"""


def magnitude(flux: float | None) -> float | None:
    return AB_ZP - 2.5 * math.log10(flux) if flux and flux > 0 else None


@dataclass
class HotRow:
    diaobject_id: int
    ra: float
    dec: float
    n_detections: int
    latest: float
    peak_mag: float | None
    peak_band: str
    points: list[tuple[float, str, float]] = field(default_factory=list)  # (mjd, band, flux)


@dataclass
class HotPage:
    rows: list[HotRow]
    total: int
    since: float
    until: float
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def simulated_now() -> float | None:
    with connection.cursor() as cursor:
        cursor.execute(SIMULATED_NOW_SQL)
        return cursor.fetchone()[0]


def hot_page(since: float, until: float, sort: str = DEFAULT_SORT, page: int = 1) -> HotPage:
    order = SORTS.get(sort, SORTS[DEFAULT_SORT])
    params = {"since": since, "until": until, "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}
    with connection.cursor() as cursor:
        cursor.execute(HOT_SQL.format(order=order), params)
        found = cursor.fetchall()
        rows = [HotRow(r[0], r[1], r[2], r[3], r[4], magnitude(r[5]), r[6]) for r in found]
        if found:
            total = found[0][7]
        else:
            cursor.execute(COUNT_SQL, params)
            total = cursor.fetchone()[0]
        if rows:
            by_id = {r.diaobject_id: r for r in rows}
            cursor.execute(SPARK_SQL, {"object_ids": list(by_id), "since": until - SPARK_DAYS, "until": until})
            for object_id, mjd, band, flux in cursor.fetchall():
                by_id[object_id].points.append((mjd, band, flux))
    return HotPage(rows, total, since, until, page)
