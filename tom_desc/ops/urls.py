"""Probe and metrics endpoints. No trailing slash: settings.OPEN_URLS lists exactly these
paths, so the TOM's AuthStrategyMiddleware lets unauthenticated probes and Prometheus through
(/metrics checks who asks itself, ops/views.py)."""

from django.urls import path

from ops import views

app_name = "ops"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
