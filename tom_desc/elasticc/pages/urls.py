"""Routes of the ELAsTiCC pages for astronomers (docs/pages.md), mounted under /elasticc/ by
elasticc/urls.py. The broker pages under /elasticc/brokers/ are brokermetrics' (brokermetrics/urls.py)."""

from django.urls import path

from elasticc.pages import views

urlpatterns = [
    path("summary", views.SummaryView.as_view(), name="summary"),
    path("", views.IndexView.as_view(), name="index"),
    path("objects/", views.ObjectSearchView.as_view(), name="objects"),
    path("objects/<int:object_id>/", views.ObjectDetailView.as_view(), name="object"),
]
