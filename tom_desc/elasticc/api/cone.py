"""Cone search on objects: ``GET /elasticc/cone/?ra=&dec=&radius=`` (and ELAsTiCC2's,
elasticc2/api/astro.py), the nearest first.

``ra`` and ``dec`` in degrees, or sexagesimal (RA in hours: ``12:30:00``, ``12h30m00s``; Dec
``-45:30:00``), read by astropy (tom_desc/lib/sky.py); ``radius`` in arcseconds, at most
MAX_RADIUS_ARCSEC; ``limit`` rows (default DEFAULT_LIMIT, at most MAX_LIMIT), ``truncated``
saying whether more lie in the cone. Every answer row is the object's columns plus
``dist_arcsec``; ``fields=`` and ``format=`` work as on the lists (elasticc/api/renderers.py).

Cost: the boxes around the cone go through the GiST index on ``point(ra, decl)`` that both
campaigns' object tables have (elasticc_diaobject_radec, elasticc2_*obj_radec), so a search reads
the objects inside its boxes, whatever the table's size; then one primary-key lookup fetches the
chosen rows' columns.
"""

from __future__ import annotations

from django.db import connection
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from elasticc.api import serializers as elasticc_serializers
from elasticc.api.renderers import TabularViews
from elasticc.api.schema import ApiSchema
from elasticc.models import DiaObject
from tom_desc.lib import sky
from tom_desc.lib.numbers import finite_or_none

MAX_RADIUS_ARCSEC = 3600.0  # one degree: the boxes stay small and the index useful
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
DISTANCE = "dist_arcsec"


def parse_limit(request) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError({"limit": [f"Must be an integer from 1 to {MAX_LIMIT}."]})
    return limit


def read_position(request) -> tuple[float, float, float]:
    """(ra, dec, radius in arcsec) from the query string; a 400 naming the parameter otherwise."""
    params = request.query_params
    try:
        return (
            sky.parse_ra(params.get("ra", "")),
            sky.parse_dec(params.get("dec", "")),
            sky.parse_radius(params.get("radius", ""), MAX_RADIUS_ARCSEC),
        )
    except sky.PositionError as exc:
        raise ValidationError({exc.field: [str(exc)]}) from None


def nearest(
    table: str, id_column: str, ra: float, dec: float, radius: float, limit: int, visible: str = ""
) -> list[tuple[int, float]]:
    """(id, distance in arcsec) of the objects of `table` within the cone, nearest first, at most
    `limit`. `visible`: an extra SQL condition on the table's row ``o`` (e.g. "has a sent alert")."""
    where, distance, where_params, distance_params = sky.cone_sql(ra, dec, radius)
    sql = f"""
        SELECT id, dist FROM (
            SELECT o.{id_column} AS id, {distance} AS dist FROM {table} o
            WHERE {where} {f"AND ({visible})" if visible else ""}
        ) boxed
        WHERE dist <= %s
        ORDER BY dist, id
        LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*distance_params, *where_params, radius, limit])
        return cursor.fetchall()


class ConeView(TabularViews, GenericAPIView):
    """A cone search on one object table (see the module docstring). Subclasses name the table."""

    model: type
    table: str
    id_field: str  # the model's (and table's) id column
    permission_classes = [IsAuthenticated]
    pagination_class = None
    filter_backends: list = []
    metadata_class = None
    schema = ApiSchema()
    ordering: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        return elasticc_serializers.column_names(self.model)

    def visible(self) -> str:
        """SQL condition on row ``o`` for the rows this user may see (all by default)."""
        return ""

    def queryset_for(self):
        return self.model.objects.all()

    def get_queryset(self):
        return self.queryset_for()

    def get(self, request, *args, **kwargs):
        ra, dec, radius = read_position(request)
        limit = parse_limit(request)
        names = self.chosen_fields()
        id_column = connection.ops.quote_name(self.id_field)
        found = nearest(self.table, id_column, ra, dec, radius, limit + 1, self.visible())
        truncated = len(found) > limit
        found = found[:limit]
        distances = dict(found)
        columns = [c for c in self.columns() if names is None or c in names or c == self.id_field]
        rows = {
            r[self.id_field]: r
            for r in self.queryset_for().filter(**{f"{self.id_field}__in": list(distances)}).values(*columns)
        }
        results = []
        for object_id, _distance in found:
            row = {k: finite_or_none(v) for k, v in rows[object_id].items()}
            row[DISTANCE] = distances[object_id]
            results.append(row if names is None else {n: row.get(n) for n in names})
        self.position = {"ra": ra, "dec": dec, "radius": radius}
        return Response({**self.position, "count": len(results), "truncated": truncated, "results": results})

    def field_names(self) -> list[str]:
        return [*super().field_names(), DISTANCE]

    def table_meta(self) -> dict:
        return {**super().table_meta(), **getattr(self, "position", {}), "radius_unit": "arcsec"}


def cone_answer_schema(name: str, row_serializer) -> serializers.Serializer:
    row = type(
        f"{name}Row",
        (row_serializer,),
        {
            DISTANCE: serializers.FloatField(help_text="Angular distance from the cone's centre. Unit: arcsec."),
            "Meta": type("Meta", (row_serializer.Meta,), {"fields": [*row_serializer.Meta.fields, DISTANCE]}),
        },
    )
    return inline_serializer(
        name=name,
        fields={
            "ra": serializers.FloatField(help_text="The centre's right ascension. Unit: deg."),
            "dec": serializers.FloatField(help_text="The centre's declination. Unit: deg."),
            "radius": serializers.FloatField(help_text="The radius. Unit: arcsec."),
            "count": serializers.IntegerField(help_text="Rows in results."),
            "truncated": serializers.BooleanField(help_text="More objects lie in the cone than limit allowed."),
            "results": row(many=True),
        },
    )


CONE_PARAMETERS = [
    OpenApiParameter(
        "ra", str, required=True, description="Right ascension: degrees (187.5) or hours (12:30:00, 12h30m00s)."
    ),
    OpenApiParameter("dec", str, required=True, description="Declination: degrees (-45.5) or -45:30:00."),
    OpenApiParameter(
        "radius", float, required=True, description=f"Radius in arcseconds, at most {MAX_RADIUS_ARCSEC:g}."
    ),
    OpenApiParameter(
        "limit",
        int,
        description=f"At most this many objects, nearest first (default {DEFAULT_LIMIT}, max {MAX_LIMIT}).",
    ),
]


@extend_schema(
    summary="Cone search on objects",
    description=(
        "ELAsTiCC objects within `radius` arcseconds of (`ra`, `dec`), nearest first, each with its angular "
        "distance `dist_arcsec`. `fields=` chooses columns, `format=csv|ecsv|votable|parquet` gives a file."
    ),
    parameters=CONE_PARAMETERS,
    responses={200: cone_answer_schema("ElasticcConeAnswer", elasticc_serializers.DiaObjectSerializer)},
)
class ElasticcConeView(ConeView):
    model = DiaObject
    serializer_class = elasticc_serializers.DiaObjectSerializer
    table = "elasticc_diaobject"
    id_field = "diaObjectId"
    basename = "elasticc_cone"
