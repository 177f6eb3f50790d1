"""ELAsTiCC2's cone search and light curves: ELAsTiCC's engines (elasticc/api/cone.py,
elasticc/api/lightcurves.py) on ELAsTiCC2's tables and names (docs/api.md).

- ``/elasticc2/cone/``: the objects known to the TOM (elasticc2_diaobject), for everyone;
  ``/elasticc2/ppdbcone/``: the simulation's objects (elasticc2_ppdbdiaobject), of which users
  outside elasticc_admin see those with a sent alert. Both tables have the GiST position index.
- ``/elasticc2/ppdbdiaobject/<id>/lightcurve/``: the ppdb photometry, as far as the stream has
  made it public (everything for elasticc_admin), the rule of ``ppdbdiaobjectwithsources``;
  ``/elasticc2/diaobject/<id>/lightcurve/``: the TOM-known tables' photometry.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound

from elasticc.api.cone import CONE_PARAMETERS, ConeView, cone_answer_schema
from elasticc.api.lightcurves import Campaign, LightCurveView, light_curve_schema
from elasticc2.api import serializers
from elasticc2.models import (
    DiaForcedSource,
    DiaObject,
    DiaSource,
    PpdbAlert,
    PpdbDiaForcedSource,
    PpdbDiaObject,
    PpdbDiaSource,
)
from tom_desc.lib.groups import is_admin


def _campaign(object_model, source_model, forced_model) -> Campaign:
    return Campaign(
        object_model,
        source_model,
        forced_model,
        "diaobject_id",
        "diasource_id",
        "diaforcedsource_id",
        "midpointtai",
        "filtername",
        "psflux",
        "psfluxerr",
        "snr",
        sources_key="diasources",
        forced_key="diaforcedsources",
    )


PPDB = _campaign(PpdbDiaObject, PpdbDiaSource, PpdbDiaForcedSource)
TOM_KNOWN = _campaign(DiaObject, DiaSource, DiaForcedSource)

# "Has a sent alert" for row o of elasticc2_ppdbdiaobject: the partial index
# elasticc2_ppdbalert_horizon answers it in the object's partition.
SENT_OBJECT_SQL = (
    "EXISTS (SELECT 1 FROM elasticc2_ppdbalert a WHERE a.diaobject_id = o.diaobject_id "
    "AND a.alertsenttimestamp IS NOT NULL)"
)

CONE_DESCRIPTION = (
    "within `radius` arcseconds of (`ra`, `dec`), nearest first, each with its angular distance `dist_arcsec`. "
    "`fields=` chooses columns, `format=csv|ecsv|votable|parquet` gives a file."
)


@extend_schema(
    summary="Cone search on ELAsTiCC2 objects known to the TOM",
    description="Objects of elasticc2_diaobject " + CONE_DESCRIPTION,
    parameters=CONE_PARAMETERS,
    responses={200: cone_answer_schema("Elasticc2ConeAnswer", serializers.DiaObjectSerializer)},
)
class Elasticc2ConeView(ConeView):
    model = DiaObject
    serializer_class = serializers.DiaObjectSerializer
    table = "elasticc2_diaobject"
    id_field = "diaobject_id"
    basename = "elasticc2_cone"


@extend_schema(
    summary="Cone search on ELAsTiCC2's simulation (ppdb) objects",
    description=(
        "Objects of elasticc2_ppdbdiaobject (outside elasticc_admin: those with a sent alert) " + CONE_DESCRIPTION
    ),
    parameters=CONE_PARAMETERS,
    responses={200: cone_answer_schema("Elasticc2PpdbConeAnswer", serializers.PpdbDiaObjectSerializer)},
)
class Elasticc2PpdbConeView(ConeView):
    model = PpdbDiaObject
    serializer_class = serializers.PpdbDiaObjectSerializer
    table = "elasticc2_ppdbdiaobject"
    id_field = "diaobject_id"
    basename = "elasticc2_ppdbcone"

    def visible(self) -> str:
        return "" if is_admin(self.request.user) else SENT_OBJECT_SQL


@light_curve_schema(PPDB, "ELAsTiCC2 simulation, as far as streamed")
class PpdbLightCurveView(LightCurveView):
    campaign = PPDB

    def horizon(self, object_id: int) -> float | None:
        if is_admin(self.request.user):
            return None
        horizon = PpdbAlert.sent_horizon(object_id)
        if horizon is None:  # nothing of it sent: as if it did not exist
            raise NotFound(f"No object with diaobject_id {object_id}.")
        return horizon


@light_curve_schema(TOM_KNOWN, "ELAsTiCC2, known to the TOM")
class TomKnownLightCurveView(LightCurveView):
    campaign = TOM_KNOWN
