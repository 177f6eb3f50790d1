"""Hash partitions of the per-object tables of ELAsTiCC2, 16 each as in ELAsTiCC.

The modulus cannot change without rewriting the tables, so it is fixed here.
docs/architecture.md ("ELAsTiCC2") says why 16 and why the object id.
"""
from django.db import migrations
from psqlextra.backend.migrations.operations import PostgresAddHashPartition

MODULUS = 16
PER_OBJECT_MODELS = [
    "ppdbdiasource",
    "ppdbdiaforcedsource",
    "ppdbalert",
    "diasource",
    "diaforcedsource",
]


class Migration(migrations.Migration):
    dependencies = [("elasticc2", "0001_initial")]

    operations = [
        PostgresAddHashPartition(model_name=model, name=f"p{remainder:02d}", modulus=MODULUS, remainder=remainder)
        for model in PER_OBJECT_MODELS
        for remainder in range(MODULUS)
    ]
