"""Keyset ("cursor") pagination and cheap counts for the REST API.

Why not OFFSET: ``OFFSET n`` reads and throws away n rows, so page 10,000 of a
billion-row table costs 10,000 times page 1, and rows inserted during a walk
shift every later page (duplicates and misses). A keyset page instead says
"the next ``limit`` rows whose key is after the last key I saw"::

    WHERE k1 >= :a AND (k1 > :a OR k2 > :b) ORDER BY k1, k2 LIMIT :limit + 1

which on the hash-partitioned tables is a Merge Append of one index range scan
per partition (the per-partition indexes on the id column, e.g.
``elasticc_diasource_id``), so any page costs what the first one costs. The
outer ``k1 >= :a`` is what the index uses; the OR only filters the few rows
equal to :a (a row comparison ``(k1, k2) > (:a, :b)`` would not use a
one-column index).

The key is each view's ``ordering``: the table's id column, then the partition
key, which together are unique (the primary key), so a walk over all pages sees
every row present at its start exactly once, whatever is inserted meanwhile.

A cursor is URL-safe base64 of a small JSON object: ``{"k": [a, b], "r": 0|1}``
(the key to continue after, and whether it is a "previous" cursor, i.e. the page
ends before the key). Clients take ``next`` and ``previous`` from the response
as opaque URLs.

``offset`` (the original DESC TOM's LimitOffsetPagination parameter, which scripts that
page by hand still send) is honoured too: it skips that many rows of the ordered result
(after the cursor, when both are given). It costs what OFFSET costs: PostgreSQL reads
and throws away the skipped rows, so a page at offset n takes time growing with n
(docs/api.md has the figures). The ``next`` and ``previous`` links of such a page are
keyset cursors without the offset, so a client that follows them pays for the offset once.

Counts (``count`` and ``count_is_estimate``): a full ``COUNT(*)`` of a
billion-row table takes minutes, so the list first asks the planner how many
rows the filtered query would return (``EXPLAIN``: for a partitioned table this
is pg_class.reltuples of each partition, scaled to its current size). When that
estimate is at most ELASTICC_API_EXACT_COUNT_LIMIT (e.g. a filter on one
diaObjectId), the rows are counted exactly under a statement timeout of
ELASTICC_API_COUNT_TIMEOUT_MS; otherwise, or if the count hits that timeout,
the planner's estimate is returned and ``count_is_estimate`` is true.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from tom_desc.lib.numbers import INT64_MAX, is_int64

FIRST_PAGE = object()  # a "next" of a backwards page that found nothing before it
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def encode_cursor(key: Sequence[int], reverse: bool = False) -> str:
    """The cursor string for "the page after `key`" (or before it, when reverse)."""
    raw = json.dumps({"k": list(key), "r": int(reverse)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, n_keys: int) -> tuple[list[int], bool]:
    """(key, reverse) from a cursor string; ValidationError naming `cursor` if malformed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        key, reverse = data["k"], data["r"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise ValidationError({"cursor": ["Invalid cursor: use the next/previous URLs of a response."]}) from None
    if not isinstance(key, list) or len(key) != n_keys or reverse not in (0, 1) or not all(is_int64(v) for v in key):
        raise ValidationError({"cursor": ["Invalid cursor: use the next/previous URLs of a response."]})
    return key, bool(reverse)


def parse_offset(request) -> int:
    raw = request.query_params.get("offset")
    if raw in (None, ""):
        return 0
    try:
        offset = int(raw)
    except ValueError:
        raise ValidationError({"offset": ["Must be a whole number of rows, 0 or more."]}) from None
    if not 0 <= offset <= INT64_MAX:
        raise ValidationError({"offset": ["Must be a whole number of rows, 0 or more."]})
    return offset


def parse_limit(request) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise ValidationError({"limit": [f"Must be an integer from 1 to {MAX_LIMIT}."]}) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError({"limit": [f"Must be an integer from 1 to {MAX_LIMIT}."]})
    return limit


def after_key(fields: Sequence[str], key: Sequence[int], reverse: bool) -> Q:
    """Rows strictly after `key` in the order of `fields` (before it when reverse).

    For (k1, k2): k1 >= a AND (k1 > a OR (k1 = a AND k2 > b)); generalised
    recursively. The leading non-strict comparison is the one an index on k1 uses.
    """
    gt, ge = ("lt", "lte") if reverse else ("gt", "gte")
    if len(fields) == 1:
        return Q(**{f"{fields[0]}__{gt}": key[0]})
    first, rest = fields[0], fields[1:]
    strictly = Q(**{f"{first}__{gt}": key[0]})
    tied = Q(**{first: key[0]}) & after_key(rest, key[1:], reverse)
    return Q(**{f"{first}__{ge}": key[0]}) & (strictly | tied)


# ------------------------------------------------------------------------- counting


def planner_rows(queryset: QuerySet) -> int:
    """The planner's estimate of the rows `queryset` returns (EXPLAIN, no execution)."""
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # e.g. an IN () filter: nothing can match
        return 0
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cur.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def count_rows(queryset: QuerySet) -> tuple[int, bool]:
    """(count, is_estimate) for a queryset; never a long full-table COUNT(*).

    Exact when the planner expects at most ELASTICC_API_EXACT_COUNT_LIMIT rows and
    the count finishes within ELASTICC_API_COUNT_TIMEOUT_MS; the estimate otherwise.
    """
    estimate = planner_rows(queryset)
    if estimate > settings.ELASTICC_API_EXACT_COUNT_LIMIT:
        return estimate, True
    timeout_ms = int(settings.ELASTICC_API_COUNT_TIMEOUT_MS)
    try:
        # The savepoint undoes the SET LOCAL if the count is cancelled; otherwise the
        # old timeout is put back explicitly (SET LOCAL lasts to the end of the outer
        # transaction, which may be the caller's).
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT current_setting('statement_timeout')")
            previous = cur.fetchone()[0]
            cur.execute("SELECT set_config('statement_timeout', %s, true)", [f"{timeout_ms}ms"])
            exact = queryset.order_by().count()
            cur.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    except DatabaseError:
        return estimate, True
    return exact, False


# ------------------------------------------------------------------------- pagination


class KeysetPagination(BasePagination):
    """``{count, count_is_estimate, next, previous, results}`` with keyset cursors.

    The view supplies ``ordering`` (a tuple of integer columns that is unique
    together). Query parameters: ``cursor`` (opaque, from next/previous),
    ``limit`` (default 100, at most 1000; anything else is a 400) and ``offset``
    (rows to skip; see the module docstring for its cost).
    """

    cursor_query_param = "cursor"
    limit_query_param = "limit"
    offset_query_param = "offset"

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        """The rows of the requested page; `queryset` may be a .values() queryset."""
        self.request = request
        self.ordering = tuple(view.ordering)
        self.limit = parse_limit(request)
        offset = parse_offset(request)
        raw_cursor = request.query_params.get(self.cursor_query_param)
        key, reverse = decode_cursor(raw_cursor, len(self.ordering)) if raw_cursor else (None, False)
        self.count, self.count_is_estimate = count_rows(queryset)

        order = [f"-{f}" for f in self.ordering] if reverse else list(self.ordering)
        page_qs = queryset.order_by(*order)
        if key is not None:
            page_qs = page_qs.filter(after_key(self.ordering, key, reverse))
        return self._page(list(page_qs[offset : offset + self.limit + 1]), key, reverse, offset)

    def paginate_list(self, items: list[dict], request, view) -> list[dict]:
        """The same contract over a small in-memory list (already in key order)."""
        self.request = request
        self.ordering = tuple(view.ordering)
        self.limit = parse_limit(request)
        offset = parse_offset(request)
        raw_cursor = request.query_params.get(self.cursor_query_param)
        key, reverse = decode_cursor(raw_cursor, len(self.ordering)) if raw_cursor else (None, False)
        self.count, self.count_is_estimate = len(items), False

        def k(item):
            return [item[f] for f in self.ordering]

        if key is None:
            candidates = items
        elif reverse:
            candidates = [i for i in items if k(i) < key][::-1]
        else:
            candidates = [i for i in items if k(i) > key]
        return self._page(candidates[offset : offset + self.limit + 1], key, reverse, offset)

    def _page(self, rows: list, key, reverse: bool, offset: int = 0) -> list:
        """The page from up to limit + 1 rows read in walking order (the extra one says "more")."""
        more = len(rows) > self.limit
        rows = rows[: self.limit]
        if reverse:
            rows.reverse()
        self._set_links(rows, key, reverse, more, skipped=offset > 0)
        return rows

    def _set_links(self, rows: list, key, reverse: bool, more: bool, skipped: bool = False) -> None:
        """next/previous keys; a key of FIRST_PAGE means the URL without a cursor. `skipped`:
        an offset skipped rows before this page, so there is a page before it."""

        def key_of(row):
            return [row[f] for f in self.ordering]

        self.next_key = self.previous_key = None
        if not reverse:
            if rows and more:
                self.next_key = key_of(rows[-1])
            if (key is not None or skipped) and rows:
                self.previous_key = key_of(rows[0])
        else:
            # Reached backwards from `key`: there is always a page after this one.
            self.next_key = key_of(rows[-1]) if rows else FIRST_PAGE
            if rows and more:
                self.previous_key = key_of(rows[0])

    def _url(self, key, reverse: bool) -> str | None:
        if key is None:
            return None
        # A link continues from a key; an offset of this request would skip rows again.
        url = remove_query_param(self.request.build_absolute_uri(), self.offset_query_param)
        if key is FIRST_PAGE:
            return remove_query_param(url, self.cursor_query_param)
        return replace_query_param(url, self.cursor_query_param, encode_cursor(key, reverse))

    def get_paginated_response(self, data) -> Response:
        return Response(
            OrderedDict(
                [
                    ("count", self.count),
                    ("count_is_estimate", self.count_is_estimate),
                    ("next", self._url(self.next_key, False)),
                    ("previous", self._url(self.previous_key, True)),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "count_is_estimate", "next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": (
                        "Rows matching the filters: exact when count_is_estimate is false, "
                        "otherwise the query planner's estimate."
                    ),
                },
                "count_is_estimate": {"type": "boolean"},
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "URL of the next page (null on the last page).",
                },
                "previous": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "URL of the previous page (null on the first page).",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "Opaque page cursor taken from the next/previous URL of a response.",
                "schema": {"type": "string"},
            },
            {
                "name": self.limit_query_param,
                "in": "query",
                "required": False,
                "description": f"Rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            },
            {
                "name": self.offset_query_param,
                "in": "query",
                "required": False,
                "description": (
                    "Rows to skip before the page (as the original DESC TOM's lists). The database reads "
                    "the skipped rows, so deep offsets are slow: prefer the next/previous links, which are "
                    "keyset cursors and carry no offset."
                ),
                "schema": {"type": "integer", "minimum": 0, "default": 0},
            },
        ]


def cursor_url(base_url: str, key: Sequence[int], reverse: bool = False, **params: Any) -> str:
    """A list URL starting after `key` (used by the benchmark to jump deep directly)."""
    query = urlencode({**params, "cursor": encode_cursor(key, reverse)})
    return f"{base_url}?{query}"
