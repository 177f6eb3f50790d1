"""The spectrum cycle on the follow-up tables: a pipeline asks for spectra of objects, an observer
sees what is wanted, plans it, and reports what the spectrum showed (which settles the object's
requests and that facility's plan). The JSON routes (views.py) and the pages (pages.py) both
call these functions; what the original answered and where this differs is in docs/followup.md.

Writes for one object are serialized by a row lock on its ``elasticc2_diaobject`` row (FOR NO
KEY UPDATE: it waits for another plan or report of the same object, not for the sender, whose
inserts never lock existing rows, nor for the foreign-key checks of other follow-up rows), and
each call is one transaction: a failure leaves nothing half-written.

Magnitudes. The original's ``spectrawanted`` answered ``-2.5 log10(psflux) + 27``; the stored
fluxes are on the alert zero point 31.4 (nJy), so a true AB magnitude is 4.4 fainter. Both are
kept: ``mag`` as the original computed it (scripts tuned on it keep working) and ``mag_ab``
beside it. The functions here work in AB; the JSON route converts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from followup.jsonapi import UnknownObjects
from followup.lightcurves import known_objects
from followup.models import PlannedSpectra, SpectrumInfo, WantedSpectra

AB_ZP = 31.4  # psflux is in nJy
ORIGINAL_ZP = 27.0  # the original's spectrawanted magnitude
ORIGINAL_MAG_OFFSET = AB_ZP - ORIGINAL_ZP  # mag_ab = mag + 4.4
MIN_PRIORITY, MAX_PRIORITY = 0, 5
BANDS = ("u", "g", "r", "i", "z", "Y")
DETECTION_SNR = 3.0  # a "latest" point: psflux > 0 and psflux > 3 psfluxerr, as in the original

LOCK_OBJECT_SQL = "SELECT 1 FROM elasticc2_diaobject WHERE diaobject_id = %s FOR NO KEY UPDATE"

# Ask: one row per (object, requester); asking again replaces priority, time and user. The key
# text is the original's "<id> ; <requester>". The time is the statement's (one instant for the batch).
ASK_SQL = """
INSERT INTO elasticc2_wantedspectra (wantspec_id, wanttime, diaobject_id, user_id, requester, priority)
SELECT v.oid::text || ' ; ' || %(requester)s, statement_timestamp(), v.oid, %(user_id)s, %(requester)s, v.priority
FROM unnest(%(object_ids)s::bigint[], %(priorities)s::int[]) AS v(oid, priority)
ON CONFLICT (wantspec_id) DO UPDATE SET
    wanttime = EXCLUDED.wanttime, diaobject_id = EXCLUDED.diaobject_id, user_id = EXCLUDED.user_id,
    requester = EXCLUDED.requester, priority = EXCLUDED.priority
"""

# What is wanted: requests made since a time, of objects not planned (claimed) since a time, with
# no spectrum taken since an MJD, detected after an MJD; per object its highest-priority request
# (requester name as the tie-break) and per band its latest forced point with S/N > 3, the newest
# by time (the original's DISTINCT ON had no time order and took an arbitrary point). Objects with
# no such point in any band are left out, as in the original. The follow-up tables are small; the
# per-object probes use the (diaobject_id, midpointtai) indexes of the source tables, the forced
# points through a LATERAL subquery (a semi-join on a few thousand wanted objects chose a scan of
# every forced-source partition: 0.3-0.8 s on 2 million rows, hopeless on a billion).
WANTED_SQL = """
WITH wanted AS (
    SELECT DISTINCT ON (w.diaobject_id) w.diaobject_id, w.requester, w.priority
    FROM elasticc2_wantedspectra w
    WHERE w.wanttime >= %(requested_since)s
      AND NOT EXISTS (SELECT 1 FROM elasticc2_plannedspectra p
                      WHERE p.diaobject_id = w.diaobject_id AND p.created_at > %(claimed_since)s)
      AND NOT EXISTS (SELECT 1 FROM elasticc2_spectruminfo s
                      WHERE s.diaobject_id = w.diaobject_id AND s.mjd >= %(no_spectra_since)s)
      AND EXISTS (SELECT 1 FROM elasticc2_diasource d
                  WHERE d.diaobject_id = w.diaobject_id AND d.midpointtai > %(detected_after)s)
    ORDER BY w.diaobject_id, w.priority DESC, w.requester
),
latest AS (
    SELECT w.diaobject_id, l.filtername, l.midpointtai, l.psflux
    FROM wanted w
    CROSS JOIN LATERAL (
        SELECT DISTINCT ON (f.filtername) f.filtername, f.midpointtai, f.psflux
        FROM elasticc2_diaforcedsource f
        WHERE f.diaobject_id = w.diaobject_id AND f.psflux > 0 AND f.psflux > %(snr)s * f.psfluxerr
        ORDER BY f.filtername, f.midpointtai DESC, f.diaforcedsource_id DESC
    ) l
)
SELECT w.diaobject_id, o.ra, o.decl, w.requester, w.priority,
       l.filtername, l.midpointtai, %(zp)s - 2.5 * log(l.psflux::float8)
