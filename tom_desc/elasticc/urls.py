from django.urls import path

from elasticc import views

app_name = "elasticc"

urlpatterns = [
    path("summary", views.SummaryView.as_view(), name="summary"),
]
