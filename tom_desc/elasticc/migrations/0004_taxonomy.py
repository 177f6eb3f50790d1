"""Fill the taxonomy tables from data/taxonomy.json."""
from django.db import migrations

from elasticc import taxonomy


def fill(apps, schema_editor):
    GentypeOfClassId = apps.get_model("elasticc", "GentypeOfClassId")
    ClassIdOfGentype = apps.get_model("elasticc", "ClassIdOfGentype")
    GentypeOfClassId.objects.bulk_create(GentypeOfClassId(**row) for row in taxonomy.gentypeofclassid_rows())
    ClassIdOfGentype.objects.bulk_create(ClassIdOfGentype(**row) for row in taxonomy.classidofgentype_rows())


def empty(apps, schema_editor):
    apps.get_model("elasticc", "GentypeOfClassId").objects.all().delete()
    apps.get_model("elasticc", "ClassIdOfGentype").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("elasticc", "0003_classifier_partitions")]

    operations = [migrations.RunPython(fill, empty)]
