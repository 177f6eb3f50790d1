"""Hash partitions of the per-object tables (modulus = settings.ELASTICC_HASH_PARTITIONS).

Written as a loop rather than 64 generated operations; the modulus cannot change
without rewriting the tables, so it is fixed here, not read from settings.
"""
from django.db import migrations
from psqlextra.backend.migrations.operations import PostgresAddHashPartition

MODULUS = 16
PER_OBJECT_MODELS = ["diasource", "diaforcedsource", "diaalert", "diatruth"]


class Migration(migrations.Migration):
    dependencies = [("elasticc", "0001_initial")]

    operations = [
        PostgresAddHashPartition(model_name=model, name=f"p{remainder:02d}", modulus=MODULUS, remainder=remainder)
        for model in PER_OBJECT_MODELS
        for remainder in range(MODULUS)
    ]
