"""URL routes: the TOM Toolkit's pages plus the ELAsTiCC app."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from tom_desc.accounts import LoginView
from tom_desc.home import HomeView

urlpatterns = [
    # The broker pages (brokermetrics) keep their /elasticc/brokers/ paths: mounted before elasticc's routes.
    path("elasticc/brokers/", include("brokermetrics.urls")),
    path("elasticc/", include("elasticc.urls")),
    path("elasticc2/brokers/", include("brokermetrics.urls_elasticc2")),  # ELAsTiCC2's broker pages
    path("elasticc2/", include("followup.urls")),  # follow-up: ltcv, hot transients, spectra (docs/followup.md)
    path("elasticc2/", include("elasticc2.urls")),  # the ELAsTiCC2 campaign (docs/api.md)
    path("", include("ops.urls")),  # /healthz, /readyz for probes; /metrics for Prometheus
    # REST API schema and docs (docs/api.md), before tom_common's routes, which mount api/ too.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script (the CSP forbids it).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # The toolkit's routes below, replaced by the site's (tom_desc/accounts.py, apitokens/password_auth.py):
    # the login page answers 429 when locked out; /api/token-auth/ is limited like it and
    # refuses accounts with two-factor authentication; /users/ is for administrators only.
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("", include("apitokens.site_urls")),  # api/token-auth/
    path("", include("ops.site_urls")),  # users/
    # Own REST API token: create / revoke (apitokens app), before allauth's accounts/ routes.
    path("accounts/api-token/", include("apitokens.urls")),
    path("db/", include("sqlquery.urls")),  # SQL for analysts (docs/sqlquery.md)
    path("", HomeView.as_view(), name="home"),  # the DESC TOM's landing page, not the toolkit's placeholder
    path("", include("tom_common.urls")),
]

# JSON 404/500 on REST API paths, Django's pages elsewhere (tom_desc/errors.py).
handler404 = "tom_desc.errors.page_not_found"
handler500 = "tom_desc.errors.server_error"
