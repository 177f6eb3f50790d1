"""Units and descriptions of the columns (elasticc/units.py) where the REST API shows them: in
the OpenAPI schema (every model column's description says its unit), and at
``/elasticc/columns/``, which the client (client/, ``TomClient.query_table``) reads to put units
on the columns of SQL results."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from elasticc import units
from elasticc.api.schema import ApiSchema


class DescribedModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose model columns carry their description and unit as help text (the
    OpenAPI schema's ``description``), unless the model field has its own."""

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        found = units.info(field_name)
        if found is not None and not field_kwargs.get("help_text"):
            field_kwargs["help_text"] = found.help_text()
        return field_class, field_kwargs


COLUMNS_SCHEMA = {
    "type": "object",
    "required": ["columns"],
    "properties": {
        "columns": {
            "type": "object",
            "description": "By column name (ELAsTiCC's spelling; ELAsTiCC2's snake_case names are the same columns).",
            "additionalProperties": {
                "type": "object",
                "required": ["unit", "description", "ucd"],
                "properties": {
                    "unit": {"type": "string", "nullable": True, "description": "An astropy unit, also a VOUnit."},
                    "description": {"type": "string"},
                    "ucd": {"type": "string", "nullable": True, "description": "IVOA UCD, where one helps."},
                },
            },
        },
        "match": {"type": "string"},
    },
}


class ColumnsInfoView(APIView):
    """GET: every column of both campaigns with its unit, description and UCD."""

    permission_classes = [IsAuthenticated]
    metadata_class = None
    schema = ApiSchema()

    @extend_schema(
        summary="Units and descriptions of every column",
        description=(
            "What each column of the ELAsTiCC and ELAsTiCC2 tables means: fluxes in nJy (zero point 31.4), times "
            "in MJD (TAI), angles in degrees. Column names match whatever their spelling: `diaObjectId` and "
            "`diaobject_id` are one column."
        ),
        responses={200: OpenApiResponse(COLUMNS_SCHEMA)},
    )
    def get(self, request, *args, **kwargs):
        return Response(
            {
                "columns": units.catalogue(),
                "match": "case-insensitive, underscores ignored (diaObjectId = diaobject_id)",
            }
        )
