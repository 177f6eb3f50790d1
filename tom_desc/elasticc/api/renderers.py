"""Lists in the formats data people's tools read (``format=csv|ecsv|votable|parquet``) and a
choice of columns (``fields=``), for the REST API of both campaigns (docs/api.md, "Files and
columns").

Why here and not in each view: every table list is ColumnsViewSet's, so one mixin
(``TabularViews``) gives them all the same formats, the same column choice and the same units
(elasticc/units.py); the cone search and the light curves use the same pieces.

How a file list is served (``stream_list``): a page of up to FILE_MAX_LIMIT rows (default
FILE_DEFAULT_LIMIT), streamed in chunks of CHUNK_ROWS, each chunk one keyset range scan
(elasticc/api/pagination.py explains keysets), so neither the server nor the database holds the
page whole. Before the first byte the key that ends the page is found (one index scan over the
page's keys), so the ``next`` link can be sent in the ``Link`` header and the file's metadata,
and the stream stops exactly there: a walk following ``next`` sees every row once, as the JSON
walk does. Values are those of the JSON rows (NaN as null, the original's extra keys), so a file
and the JSON page hold the same table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.db.models import Q
from django.http import Http404, StreamingHttpResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.utils.urls import remove_query_param, replace_query_param

from elasticc import units
from elasticc.api.pagination import after_key, count_rows, decode_cursor, encode_cursor, parse_offset
from elasticc.db import RealField
from tom_desc.lib import tabular

FILE_FORMATS = tuple(tabular.WRITERS)  # csv, ecsv, votable, parquet
FILE_DEFAULT_LIMIT = 10_000
FILE_MAX_LIMIT = 100_000
CHUNK_ROWS = 5_000
FIELDS_PARAM = "fields"


def drf_timestamp(value) -> str:
    """A datetime as the JSON answers write it (DRF's encoder: ISO 8601, UTC as Z)."""
    return JSONEncoder().default(value)


# ---- which kind a column is ------------------------------------------------------------------


def model_field_kind(field: models.Field) -> str:
    """The tabular kind (tom_desc/lib/tabular.py) of a model column."""
    from django.contrib.postgres.fields import ArrayField

    if isinstance(field, ArrayField):
        return "list:" + model_field_kind(field.base_field)
    if isinstance(field, (models.BigIntegerField, models.BigAutoField)):
        return "int64"
    if isinstance(field, models.SmallIntegerField):
        return "int16"
    if isinstance(field, (models.IntegerField, models.AutoField)):
        return "int32"
    if isinstance(field, models.FloatField):
        return "float32" if isinstance(field, RealField) else "float64"
    if isinstance(field, models.BooleanField):
        return "bool"
    if isinstance(field, models.DateTimeField):
        return "timestamp"
    if isinstance(field, models.BinaryField):
        return "binary"
    if isinstance(field, models.JSONField):
        return "json"
    return "string"


def serializer_field_kind(field: serializers.Field) -> str:
    if isinstance(field, serializers.BooleanField):
        return "bool"
    if isinstance(field, serializers.IntegerField):
        return "int64"
    if isinstance(field, serializers.FloatField):
        return "float64"
    if isinstance(field, serializers.DateTimeField):
        return "timestamp"
    if isinstance(field, serializers.CharField):
        return "string"
    return "json"  # nested serializers, lists, dicts


def described_column(name: str, kind: str) -> tabular.Column:
    """A column with its unit, description and UCD from elasticc/units.py."""
    found = units.info(name)
    if found is None:
        return tabular.Column(name, kind)
    return tabular.Column(name, kind, found.unit, found.description, found.ucd)


# ---- renderers ---------------------------------------------------------------------------------


def table_of(data: Any) -> tuple[list[str], list[tuple]] | None:
    """(names, rows) of JSON-shaped data: a page's results, a list of rows, or one row; None when
    the data is not a table (an error, a nested answer)."""
    rows = data.get("results") if isinstance(data, dict) and isinstance(data.get("results"), list) else data
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return None
    names = list(rows[0]) if rows else []
    return names, [tuple(r.get(n) for n in names) for r in rows]


class TableRenderer(BaseRenderer):
    """A DRF renderer of one file format for answers that are small and already whole (a detail,
    a cone search, a light curve); big lists are streamed by ``stream_list`` instead. An error, or
    an answer that is not a table, is rendered as JSON."""

    writer: type[tabular.Writer]
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        context = renderer_context or {}
        response, view = context.get("response"), context.get("view")
        table = table_of(data)
        if table is None or (response is not None and (response.exception or response.status_code >= 400)):
            if response is not None:
                response["Content-Type"] = "application/json"
            return JSONRenderer().render(data, "application/json", context)
        names, rows = table
        columns = view.table_columns(names, rows) if hasattr(view, "table_columns") else tabular_columns(names, rows)
        if response is not None:
            response["Content-Disposition"] = attachment(getattr(view, "basename", None) or "table", self.format)
        writer = self.writer(columns, meta=(view.table_meta() if hasattr(view, "table_meta") else {}), **_text(self))
        return b"".join(writer.stream([rows]))


def _text(renderer) -> dict:
    return {} if renderer.format == "parquet" else {"timestamp": drf_timestamp}


def tabular_columns(names: Sequence[str], rows: Sequence[Sequence]) -> list[tabular.Column]:
    """Columns inferred from the values, described from elasticc/units.py."""
    return [described_column(c.name, c.kind) for c in tabular.infer_columns(names, rows)]


def attachment(basename: str, fmt: str) -> str:
    return f'attachment; filename="{basename}.{tabular.WRITERS[fmt].extension}"'


def _renderer(fmt: str) -> type[TableRenderer]:
    writer = tabular.WRITERS[fmt]
    charset = None if fmt == "parquet" else "utf-8"
    attributes = {"format": fmt, "media_type": writer.media_type, "charset": charset, "writer": writer}
    return type(f"{fmt.title()}Renderer", (TableRenderer,), attributes)


TABLE_RENDERERS = [_renderer(fmt) for fmt in FILE_FORMATS]


def wants_file(request) -> str | None:
    """The file format the request negotiated, or None for JSON."""
    fmt = getattr(getattr(request, "accepted_renderer", None), "format", None)
    return fmt if fmt in FILE_FORMATS else None


# ---- the mixin -----------------------------------------------------------------------------------


class TabularViews:
    """``format=`` and ``fields=`` for a view with a ``model`` and a ``serializer_class``."""

    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, *TABLE_RENDERERS]

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF's answer to an unknown ?format=
            formats = ", ".join(["json", *FILE_FORMATS])
            raise ValidationError({"format": [f"Give one of {formats}."]}) from None

    def field_names(self) -> list[str]:
        """Every field a row has, in order (the serializer's fields)."""
        return list(self.get_serializer_class()().fields)

    def chosen_fields(self) -> list[str] | None:
        """The columns of ``fields=a,b`` (repeatable), checked; None when not given."""
        raw = self.request.query_params.getlist(FIELDS_PARAM)
        if not raw:
            return None
        chosen = [name.strip() for value in raw for name in value.split(",") if name.strip()]
        known = self.field_names()
        unknown = [name for name in chosen if name not in known]
        if not chosen or unknown:
            what = f"Unknown column {', '.join(unknown)}" if unknown else "No column named"
            raise ValidationError({FIELDS_PARAM: [f"{what}: choose among {', '.join(known)}."]})
        return list(dict.fromkeys(chosen))

    def query_columns(self, names: list[str] | None) -> list[str]:
        """Model columns to read for `names`: those chosen plus the keyset's (which present()
        and the pages need), in model order."""
        columns = self.columns()
        if names is None:
            return columns
        wanted = set(names) | set(self.ordering)
        return [c for c in columns if c in wanted]

    @staticmethod
    def project(rows: list[dict], names: list[str] | None) -> list[dict]:
        return rows if names is None else [{n: r.get(n) for n in names} for r in rows]

    def table_columns(self, names: Sequence[str], rows: Sequence[Sequence] = ()) -> list[tabular.Column]:
        """Typed, described columns: model columns from the model, others from the serializer."""
        by_name = {f.name: f for f in self.model._meta.concrete_fields}
        declared = self.get_serializer_class()().fields
        out = []
        for name in names:
            if name in by_name:
                kind = model_field_kind(by_name[name])
            elif name in declared:
                kind = serializer_field_kind(declared[name])
            else:
                kind = tabular.infer_columns([name], [(r[names.index(name)],) for r in rows])[0].kind
            out.append(described_column(name, kind))
        return out

    def table_meta(self) -> dict:
        return {"source": self.request.build_absolute_uri()}


