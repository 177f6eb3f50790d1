"""TOM Toolkit Targets made from ELAsTiCC2 objects, so the Toolkit's target pages, observation
records and data products can be used for them.

A Target is made once per object (``elasticc2_diaobjectoftarget`` has one row per object): named
by its diaObjectId, with the aliases ``ELAsTiCC2 <id>`` (the original's Target name) and
``ELAsTiCC2 diaObject <id>``, at the object's position, visible to every logged-in user
(``PUBLIC``: everything on it was made public by the alert stream). Its photometry is the
object's forced photometry known to the TOM (``elasticc2_diaforcedsource``) as the Toolkit's
photometry data (``PhotometryReducedDatum``, data product type ``photometry``), which the
Target page plots: a point with S/N >= 3 as an AB magnitude with its error, any other as a 3
sigma upper limit; the flux (nJy) and the forced source's id are kept in the datum's extra data.
Asking again returns the same Target and adds the points the stream has made public since.

Nothing from the simulation truth goes on a Target (Targets are visible to every logged-in user,
truth only to elasticc_admin), and only TOM-known (sent) photometry does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target
from tom_targets.permissions import targets_for_user

from elasticc2.models import DiaForcedSource, DiaObject
from followup.models import DiaObjectOfTarget
from tom_desc.lib.mjd import datetime_of

AB_ZP = 31.4  # psflux is in nJy
DETECTION_SNR = 3.0
MAG_ERR_PER_RELATIVE_FLUX = 2.5 / math.log(10)  # sigma_m = 1.0857 sigma_f / f
SOURCE_NAME = "ELAsTiCC2"
TELESCOPE = "LSST (ELAsTiCC2 simulation)"
REDUCTION = "forced photometry"
UNIT = "AB mag"


class NotKnown(Exception):
    """The TOM knows no such object (not in elasticc2_diaobject)."""


class NameTaken(Exception):
    """Another Target (not this object's) already has the name or an alias of it."""


def aliases(object_id: int) -> list[str]:
    return [f"ELAsTiCC2 {object_id}", f"ELAsTiCC2 diaObject {object_id}"]


@dataclass
class MadeTarget:
    target: Target
    object_id: int
    created: bool
    points_added: int

    def readable_by(self, user) -> bool:
        return targets_for_user(user, Target.objects.filter(pk=self.target.pk), "view_target").exists()

    def url(self, request) -> str:
        return request.build_absolute_uri(reverse("targets:detail", kwargs={"pk": self.target.pk}))

    def as_json(self, request) -> dict:
        return {
            "status": "ok",
            "objectid": self.object_id,
            "target_id": self.target.pk,
            "name": self.target.name,
            "created": self.created,
            "photometry_points_added": self.points_added,
            "url": self.url(request),
        }


def target_of(object_id: int) -> Target | None:
    link = DiaObjectOfTarget.objects.filter(diaobject_id=object_id).select_related("tomtarget").first()
    return link.tomtarget if link else None


def objects_of(target: Target) -> list[int]:
    return list(DiaObjectOfTarget.objects.filter(tomtarget=target).values_list("diaobject_id", flat=True))


def target_for_object(object_id: int) -> MadeTarget:
    """The object's Target, made if it has none; its photometry brought up to date.

    Two callers at once make one Target: the second one's INSERT of the same name waits for the
    first to commit and then fails, and it takes the link the first one wrote."""
    obj = DiaObject.objects.filter(pk=object_id).only("ra", "decl").first()
    if obj is None:
        raise NotKnown(object_id)
    with transaction.atomic():
        link = DiaObjectOfTarget.objects.select_for_update().filter(diaobject_id=object_id).first()
        created = False
        if link is None:
            try:
                with transaction.atomic():
                    target = _new_target(obj)
                    link = DiaObjectOfTarget.objects.create(diaobject_id=object_id, tomtarget=target)
                    created = True
            except (IntegrityError, ValidationError) as exc:
                link = DiaObjectOfTarget.objects.select_for_update().filter(diaobject_id=object_id).first()
                if link is None:
                    raise NameTaken(
                        f"A Target named like {object_id} (or ELAsTiCC2 {object_id}) exists and is not this "
                        f"object's: {_first_message(exc)}"
                    ) from None
        target = link.tomtarget
        added = sync_photometry(target, object_id)
    return MadeTarget(target, object_id, created, added)


def _first_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc).splitlines()[0]


def _new_target(obj: DiaObject) -> Target:
    target = Target(
        name=str(obj.diaobject_id),
        type=Target.SIDEREAL,
        ra=obj.ra,
        dec=obj.decl,
        epoch=2000.0,
        permissions=Target.Permissions.PUBLIC,
    )
    target.full_clean()  # the Toolkit's own checks, its name against other Targets' among them
    names = aliases(obj.diaobject_id)
    for name in names:  # the Toolkit saves aliases before checking them: checked here first
        clash = Target.matches.match_name(name).first()
        if clash is not None:
            raise ValidationError(f"{name!r} is taken by the Target {clash.name!r}")
    target.save(names=names)
    return target


def datum(target: Target, object_id: int, row: tuple) -> PhotometryReducedDatum | None:
    """One forced point as the Toolkit's photometry; None for a point without a usable error."""
    forced_id, mjd, band, flux, fluxerr = row
    if not (fluxerr and fluxerr > 0 and math.isfinite(flux) and math.isfinite(fluxerr)):
        return None
    detected = flux > 0 and flux >= DETECTION_SNR * fluxerr
    return PhotometryReducedDatum(
        target=target,
        timestamp=datetime_of(mjd),
        bandpass=band,
        brightness=AB_ZP - 2.5 * math.log10(flux) if detected else None,
        brightness_error=MAG_ERR_PER_RELATIVE_FLUX * fluxerr / flux if detected else None,
        limit=None if detected else AB_ZP - 2.5 * math.log10(DETECTION_SNR * fluxerr),
        unit=UNIT,
        telescope=TELESCOPE,
        source_name=SOURCE_NAME,
        source_location=reverse("elasticc2:object", kwargs={"object_id": object_id}),
        reduction_version=REDUCTION,
        value={"mjd": mjd, "flux": flux, "fluxerr": fluxerr, "flux_unit": "nJy", "diaforcedsource_id": forced_id},
    )


def sync_photometry(target: Target, object_id: int) -> int:
    """Add the object's forced points the Target lacks; how many were added."""
    have = set(
        PhotometryReducedDatum.objects.filter(target=target, source_name=SOURCE_NAME).values_list(
            "value__diaforcedsource_id", flat=True
        )
    )
    rows = (
        DiaForcedSource.objects.filter(diaobject_id=object_id)
        .order_by("midpointtai", "diaforcedsource_id")
        .values_list("diaforcedsource_id", "midpointtai", "filtername", "psflux", "psfluxerr")
    )
    new = [d for row in rows if row[0] not in have and (d := datum(target, object_id, row)) is not None]
    PhotometryReducedDatum.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)
