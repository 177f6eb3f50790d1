"""Routes of the ELAsTiCC broker pages. The project's urls.py mounts them at /elasticc/brokers/, before
elasticc's own routes, so the pages keep the paths they have always had; ELAsTiCC2's are
urls_elasticc2.py, at /elasticc2/brokers/."""

from django.urls import path

from brokermetrics import views

app_name = "brokermetrics"

urlpatterns = [
    path("", views.BrokerListView.as_view(campaign="elasticc"), name="brokers"),
    path("<int:classifier_id>/", views.BrokerDetailView.as_view(campaign="elasticc"), name="broker"),
]
