"""elasticc2_brokerclassifier.registeredby: who made the ingest register a classifier.

The per-broker cap on classifiers the ingest registers by itself (elasticc/stream/admission.py,
ELASTICC_MAX_CLASSIFIERS_PER_BROKER) counts rows by this column, as it counts
elasticc_brokerclassifier."registeredBy" for ELAsTiCC. Nullable: rows inserted otherwise (by
hand, by an older release) count for nobody. Not in the original DESC TOM.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("elasticc2", "0004_taxonomy")]

    operations = [
        migrations.AddField(
            model_name="brokerclassifier",
            name="registeredby",
            field=models.TextField(null=True),
        ),
    ]
