from django.urls import path

from apitokens import views

app_name = "apitokens"

urlpatterns = [
    path("", views.TokenPageView.as_view(), name="page"),
    path("create/", views.CreateTokenView.as_view(), name="create"),
    path("revoke/", views.RevokeTokenView.as_view(), name="revoke"),
]