# ---- streaming a list ----------------------------------------------------------------------------


def parse_file_limit(request) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return FILE_DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= FILE_MAX_LIMIT:
        raise ValidationError({"limit": [f"Must be an integer from 1 to {FILE_MAX_LIMIT} for a file."]})
    return limit


def through_key(fields: Sequence[str], key: Sequence) -> Q:
    """Rows at or before `key` in the order of `fields` (the page's end, inclusive)."""
    if len(fields) == 1:
        return Q(**{f"{fields[0]}__lte": key[0]})
    first = fields[0]
    return Q(**{f"{first}__lte": key[0]}) & (
        Q(**{f"{first}__lt": key[0]}) | (Q(**{first: key[0]}) & through_key(fields[1:], key[1:]))
    )


def after(fields: Sequence[str], key: Sequence) -> Q:
    return after_key(fields, key, False)


def stream_list(view, request, queryset) -> StreamingHttpResponse:
    """One page of the list as a file (see the module docstring)."""
    fmt = wants_file(request)
    chosen = view.chosen_fields()
    names = chosen or view.field_names()
    ordering = tuple(view.ordering)
    limit = parse_file_limit(request)
    offset = parse_offset(request)
    raw_cursor = request.query_params.get("cursor")
    start, reverse = decode_cursor(raw_cursor, len(ordering)) if raw_cursor else (None, False)
    if reverse:
        raise ValidationError({"cursor": ["Files follow next links only: use the JSON list to page backwards."]})
    count, estimate = count_rows(queryset)

    ordered = queryset.order_by(*ordering)
    keys = (ordered.filter(after(ordering, start)) if start else ordered).values_list(*ordering)
    if offset:
        before = list(keys[offset - 1 : offset])
        start = before[0] if before else None
        empty = not before
    else:
        empty = False
    ends = list(keys[offset + limit - 1 : offset + limit + 1])
    last = ends[0] if ends else None
    next_url = None
    if len(ends) == 2:
        url = remove_query_param(request.build_absolute_uri(), "offset")
        next_url = replace_query_param(url, "cursor", encode_cursor(last))
    columns = view.table_columns(names)
    read = view.query_columns(chosen)

    def chunks() -> Iterable[list[tuple]]:
        if empty:
            return
        position = start
        while True:
            page = ordered
            if position is not None:
                page = page.filter(after(ordering, position))
            if last is not None:
                page = page.filter(through_key(ordering, last))
            rows = list(page.values(*read)[:CHUNK_ROWS])
            if not rows:
                return
            position = [rows[-1][f] for f in ordering]
            yield [tuple(r.get(n) for n in names) for r in view.present(rows)]
            if len(rows) < CHUNK_ROWS:
                return

    meta = {"count": count, "count_is_estimate": estimate, "next": next_url or ""}
    return file_response(
        fmt, columns, chunks(), view.basename, meta, name=view.model._meta.db_table, links={"next": next_url}
    )


