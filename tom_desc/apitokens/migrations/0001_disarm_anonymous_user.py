"""The placeholder user of django-guardian ("AnonymousUser") becomes inactive, loses any usable
password and its API tokens (apitokens/anonymous.py says why)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from apitokens.anonymous import disarm

    disarm(apps.get_model("auth", "User"), apps.get_model("authtoken", "Token"), using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
