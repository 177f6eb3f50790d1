"""The ELAsTiCC tables.

Table and column names are those of the original DESC TOM (camelCase, quoted in
SQL), so documented queries keep working. The per-object tables are hash
partitioned on diaObjectId and the broker tables list partitioned on
classifierId; docs/architecture.md says why. Big tables carry no foreign-key
constraints: the loaders write them with COPY, and a per-row reference check on a
billion forced sources would cost more than the guarantee is worth there.
"""

from django.contrib.postgres.indexes import GistIndex
from django.db import models
from psqlextra.models import PostgresPartitionedModel
from psqlextra.types import PostgresPartitioningMethod

from elasticc.db import NextVal, RealField


class DiaObject(models.Model):
    """One simulated astrophysical object (a SNANA HEAD row)."""

    diaObjectId = models.BigIntegerField(primary_key=True)
    simVersion = models.TextField(null=True)
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
    hostgal_zphot_p50 = RealField(null=True)
    hostgal_mag_u = RealField(null=True)
    hostgal_mag_g = RealField(null=True)
    hostgal_mag_r = RealField(null=True)
    hostgal_mag_i = RealField(null=True)
    hostgal_mag_z = RealField(null=True)
    hostgal_mag_Y = RealField(null=True)
    hostgal_ra = RealField(null=True)
    hostgal_dec = RealField(null=True)
    hostgal_snsep = RealField(null=True)
    hostgal_magerr_u = RealField(null=True)
    hostgal_magerr_g = RealField(null=True)
    hostgal_magerr_r = RealField(null=True)
    hostgal_magerr_i = RealField(null=True)
    hostgal_magerr_z = RealField(null=True)
    hostgal_magerr_Y = RealField(null=True)
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
    hostgal2_zphot_p50 = RealField(null=True)
    hostgal2_mag_u = RealField(null=True)
    hostgal2_mag_g = RealField(null=True)
    hostgal2_mag_r = RealField(null=True)
    hostgal2_mag_i = RealField(null=True)
    hostgal2_mag_z = RealField(null=True)
    hostgal2_mag_Y = RealField(null=True)
    hostgal2_ra = RealField(null=True)
    hostgal2_dec = RealField(null=True)
    hostgal2_snsep = RealField(null=True)
    hostgal2_magerr_u = RealField(null=True)
    hostgal2_magerr_g = RealField(null=True)
    hostgal2_magerr_r = RealField(null=True)
    hostgal2_magerr_i = RealField(null=True)
    hostgal2_magerr_z = RealField(null=True)
    hostgal2_magerr_Y = RealField(null=True)

    class Meta:
        db_table = "elasticc_diaobject"
        indexes = [
            # Cone searches (elasticc/pages/search.py): an R-tree over the positions as points, so
            # a box around the cone reads only the objects inside it (a btree on (decl, ra)
            # would read the whole declination band).
            GistIndex(models.Func("ra", "decl", function="point"), name="elasticc_diaobject_radec"),
        ]

    def __str__(self):
        return f"diaObject {self.diaObjectId}"


class DiaSource(PostgresPartitionedModel):
    """A detection (a PHOT row with the PHOTFLAG detection bit set)."""

    class PartitioningMeta:
        method = PostgresPartitioningMethod.HASH
        key = ["diaObjectId"]

    pk = models.CompositePrimaryKey("diaObjectId", "diaSourceId")
    diaSourceId = models.BigIntegerField()
    diaObjectId = models.BigIntegerField()
    midPointTai = models.FloatField()
    filterName = models.TextField()
    ra = models.FloatField()
    decl = models.FloatField()
    psFlux = RealField()
    psFluxErr = RealField()
    snr = RealField()
    # Columns of the original's diaSource that SNANA's PHOT files do not carry: null unless
    # a file has them (elasticc/loading/snana.py). nobs is a float, as in the original.
    ccdVisitId = models.BigIntegerField(null=True)
    parentDiaSourceId = models.BigIntegerField(null=True)
    nobs = models.FloatField(null=True)

    class Meta:
        db_table = "elasticc_diasource"
        indexes = [
            models.Index(fields=["diaSourceId"], name="elasticc_diasource_id"),
            models.Index(fields=["diaObjectId", "midPointTai"], name="elasticc_diasource_obj_time"),
            models.Index(fields=["midPointTai"], name="elasticc_diasource_time"),
        ]


