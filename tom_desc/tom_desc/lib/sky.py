"""Positions on the sky for cone searches: reading RA/Dec as astronomers write them, and the SQL
that finds what lies within a radius using a GiST index on ``point(ra, decl)``.

Why boxes first: an R-tree over points answers "inside this box" by reading only the objects
inside it, whatever the table's size; the exact angular distance then trims the box's corners.
A cone crossing RA 0/360 needs two boxes, and one holding a pole needs every RA. Imports no app
(tom_desc/lib).
"""

from __future__ import annotations

import math


class PositionError(ValueError):
    """A position or radius that cannot be searched; the message says which and why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _plain_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def parse_ra(text: str) -> float:
    """Right ascension in degrees from ``187.5`` (degrees), ``12:30:00`` / ``12 30 00`` /
    ``12h30m00s`` (hours, as RA is written sexagesimally) or ``187d30m`` / ``187.5deg`` (degrees);
    in [0, 360), 360 read as 0."""
    text = (text or "").strip()
    if not text:
        raise PositionError("ra", "ra is required: degrees (187.5) or hours (12:30:00, 12h30m00s).")
    value = _plain_number(text)
    if value is None:
        value = _angle(text, "ra", hours=not any(mark in text.lower() for mark in ("d", "°")))
    if not math.isfinite(value) or not 0 <= value <= 360:
        raise PositionError("ra", f"ra must be from 0 to 360 degrees (24 hours); got {text}.")
    return value % 360.0


def parse_dec(text: str) -> float:
    """Declination in degrees from ``-45.5`` or ``-45:30:00`` / ``-45d30m00s``; in [-90, 90]."""
    text = (text or "").strip()
    if not text:
        raise PositionError("dec", "dec is required: degrees (-45.5) or sexagesimal (-45:30:00).")
    value = _plain_number(text)
    if value is None:
        value = _angle(text, "dec", hours=False)
    if not math.isfinite(value) or not -90 <= value <= 90:
        raise PositionError("dec", f"dec must be from -90 to 90 degrees; got {text}.")
    return value


def _angle(text: str, field: str, hours: bool) -> float:
    from astropy import units as u
    from astropy.coordinates import Angle

    try:
        angle = Angle(text, unit=u.hourangle if hours else u.deg)
    except (ValueError, TypeError, u.UnitsError) as exc:
        raise PositionError(field, f"{field}: cannot read {text!r} as an angle ({exc}).") from None
    if not angle.isscalar:
        raise PositionError(field, f"{field}: give one angle, not {text!r}.")
    return float(angle.to_value(u.deg))


def parse_radius(text: str, max_arcsec: float) -> float:
    """A radius in arcseconds, more than 0 and at most `max_arcsec`."""
    value = _plain_number((text or "").strip())
    if value is None or not math.isfinite(value):
        raise PositionError("radius", f"radius must be a number of arcseconds; got {text!r}.")
    if not 0 < value <= max_arcsec:
        raise PositionError("radius", f"radius must be more than 0 and at most {max_arcsec:g} arcsec; got {text}.")
    return value


def ra_ranges(ra: float, dec: float, radius_deg: float) -> list[tuple[float, float]]:
    """RA intervals within [0, 360] that hold every point within `radius_deg` of (ra, dec)."""
    if abs(dec) + radius_deg >= 89.999:
        return [(0.0, 360.0)]  # the cone holds a pole (or nearly): every RA
    ratio = math.sin(math.radians(radius_deg)) / math.cos(math.radians(dec))
    half = math.degrees(math.asin(min(1.0, ratio)))
    lo, hi = ra - half, ra + half
    if lo < 0:
        return [(0.0, hi), (lo + 360.0, 360.0)]
    if hi > 360:
        return [(lo, 360.0), (0.0, hi - 360.0)]
    return [(lo, hi)]


def cone_sql(ra: float, dec: float, radius_arcsec: float, ra_col: str = "ra", dec_col: str = "decl"):
    """(where, distance, where_params, distance_params): a WHERE clause of boxes on
    ``point(ra_col, dec_col)`` (written exactly as the GiST index's expression, so the planner
    uses it) and the exact distance in arcseconds (haversine, an SQL expression), each with its
    parameters."""
    radius = radius_arcsec / 3600.0
    boxes = ra_ranges(ra, dec, radius)
    where = " OR ".join([f"point({ra_col}, {dec_col}) <@ box(point(%s, %s), point(%s, %s))"] * len(boxes))
    params: list[float] = []
    for lo, hi in boxes:
        params += [lo, dec - radius, hi, dec + radius]
    distance = (
        f"3600 * degrees(2 * asin(LEAST(1, sqrt(power(sin(radians({dec_col} - %s) / 2), 2)"
        f" + cos(radians({dec_col})) * cos(radians(%s)) * power(sin(radians({ra_col} - %s) / 2), 2)))))"
    )
    return f"({where})", distance, params, [dec, dec, ra]


def angular_distance_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """The haversine distance in arcseconds (what cone_sql computes), for checks."""
    d_dec = math.radians(dec2 - dec1)
    d_ra = math.radians(ra2 - ra1)
    a = math.sin(d_dec / 2) ** 2 + math.cos(math.radians(dec1)) * math.cos(math.radians(dec2)) * math.sin(d_ra / 2) ** 2
    return 3600 * math.degrees(2 * math.asin(min(1.0, math.sqrt(a))))
