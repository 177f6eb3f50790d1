"""URL routes: the TOM Toolkit's pages plus the ELAsTiCC app."""
from django.urls import include, path

urlpatterns = [
    path("elasticc/", include("elasticc.urls")),
    path("", include("ops.urls")),  # /healthz and /readyz for probes
    path("", include("tom_common.urls")),
]
