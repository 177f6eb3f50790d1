"""The two groups permissions hang on.

elasticc_admin: may read truth tables and unsent alerts (REST, SQL, pages).
elasticc_broker: may push broker classifications over REST.
"""
from django.db import migrations

GROUPS = ["elasticc_admin", "elasticc_broker"]


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GROUPS:
        Group.objects.get_or_create(name=name)


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [("elasticc", "0004_taxonomy"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create, remove)]
