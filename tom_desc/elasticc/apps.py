from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ElasticcConfig(AppConfig):
    name = "elasticc"
    verbose_name = "ELAsTiCC"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_restore_reference_rows, sender=self)


def _restore_reference_rows(sender, using="default", **kwargs):
    """Put back the taxonomy rows and groups after a flush.

    The data migrations create them once; `manage.py flush` (and every transactional
    test) empties all tables and then sends post_migrate, which lands here.
    """
    from django.contrib.auth.models import Group

    from elasticc import taxonomy
    from elasticc.models import ClassIdOfGentype, GentypeOfClassId
    from tom_desc.lib.groups import GROUPS

    if not GentypeOfClassId.objects.using(using).exists():
        GentypeOfClassId.objects.using(using).bulk_create(
            GentypeOfClassId(**row) for row in taxonomy.gentypeofclassid_rows()
        )
    if not ClassIdOfGentype.objects.using(using).exists():
        ClassIdOfGentype.objects.using(using).bulk_create(
            ClassIdOfGentype(**row) for row in taxonomy.classidofgentype_rows()
        )
    for name in GROUPS:
        Group.objects.using(using).get_or_create(name=name)
