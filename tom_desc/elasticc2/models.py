"""The ELAsTiCC2 tables, as SQL sees them in the original DESC TOM's elasticc2 app.

Names are the original's: tables ``elasticc2_<model>``, columns lower-case snake case
(``diaobject_id``, ``midpointtai``, ``decl`` on objects and sources, ``dec`` in truth),
so analysts' SQL keeps working. Two families share their columns:

- ``ppdb*``: the whole simulation, loaded ahead of time, including what has not been
  streamed yet (the stand-in for LSST's Prompt Products Database);
- the TOM-known tables (``diaobject``, ``diasource``, ``diaforcedsource``): what the
  alert stream has made public.

Partitioning follows the ELAsTiCC tables (docs/architecture.md, "ELAsTiCC2"): the
per-object tables are hash partitioned on ``diaobject_id``; broker messages are list
partitioned on ``classifier_id``, one message a row with its classifications in two
parallel arrays. No foreign keys on the big tables (the loaders write with COPY).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Now
from django.db.models.lookups import Exact
from psqlextra.models import PostgresPartitionedModel
from psqlextra.types import PostgresPartitioningMethod

from elasticc.db import NextVal, RealField


class ObjectColumns(models.Model):
    """A diaObject (a SNANA HEAD row): position, extinction, redshift, two host galaxies."""

    diaobject_id = models.BigIntegerField(primary_key=True)
    isddf = models.BooleanField(db_default=False)  # in a deep-drilling field (own alert topics)
    simversion = models.TextField(null=True)
    ra = models.FloatField()
    decl = models.FloatField()
    mwebv = RealField(null=True)
    mwebv_err = RealField(null=True)
    z_final = RealField(null=True)
    z_final_err = RealField(null=True)
    hostgal_ellipticity = RealField(null=True)
    hostgal_sqradius = RealField(null=True)
    hostgal_zspec = RealField(null=True)
    hostgal_zspec_err = RealField(null=True)
    hostgal_zphot = RealField(null=True)
    hostgal_zphot_err = RealField(null=True)
    hostgal_zphot_q000 = RealField(null=True)
    hostgal_zphot_q010 = RealField(null=True)
    hostgal_zphot_q020 = RealField(null=True)
    hostgal_zphot_q030 = RealField(null=True)
    hostgal_zphot_q040 = RealField(null=True)
    hostgal_zphot_q050 = RealField(null=True)
    hostgal_zphot_q060 = RealField(null=True)
    hostgal_zphot_q070 = RealField(null=True)
    hostgal_zphot_q080 = RealField(null=True)
    hostgal_zphot_q090 = RealField(null=True)
    hostgal_zphot_q100 = RealField(null=True)
    hostgal_mag_u = RealField(null=True)
    hostgal_mag_g = RealField(null=True)
    hostgal_mag_r = RealField(null=True)
    hostgal_mag_i = RealField(null=True)
    hostgal_mag_z = RealField(null=True)
    hostgal_mag_y = RealField(null=True)
    hostgal_ra = RealField(null=True)
    hostgal_dec = RealField(null=True)
    hostgal_snsep = RealField(null=True)
    hostgal_magerr_u = RealField(null=True)
    hostgal_magerr_g = RealField(null=True)
    hostgal_magerr_r = RealField(null=True)
    hostgal_magerr_i = RealField(null=True)
    hostgal_magerr_z = RealField(null=True)
    hostgal_magerr_y = RealField(null=True)
    hostgal2_ellipticity = RealField(null=True)
    hostgal2_sqradius = RealField(null=True)
    hostgal2_zspec = RealField(null=True)
    hostgal2_zspec_err = RealField(null=True)
    hostgal2_zphot = RealField(null=True)
    hostgal2_zphot_err = RealField(null=True)
    hostgal2_zphot_q000 = RealField(null=True)
    hostgal2_zphot_q010 = RealField(null=True)
    hostgal2_zphot_q020 = RealField(null=True)
    hostgal2_zphot_q030 = RealField(null=True)
    hostgal2_zphot_q040 = RealField(null=True)
    hostgal2_zphot_q050 = RealField(null=True)
    hostgal2_zphot_q060 = RealField(null=True)
    hostgal2_zphot_q070 = RealField(null=True)
    hostgal2_zphot_q080 = RealField(null=True)
    hostgal2_zphot_q090 = RealField(null=True)
    hostgal2_zphot_q100 = RealField(null=True)
    hostgal2_mag_u = RealField(null=True)
    hostgal2_mag_g = RealField(null=True)
    hostgal2_mag_r = RealField(null=True)
    hostgal2_mag_i = RealField(null=True)
    hostgal2_mag_z = RealField(null=True)
    hostgal2_mag_y = RealField(null=True)
    hostgal2_ra = RealField(null=True)
    hostgal2_dec = RealField(null=True)
    hostgal2_snsep = RealField(null=True)
    hostgal2_magerr_u = RealField(null=True)
    hostgal2_magerr_g = RealField(null=True)
    hostgal2_magerr_r = RealField(null=True)
    hostgal2_magerr_i = RealField(null=True)
    hostgal2_magerr_z = RealField(null=True)
    hostgal2_magerr_y = RealField(null=True)

    class Meta:
        abstract = True


class SourceColumns(models.Model):
    """A detection: a PHOT row with the detection bit set (its id is the forced source's)."""

    diasource_id = models.BigIntegerField()
    diaobject_id = models.BigIntegerField()
    midpointtai = models.FloatField()
    filtername = models.TextField()
    ra = models.FloatField()
    decl = models.FloatField()
    psflux = RealField()
    psfluxerr = RealField()
    snr = RealField()

    class Meta:
        abstract = True


class ForcedSourceColumns(models.Model):
    """A forced-photometry point: every PHOT row of an object."""

    diaforcedsource_id = models.BigIntegerField()
    diaobject_id = models.BigIntegerField()
    midpointtai = models.FloatField()
    filtername = models.TextField()
    psflux = RealField()
    psfluxerr = RealField()

    class Meta:
        abstract = True


def _cone_index(name: str) -> GistIndex:
    """Cone searches: an R-tree over positions as points (a box on the index, then the exact
    angular distance), as on elasticc_diaobject."""
    return GistIndex(models.Func("ra", "decl", function="point"), name=name)


def _per_object_indexes(prefix: str, id_column: str) -> list[models.Index]:
    """The id lookup (REST detail, 16 probes) and the per-object time order (light curves,
    alert history windows) every source-like table needs. (Index names: 30 characters at most.)"""
    return [
        models.Index(fields=[id_column], name=f"{prefix}_id"),
        models.Index(fields=["diaobject_id", "midpointtai"], name=f"{prefix}_obj_time"),
    ]


# ---- the simulation (PPDB) -----------------------------------------------------------


class PpdbDiaObject(ObjectColumns):
    """Every simulated object, streamed or not."""

    class Meta:
        db_table = "elasticc2_ppdbdiaobject"
        indexes = [_cone_index("elasticc2_ppdbobj_radec")]

    @classmethod
    def sent(cls) -> models.QuerySet:
        """Objects with at least one sent alert (the rule: PpdbAlert.sent_of)."""
        return cls.objects.filter(Exists(PpdbAlert.sent_of(OuterRef("diaobject_id"))))


class PpdbDiaSource(PostgresPartitionedModel, SourceColumns):
    class PartitioningMeta:
        method = PostgresPartitioningMethod.HASH
        key = ["diaobject_id"]

    pk = models.CompositePrimaryKey("diaobject_id", "diasource_id")

    class Meta:
        db_table = "elasticc2_ppdbdiasource"
        indexes = [
            *_per_object_indexes("elasticc2_ppdbsrc", "diasource_id"),
            models.Index(fields=["midpointtai"], name="elasticc2_ppdbsrc_time"),
        ]

    @classmethod
    def sent(cls) -> models.QuerySet:
        """Sources the stream has made public: at or before their object's latest sent alert."""
        return cls.objects.filter(Exists(PpdbAlert.sent_of(OuterRef("diaobject_id"), OuterRef("midpointtai"))))


class PpdbDiaForcedSource(PostgresPartitionedModel, ForcedSourceColumns):
    class PartitioningMeta:
        method = PostgresPartitioningMethod.HASH
        key = ["diaobject_id"]

    pk = models.CompositePrimaryKey("diaobject_id", "diaforcedsource_id")

    class Meta:
        db_table = "elasticc2_ppdbdiaforcedsource"
        indexes = _per_object_indexes("elasticc2_ppdbfrc", "diaforcedsource_id")

    @classmethod
    def sent(cls) -> models.QuerySet:
        """Forced points the stream has made public: at or before their object's latest sent alert."""
        return cls.objects.filter(Exists(PpdbAlert.sent_of(OuterRef("diaobject_id"), OuterRef("midpointtai"))))


class PpdbAlert(PostgresPartitionedModel):
    """One alert per source; alertsenttimestamp stays null until Kafka confirmed delivery.

    ``midpointtai`` (not in the original) repeats the source's time, so that "unsent
    alerts up to simulated day X" is one scan of a partial index, and an object's sent
    horizon one probe of another, with no join to the sources.
    """

    class PartitioningMeta:
        method = PostgresPartitioningMethod.HASH
        key = ["diaobject_id"]

    pk = models.CompositePrimaryKey("diaobject_id", "alert_id")
    alert_id = models.BigIntegerField()
    diasource_id = models.BigIntegerField()
    diaobject_id = models.BigIntegerField()
    midpointtai = models.FloatField()
    alertsenttimestamp = models.DateTimeField(null=True)

    class Meta:
        db_table = "elasticc2_ppdbalert"
        indexes = [
            models.Index(fields=["alert_id"], name="elasticc2_ppdbalert_id"),
            models.Index(fields=["diasource_id"], name="elasticc2_ppdbalert_source"),
            models.Index(fields=["alertsenttimestamp"], name="elasticc2_ppdbalert_sent"),
            # The sender: unsent alerts up to a simulated day.
            models.Index(
                fields=["midpointtai"],
                name="elasticc2_ppdbalert_unsent",
                condition=Q(alertsenttimestamp__isnull=True),
            ),
            # The sent rule (sent_of): an object's sent alerts at or after a time, answered from
            # the index alone. An object's alerts in general: the primary key's diaobject_id prefix.
            models.Index(
                fields=["diaobject_id", "midpointtai"],
                name="elasticc2_ppdbalert_horizon",
                condition=Q(alertsenttimestamp__isnull=False),
            ),
        ]

    @classmethod
    def sent(cls) -> models.QuerySet:
        return cls.objects.filter(alertsenttimestamp__isnull=False)

    @classmethod
    def sent_of(cls, diaobject_id, midpointtai=None) -> models.QuerySet:
        """The sent alerts of an object, at or after `midpointtai` when given.

        This is the whole "sent" rule of the ppdb tables: a row is public once an alert of
        its object at or after its time was sent, i.e. it lies at or before the object's
        sent horizon (the latest sent alert's midpointtai). That is what the stream has
        revealed, since an alert carries its object and earlier photometry; it is also
        what the original copied into its TOM-known tables. Served by
        elasticc2_ppdbalert_horizon inside the object's partition.
        """
        alerts = cls.objects.filter(diaobject_id=diaobject_id, alertsenttimestamp__isnull=False)
        return alerts if midpointtai is None else alerts.filter(midpointtai__gte=midpointtai)

    @classmethod
    def sent_horizon(cls, diaobject_id: int) -> float | None:
        """The midpointtai of the object's latest sent alert (None before its first)."""
        return cls.sent_of(diaobject_id).aggregate(horizon=models.Max("midpointtai"))["horizon"]


class DiaObjectTruth(models.Model):
    """Simulation truth of each object: its SNANA DUMP row, columns lower-cased."""

    diaobject_id = models.BigIntegerField(primary_key=True)
    libid = models.IntegerField()
    sim_searcheff_mask = models.IntegerField()
    gentype = models.IntegerField()
    sim_template_index = models.IntegerField()  # the DUMP's NON1A_INDEX
    zcmb = RealField()
    zhelio = RealField()
    zcmb_smear = RealField()
    ra = models.FloatField()
    dec = models.FloatField()
    mwebv = RealField()
    galid = models.BigIntegerField(null=True)
    galzphot = RealField(null=True)
    galzphoterr = RealField(null=True)
    galsnsep = RealField(null=True)
    galsnddlr = RealField(null=True)
    rv = RealField()
    av = RealField()
    mu = RealField()
    lensdmu = RealField()
    peakmjd = RealField()
    mjd_detect_first = models.FloatField()
    mjd_detect_last = models.FloatField()
    dtseason_peak = RealField()
    peakmag_u = RealField()
    peakmag_g = RealField()
    peakmag_r = RealField()
    peakmag_i = RealField()
    peakmag_z = RealField()
    peakmag_y = RealField()
    snrmax = RealField()
    snrmax2 = RealField()
    snrmax3 = RealField()
    nobs = models.IntegerField()
    nobs_saturate = models.IntegerField()

    class Meta:
        db_table = "elasticc2_diaobjecttruth"
        # The original's indexes: analysts select objects by type, redshift and time.
        indexes = [
            models.Index(fields=[column], name=f"elasticc2_truth_{short}")
            for column, short in (
                ("gentype", "gentype"),
                ("sim_template_index", "template"),
                ("zcmb", "zcmb"),
                ("zhelio", "zhelio"),
                ("peakmjd", "peakmjd"),
                ("mjd_detect_first", "detfirst"),
                ("mjd_detect_last", "detlast"),
            )
        ]


# ---- what the stream made public (TOM-known) ------------------------------------------


class DiaObject(ObjectColumns):
    class Meta:
        db_table = "elasticc2_diaobject"
        indexes = [_cone_index("elasticc2_diaobject_radec")]


class DiaSource(PostgresPartitionedModel, SourceColumns):
    class PartitioningMeta:
        method = PostgresPartitioningMethod.HASH
        key = ["diaobject_id"]

    pk = models.CompositePrimaryKey("diaobject_id", "diasource_id")

    class Meta:
        db_table = "elasticc2_diasource"
        indexes = [
            *_per_object_indexes("elasticc2_diasource", "diasource_id"),
            # diaobject_id included: "which objects were detected in this window" (gethottransients,
            # the hot-transients page) is answered from the index alone.
            models.Index(fields=["midpointtai"], include=["diaobject_id"], name="elasticc2_diasource_time"),
        ]


class DiaForcedSource(PostgresPartitionedModel, ForcedSourceColumns):
    class PartitioningMeta:
        method = PostgresPartitioningMethod.HASH
        key = ["diaobject_id"]

    pk = models.CompositePrimaryKey("diaobject_id", "diaforcedsource_id")

    class Meta:
        db_table = "elasticc2_diaforcedsource"
        indexes = _per_object_indexes("elasticc2_diaforced", "diaforcedsource_id")


# ---- taxonomy (rows from data/taxonomy.json, see taxonomy.py) ---------------------------


class GentypeOfClassId(models.Model):
    """classId -> the SNANA gentypes that are exactly it (gentype null for a class with none)."""

    id = models.AutoField(primary_key=True)
    classid = models.IntegerField()
    gentype = models.IntegerField(null=True, unique=True)
    description = models.TextField()

    class Meta:
        db_table = "elasticc2_gentypeofclassid"
        indexes = [models.Index(fields=["classid"], name="elasticc2_gtoc_classid")]


class ClassIdOfGentype(models.Model):
    """gentype -> its exact class, category, general class and broad class, flagged."""

    id = models.AutoField(primary_key=True)
    gentype = models.IntegerField()
    classid = models.IntegerField()
    exactmatch = models.BooleanField()
    categorymatch = models.BooleanField()
    generalmatch = models.BooleanField()
    broadmatch = models.BooleanField()
    description = models.TextField()

    class Meta:
        db_table = "elasticc2_classidofgentype"
        indexes = [
            models.Index(fields=["gentype"], name="elasticc2_coge_gentype"),
            models.Index(fields=["classid"], name="elasticc2_coge_classid"),
        ]


# ---- brokers ----------------------------------------------------------------------------


class BrokerClassifier(models.Model):
    """A (broker, version, classifier, parameters) combination of ELAsTiCC2.

    Registering one creates its partition of elasticc2_brokermessage in the same
    transaction (trigger of migration 0003). Unique, nulls counting as equal (the
    original allowed null versions and parameters), so concurrent ingest registers a
    classifier once with INSERT ... ON CONFLICT.
    """

    classifier_id = models.BigAutoField(primary_key=True)
    brokername = models.CharField(max_length=100)
    brokerversion = models.TextField(null=True)
    classifiername = models.CharField(max_length=200)
    classifierparams = models.TextField(null=True)
    modified = models.DateTimeField(auto_now=True, db_default=Now())
    # Not in the original: who made the ingest register it ("rest:<user>", "kafka:<broker>"),
    # what the per-broker cap on new classifiers counts (elasticc/stream/admission.py).
    registeredby = models.TextField(null=True)

    class Meta:
        db_table = "elasticc2_brokerclassifier"
        constraints = [
            models.UniqueConstraint(
                fields=["brokername", "brokerversion", "classifiername", "classifierparams"],
                name="elasticc2_brokerclassifier_unique",
                nulls_distinct=False,
            )
        ]

    def __str__(self):
        return f"{self.brokername} {self.brokerversion} {self.classifiername} {self.classifierparams}"


class BrokerMessage(PostgresPartitionedModel):
    """One broker message about one alert, its classifications as two parallel arrays.

    classid[i] has probability[i]; a message of 20 classifications is one row instead of
    20 (the original's layout since its migration 0022). (topicname, kafkapartition,
    streammessage_id) say where it was read on Kafka; REST pushes have topic
    ``REST_push`` and offset -1 as in the original. A classifier classifies an alert
    once: (classifier_id, alert_id) is unique, so a redelivered Kafka message or a
    resent REST PUT stores nothing new (the original, lacking the key, stored repeats).
    """

    class PartitioningMeta:
        method = PostgresPartitioningMethod.LIST
        key = ["classifier_id"]

    pk = models.CompositePrimaryKey("classifier_id", "brokermessage_id")
    brokermessage_id = models.BigIntegerField(db_default=NextVal("elasticc2_brokermessage_id_seq"))
    streammessage_id = models.BigIntegerField(null=True)
    topicname = models.CharField(max_length=200, null=True)
    kafkapartition = models.IntegerField(null=True)  # not in the original: an offset is per partition
    alert_id = models.BigIntegerField()
    diasource_id = models.BigIntegerField()
    msghdrtimestamp = models.DateTimeField(null=True)
    descingesttimestamp = models.DateTimeField(db_default=Now())
    elasticcpublishtimestamp = models.DateTimeField(null=True)
    brokeringesttimestamp = models.DateTimeField(null=True)
    classifier_id = models.BigIntegerField()
    classid = ArrayField(models.SmallIntegerField())
    probability = ArrayField(RealField())

    class Meta:
        db_table = "elasticc2_brokermessage"
        constraints = [
            models.UniqueConstraint(fields=["classifier_id", "alert_id"], name="elasticc2_brokermessage_once"),
            models.CheckConstraint(
                condition=Exact(
                    models.Func("classid", function="cardinality"), models.Func("probability", function="cardinality")
                ),
                name="elasticc2_brokermessage_pairs",
            ),
        ]
        indexes = [
            models.Index(fields=["brokermessage_id"], name="elasticc2_brokermessage_id"),
            models.Index(fields=["alert_id"], name="elasticc2_brokermessage_alert"),
            models.Index(fields=["diasource_id"], name="elasticc2_brokermessage_source"),
            models.Index(fields=["descingesttimestamp"], name="elasticc2_brokermessage_ingest"),
        ]
