"""The follow-up tables, with the original DESC TOM's names (``elasticc2_*``), so SQL written
against it keeps working: what pipelines want spectra of, what observers plan and what they
measured, and which TOM Toolkit Target stands for an object.

They hang off ``elasticc2_diaobject`` (what the alert stream made public): a spectrum can only
be asked for, planned or reported for an object the TOM knows, which is also what keeps the
simulation's future out of them. Unlike the big per-object tables these are small and take
real foreign keys (an object is never deleted while follow-up rows point at it, except by a
cascade, as in the original).

Changes beside the original (none alters a column SQL reads):
- ``elasticc2_spectruminfo.mjd`` is ``double precision`` (the original's ``real`` rounds an MJD
  near 60000 to about 6 minutes);
- ``elasticc2_diaobjectoftarget`` has one row per object (UNIQUE ``diaobject_id``), so
  concurrent "make a Target" calls create one Target;
- ``wanttime`` and ``created_at``/``inserted_at`` default to now() in the database as well, so
  a COPY or hand-written INSERT may leave them out (the original's defaults were Python-side).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now

from elasticc.db import RealField
from elasticc2.models import DiaObject


class WantedSpectra(models.Model):
    """A pipeline's request for a spectrum of an object, one per (object, requester).

    The key is the original's text ``"<diaobject_id> ; <requester>"``: asking again for the same
    object under the same requester name replaces the priority and the time. ``user`` is who
    asked (the logged-in account), ``requester`` the name the request was made under.
    """

    wantspec_id = models.TextField(primary_key=True)
    wanttime = models.DateTimeField(db_default=Now(), db_index=True)
    diaobject = models.ForeignKey(DiaObject, on_delete=models.CASCADE, db_column="diaobject_id", related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requester = models.TextField(null=True)
    priority = models.IntegerField()  # 0 (none) ... 5 (highest)

    class Meta:
        db_table = "elasticc2_wantedspectra"

    @staticmethod
    def key(diaobject_id: int, requester: str) -> str:
        return f"{diaobject_id} ; {requester}"


class PlannedSpectra(models.Model):
    """An observer's plan to take a spectrum of an object at a facility (one per pair)."""

    reqspec_id = models.AutoField(primary_key=True)
    diaobject = models.ForeignKey(DiaObject, on_delete=models.CASCADE, db_column="diaobject_id", related_name="+")
    facility = models.TextField()
    created_at = models.DateTimeField(db_default=Now())
    plantime = models.DateTimeField(null=True)
    comment = models.TextField(default="", db_default="", blank=True)

    class Meta:
        db_table = "elasticc2_plannedspectra"
        indexes = [models.Index(fields=["diaobject", "facility"], name="elasticc2_plannedspec_objfac")]


class SpectrumInfo(models.Model):
    """What a spectrum showed: when it was taken (MJD), the redshift and the class (classId)."""

    specinfo_id = models.AutoField(primary_key=True)
    diaobject = models.ForeignKey(DiaObject, on_delete=models.CASCADE, db_column="diaobject_id", related_name="+")
    facility = models.TextField(null=True)
    inserted_at = models.DateTimeField(db_default=Now())
    mjd = models.FloatField(db_index=True)
    z = RealField(null=True)
    classid = models.IntegerField(null=True, db_index=True)

    class Meta:
        db_table = "elasticc2_spectruminfo"


class DiaObjectOfTarget(models.Model):
    """The TOM Toolkit Target made for an ELAsTiCC2 object ("make a Target"), one per object."""

    id = models.AutoField(primary_key=True)
    diaobject = models.OneToOneField(DiaObject, on_delete=models.CASCADE, db_column="diaobject_id", related_name="+")
    tomtarget = models.ForeignKey(
        "tom_targets.BaseTarget", on_delete=models.CASCADE, db_column="tomtarget_id", related_name="+"
    )

    class Meta:
        db_table = "elasticc2_diaobjectoftarget"


class LightCurve(models.Model):
    """Each TOM-known object's forced photometry as four arrays, in time order (ties by
    ``diaforcedsource_id``): what ``ltcv`` and ``gethottransients`` answer with.

    Why it exists: a 30-day window of hot transients at the campaign's density holds tens of
    thousands of objects; gathering each one's points from ``elasticc2_diaforcedsource`` (an
    index probe in its hash partition and a sort) cost about 17 µs an object, seconds for the
    window. Read from here it is one key lookup and an array slice up to ``mjd_now``.

    PostgreSQL keeps it (migration 0002): statement triggers on ``elasticc2_diaforcedsource``
    rebuild the rows of the objects each INSERT, UPDATE, DELETE or COPY touched, in the same
    transaction, and a TRUNCATE empties it; so every writer (the alert sender, a loader, a hand-
    written INSERT) keeps it right without knowing of it. Not a foreign key to the object
    table: the per-object tables take none. Not readable by the SQL roles (it repeats
    ``elasticc2_diaforcedsource``).
    """

    diaobject_id = models.BigIntegerField(primary_key=True)
    mjd = ArrayField(models.FloatField(), default=list)  # midpointtai, ascending
    band = ArrayField(models.TextField(), default=list)  # filtername
    flux = ArrayField(RealField(), default=list)  # psflux, nJy
    fluxerr = ArrayField(RealField(), default=list)  # psfluxerr, nJy

    class Meta:
        db_table = "followup_lightcurve"
