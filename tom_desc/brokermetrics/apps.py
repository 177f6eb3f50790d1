from django.apps import AppConfig


class BrokerMetricsConfig(AppConfig):
    name = "brokermetrics"
    verbose_name = "Broker metrics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here: the sections read the models, which exist only once the apps are loaded.
        from brokermetrics import sections

        sections.register()
