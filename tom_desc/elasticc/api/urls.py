"""Routes of the REST API (docs/api.md): /elasticc/<table>/ and /elasticc/<table>/<id>/, and the
original DESC TOM's /elasticc/brokermessage/alertid=N/ (objectid=, sourceid=), mounted under
/elasticc/ by elasticc/urls.py."""

from django.urls import path, re_path
from rest_framework.routers import Route, SimpleRouter

from elasticc.api import brokermessages, columns, cone, lightcurves, viewsets


class ApiRouter(SimpleRouter):
    """SimpleRouter whose list route also takes PUT, mapped to the viewset's ``put_list``
    (the original DESC TOM's verb for brokers pushing classifications)."""

    routes = [
        Route(
            url=r"^{prefix}{trailing_slash}$",
            mapping={"get": "list", "post": "create", "put": "put_list"},
            name="{basename}-list",
            detail=False,
            initkwargs={"suffix": "List"},
        ),
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
router.register("brokermessage", brokermessages.BrokerMessageViewSet, basename="brokermessage")
router.register("classids", viewsets.ClassIdViewSet, basename="classids")
urlpatterns = [
    *router.urls,
    # For data people (docs/api.md): cone search, light curves, the columns' units.
    path("cone/", cone.ElasticcConeView.as_view(), name="cone"),
    re_path(
        r"^diaobject/(?P<object_id>-?[0-9]+)/lightcurve/$",
        lightcurves.ElasticcLightCurveView.as_view(),
        name="lightcurve",
    ),
    path("columns/", columns.ColumnsInfoView.as_view(), name="columns"),
    # key=value pieces only, so a plain id (the detail route) never lands here.
    re_path(
        r"^brokermessage/(?P<info>[^/]*=[^/]*(?:/[^/]*)*)/$",
        brokermessages.BrokerMessageFilterView.as_view(),
        name="brokermessage-filter",
    ),
]
