"""Routes of the REST API (docs/api.md): /elasticc/<table>/ and /elasticc/<table>/<id>/, mounted
under /elasticc/ by elasticc/urls.py."""

from rest_framework.routers import Route, SimpleRouter

from elasticc.api import viewsets


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
router.register("brokermessage", viewsets.BrokerMessageViewSet, basename="brokermessage")
router.register("classids", viewsets.ClassIdViewSet, basename="classids")
urlpatterns = router.urls
