"""The PostgreSQL login roles user SQL runs as: elasticc_ro and elasticc_admin_ro.

Roles belong to the whole cluster, not this database, so this creates them only if
they are missing (and only when the migrating user may create roles; otherwise it
warns and a DBA creates them, docs/sqlquery.md). No password is set here. Which
tables each role may read is not fixed here either: the post_migrate handler
(sqlquery.apps) runs `grant_readonly` after every migrate, so later migrations of
any app need not know about the roles.
"""
from django.db import migrations

from sqlquery import roles


def revoke(apps, schema_editor):
    # The roles stay (another database on the cluster may use them); their grants here go.
    roles.revoke_readonly(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("sqlquery", "0001_initial")]

    operations = [
        migrations.RunSQL(roles.CREATE_ROLES_SQL, migrations.RunSQL.noop),
        migrations.RunPython(migrations.RunPython.noop, revoke),
    ]