class DiaForcedSource(PostgresPartitionedModel):
    """A forced photometry point (every PHOT row)."""

    class PartitioningMeta:
        method = PostgresPartitioningMethod.HASH
        key = ["diaObjectId"]

    pk = models.CompositePrimaryKey("diaObjectId", "diaForcedSourceId")
    diaForcedSourceId = models.BigIntegerField()
    diaObjectId = models.BigIntegerField()
    midPointTai = models.FloatField()
    filterName = models.TextField()
    psFlux = RealField()
    psFluxErr = RealField()
    # The original's forced-source columns that SNANA's PHOT files do not carry (null unless present).
    ccdVisitId = models.BigIntegerField(null=True)
    totFlux = RealField(null=True)
    totFluxErr = RealField(null=True)

    class Meta:
        db_table = "elasticc_diaforcedsource"
        indexes = [
            models.Index(fields=["diaForcedSourceId"], name="elasticc_diaforcedsource_id"),
            models.Index(fields=["diaObjectId", "midPointTai"], name="elasticc_diaforced_obj_time"),
        ]


class DiaAlert(PostgresPartitionedModel):
    """One alert per source; alertSentTimestamp is null until Kafka confirmed delivery.

    ``midPointTai`` repeats the source's time so that "unsent alerts up to day X" is one
    index range scan (the partial index below) instead of a join. Its column is
    ``"alertMidPointTai"``, not ``"midPointTai"``: the original's table has no such column,
    and SQL written for it joins alerts to sources and names ``"midPointTai"`` unqualified,
    which a second column of that name would make ambiguous. The Python name stays, so
    the ORM, the REST filters and the alert row list read as before (docs/alerts.md).
    """

    class PartitioningMeta:
        method = PostgresPartitioningMethod.HASH
        key = ["diaObjectId"]

    pk = models.CompositePrimaryKey("diaObjectId", "alertId")
    alertId = models.BigIntegerField()
    diaSourceId = models.BigIntegerField()
    diaObjectId = models.BigIntegerField()
    midPointTai = models.FloatField(db_column="alertMidPointTai")
    alertSentTimestamp = models.DateTimeField(null=True)

    class Meta:
        db_table = "elasticc_diaalert"
        indexes = [
            models.Index(fields=["alertId"], name="elasticc_diaalert_id"),
            models.Index(fields=["diaSourceId"], name="elasticc_diaalert_source"),
            models.Index(fields=["alertSentTimestamp"], name="elasticc_diaalert_sent"),
            models.Index(
                fields=["midPointTai"],
                name="elasticc_diaalert_unsent_time",
                condition=models.Q(alertSentTimestamp__isnull=True),
            ),
        ]


class DiaTruth(PostgresPartitionedModel):
    """Simulation truth for each source."""

    class PartitioningMeta:
        method = PostgresPartitioningMethod.HASH
        key = ["diaObjectId"]

    pk = models.CompositePrimaryKey("diaObjectId", "diaSourceId")
    diaSourceId = models.BigIntegerField()
    diaObjectId = models.BigIntegerField()
    mjd = models.FloatField()
    detect = models.BooleanField()
    gentype = models.IntegerField()
    genmag = RealField(null=True)

    class Meta:
        db_table = "elasticc_diatruth"
        indexes = [models.Index(fields=["diaSourceId"], name="elasticc_diatruth_source")]


