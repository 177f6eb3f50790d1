"""Broker metrics, materialized by `manage.py refresh_metrics` (brokermetrics/refresh.py).

The pages read only these small tables; computing them means joining every broker message
with its alert and truth, which is minutes of work at full scale and so is done ahead of
time. A "window" is the UTC calendar day on which the alerts were sent (`day`); a null
`day` is the all-time window. docs/pages.md defines each metric.

Every row belongs to a campaign (``campaign``: "elasticc" or "elasticc2", brokermetrics/
campaigns.py): each campaign numbers its classifiers on its own, so a classifierId means
something only with its campaign. The database default "elasticc" keeps a previous release's
refresh (which names no campaign) writing ELAsTiCC's rows during a rollout.
"""

from django.db import models


def campaign_field():
    return models.TextField(db_default="elasticc")


class MetricsRefresh(models.Model):
    """One run of refresh_metrics: the pages say how fresh their numbers are."""

    started = models.DateTimeField()
    finished = models.DateTimeField(null=True)
    classifiers = models.IntegerField(default=0)
    messages = models.BigIntegerField(default=0)

    class Meta:
        db_table = "brokermetrics_refresh"
        indexes = [models.Index(fields=["-finished"], name="brokermetrics_refresh_finished")]


class AlertsSentPerDay(models.Model):
    """Alerts sent per UTC day of alertSentTimestamp: the denominator of completeness."""

    campaign = campaign_field()
    day = models.DateField()
    alerts = models.BigIntegerField()

    class Meta:
        db_table = "brokermetrics_alertssentperday"
        constraints = [models.UniqueConstraint(fields=["campaign", "day"], name="brokermetrics_sentperday_once")]


class AlertsSentPerMjd(models.Model):
    """Sent alerts per simulated day: floor(midPointTai) of the alert's source."""

    campaign = campaign_field()
    mjd = models.IntegerField()
    alerts = models.BigIntegerField()

    class Meta:
        db_table = "brokermetrics_alertssentpermjd"
        constraints = [models.UniqueConstraint(fields=["campaign", "mjd"], name="brokermetrics_sentpermjd_once")]


class ClassifierTotals(models.Model):
    """Every message a classifier sent, whatever its alert, and when they arrived."""

    campaign = campaign_field()
    classifierId = models.BigIntegerField()
    messages = models.BigIntegerField()
    firstIngest = models.DateTimeField(null=True)
    lastIngest = models.DateTimeField(null=True)

    class Meta:
        db_table = "brokermetrics_classifiertotals"
        constraints = [models.UniqueConstraint(fields=["campaign", "classifierId"], name="brokermetrics_totals_once")]


class ClassifierWindow(models.Model):
    """Completeness and delay quantiles of one classifier in one window.

    alertsSent: alerts sent in the window; alertsClassified: how many of them this
    classifier sent a message about (one per alert at most). Delays are
    descIngestTimestamp - alertSentTimestamp in seconds, over the classified alerts.
    """

    campaign = campaign_field()
    classifierId = models.BigIntegerField()
    day = models.DateField(null=True)
    alertsSent = models.BigIntegerField()
    alertsClassified = models.BigIntegerField()
    delayP50 = models.FloatField(null=True)
    delayP90 = models.FloatField(null=True)
    delayP99 = models.FloatField(null=True)
    delayMax = models.FloatField(null=True)

    class Meta:
        db_table = "brokermetrics_classifierwindow"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "classifierId", "day"], nulls_distinct=False, name="brokermetrics_window_once"
            ),
        ]

    @property
    def completeness(self) -> float | None:
        return self.alertsClassified / self.alertsSent if self.alertsSent else None


class DelayBin(models.Model):
    """How many classified alerts of a window had a delay in bin `bin` (refresh.DELAY_EDGES)."""

    campaign = campaign_field()
    classifierId = models.BigIntegerField()
    day = models.DateField(null=True)
    bin = models.SmallIntegerField()
    count = models.BigIntegerField()

    class Meta:
        db_table = "brokermetrics_delaybin"
        indexes = [models.Index(fields=["campaign", "classifierId", "day"], name="brokermetrics_delay_window")]


class ConfusionCell(models.Model):
    """Messages whose alert's object is truly `trueClassId` and that the classifier
    classified as `predClassId` (its most probable class), at `level` "exact" or
    "category" (ELAsTiCC2 also "general" and "broad"). trueClassId is null where the object
    has no (known) truth."""

    campaign = campaign_field()
    classifierId = models.BigIntegerField()
    day = models.DateField(null=True)
    level = models.TextField()
    trueClassId = models.IntegerField(null=True)
    predClassId = models.IntegerField()
    count = models.BigIntegerField()

    class Meta:
        db_table = "brokermetrics_confusioncell"
        indexes = [
            models.Index(fields=["campaign", "classifierId", "level", "day"], name="brokermetrics_confusion_win")
        ]
