"""One call for an object's light curve: ``GET /elasticc/diaobject/<id>/lightcurve/`` (and
ELAsTiCC2's routes, elasticc2/api/astro.py): its sources (detections) and forced photometry in
time order, with their units.

Query string: ``mjd_min``, ``mjd_max`` (MJD, TAI, inclusive), ``band`` (``g`` or ``g,r``),
``which`` (``both``, the default, ``sources`` or ``forced``), ``format`` (json, or a file: csv,
ecsv, votable, parquet).

JSON: the object's id and position, ``units`` of the photometry columns, and the two lists
(each row its table's columns). A file is one flat table, a row per point: ``kind`` (``source`` or
``forced``), both id columns (one of them null), then time, band, flux, its error and S/N (null
for forced points), typed and with units (elasticc/units.py), so ``Table.read`` and TOPCAT plot it
with labelled axes.

Cost: each list is one index range scan of the (object, midPointTai) index in the one hash
partition that holds the object (docs/architecture.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from elasticc import units
from elasticc.api.renderers import TabularViews, described_column, file_response, model_field_kind, wants_file
from elasticc.api.schema import ApiSchema
from elasticc.models import DiaForcedSource, DiaObject, DiaSource
from tom_desc.lib import tabular
from tom_desc.lib.numbers import finite_or_none, is_int64

WHICH = ("both", "sources", "forced")
BANDS = set("ugrizyY")
MAX_BANDS = 12


@dataclass(frozen=True)
class Campaign:
    """A campaign's tables and spellings for light curves."""

    object_model: type
    source_model: type
    forced_model: type
    object_id: str  # diaObjectId / diaobject_id
    source_id: str
    forced_id: str
    time: str
    band: str
    flux: str
    flux_err: str
    snr: str
    dec: str = "decl"
    sources_key: str = "diaSources"
    forced_key: str = "diaForcedSources"

    def point_columns(self, model) -> list[str]:
        wanted = [
            self.source_id,
            self.forced_id,
            self.object_id,
            self.time,
            self.band,
            self.flux,
            self.flux_err,
            self.snr,
        ]
        names = {f.name for f in model._meta.concrete_fields}
        return [c for c in wanted if c in names]


ELASTICC = Campaign(
    DiaObject,
    DiaSource,
    DiaForcedSource,
    "diaObjectId",
    "diaSourceId",
    "diaForcedSourceId",
    "midPointTai",
    "filterName",
    "psFlux",
    "psFluxErr",
    "snr",
)