class DiaObjectTruth(models.Model):
    """Simulation truth for each object: the SNANA DUMP row, columns lower-cased."""

    diaObjectId = models.BigIntegerField(primary_key=True)
    libid = models.IntegerField(null=True)
    sim_searcheff_mask = models.IntegerField(null=True)
    gentype = models.IntegerField()
    non1a_index = models.IntegerField(null=True)
    # The original's names: sim_template_index is SNANA's NON1A_INDEX / SIM_TEMPLATE_INDEX,
    # galnmatch its GALNMATCH / HOSTGAL_NMATCH (elasticc/loading/snana.py).
    sim_template_index = models.IntegerField(null=True)
    galnmatch = models.IntegerField(null=True)
    zcmb = RealField(null=True)
    zhelio = RealField(null=True)
    zcmb_smear = RealField(null=True)
    ra = models.FloatField(null=True)
    dec = models.FloatField(null=True)
    mwebv = RealField(null=True)
    galid = models.BigIntegerField(null=True)
    galzphot = RealField(null=True)
    galzphoterr = RealField(null=True)
    galsnsep = RealField(null=True)
    galsnddlr = RealField(null=True)
    rv = RealField(null=True)
    av = RealField(null=True)
    mu = RealField(null=True)
    lensdmu = RealField(null=True)
    peakmjd = models.FloatField(null=True)
    mjd_detect_first = models.FloatField(null=True)
    mjd_detect_last = models.FloatField(null=True)
    dtseason_peak = RealField(null=True)
    peakmag_u = RealField(null=True)
    peakmag_g = RealField(null=True)
    peakmag_r = RealField(null=True)
    peakmag_i = RealField(null=True)
    peakmag_z = RealField(null=True)
    peakmag_Y = RealField(null=True)
    snrmax = RealField(null=True)
    snrmax2 = RealField(null=True)
    snrmax3 = RealField(null=True)
    nobs = models.IntegerField(null=True)
    nobs_saturate = models.IntegerField(null=True)

    class Meta:
        db_table = "elasticc_diaobjecttruth"
        indexes = [models.Index(fields=["gentype"], name="elasticc_objtruth_gentype")]


class GentypeOfClassId(models.Model):
    """classId -> the SNANA gentypes that are exactly it (null gentype where none is)."""

    classId = models.IntegerField()
    gentype = models.IntegerField(null=True)
    description = models.TextField()

    class Meta:
        db_table = "elasticc_gentypeofclassid"
        indexes = [
            models.Index(fields=["classId"], name="elasticc_gtoc_classid"),
            models.Index(fields=["gentype"], name="elasticc_gtoc_gentype"),
        ]


class ClassIdOfGentype(models.Model):
    """gentype -> its exact classId, its category and its broad class, flagged."""

    classId = models.IntegerField()
    gentype = models.IntegerField()
    exactmatch = models.BooleanField()
    categorymatch = models.BooleanField()
    description = models.TextField()

    class Meta:
        db_table = "elasticc_classidofgentype"
        indexes = [
            models.Index(fields=["classId"], name="elasticc_coge_classid"),
            models.Index(fields=["gentype"], name="elasticc_coge_gentype"),
        ]


class BrokerClassifier(models.Model):
    """A (broker, version, classifier, parameters) combination.

    Inserting a row creates the classifier's partitions of the broker message and
    classification tables (a trigger, migration 0003), so no ingest path can meet
    a classifier without its partitions.
    """

    classifierId = models.BigAutoField(primary_key=True)
    brokerName = models.TextField()
    brokerVersion = models.TextField()
    classifierName = models.TextField()
    classifierParams = models.TextField()
    modified = models.DateTimeField(auto_now=True)
    # Who made the ingest register it ("rest:<username>" or "kafka:<broker config name>"; null
    # for rows inserted otherwise): the per-broker cap on new classifiers counts these
    # (elasticc/stream/ingest.py, docs/brokerpoll.md).
    registeredBy = models.TextField(null=True)

    class Meta:
        db_table = "elasticc_brokerclassifier"
        constraints = [
            models.UniqueConstraint(
                fields=["brokerName", "brokerVersion", "classifierName", "classifierParams"],
                name="elasticc_brokerclassifier_unique",
            )
        ]

    def __str__(self):
        return f"{self.brokerName} {self.brokerVersion} {self.classifierName} {self.classifierParams}"


