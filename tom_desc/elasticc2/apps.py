from django.apps import AppConfig
from django.db.models.signals import post_migrate


class Elasticc2Config(AppConfig):
    """The second ELAsTiCC campaign: its tables, 4-digit taxonomy and REST reads, beside ELAsTiCC."""

    name = "elasticc2"
    verbose_name = "ELAsTiCC2"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_restore_taxonomy_rows, sender=self)
        # ELAsTiCC's engines take ELAsTiCC2's parts from registries beside them (one call each).
        _register_load_target()
        _register_alert_campaign()
        _register_broker_tables()
        _register_pages()


def _register_broker_tables():
    """ELAsTiCC2's tables for the broker-message ingest engine (Kafka and REST), which the pages
    and broker metrics read messages through too (elasticc2/brokertables.py)."""
    from elasticc.stream import brokertables
    from elasticc2.brokertables import BROKER_TABLES

    brokertables.register(BROKER_TABLES)


def _register_pages():
    """ELAsTiCC2's tables for ELAsTiCC's object page, and its section of the /elasticc/ landing
    page (both campaigns shown there; elasticc/pages/sections.py)."""
    from elasticc.pages import object_page, sections
    from elasticc2.pages.tables import OBJECT_TABLES
    from elasticc2.pages.views import landing_section

    object_page.register(OBJECT_TABLES)
    sections.add(sections.INDEX, sections.Section("elasticc2/_landing.html", landing_section))


def _register_load_target():
    """Where load_snana_fits --campaign elasticc2 (or the original's --ppdb) writes (elasticc2/loading.py)."""
    from elasticc2.loading import register_load_target

    register_load_target()


def _register_alert_campaign():
    """ELAsTiCC2's tables, topics and history rule for the alert engines: send_elasticc2_alerts,
    the fake broker and getalert (elasticc2/alertstream.py)."""
    from elasticc2.alertstream import register_alert_campaign

    register_alert_campaign()


def _restore_taxonomy_rows(sender, using="default", apps=None, **kwargs):
    """Put the taxonomy rows back after a flush.

    The data migration writes them once; `manage.py flush` (and every transactional test)
    empties all tables and then sends post_migrate, which lands here. (The permission
    groups are restored by the elasticc app.) After `migrate elasticc2 zero` the tables
    are gone and there is nothing to restore.
    """
    from django.apps import apps as installed_apps

    from elasticc2 import taxonomy

    apps = apps or installed_apps  # a flush sends no migration state
    try:
        GentypeOfClassId = apps.get_model("elasticc2", "GentypeOfClassId")
        ClassIdOfGentype = apps.get_model("elasticc2", "ClassIdOfGentype")
    except LookupError:
        return
    if not GentypeOfClassId.objects.using(using).exists():
        GentypeOfClassId.objects.using(using).bulk_create(
            GentypeOfClassId(**row) for row in taxonomy.gentypeofclassid_rows()
        )
    if not ClassIdOfGentype.objects.using(using).exists():
        ClassIdOfGentype.objects.using(using).bulk_create(
            ClassIdOfGentype(**row) for row in taxonomy.classidofgentype_rows()
        )
