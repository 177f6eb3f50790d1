"""Routes of the ELAsTiCC2 broker pages, mounted at /elasticc2/brokers/ by the project's urls.py
(before the elasticc2 app's routes): the same views as ELAsTiCC's, for campaign elasticc2, under
the namespace "brokermetrics2"."""

from django.urls import path

from brokermetrics import views

app_name = "brokermetrics2"

urlpatterns = [
    path("", views.BrokerListView.as_view(campaign="elasticc2"), name="brokers"),
    path("<int:classifier_id>/", views.BrokerDetailView.as_view(campaign="elasticc2"), name="broker"),
]