class BrokerMessage(PostgresPartitionedModel):
    """One broker's classification message about one alert.

    (topicName, kafkaPartition, streamMessageId) say where it came from on Kafka
    (null for messages PUT over REST); a classifier classifies an alert once, so
    (classifierId, alertId) is unique and re-delivery stores nothing new.
    """

    class PartitioningMeta:
        method = PostgresPartitioningMethod.LIST
        key = ["classifierId"]

    pk = models.CompositePrimaryKey("classifierId", "brokerMessageId")
    brokerMessageId = models.BigIntegerField(db_default=NextVal("elasticc_brokermessage_id_seq"))
    classifierId = models.BigIntegerField()
    streamMessageId = models.BigIntegerField(null=True)
    topicName = models.TextField(null=True)
    kafkaPartition = models.IntegerField(null=True)
    alertId = models.BigIntegerField()
    diaSourceId = models.BigIntegerField()
    msgHdrTimestamp = models.DateTimeField(null=True)
    descIngestTimestamp = models.DateTimeField(db_default=models.functions.Now())
    elasticcPublishTimestamp = models.DateTimeField(null=True)
    brokerIngestTimestamp = models.DateTimeField(null=True)
    modified = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        db_table = "elasticc_brokermessage"
        constraints = [
            models.UniqueConstraint(fields=["classifierId", "alertId"], name="elasticc_brokermessage_once"),
        ]
        indexes = [
            models.Index(fields=["brokerMessageId"], name="elasticc_brokermessage_id"),
            models.Index(fields=["alertId"], name="elasticc_brokermessage_alert"),
            models.Index(fields=["diaSourceId"], name="elasticc_brokermessage_source"),
            models.Index(fields=["descIngestTimestamp"], name="elasticc_brokermessage_ingest"),
        ]


class BrokerClassification(PostgresPartitionedModel):
    """One (classId, probability) pair of a broker message."""

    class PartitioningMeta:
        method = PostgresPartitioningMethod.LIST
        key = ["classifierId"]

    pk = models.CompositePrimaryKey("classifierId", "classificationId")
    classificationId = models.BigIntegerField(db_default=NextVal("elasticc_brokerclassification_id_seq"))
    classifierId = models.BigIntegerField()
    brokerMessageId = models.BigIntegerField()
    classId = models.IntegerField()
    probability = RealField()
    modified = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        db_table = "elasticc_brokerclassification"
        indexes = [
            models.Index(fields=["brokerMessageId"], name="elasticc_brokerclass_msg"),
            models.Index(fields=["classId"], name="elasticc_brokerclass_classid"),
        ]


# ---- Kafka ingest bookkeeping (brokerpoll; see docs/brokerpoll.md) ----------------------


class KafkaOffset(models.Model):
    """The next offset to read for a consumer group's partition, kept in the database.

    brokerpoll writes it in the same transaction as the messages it stored, and seeks
    to it when a partition is assigned, so a crash at any moment neither loses nor
    repeats a message. Kafka's own committed offsets are only a copy for monitoring.
    """

    pk = models.CompositePrimaryKey("groupId", "topic", "partition")
    groupId = models.TextField()
    topic = models.TextField()
    partition = models.IntegerField()
    nextOffset = models.BigIntegerField()
    # The topic's id (Kafka topic UUID) the offset refers to: a topic deleted and recreated
    # under the same name (a broker that lost its data) has a new id, and offsets of the old
    # one mean nothing there.
    topicId = models.TextField(null=True)
    updated = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        db_table = "elasticc_kafkaoffset"


class BrokerDeadLetter(models.Model):
    """A Kafka message brokerpoll could not decode or validate, kept with the reason."""

    id = models.BigAutoField(primary_key=True)
    pollerName = models.TextField()
    groupId = models.TextField()
    topic = models.TextField()
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    msgHdrTimestamp = models.DateTimeField(null=True)
    key = models.BinaryField(null=True)
    value = models.BinaryField(null=True)
    reason = models.TextField()
    created = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        db_table = "elasticc_brokerdeadletter"
        indexes = [
            models.Index(fields=["topic", "partition", "offset"], name="elasticc_deadletter_where"),
            models.Index(fields=["created"], name="elasticc_deadletter_created"),
        ]


class BrokerPollStatus(models.Model):
    """The heartbeat of one brokerpoll consumer (one per process and configured broker)."""

    pollerId = models.TextField(primary_key=True)  # "<broker name>@<host>:<pid>"
    pollerName = models.TextField()
    host = models.TextField()
    pid = models.IntegerField()
    groupId = models.TextField()
    topics = models.TextField()
    state = models.TextField()  # starting | running | broker unavailable | database unavailable | stopped
    started = models.DateTimeField()
    lastPoll = models.DateTimeField()
    messagesStored = models.BigIntegerField(default=0)
    classificationsStored = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    deadLettered = models.BigIntegerField(default=0)
    lag = models.BigIntegerField(null=True)

    class Meta:
        db_table = "elasticc_brokerpollstatus"
        indexes = [models.Index(fields=["lastPoll"], name="elasticc_pollstatus_lastpoll")]
