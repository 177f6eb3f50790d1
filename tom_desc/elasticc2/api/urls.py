"""Routes of the ELAsTiCC2 REST API, mounted under /elasticc2/ (docs/api.md).

The table routes take the trailing slash (``ppdbdiaobject/``, ``ppdbdiaobject/<id>/``);
``classids`` and ``classifiers_json`` take none, as in the original DESC TOM, whose
clients call them exactly so (a trailing slash there is a 404, as it was). Brokers PUT (or
POST) classifications to ``brokermessage/``, as the original's clients do: ELAsTiCC's router,
whose list routes take PUT.
"""

from django.urls import path, re_path

from elasticc.api.urls import ApiRouter
from elasticc2.api import astro, getalert, viewsets

router = ApiRouter()
router.register("ppdbdiaobject", viewsets.PpdbDiaObjectViewSet, basename="ppdbdiaobject")
router.register("ppdbdiasource", viewsets.PpdbDiaSourceViewSet, basename="ppdbdiasource")
router.register("ppdbdiaforcedsource", viewsets.PpdbDiaForcedSourceViewSet, basename="ppdbdiaforcedsource")
router.register("ppdbalert", viewsets.PpdbAlertViewSet, basename="ppdbalert")
router.register(
    "ppdbdiaobjectwithsources", viewsets.PpdbDiaObjectWithSourcesViewSet, basename="ppdbdiaobjectwithsources"
)
router.register("ppdbdiaobjectofsource", viewsets.PpdbDiaObjectOfSourceViewSet, basename="ppdbdiaobjectofsource")
router.register("diaobjecttruth", viewsets.DiaObjectTruthViewSet, basename="diaobjecttruth")
router.register("diaobject", viewsets.DiaObjectViewSet, basename="diaobject")
router.register("diasource", viewsets.DiaSourceViewSet, basename="diasource")
router.register("diaforcedsource", viewsets.DiaForcedSourceViewSet, basename="diaforcedsource")
router.register("brokerclassifier", viewsets.BrokerClassifierViewSet, basename="brokerclassifier")
router.register("brokermessage", viewsets.BrokerMessageViewSet, basename="brokermessage")

urlpatterns = [
    path("classids", viewsets.ClassIdsView.as_view(), name="classids"),
    path("classifiers_json", viewsets.ClassifiersJsonView.as_view(), name="classifiers_json"),
    path("getalert", getalert.GetAlertView.as_view(), name="getalert"),  # no trailing slash, as the original
    *router.urls,
    # For data people (docs/api.md): cone searches and light curves.
    path("cone/", astro.Elasticc2ConeView.as_view(), name="cone"),
    path("ppdbcone/", astro.Elasticc2PpdbConeView.as_view(), name="ppdbcone"),
    re_path(
        r"^ppdbdiaobject/(?P<object_id>-?[0-9]+)/lightcurve/$",
        astro.PpdbLightCurveView.as_view(),
        name="ppdb-lightcurve",
    ),
    re_path(
        r"^diaobject/(?P<object_id>-?[0-9]+)/lightcurve/$", astro.TomKnownLightCurveView.as_view(), name="lightcurve"
    ),
]
