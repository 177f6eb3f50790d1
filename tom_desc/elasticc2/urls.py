"""/elasticc2/: ELAsTiCC2's pages (elasticc2/pages/urls.py: the landing page, object pages) and its
REST API (elasticc2/api/urls.py), under the namespace "elasticc2" ("elasticc2:index",
"elasticc2:ppdbdiaobject-list", "elasticc2:classids"). The page paths never collide with the
API's /elasticc2/<table>/ routes."""

from django.urls import include, path

app_name = "elasticc2"

urlpatterns = [
    path("", include("elasticc2.pages.urls")),
    path("", include("elasticc2.api.urls")),
]
