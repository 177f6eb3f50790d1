from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SqlQueryConfig(AppConfig):
    name = "sqlquery"
    verbose_name = "SQL queries"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_refresh_grants, sender=self)


def _refresh_grants(sender, using="default", **kwargs):
    """Re-grant SELECT to the read-only roles after every migrate (and every test flush).

    Other apps' migrations create and change elasticc_* tables without knowing about
    the roles; this keeps the roles' grants equal to the rules in sqlquery.roles.
    """
    from django.db import connections

    from sqlquery import roles

    roles.grant_readonly(connections[using], quiet=True)
