from django.apps import AppConfig


class ElasticcConfig(AppConfig):
    name = "elasticc"
    verbose_name = "ELAsTiCC"
    default_auto_field = "django.db.models.BigAutoField"