def file_response(
    fmt: str,
    columns: list[tabular.Column],
    chunks: Iterable[Sequence[Sequence]],
    basename: str,
    meta: dict | None = None,
    name: str = "results",
    links: dict | None = None,
) -> StreamingHttpResponse:
    """A streamed file of the rows `chunks` gives, with the table's metadata in the file (ECSV and
    Parquet metadata, VOTable INFOs) and the headers (Link, X-Count)."""
    writer_class = tabular.WRITERS[fmt]
    options = {"name": name} if fmt == "votable" else {}
    if fmt != "parquet":
        options["timestamp"] = drf_timestamp
    writer = writer_class(columns, meta=meta, **options)
    content_type = writer.media_type + ("" if fmt == "parquet" else "; charset=utf-8")
    response = StreamingHttpResponse(writer.stream(chunks), content_type=content_type)
    response["Content-Disposition"] = attachment(basename, fmt)
    link = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in (links or {}).items() if url)
    if link:
        response["Link"] = link
    if meta and "count" in meta:
        response["X-Count"] = str(meta["count"])
        response["X-Count-Is-Estimate"] = "true" if meta.get("count_is_estimate") else "false"
    return response


class ColumnChoiceParams:
    """A filter backend that filters nothing: it documents ``fields`` and ``format`` in the
    OpenAPI schema of every list that takes them."""

    def filter_queryset(self, request, queryset, view):
        return queryset

    def get_schema_operation_parameters(self, view) -> list[dict]:
        names = view.field_names() if hasattr(view, "field_names") else []
        return [
            {
                "name": FIELDS_PARAM,
                "in": "query",
                "required": False,
                "description": "Columns to return, comma-separated (default: all)"
                + (f"; among {', '.join(names)}." if names else "."),
                "schema": {"type": "string"},
            },
            {
                "name": "format",
                "in": "query",
                "required": False,
                "description": (
                    "json (default), or a file: csv, ecsv (astropy), votable (TOPCAT) or parquet, with units and "
                    f"descriptions in ECSV, VOTable and Parquet. A file page holds up to {FILE_MAX_LIMIT:,} rows "
                    f"(limit, default {FILE_DEFAULT_LIMIT:,}); its next page is in the Link header."
                ),
                "schema": {"type": "string", "enum": ["json", *FILE_FORMATS]},
            },
        ]