def _finite(request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValidationError({name: ["Must be a finite number (an MJD)."]})
    return value


def read_options(request) -> dict:
    """mjd_min, mjd_max, bands and which from the query string, checked."""
    which = request.query_params.get("which", "both")
    if which not in WHICH:
        raise ValidationError({"which": [f"Give one of {', '.join(WHICH)}."]})
    bands = None
    raw = request.query_params.get("band")
    if raw is not None:
        bands = [b.strip() for b in raw.split(",") if b.strip()]
        if not bands or len(bands) > MAX_BANDS or any(b not in BANDS for b in bands):
            raise ValidationError({"band": ["Give bands among u, g, r, i, z, Y, comma-separated."]})
        bands = sorted(set(bands) | {b.swapcase() for b in bands if b in "yY"})
    return {
        "mjd_min": _finite(request, "mjd_min"),
        "mjd_max": _finite(request, "mjd_max"),
        "bands": bands,
        "which": which,
    }


class LightCurveView(TabularViews, GenericAPIView):
    """An object's light curve (see the module docstring); subclasses give the campaign and who
    sees how much (``horizon``)."""

    campaign: Campaign = ELASTICC
    permission_classes = [IsAuthenticated]
    pagination_class = None
    filter_backends: list = []
    metadata_class = None
    schema = ApiSchema()
    basename = "lightcurve"

    def horizon(self, object_id: int) -> float | None:
        """The latest time this user may see of the object (None: all of it). Raise NotFound for an
        object this user may not see at all."""
        return None

    def object_row(self, object_id: int) -> dict:
        c = self.campaign
        found = list(c.object_model.objects.filter(**{c.object_id: object_id}).values(c.object_id, "ra", c.dec))
        if not found:
            raise NotFound(f"No object with {c.object_id} {object_id}.")
        return found[0]

    def points(self, model, object_id: int, through: float | None, options: dict) -> list[dict]:
        c = self.campaign
        rows = model.objects.filter(**{c.object_id: object_id})
        upper = [v for v in (options["mjd_max"], through) if v is not None]
        if upper:
            rows = rows.filter(**{f"{c.time}__lte": min(upper)})
        if options["mjd_min"] is not None:
            rows = rows.filter(**{f"{c.time}__gte": options["mjd_min"]})
        if options["bands"]:
            rows = rows.filter(**{f"{c.band}__in": options["bands"]})
        id_column = c.source_id if model is c.source_model else c.forced_id
        columns = c.point_columns(model)
        return [{k: finite_or_none(v) for k, v in r.items()} for r in rows.order_by(c.time, id_column).values(*columns)]

    def get(self, request, object_id: str, *args, **kwargs):
        c = self.campaign
        value = int(object_id)
        if not is_int64(value):
            raise NotFound(f"No object with {c.object_id} {object_id}.")
        options = read_options(request)
        through = self.horizon(value)
        obj = self.object_row(value)
        sources = self.points(c.source_model, value, through, options) if options["which"] != "forced" else []
        forced = self.points(c.forced_model, value, through, options) if options["which"] != "sources" else []
        fmt = wants_file(request)
        if fmt:
            meta = {c.object_id: value, "ra": obj["ra"], c.dec: obj[c.dec], "source": request.build_absolute_uri()}
            return file_response(
                fmt, self.flat_columns(), [self.flat_rows(sources, forced)], f"lightcurve-{value}", meta
            )
        photometry = [c.source_id, c.forced_id, c.time, c.flux, c.flux_err, c.snr]
        return Response(
            {
                **{k: finite_or_none(v) for k, v in obj.items()},
                "units": {name: units.unit(name) for name in [*photometry, "ra", c.dec] if units.unit(name)},
                c.sources_key: sources,
                c.forced_key: forced,
            }
        )

    def flat_names(self) -> list[str]:
        c = self.campaign
        return ["kind", c.source_id, c.forced_id, c.object_id, c.time, c.band, c.flux, c.flux_err, c.snr]

    def flat_columns(self) -> list[tabular.Column]:
        c = self.campaign
        fields = {f.name: f for f in [*c.source_model._meta.concrete_fields, *c.forced_model._meta.concrete_fields]}
        return [
            described_column(name, "string" if name == "kind" else model_field_kind(fields[name]))
            for name in self.flat_names()
        ]

    def flat_rows(self, sources: list[dict], forced: list[dict]) -> list[tuple]:
        c = self.campaign
        names = self.flat_names()[1:]
        rows = [("source", *(r.get(n) for n in names)) for r in sources]
        rows += [("forced", *(r.get(n) for n in names)) for r in forced]
        time_index = self.flat_names().index(c.time)
        return sorted(rows, key=lambda row: (row[time_index], row[0] != "source"))


def light_curve_schema(campaign: Campaign, name: str) -> dict:
    """The OpenAPI decoration of a light-curve route."""
    c = campaign
    point = {"type": "object", "additionalProperties": True}
    answer = {
        "type": "object",
        "required": [c.object_id, "ra", c.dec, "units", c.sources_key, c.forced_key],
        "properties": {
            c.object_id: {"type": "integer", "format": "int64"},
            "ra": {"type": "number", "description": "Right ascension. Unit: deg."},
            c.dec: {"type": "number", "description": "Declination. Unit: deg."},
            "units": {"type": "object", "additionalProperties": {"type": "string"}},
            c.sources_key: {"type": "array", "items": point, "description": "Detections, in time order."},
            c.forced_key: {"type": "array", "items": point, "description": "Forced photometry, in time order."},
        },
    }
    return extend_schema(
        summary=f"An object's light curve ({name})",
        description=(
            f"Sources and forced sources of one object in time order; {c.time} in MJD (TAI), {c.flux} and "
            f"{c.flux_err} in nJy. format=csv|ecsv|votable|parquet gives one flat table (a `kind` column says "
            "source or forced) with units."
        ),
        parameters=[
            OpenApiParameter("mjd_min", float, description="Earliest time, MJD (TAI)."),
            OpenApiParameter("mjd_max", float, description="Latest time, MJD (TAI)."),
            OpenApiParameter("band", str, description="Bands, comma-separated (g or g,r)."),
            OpenApiParameter("which", str, enum=list(WHICH), description="both (default), sources or forced."),
            OpenApiParameter("format", str, enum=["json", *tabular.WRITERS], description="json (default) or a file."),
        ],
        responses={200: OpenApiResponse(answer)},
    )


@light_curve_schema(ELASTICC, "ELAsTiCC")
class ElasticcLightCurveView(LightCurveView):
    campaign = ELASTICC
