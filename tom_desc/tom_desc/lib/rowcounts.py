"""Row counts that stay cheap on billion-row tables, for any page or probe that shows them.

A table whose heap is small (at most SUMMARY_EXACT_COUNT_MAX_BYTES) is counted exactly; a bigger
one reports the statistics autovacuum/ANALYZE keep (pg_class.reltuples summed over its leaf
partitions), flagged as an estimate. Sent/unsent alerts follow the same rule, the unsent share
coming from the null fraction of the sent-timestamp column. Nothing here reads more than a few
catalog rows for a big table.

Why here and not in a campaign's pages: the landing page, both campaigns' summaries, the broker
metrics and the operators' /metrics all count rows by this one rule, and a helper that imports
no app can serve them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection


@dataclass
class Count:
    table: str
    label: str
    rows: int
    estimate: bool


def _heap_bytes(table: str) -> int:
    """Heap size summed over a table's leaf partitions (a stat() per file, no scan)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT COALESCE(SUM(pg_relation_size(relid)), 0) FROM pg_partition_tree(%s::regclass) WHERE isleaf",
            [table],
        )
        return int(cur.fetchone()[0])


def exact_count_allowed(table: str) -> bool:
    """Whether the table is small enough to COUNT(*) on a page view (its heap at most
    SUMMARY_EXACT_COUNT_MAX_BYTES); bigger ones report the planner's statistics instead.
    Public so that any page counting rows live follows the same rule."""
    return _heap_bytes(table) <= settings.SUMMARY_EXACT_COUNT_MAX_BYTES


def _statistics(table: str, null_column: str | None = None) -> tuple[float, float, bool]:
    """(rows, rows where null_column IS NULL, all leaves analyzed) from the statistics
    ANALYZE (or autovacuum) keeps: reltuples and the column's null_frac per leaf partition."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT COALESCE(SUM(GREATEST(c.reltuples, 0)), 0),
                   COALESCE(SUM(GREATEST(c.reltuples, 0) * COALESCE(s.null_frac, 0)), 0),
                   COALESCE(BOOL_AND(c.reltuples >= 0), true)
            FROM pg_partition_tree(%s::regclass) t
            JOIN pg_class c ON c.oid = t.relid
            LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = c.relname
                                 AND s.attname = %s
            WHERE t.isleaf
            """,
            [table, null_column or ""],
        )
        rows, nulls, analyzed = cur.fetchone()
    return float(rows), float(nulls), bool(analyzed)


def count_table(table: str, label: str = "") -> Count:
    """A table's rows: COUNT(*) when it is small, else its statistics (flagged as an estimate),
    or, when some partition was never analysed, the planner's scaled guess."""
    if exact_count_allowed(table):
        with connection.cursor() as cur:
            cur.execute(f'SELECT COUNT(*) FROM "{table}"')
            return Count(table, label, cur.fetchone()[0], estimate=False)
    rows, _, analyzed = _statistics(table)
    if not analyzed:
        # Some partition was never analyzed: the planner scales what it knows by file sizes.
        rows = _planner_rows(f'SELECT 1 FROM "{table}"')
    return Count(table, label, round(rows), estimate=True)


def _planner_rows(sql: str) -> int:
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cur.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def alert_counts(table: str = "elasticc_diaalert", sent_column: str = "alertSentTimestamp") -> dict:
    """{"sent": n, "unsent": n, "estimate": bool} of an alerts table (ELAsTiCC's unless given:
    ELAsTiCC2's is elasticc2_ppdbalert, alertsenttimestamp)."""
    sent_sql = '"' + sent_column + '"'
    if exact_count_allowed(table):
        with connection.cursor() as cur:
            cur.execute(f"SELECT COUNT({sent_sql}), COUNT(*) - COUNT({sent_sql}) FROM {table}")
            sent, unsent = cur.fetchone()
        return {"sent": sent, "unsent": unsent, "estimate": False}
    rows, nulls, analyzed = _statistics(table, sent_column)
    if not analyzed:
        rows = _planner_rows(f"SELECT 1 FROM {table}")
        nulls = min(_planner_rows(f"SELECT 1 FROM {table} WHERE {sent_sql} IS NULL"), rows)
    total, unsent = round(rows), round(nulls)
    return {"sent": total - unsent, "unsent": unsent, "estimate": True}
