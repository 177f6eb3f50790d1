"""/elasticc/: the pages for astronomers (elasticc/pages/urls.py) and the REST API
(elasticc/api/urls.py), under one namespace ("elasticc:summary", "elasticc:diaobject-list").
The page paths never collide with the API's /elasticc/<table>/ routes."""

from django.urls import include, path

app_name = "elasticc"

urlpatterns = [
    path("", include("elasticc.pages.urls")),
    path("", include("elasticc.api.urls")),
]
