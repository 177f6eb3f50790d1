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
    import logging

    from django.db import DatabaseError, connections, transaction

    from sqlquery import roles

    roles.grant_readonly(connections[using], quiet=True)
    # With the role passwords configured (DB_RO_PASS / DB_ADMIN_RO_PASS or their *_FILE
    # secrets), a deployment's plain `migrate` also makes the roles able to log in.
    if any(roles.password_for(role) for role in roles.ROLES):
        try:
            with transaction.atomic(using=using):
                roles.set_passwords(connections[using])
        except DatabaseError as exc:
            logging.getLogger(__name__).warning(
                "cannot set the passwords of the read-only roles (%s); a DBA must, see docs/sqlquery.md",
                str(exc).strip(),
            )
