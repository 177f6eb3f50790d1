"""load_snana_fits throughput against a plain COPY of the same rows.

1. Generate a demo sky (generate_demo_sky; 4000 objects x BENCH_SCALE, about a million
   forced sources) under var/bench-load-sky, reusing it when the parameters match.
2. Time ``load_snana_fits`` on it into a freshly migrated database: rows/s counts the
   forced-source and source rows (the same rows the baseline copies), although the
   loader also writes objects, alerts and truth, decompresses and parses the FITS
   files and maintains the partitioned tables' indexes.
3. Baselines: the very same forced-source and source rows, already in memory in
   PostgreSQL's binary COPY format, copied into unpartitioned tables in the same
   database, (a) without any index (``CREATE TABLE ... (LIKE elasticc_diaforcedsource)``)
   and (b) with the real tables' primary keys and indexes (``INCLUDING INDEXES``).

Goal: the loader reaches at least half of the raw COPY rate. Against (a) it cannot on
this schema: maintaining the three indexes of the forced-source table (primary key,
id, object+time) costs PostgreSQL three to four times the bare heap insert, so (a)
shows what the indexes cost and (b) what the loader itself costs.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO_DIR, Row, Timer, main_for, scaled

SEED = 11
PER_FILE = 500


def _demo_sky(n_objects: int) -> Path:
    from elasticc.loading import demo_sky

    out = REPO_DIR / "var" / "bench-load-sky"
    stamp = out / "params.json"
    params = {"objects": n_objects, "seed": SEED, "per_file": PER_FILE}
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return out
    shutil.rmtree(out, ignore_errors=True)
    demo_sky.generate(out, n_objects, SEED, per_file=PER_FILE)
    stamp.write_text(json.dumps(params))
    return out


def _count(cur, table: str) -> int:
    cur.execute(f"SELECT count(*) FROM {table}")
    return cur.fetchone()[0]


def _payloads(sky: Path) -> list:
    """The forced-source and source COPY columns of every pair (what the loader writes)."""
    from elasticc.loading import inputs, loader

    payloads = []
    for pair in inputs.iter_inputs([sky]):
        lc = pair.read()
        payloads.append(loader.pair_rows(lc, pair.dump, lc.object_id == lc.object_id))
    return payloads


def _raw_copy_seconds(payloads: list, with_indexes: bool) -> tuple[float, int]:
    """Seconds to COPY the rows into unpartitioned tables, and the row count."""
    from django.db import connection

    from elasticc.loading.copy import copy_binary

    including = "INCLUDING DEFAULTS" + (" INCLUDING INDEXES" if with_indexes else "")
    with connection.cursor() as django_cursor:
        cur = django_cursor.cursor
        for table in ("bench_forced", "bench_source"):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE bench_forced (LIKE elasticc_diaforcedsource {including})")
        cur.execute(f"CREATE TABLE bench_source (LIKE elasticc_diasource {including})")
        rows = 0
        with Timer() as timer:
            for pair_rows in payloads:
                rows += copy_binary(cur, "bench_forced", pair_rows.columns["forced_sources"])
                rows += copy_binary(cur, "bench_source", pair_rows.columns["sources"])
        assert _count(cur, "bench_forced") + _count(cur, "bench_source") == rows
        for table in ("bench_forced", "bench_source"):
            cur.execute(f"DROP TABLE {table}")
    return timer.seconds, rows


def run(ctx) -> list[Row]:
    ctx.database("bench_load")
    from django.core.management import call_command
    from django.db import connection

    sky = _demo_sky(scaled(4000))
    with Timer() as load_timer:
        call_command("load_snana_fits", str(sky), "--no-progress", stdout=io.StringIO())
    with connection.cursor() as cur:
        loaded = {
            t: _count(cur, f"elasticc_{t}")
            for t in ("diaobject", "diaforcedsource", "diasource", "diaalert", "diatruth", "diaobjecttruth")
        }
    rows = loaded["diaforcedsource"] + loaded["diasource"]
    payloads = _payloads(sky)
    plain_seconds, plain_rows = _raw_copy_seconds(payloads, with_indexes=False)
    indexed_seconds, indexed_rows = _raw_copy_seconds(payloads, with_indexes=True)
    assert plain_rows == indexed_rows == rows, (plain_rows, indexed_rows, rows)
    load_rate = rows / load_timer.seconds
    plain_rate, indexed_rate = rows / plain_seconds, rows / indexed_seconds
    all_rows = sum(loaded.values())
    print(
        f"load_snana_fits: {rows:,} forced+source rows ({all_rows:,} rows in all six tables) in "
        f"{load_timer.seconds:.2f} s; raw COPY of the same rows: {plain_seconds:.2f} s into plain tables, "
        f"{indexed_seconds:.2f} s into plain tables with the same indexes",
        flush=True,
    )
    return [
        Row(
            "load_snana_fits forced+source rows/s",
            load_rate,
            "r/s",
            "raw COPY, no index",
            plain_rate,
            goal=">= 0.5",
            met=load_rate / plain_rate >= 0.5,
        ),
        Row(
            "load_snana_fits forced+source rows/s",
            load_rate,
            "r/s",
            "raw COPY, same idx",
            indexed_rate,
            goal=">= 0.5",
            met=load_rate / indexed_rate >= 0.5,
        ),
    ]


if __name__ == "__main__":
    main_for(run)
