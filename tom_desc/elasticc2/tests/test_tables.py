"""The elasticc2_* tables as SQL sees them: names, columns, types, partitioning, keys, indexes.

The expected columns are written out from the reference (docs/architecture.md and the
original DESC TOM's elasticc2 tables), not read from the models, so a model change that
alters what analysts' SQL sees fails here.
"""

import json

import pytest
from django.apps import apps
from django.db import DataError, IntegrityError, connection, transaction

from elasticc2.models import BrokerClassifier, BrokerMessage

pytestmark = pytest.mark.django_db

HOST = (
    ["ellipticity", "sqradius", "zspec", "zspec_err", "zphot", "zphot_err"]
    + [f"zphot_q{q:03d}" for q in range(0, 101, 10)]
    + [f"mag_{b}" for b in "ugrizy"]
    + ["ra", "dec", "snsep"]
    + [f"magerr_{b}" for b in "ugrizy"]
)
OBJECT = [
    ("diaobject_id", "bigint", False),
    ("isddf", "boolean", False),
    ("simversion", "text", True),
    ("ra", "double precision", False),
    ("decl", "double precision", False),
    *[(c, "real", True) for c in ("mwebv", "mwebv_err", "z_final", "z_final_err")],
    *[(f"hostgal{g}_{c}", "real", True) for g in ("", "2") for c in HOST],
]
SOURCE = [
    ("diasource_id", "bigint", False),
    ("diaobject_id", "bigint", False),
    ("midpointtai", "double precision", False),
    ("filtername", "text", False),
    ("ra", "double precision", False),
    ("decl", "double precision", False),
    ("psflux", "real", False),
    ("psfluxerr", "real", False),
    ("snr", "real", False),
]
FORCED = [
    ("diaforcedsource_id", "bigint", False),
    ("diaobject_id", "bigint", False),
    ("midpointtai", "double precision", False),
    ("filtername", "text", False),
    ("psflux", "real", False),
    ("psfluxerr", "real", False),
]
TRUTH_REAL = ["zcmb", "zhelio", "zcmb_smear"]
TRUTH = [
    ("diaobject_id", "bigint", False),
    ("libid", "integer", False),
    ("sim_searcheff_mask", "integer", False),
    ("gentype", "integer", False),
    ("sim_template_index", "integer", False),
    *[(c, "real", False) for c in TRUTH_REAL],
    ("ra", "double precision", False),
    ("dec", "double precision", False),
    ("mwebv", "real", False),
    ("galid", "bigint", True),
    *[(c, "real", True) for c in ("galzphot", "galzphoterr", "galsnsep", "galsnddlr")],
    *[(c, "real", False) for c in ("rv", "av", "mu", "lensdmu", "peakmjd")],
    ("mjd_detect_first", "double precision", False),
    ("mjd_detect_last", "double precision", False),
    ("dtseason_peak", "real", False),
    *[(f"peakmag_{b}", "real", False) for b in "ugrizy"],
    *[(c, "real", False) for c in ("snrmax", "snrmax2", "snrmax3")],
    ("nobs", "integer", False),
    ("nobs_saturate", "integer", False),
]
EXPECTED_COLUMNS = {
    "elasticc2_ppdbdiaobject": OBJECT,
    "elasticc2_diaobject": OBJECT,
    "elasticc2_ppdbdiasource": SOURCE,
    "elasticc2_diasource": SOURCE,
    "elasticc2_ppdbdiaforcedsource": FORCED,
    "elasticc2_diaforcedsource": FORCED,
    "elasticc2_ppdbalert": [
        ("alert_id", "bigint", False),
        ("diasource_id", "bigint", False),
        ("diaobject_id", "bigint", False),
        ("midpointtai", "double precision", False),  # added: the sender's index, no join
        ("alertsenttimestamp", "timestamp with time zone", True),
    ],
    "elasticc2_diaobjecttruth": TRUTH,
    "elasticc2_gentypeofclassid": [
        ("id", "integer", False),
        ("classid", "integer", False),
        ("gentype", "integer", True),
        ("description", "text", False),
    ],
    "elasticc2_classidofgentype": [
        ("id", "integer", False),
        ("gentype", "integer", False),
        ("classid", "integer", False),
        ("exactmatch", "boolean", False),
        ("categorymatch", "boolean", False),
        ("generalmatch", "boolean", False),
        ("broadmatch", "boolean", False),
        ("description", "text", False),
    ],
    "elasticc2_brokerclassifier": [
        ("classifier_id", "bigint", False),
        ("brokername", "character varying(100)", False),
        ("brokerversion", "text", True),
        ("classifiername", "character varying(200)", False),
        ("classifierparams", "text", True),
        ("modified", "timestamp with time zone", False),
        ("registeredby", "text", True),  # added (migration 0005): what the per-broker cap counts
    ],
    "elasticc2_brokermessage": [
        ("brokermessage_id", "bigint", False),
        ("streammessage_id", "bigint", True),
        ("topicname", "character varying(200)", True),
        ("kafkapartition", "integer", True),  # added: an offset means something per partition
        ("alert_id", "bigint", False),
        ("diasource_id", "bigint", False),
        ("msghdrtimestamp", "timestamp with time zone", True),
        ("descingesttimestamp", "timestamp with time zone", False),
        ("elasticcpublishtimestamp", "timestamp with time zone", True),
        ("brokeringesttimestamp", "timestamp with time zone", True),
        ("classifier_id", "bigint", False),
        ("classid", "smallint[]", False),
        ("probability", "real[]", False),
    ],
}
PER_OBJECT = [
    "elasticc2_ppdbdiasource",
    "elasticc2_ppdbdiaforcedsource",
    "elasticc2_ppdbalert",
    "elasticc2_diasource",
    "elasticc2_diaforcedsource",
]


