"""bench_ingest.py's records and its comparison of the two broker-message layouts (issue 14): the
same ELAsTiCC2 messages stored through ELAsTiCC2's tables (one row per message, classid
smallint[] and probability real[]) and through ELAsTiCC's (a message row plus one row per
classification), by the one store path, store_broker_messages. A helper module, not a benchmark
of its own."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

CLASSIFICATIONS = 20
CLASSIFIERS = 5


def bench_records(n: int, broker: str, seed: int, campaign: str = "elasticc", first_alert: int = 1) -> list[dict]:
    """n brokerClassification records of a campaign (CLASSIFIERS classifiers, CLASSIFICATIONS pairs
    each, classIds drawn from the campaign's exact classes: three digits for ELAsTiCC, four for
    ELAsTiCC2), validated."""
    from elasticc.stream import brokertables
    from elasticc.stream.ingest import validate_classification

    tables = brokertables.get(campaign)
    leaves = sorted(c for c in tables.classes() if c >= (100 if campaign == "elasticc" else 1000))
    rng = random.Random(seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    records = []
    for i in range(n):
        alert = first_alert + i // CLASSIFIERS
        weights = [rng.random() for _ in range(CLASSIFICATIONS)]
        total = sum(weights)
        record = {
            "alertId": alert,
            "diaSourceId": alert,
            "elasticcPublishTimestamp": t0 + timedelta(seconds=alert),
            "brokerIngestTimestamp": t0 + timedelta(seconds=alert + 2),
            "brokerName": broker,
            "brokerVersion": "1",
            "classifierName": f"classifier{i % CLASSIFIERS}",
            "classifierParams": "",
            "classifications": [
                {"classId": c, "probability": w / total} for c, w in zip(rng.sample(leaves, CLASSIFICATIONS), weights)
            ],
        }
        records.append(validate_classification(record, tables))
    return records


def layout_rates(records: list[dict], batch: int = 5000) -> dict[str, dict]:
    """{"rows" | "arrays": {"rate": messages/s, "rows": rows written, "bytes": on disk}}: the same
    records stored through ELAsTiCC's and ELAsTiCC2's tables, in two alternating halves."""
    from django.db import connection

    from elasticc.stream import brokertables
    from elasticc.stream.ingest import KafkaOrigin, store_broker_messages

    layouts = {"rows": brokertables.ELASTICC, "arrays": brokertables.get("elasticc2")}
    seconds = dict.fromkeys(layouts, 0.0)
    written = dict.fromkeys(layouts, 0)
    half = len(records) // 2
    for k, part in enumerate((records[:half], records[half:])):
        for name in ("rows", "arrays") if k == 0 else ("arrays", "rows"):
            tables = layouts[name]
            start = time.perf_counter()
            for b in range(0, len(part), batch):
                chunk = part[b : b + batch]
                origins = [KafkaOrigin(f"bench-{name}", 0, k * half + b + i, None) for i in range(len(chunk))]
                result = store_broker_messages(list(zip(chunk, origins)), tables=tables)
                if result.stored != len(chunk):
                    raise RuntimeError(f"{name}: stored {result.stored} of {len(chunk)}")
                written[name] += result.stored + (result.classifications if name == "rows" else 0)
            seconds[name] += time.perf_counter() - start
    with connection.cursor() as cur:
        # What the tables hold for the bench's classifiers, counted and measured independently.
        cur.execute(
            'SELECT (SELECT count(*) FROM elasticc_brokermessage m JOIN elasticc_brokerclassifier c USING ("classifierId") '
            "WHERE c.\"brokerName\" = 'BenchLayouts') + (SELECT count(*) FROM elasticc_brokerclassification x "
            'JOIN elasticc_brokerclassifier c USING ("classifierId") WHERE c."brokerName" = \'BenchLayouts\'), '
            "(SELECT count(*) FROM elasticc2_brokermessage m JOIN elasticc2_brokerclassifier c USING (classifier_id) "
            "WHERE c.brokername = 'BenchLayouts')"
        )
        counted = dict(zip(("rows", "arrays"), cur.fetchone()))
        cur.execute(
            "SELECT sum(pg_total_relation_size(format('elasticc_brokermessage_c%s', \"classifierId\")) "
            "+ pg_total_relation_size(format('elasticc_brokerclassification_c%s', \"classifierId\"))) "
            "FROM elasticc_brokerclassifier WHERE \"brokerName\" = 'BenchLayouts'"
        )
        size_rows = cur.fetchone()[0]
        cur.execute(
            "SELECT sum(pg_total_relation_size(format('elasticc2_brokermessage_c%s', classifier_id))) "
            "FROM elasticc2_brokerclassifier WHERE brokername = 'BenchLayouts'"
        )
        size_arrays = cur.fetchone()[0]
    if counted != written:
        raise RuntimeError(f"rows counted {counted} differ from rows written {written}")
    sizes = {"rows": int(size_rows), "arrays": int(size_arrays)}
    return {
        name: {"rate": len(records) / seconds[name], "rows": written[name], "bytes": sizes[name]} for name in layouts
    }
