"""The table of Django's database cache, made by migrate wherever migrate runs (k8s job,
docker-compose, make run), so that CACHE_BACKEND=database needs no extra deploy step.

Its columns are those of ``manage.py createcachetable``, whose own code makes it. An existing
table (an operator ran createcachetable first) is kept."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

from tom_desc.lib.cache import SHARED_CACHE_TABLE


def create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, SHARED_CACHE_TABLE, dry_run=False)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(SHARED_CACHE_TABLE)}")


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create, drop)]