def rows(sql, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def columns(table: str) -> list[tuple[str, str, bool]]:
    return [
        (name, type_, not notnull)
        for name, type_, notnull in rows(
            """SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute
               WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum""",
            [table],
        )
    ]


def partitions_of(table: str) -> list[str]:
    return [
        r[0]
        for r in rows(
            """SELECT child.relname FROM pg_inherits i JOIN pg_class parent ON parent.oid = i.inhparent
               JOIN pg_class child ON child.oid = i.inhrelid WHERE parent.relname = %s ORDER BY 1""",
            [table],
        )
    ]


def test_every_table_and_column_as_sql_sees_it():
    tables = {
        r[0]
        for r in rows(
            r"""SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace
                AND relname LIKE 'elasticc2\_%%' AND relkind IN ('r', 'p') AND NOT relispartition"""
        )
    }
    # Other apps may own tables under the original's elasticc2_ names (followup's spectrum tables):
    # they are theirs to test.
    others = {m._meta.db_table for m in apps.get_models() if m._meta.app_label != "elasticc2"}
    assert tables - others == set(EXPECTED_COLUMNS)
    for table, expected in EXPECTED_COLUMNS.items():
        assert columns(table) == expected, table
    assert len(OBJECT) == 73  # 9 leading columns and 32 per host galaxy


def test_partitioning_strategies_and_keys():
    strategies = {
        name: (strategy, key)
        for name, strategy, key in rows(
            r"""SELECT c.relname, p.partstrat, pg_get_partkeydef(c.oid)
                FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
                WHERE c.relname LIKE 'elasticc2\_%%'"""
        )
    }
    assert strategies == {
        **dict.fromkeys(PER_OBJECT, ("h", "HASH (diaobject_id)")),
        "elasticc2_brokermessage": ("l", "LIST (classifier_id)"),
    }
    for table in PER_OBJECT:
        assert partitions_of(table) == [f"{table}_p{r:02d}" for r in range(16)]
        assert rows(
            "SELECT count(*) FROM pg_class WHERE relname LIKE %s AND relkind = 'r' AND relispartition",
            [table + "\\_p%%"],
        ) == [(16,)]
    # The primary key of a partitioned table contains its partition key.
    keys = dict(
        rows(
            r"""SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint
                WHERE contype = 'p' AND conrelid::regclass::text LIKE 'elasticc2\_%%'"""
        )
    )
    assert keys["elasticc2_ppdbdiasource"] == "PRIMARY KEY (diaobject_id, diasource_id)"
    assert keys["elasticc2_ppdbalert"] == "PRIMARY KEY (diaobject_id, alert_id)"
    assert keys["elasticc2_brokermessage"] == "PRIMARY KEY (classifier_id, brokermessage_id)"
    assert keys["elasticc2_ppdbdiaobject"] == "PRIMARY KEY (diaobject_id)"
    # No foreign keys anywhere in the campaign's tables (docs/architecture.md).
    assert rows(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
        [list(EXPECTED_COLUMNS)],
    ) == [(0,)]


def index_definitions(table: str) -> dict[str, str]:
    return dict(rows("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table]))


def test_indexes_for_the_queries_to_come():
    alert = index_definitions("elasticc2_ppdbalert")
    assert "WHERE (alertsenttimestamp IS NULL)" in alert["elasticc2_ppdbalert_unsent"]  # the sender
    # the sent rule: an object's sent alerts by time, from the index alone
    assert "(diaobject_id, midpointtai) WHERE (alertsenttimestamp IS NOT NULL)" in alert["elasticc2_ppdbalert_horizon"]
    for table, prefix in (
        ("elasticc2_ppdbdiasource", "elasticc2_ppdbsrc"),
        ("elasticc2_ppdbdiaforcedsource", "elasticc2_ppdbfrc"),
        ("elasticc2_diasource", "elasticc2_diasource"),
        ("elasticc2_diaforcedsource", "elasticc2_diaforced"),
    ):
        assert "(diaobject_id, midpointtai)" in index_definitions(table)[f"{prefix}_obj_time"]  # light curves
    for table, name in (
        ("elasticc2_ppdbdiaobject", "elasticc2_ppdbobj_radec"),
        ("elasticc2_diaobject", "elasticc2_diaobject_radec"),
    ):
        assert "USING gist (point(ra, decl))" in index_definitions(table)[name]  # cone search
    message = index_definitions("elasticc2_brokermessage")
    assert (
        "UNIQUE" in message["elasticc2_brokermessage_once"]
        and "(classifier_id, alert_id)" in message["elasticc2_brokermessage_once"]
    )
    for name, column in (("alert", "alert_id"), ("source", "diasource_id"), ("ingest", "descingesttimestamp")):
        assert f"({column})" in message[f"elasticc2_brokermessage_{name}"]


def test_a_new_classifier_gets_its_own_partition_and_messages_land_there():
    before = set(partitions_of("elasticc2_brokermessage"))
    cid = BrokerClassifier.objects.create(
        brokername="B", brokerversion="1", classifiername="C", classifierparams="p"
    ).classifier_id
    assert set(partitions_of("elasticc2_brokermessage")) - before == {f"elasticc2_brokermessage_c{cid}"}
    message = BrokerMessage.objects.create(
        classifier_id=cid, alert_id=7, diasource_id=7, classid=[2222, 2242], probability=[0.9, 0.1]
    )
    assert message.brokermessage_id is not None
    assert rows(
        f"SELECT classid, probability, descingesttimestamp IS NOT NULL FROM elasticc2_brokermessage_c{cid}"
    ) == [([2222, 2242], [0.9, 0.1], True)]


def test_the_tables_refuse_what_would_corrupt_them():
    cid = BrokerClassifier.objects.create(
        brokername="B", brokerversion=None, classifiername="C", classifierparams=None
    ).classifier_id
    BrokerMessage.objects.create(classifier_id=cid, alert_id=1, diasource_id=1, classid=[2222], probability=[1.0])
    cases = [
        # a classifier classifies an alert once: a redelivery cannot store a second row
        (
            r"unique constraint (.|\n)*Key \(classifier_id, alert_id\)=",
            lambda: BrokerMessage.objects.create(
                classifier_id=cid, alert_id=1, diasource_id=1, classid=[2223], probability=[1.0]
            ),
        ),
        # a classid without its probability
        (
            "elasticc2_brokermessage_pairs",
            lambda: BrokerMessage.objects.create(
                classifier_id=cid, alert_id=2, diasource_id=2, classid=[2222, 2223], probability=[1.0]
            ),
        ),
        # no partition for an unknown classifier (no default partition to hide it in)
        (
            "no partition",
            lambda: BrokerMessage.objects.create(
                classifier_id=cid + 1000, alert_id=3, diasource_id=3, classid=[], probability=[]
            ),
        ),
        # the same classifier twice, nulls counting as equal
        (
            "elasticc2_brokerclassifier_unique",
            lambda: BrokerClassifier.objects.create(
                brokername="B", brokerversion=None, classifiername="C", classifierparams=None
            ),
        ),
    ]
    for expected, action in cases:
        with pytest.raises(IntegrityError, match=expected), transaction.atomic():
            action()
    with pytest.raises(DataError, match="smallint"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "INSERT INTO elasticc2_brokermessage (classifier_id, alert_id, diasource_id, classid, probability) "
            "VALUES (%s, 4, 4, '{40000}', '{1}')",
            [cid],
        )
    assert BrokerMessage.objects.count() == 1


def plan_nodes(queryset) -> list[dict]:
    """Every node of the plan PostgreSQL picks for `queryset`, when it may not scan whole
    tables (the small test tables would otherwise be read sequentially, whatever the indexes)."""
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cur.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes, stack = [], [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes


def scans(nodes) -> tuple[set[str], set[str]]:
    """(tables read, indexes used) of a plan."""
    return {n["Relation Name"] for n in nodes if "Relation Name" in n}, {
        n["Index Name"] for n in nodes if "Index Name" in n
    }


def test_the_queries_to_come_use_their_indexes_in_one_partition():
    from elasticc2.models import BrokerMessage, PpdbAlert, PpdbDiaForcedSource, PpdbDiaSource
    from elasticc2.tests.data import seed

    data = seed(n_objects=40)
    # Plans follow statistics: refresh them, as earlier tests may have left a big table's behind.
    with connection.cursor() as cur:
        cur.execute("ANALYZE elasticc2_ppdbdiaforcedsource, elasticc2_ppdbdiasource, elasticc2_ppdbalert")
    obj = data.object_ids[5]
    forced = rows("SELECT tableoid::regclass::text FROM elasticc2_ppdbdiaforcedsource WHERE diaobject_id = %s LIMIT 1", [obj])[0][0]  # fmt: skip
    source, alert = (
        forced.replace("ppdbdiaforcedsource", "ppdbdiasource"),
        forced.replace("ppdbdiaforcedsource", "ppdbalert"),
    )
    # A light curve / prvDiaForcedSources window: one partition, its (diaobject_id, midpointtai) index.
    light_curve = PpdbDiaForcedSource.objects.filter(diaobject_id=obj, midpointtai__lt=60004).order_by("midpointtai")
    # (the primary key (diaobject_id, diaforcedsource_id) serves one object as well, and at this
    # size the planner may prefer it and sort the few rows; either reads one partition's index)
    tables, indexes = scans(plan_nodes(light_curve))
    assert tables == {forced} and len(indexes) == 1, (tables, indexes)
    assert indexes <= {f"{forced}_diaobject_id_midpointtai_idx", f"{forced}_pkey"}, indexes
    # The sent rule for one object's sources: the object's partitions, the horizon index.
    tables, indexes = scans(plan_nodes(PpdbDiaSource.sent().filter(diaobject_id=obj)))
    assert tables == {source, alert}
    # by indexes of those two partitions (elasticc2_ppdbalert_horizon, or another index of the
    # partition when statistics left by earlier tests make the planner prefer it)
    assert indexes and all(index.startswith((f"{source}_", f"{alert}_")) for index in indexes), indexes
    # The sender: unsent alerts up to a day, from the partial index of every partition.
    tables, indexes = scans(
        plan_nodes(PpdbAlert.objects.filter(alertsenttimestamp__isnull=True, midpointtai__lte=60003))
    )
    # (each partition by an index: the partial unsent-by-time one, or on a small partition the
    # planner may take the alertsenttimestamp one; never a sequential scan)
    usable = {
        f"elasticc2_ppdbalert_p{p:02d}_{i}" for p in range(16) for i in ("midpointtai_idx", "alertsenttimestamp_idx")
    }
    partitions = {index.split("_")[2] for index in indexes}
    assert indexes <= usable and partitions == {f"p{p:02d}" for p in range(16)}, indexes
    assert not [
        n
        for n in plan_nodes(PpdbAlert.objects.filter(alertsenttimestamp__isnull=True, midpointtai__lte=60003))
        if n.get("Node Type") == "Seq Scan"
    ]
    # Broker messages of an alert: each classifier's partition, by an alert_id index.
    tables, indexes = scans(plan_nodes(BrokerMessage.objects.filter(alert_id=data.alert_ids(sent=True)[0])))
    assert tables == {f"elasticc2_brokermessage_c{c}" for c in data.classifier_ids}
    assert all(index.endswith(("_alert_id_idx", "_classifier_id_alert_id_key")) for index in indexes), indexes
