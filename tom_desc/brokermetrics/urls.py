"""Routes of the broker pages. The project's urls.py mounts them at /elasticc/brokers/, before
elasticc's own routes, so the pages keep the paths they have always had."""

from django.urls import path

from brokermetrics import views

app_name = "brokermetrics"

urlpatterns = [
    path("", views.BrokerListView.as_view(), name="brokers"),
    path("<int:classifier_id>/", views.BrokerDetailView.as_view(), name="broker"),
]
