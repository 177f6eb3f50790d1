"""URL routes: the TOM Toolkit's pages plus the ELAsTiCC app."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

urlpatterns = [
    # The broker pages (brokermetrics) keep their /elasticc/brokers/ paths: mounted before elasticc's routes.
    path("elasticc/brokers/", include("brokermetrics.urls")),
    path("elasticc/", include("elasticc.urls")),
    path("", include("ops.urls")),  # /healthz and /readyz for probes
    # REST API schema and docs (docs/api.md), before tom_common's routes, which mount api/ too.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Own REST API token: create / revoke (apitokens app), before allauth's accounts/ routes.
    path("accounts/api-token/", include("apitokens.urls")),
    path("db/", include("sqlquery.urls")),  # SQL for analysts (docs/sqlquery.md)
    path("", include("tom_common.urls")),
]

# JSON 404/500 on REST API paths, Django's pages elsewhere (tom_desc/errors.py).
handler404 = "tom_desc.errors.page_not_found"
handler500 = "tom_desc.errors.server_error"
