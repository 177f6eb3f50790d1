"""Broker metrics per campaign: every metrics row names its campaign (elasticc, elasticc2).

Each campaign numbers its classifiers on its own, so the keys become (campaign, classifierId),
(campaign, day) and (campaign, mjd). The metrics tables hold nothing but what
``refresh_metrics`` computes from the broker tables, so they are dropped and made again in the
new shape rather than altered (three of them change their primary key), and the record of past
refreshes is cleared with them: until the next ``refresh_metrics`` the broker pages say that
metrics have not been computed, not that there were none. ``campaign`` defaults to
'elasticc' in the database, so the previous release's refresh, during a rollout, still writes
ELAsTiCC's rows.
"""

from django.db import migrations, models


def campaign():
    return ("campaign", models.TextField(db_default="elasticc"))


def key_id():
    return ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"))


class Migration(migrations.Migration):
    dependencies = [("brokermetrics", "0001_initial")]

    operations = [
        *[
            migrations.DeleteModel(name=name)
            for name in (
                "AlertsSentPerDay",
                "AlertsSentPerMjd",
                "ClassifierTotals",
                "ClassifierWindow",
                "ConfusionCell",
                "DelayBin",
            )
        ],
        migrations.RunSQL("DELETE FROM brokermetrics_refresh", migrations.RunSQL.noop),
        migrations.CreateModel(
            name="AlertsSentPerDay",
            fields=[key_id(), campaign(), ("day", models.DateField()), ("alerts", models.BigIntegerField())],
            options={
                "db_table": "brokermetrics_alertssentperday",
                "constraints": [
                    models.UniqueConstraint(fields=("campaign", "day"), name="brokermetrics_sentperday_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="AlertsSentPerMjd",
            fields=[key_id(), campaign(), ("mjd", models.IntegerField()), ("alerts", models.BigIntegerField())],
            options={
                "db_table": "brokermetrics_alertssentpermjd",
                "constraints": [
                    models.UniqueConstraint(fields=("campaign", "mjd"), name="brokermetrics_sentpermjd_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="ClassifierTotals",
            fields=[
                key_id(),
                campaign(),
                ("classifierId", models.BigIntegerField()),
                ("messages", models.BigIntegerField()),
                ("firstIngest", models.DateTimeField(null=True)),
                ("lastIngest", models.DateTimeField(null=True)),
            ],
            options={
                "db_table": "brokermetrics_classifiertotals",
                "constraints": [
                    models.UniqueConstraint(fields=("campaign", "classifierId"), name="brokermetrics_totals_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="ClassifierWindow",
            fields=[
                key_id(),
                campaign(),
                ("classifierId", models.BigIntegerField()),
                ("day", models.DateField(null=True)),
                ("alertsSent", models.BigIntegerField()),
                ("alertsClassified", models.BigIntegerField()),
                ("delayP50", models.FloatField(null=True)),
                ("delayP90", models.FloatField(null=True)),
                ("delayP99", models.FloatField(null=True)),
                ("delayMax", models.FloatField(null=True)),
            ],
            options={
                "db_table": "brokermetrics_classifierwindow",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("campaign", "classifierId", "day"),
                        name="brokermetrics_window_once",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ConfusionCell",
            fields=[
                key_id(),
                campaign(),
                ("classifierId", models.BigIntegerField()),
                ("day", models.DateField(null=True)),
                ("level", models.TextField()),
                ("trueClassId", models.IntegerField(null=True)),
                ("predClassId", models.IntegerField()),
                ("count", models.BigIntegerField()),
            ],
            options={
                "db_table": "brokermetrics_confusioncell",
                "indexes": [
                    models.Index(
                        fields=["campaign", "classifierId", "level", "day"], name="brokermetrics_confusion_win"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="DelayBin",
            fields=[
                key_id(),
                campaign(),
                ("classifierId", models.BigIntegerField()),
                ("day", models.DateField(null=True)),
                ("bin", models.SmallIntegerField()),
                ("count", models.BigIntegerField()),
            ],
            options={
                "db_table": "brokermetrics_delaybin",
                "indexes": [models.Index(fields=["campaign", "classifierId", "day"], name="brokermetrics_delay_window")],
            },
        ),
    ]
