from django.urls import path
from rest_framework.routers import Route, SimpleRouter

from elasticc.pages import views
from elasticc.api import viewsets

app_name = "elasticc"

urlpatterns = [
    path("summary", views.SummaryView.as_view(), name="summary"),
    # HTML pages for astronomers (docs/pages.md); the REST API's JSON routes are below.
    path("", views.IndexView.as_view(), name="index"),
    path("objects/", views.ObjectSearchView.as_view(), name="objects"),
    path("objects/<int:object_id>/", views.ObjectDetailView.as_view(), name="object"),
    path("brokers/", views.BrokerListView.as_view(), name="brokers"),
    path("brokers/<int:classifier_id>/", views.BrokerDetailView.as_view(), name="broker"),
]


# ---- The REST API (docs/api.md): /elasticc/<table>/ and /elasticc/<table>/<id>/ -----------

class ApiRouter(SimpleRouter):
    """SimpleRouter whose list route also takes PUT, mapped to the viewset's ``put_list``
    (the original DESC TOM's verb for brokers pushing classifications)."""

    routes = [
        Route(url=r"^{prefix}{trailing_slash}$",
              mapping={"get": "list", "post": "create", "put": "put_list"},
              name="{basename}-list", detail=False, initkwargs={"suffix": "List"}),
        *[route for route in SimpleRouter.routes if getattr(route, "name", "") != "{basename}-list"],
    ]


router = ApiRouter()
router.register("diaobject", viewsets.DiaObjectViewSet, basename="diaobject")
router.register("diasource", viewsets.DiaSourceViewSet, basename="diasource")
router.register("diaforcedsource", viewsets.DiaForcedSourceViewSet, basename="diaforcedsource")
router.register("diatruth", viewsets.DiaTruthViewSet, basename="diatruth")
router.register("diaobjecttruth", viewsets.DiaObjectTruthViewSet, basename="diaobjecttruth")
router.register("diaalert", viewsets.DiaAlertViewSet, basename="diaalert")
router.register("brokerclassifier", viewsets.BrokerClassifierViewSet, basename="brokerclassifier")
router.register("brokermessage", viewsets.BrokerMessageViewSet, basename="brokermessage")
router.register("classids", viewsets.ClassIdViewSet, basename="classids")
urlpatterns += router.urls
