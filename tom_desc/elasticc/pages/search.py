"""Object search for the pages: browse by id, cone search, search by classification.

Every list is a keyset page (WHERE key > last key ORDER BY key LIMIT n+1): the cost of a
page does not grow with how deep it is, unlike OFFSET.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import connection

from tom_desc.lib.numbers import INT64_MIN

PAGE_SIZE = 50
MAX_RADIUS_ARCSEC = 3600.0  # cone searches up to one degree
CONE_LIMIT = 500  # nearest objects listed by a cone search


class SearchError(ValueError):
    """A search the user asked for that cannot be run (bad numbers, out of range)."""


@dataclass
class Page:
    rows: list
    next_after: int | None  # key for the next page, None on the last


def _page(rows: list, key_index: int | str, limit: int) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    if not more or not rows:
        return Page(rows, None)
    last = rows[-1]
    return Page(rows, last[key_index] if isinstance(last, (tuple, list)) else getattr(last, key_index))


def browse(after: int | None = None, limit: int = PAGE_SIZE) -> Page:
    """Objects in diaObjectId order (primary key range scan)."""
    with connection.cursor() as cur:
        cur.execute(
            'SELECT "diaObjectId", ra, decl, z_final FROM elasticc_diaobject '
            'WHERE "diaObjectId" > %s ORDER BY "diaObjectId" LIMIT %s',
            [after if after is not None else INT64_MIN, limit + 1],
        )
        return _page(cur.fetchall(), 0, limit)


def object_exists(object_id: int) -> bool:
    with connection.cursor() as cur:
        cur.execute('SELECT 1 FROM elasticc_diaobject WHERE "diaObjectId" = %s', [object_id])
        return cur.fetchone() is not None


def _ra_ranges(ra: float, dec: float, radius_deg: float) -> list[tuple[float, float]]:
    """RA intervals (in [0, 360)) that contain every point within radius of (ra, dec)."""
    if abs(dec) + radius_deg >= 89.999:
        return [(0.0, 360.0)]  # the cone holds a pole: every RA
    half = math.degrees(math.asin(min(1.0, math.sin(math.radians(radius_deg)) / math.cos(math.radians(dec)))))
    lo, hi = ra - half, ra + half
    if lo < 0:
        return [(0.0, hi), (lo + 360.0, 360.0)]
    if hi >= 360:
        return [(lo, 360.0), (0.0, hi - 360.0)]
    return [(lo, hi)]


def cone(ra: float, dec: float, radius_arcsec: float, limit: int = CONE_LIMIT) -> list[tuple]:
    """(diaObjectId, ra, decl, distance in arcsec) of objects within the radius, nearest first.

    1. Boxes in (ra, decl) that contain the cone (two across RA 0, every RA around a pole)
       select candidates through the elasticc_diaobject_radec GiST index on point(ra, decl):
       only objects inside a box are read, whatever the table size.
    2. The exact great-circle distance (haversine) trims the boxes' corners.
    """
    if not (0 <= ra < 360 and -90 <= dec <= 90):
        raise SearchError("RA must be in [0, 360) and Dec in [-90, 90] degrees.")
    if not (0 < radius_arcsec <= MAX_RADIUS_ARCSEC):
        raise SearchError(f"The radius must be more than 0 and at most {MAX_RADIUS_ARCSEC:g} arcsec.")
    r = radius_arcsec / 3600.0
    ranges = _ra_ranges(ra, dec, r)
    # The expression must be written exactly as the index's: point(ra, decl).
    box_sql = " OR ".join(["point(ra, decl) <@ box(point(%s, %s), point(%s, %s))"] * len(ranges))
    params: list = []
    for lo, hi in ranges:
        params += [lo, dec - r, hi, dec + r]
    sql = f"""
        SELECT * FROM (
            SELECT "diaObjectId", ra, decl,
                   3600 * degrees(2 * asin(sqrt(
                       power(sin(radians(decl - %s) / 2), 2)
                       + cos(radians(decl)) * cos(radians(%s)) * power(sin(radians(ra - %s) / 2), 2)))) AS dist
            FROM elasticc_diaobject
            WHERE {box_sql}
        ) box
        WHERE dist <= %s
        ORDER BY dist, "diaObjectId"
        LIMIT %s
    """
    with connection.cursor() as cur:
        cur.execute(sql, [dec, dec, ra, *params, radius_arcsec, limit])
        return cur.fetchall()


@dataclass
class ClassificationHit:
    classificationId: int
    classId: int
    probability: float
    alertId: int
    diaObjectId: int | None
    midPointTai: float | None
    ingested: object


def by_classification(
    classifier_id: int, class_id: int, min_probability: float = 0.0, after: int | None = None, limit: int = PAGE_SIZE
) -> Page:
    """A classifier's classifications of class_id with at least min_probability, each with its
    alert and object, in classificationId order (the partition's primary key)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT c."classificationId", c."classId", c.probability, m."alertId", a."diaObjectId",
                   a."alertMidPointTai", m."descIngestTimestamp"
            FROM elasticc_brokerclassification c
            JOIN elasticc_brokermessage m
              ON m."classifierId" = c."classifierId" AND m."brokerMessageId" = c."brokerMessageId"
            LEFT JOIN elasticc_diaalert a ON a."alertId" = m."alertId"
            WHERE c."classifierId" = %s AND c."classId" = %s AND c.probability >= %s
              AND c."classificationId" > %s
            ORDER BY c."classificationId"
            LIMIT %s
            """,
            [classifier_id, class_id, min_probability, after if after is not None else INT64_MIN, limit + 1],
        )
        rows = [ClassificationHit(*r) for r in cur.fetchall()]
    return _page(rows, "classificationId", limit)
