"""The big tables really are partitioned, and a new classifier gets its own partitions."""

import pytest
from django.db import connection

from elasticc.models import BrokerClassification, BrokerClassifier, BrokerMessage

pytestmark = pytest.mark.django_db


def partitioned_tables() -> dict[str, str]:
    with connection.cursor() as cur:
        cur.execute("""
            SELECT c.relname, p.partstrat, pg_get_partkeydef(c.oid)
            FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
            WHERE c.relname LIKE 'elasticc\\_%%'  -- not elasticc2_*
        """)
        return {name: (strategy, key) for name, strategy, key in cur.fetchall()}


def partitions_of(table: str) -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT child.relname FROM pg_inherits i
            JOIN pg_class parent ON parent.oid = i.inhparent
            JOIN pg_class child ON child.oid = i.inhrelid
            WHERE parent.relname = %s AND child.relkind IN ('r', 'p') ORDER BY 1
        """,
            [table],
        )
        return [row[0] for row in cur.fetchall()]


def test_partitioning_strategies():
    assert partitioned_tables() == {
        "elasticc_diasource": ("h", 'HASH ("diaObjectId")'),
        "elasticc_diaforcedsource": ("h", 'HASH ("diaObjectId")'),
        "elasticc_diaalert": ("h", 'HASH ("diaObjectId")'),
        "elasticc_diatruth": ("h", 'HASH ("diaObjectId")'),
        "elasticc_brokermessage": ("l", 'LIST ("classifierId")'),
        "elasticc_brokerclassification": ("l", 'LIST ("classifierId")'),
    }
    for table in ("elasticc_diasource", "elasticc_diaforcedsource", "elasticc_diaalert", "elasticc_diatruth"):
        assert len(partitions_of(table)) == 16


def test_new_classifier_gets_its_own_partitions():
    before = set(partitions_of("elasticc_brokerclassification"))
    classifier = BrokerClassifier.objects.create(
        brokerName="TestBroker", brokerVersion="1.0", classifierName="RandomForest", classifierParams="v1"
    )
    cid = classifier.classifierId
    assert set(partitions_of("elasticc_brokerclassification")) - before == {f"elasticc_brokerclassification_c{cid}"}
    assert f"elasticc_brokermessage_c{cid}" in partitions_of("elasticc_brokermessage")

    message = BrokerMessage.objects.create(classifierId=cid, alertId=1, diaSourceId=1)
    assert message.brokerMessageId is not None
    BrokerClassification.objects.create(
        classifierId=cid, brokerMessageId=message.brokerMessageId, classId=111, probability=0.75
    )
    with connection.cursor() as cur:
        cur.execute(f'SELECT "classId", probability FROM elasticc_brokerclassification_c{cid}')
        assert cur.fetchall() == [(111, 0.75)]


def test_rows_without_a_classifier_partition_are_refused():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError, match="no partition"), transaction.atomic():
        BrokerMessage.objects.create(classifierId=987654, alertId=1, diaSourceId=1)
