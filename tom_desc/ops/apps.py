from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: health endpoints for probes and user export/import for migrations between sites."""

    name = "ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"
