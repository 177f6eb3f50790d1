"""Fill the ELAsTiCC2 taxonomy tables from data/taxonomy.json (54 and 124 rows)."""
from django.db import migrations

from elasticc2 import taxonomy


def fill(apps, schema_editor):
    GentypeOfClassId = apps.get_model("elasticc2", "GentypeOfClassId")
    ClassIdOfGentype = apps.get_model("elasticc2", "ClassIdOfGentype")
    GentypeOfClassId.objects.bulk_create(GentypeOfClassId(**row) for row in taxonomy.gentypeofclassid_rows())
    ClassIdOfGentype.objects.bulk_create(ClassIdOfGentype(**row) for row in taxonomy.classidofgentype_rows())


def empty(apps, schema_editor):
    apps.get_model("elasticc2", "GentypeOfClassId").objects.all().delete()
    apps.get_model("elasticc2", "ClassIdOfGentype").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("elasticc2", "0003_classifier_partitions")]

    operations = [migrations.RunPython(fill, empty)]