FROM wanted w
JOIN elasticc2_diaobject o ON o.diaobject_id = w.diaobject_id
JOIN latest l ON l.diaobject_id = w.diaobject_id
ORDER BY w.priority DESC, w.diaobject_id, l.filtername
"""


@dataclass
class Wanted:
    """An object someone wants a spectrum of, and its latest magnitude (AB) per band."""

    diaobject_id: int
    ra: float
    dec: float
    requester: str | None
    priority: int
    latest: dict[str, tuple[float, float]] = field(default_factory=dict)  # band: (mjd, mag AB)

    @property
    def latest_mjd(self) -> float:
        return max(mjd for mjd, _ in self.latest.values())


@dataclass(frozen=True)
class WantedQuery:
    """spectrawanted's filters, as times and MJDs (the route turns days into them)."""

    requested_since: datetime
    claimed_since: datetime  # a plan created after this claims the object
    no_spectra_since: float  # MJD: a spectrum taken at or after it settles the object
    detected_after: float  # MJD: a detection after it is needed
    lim_mag_ab: float | None = None  # the latest magnitude in lim_mag_band must be brighter
    lim_mag_band: str | None = None


def clamp_priority(priority: int) -> int:
    return min(MAX_PRIORITY, max(MIN_PRIORITY, priority))


def _lock_known(object_id: int) -> None:
    """Lock the object's row for this transaction; UnknownObjects if the TOM does not know it."""
    with connection.cursor() as cursor:
        cursor.execute(LOCK_OBJECT_SQL, [object_id])
        if cursor.fetchone() is None:
            raise UnknownObjects([object_id], original_text=True)


def ask(user_id: int, requester: str, priorities: dict[int, int]) -> int:
    """Want spectra of the objects (object id: priority, clamped to 0..5); returns rows written."""
    object_ids = list(priorities)
    unknown = set(object_ids) - known_objects(object_ids)
    if unknown:
        raise UnknownObjects(unknown)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            ASK_SQL,
            {
                "requester": requester,
                "user_id": user_id,
                "object_ids": object_ids,
                "priorities": [clamp_priority(p) for p in priorities.values()],
            },
        )
        return cursor.rowcount


def wanted(query: WantedQuery) -> list[Wanted]:
    params = {
        "requested_since": query.requested_since,
        "claimed_since": query.claimed_since,
        "no_spectra_since": query.no_spectra_since,
        "detected_after": query.detected_after,
        "snr": DETECTION_SNR,
        "zp": AB_ZP,
    }
    out: dict[int, Wanted] = {}
    with connection.cursor() as cursor:
        cursor.execute(WANTED_SQL, params)
        for object_id, ra, dec, requester, priority, band, mjd, mag_ab in cursor.fetchall():
            entry = out.setdefault(object_id, Wanted(object_id, ra, dec, requester, priority))
            entry.latest[band] = (mjd, mag_ab)
    rows = list(out.values())
    if query.lim_mag_ab is not None:
        rows = [
            w for w in rows if query.lim_mag_band in w.latest and w.latest[query.lim_mag_band][1] < query.lim_mag_ab
        ]
    return rows


def plan(object_id: int, facility: str, plantime: datetime | None, comment: str) -> PlannedSpectra:
    """Plan a spectrum of the object at the facility, replacing that facility's earlier plan."""
    with transaction.atomic():
        _lock_known(object_id)
        PlannedSpectra.objects.filter(diaobject_id=object_id, facility=facility).delete()
        return PlannedSpectra.objects.create(
            diaobject_id=object_id, facility=facility, created_at=timezone.now(), plantime=plantime, comment=comment
        )


def remove_plan(object_id: int, facility: str) -> int:
    """Drop the facility's plan for the object; how many plans were deleted (0 if none)."""
    with transaction.atomic():
        return PlannedSpectra.objects.filter(diaobject_id=object_id, facility=facility).delete()[0]


def report(object_id: int, facility: str, mjd: float, z: float | None, classid: int | None) -> SpectrumInfo:
    """Record what a spectrum showed; the facility's plan and every request for the object go."""
    with transaction.atomic():
        _lock_known(object_id)
        info = SpectrumInfo.objects.create(
            diaobject_id=object_id, facility=facility, inserted_at=timezone.now(), mjd=mjd, z=z, classid=classid
        )
        PlannedSpectra.objects.filter(diaobject_id=object_id, facility=facility).delete()
        WantedSpectra.objects.filter(diaobject_id=object_id).delete()
        return info


@dataclass(frozen=True)
class KnownQuery:
    """getknownspectruminfo's filters (all optional, bounds inclusive)."""

    object_ids: list[int] | None = None
    facility: str | None = None
    mjd_min: float | None = None
    mjd_max: float | None = None
    classid: int | None = None
    z_min: float | None = None
    z_max: float | None = None
    since: datetime | None = None


def known(query: KnownQuery):
    """The reported spectra matching the filters, by MJD (then in the order they were reported)."""
    rows = SpectrumInfo.objects.all()
    filters = {
        "diaobject_id__in": query.object_ids,
        "facility": query.facility,
        "mjd__gte": query.mjd_min,
        "mjd__lte": query.mjd_max,
        "classid": query.classid,
        "z__gte": query.z_min,
        "z__lte": query.z_max,
        "inserted_at__gte": query.since,
    }
    rows = rows.filter(**{k: v for k, v in filters.items() if v is not None})
    return rows.order_by("mjd", "specinfo_id")


def of_object(object_id: int) -> dict:
    """Everything the follow-up tables hold on one object (its page's section)."""
    return {
        "requests": list(WantedSpectra.objects.filter(diaobject_id=object_id).order_by("-priority", "requester")),
        "plans": list(PlannedSpectra.objects.filter(diaobject_id=object_id).order_by("facility")),
        "spectra": list(SpectrumInfo.objects.filter(diaobject_id=object_id).order_by("mjd", "specinfo_id")),
    }


def days_ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)
