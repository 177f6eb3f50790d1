"""Routes of ELAsTiCC2's pages, mounted under /elasticc2/ by elasticc2/urls.py (its broker pages,
/elasticc2/brokers/, are brokermetrics')."""

from django.urls import path

from elasticc2.pages import views

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("objects/", views.ObjectLookupView.as_view(), name="objects"),
    path("objects/<int:object_id>/", views.Elasticc2ObjectView.as_view(), name="object"),
]
