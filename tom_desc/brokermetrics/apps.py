from django.apps import AppConfig


class BrokerMetricsConfig(AppConfig):
    name = "brokermetrics"
    verbose_name = "Broker metrics"
    default_auto_field = "django.db.models.BigAutoField"
