"""Backup and restore as production does it: the pg-backup CronJob's own script makes the dump,
the database is dropped, `pg_restore` brings it back with the same rows, partitions and
sequences, and the partition-creating trigger still works afterwards.

Runs against the embedded PostgreSQL with its own pg_dump/pg_restore binaries.
"""

import os
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import yaml
from django.contrib.auth.models import User
from django.db import connection

from devstack.postgres import bin_dir
from elasticc.models import BrokerClassification, BrokerClassifier, BrokerMessage, DiaObject, DiaSource

REPO_DIR = Path(__file__).resolve().parents[3]


def _backup_script() -> str:
    """The shell script of the tom-desc-pg-backup CronJob, read from the manifest."""
    for doc in yaml.safe_load_all((REPO_DIR / "k8s" / "base" / "cronjobs.yaml").read_text()):
        if doc and doc["metadata"]["name"] == "tom-desc-pg-backup":
            container = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
            assert container["command"][:2] == ["/bin/sh", "-c"]
            return container["command"][2]
    raise AssertionError("no tom-desc-pg-backup CronJob in k8s/base/cronjobs.yaml")


class Server:
    def __init__(self, settings_dict):
        self.host = settings_dict["HOST"]
        self.port = str(settings_dict["PORT"] or 5432)
        self.env = dict(
            os.environ, PGHOST=self.host, PGPORT=self.port, PGUSER="postgres", PATH=f"{bin_dir()}:{os.environ['PATH']}"
        )

    def run(self, *args, **env):
        result = subprocess.run(list(args), env=dict(self.env, **env), capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{args[0]} failed: {result.stderr}"
        return result

    def sql(self, database, statement):
        with psycopg.connect(host=self.host, port=self.port, user="postgres", dbname=database, autocommit=True) as conn:
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def snapshot(self, database):
        """Row count of every table and partition, the partition tree, and the sequences."""
        tables = [
            name
            for (name,) in self.sql(
                database,
                """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1""",
            )
        ]
        counts = dict(
            self.sql(database, " UNION ALL ".join(f"SELECT '{name}', count(*) FROM \"{name}\"" for name in tables))
        )
        tree = self.sql(
            database,
            """
            SELECT p.relname, c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent ORDER BY 1, 2""",
        )
        sequences = self.sql(database, "SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")
        return counts, tree, sequences


def _fill():
    """Rows in plain, HASH-partitioned and LIST-partitioned tables, and accounts."""
    classifiers = [
        BrokerClassifier.objects.create(
            brokerName="Backup", brokerVersion="1", classifierName=f"c{i}", classifierParams=""
        )
        for i in range(2)
    ]
    DiaObject.objects.bulk_create(DiaObject(diaObjectId=i, ra=10.0 + i, decl=-5.0) for i in range(40))
    DiaSource.objects.bulk_create(
        DiaSource(
            diaSourceId=i * 100 + j,
            diaObjectId=i,
            midPointTai=60000.0 + j,
            filterName="r",
            ra=10.0 + i,
            decl=-5.0,
            psFlux=100.0 + j,
            psFluxErr=1.0,
            snr=100.0,
        )
        for i in range(40)
        for j in range(5)
    )
    for classifier in classifiers:
        for alert in range(30):
            message = BrokerMessage.objects.create(
                classifierId=classifier.classifierId, alertId=alert, diaSourceId=alert
            )
            BrokerClassification.objects.bulk_create(
                BrokerClassification(
                    classifierId=classifier.classifierId,
                    brokerMessageId=message.brokerMessageId,
                    classId=class_id,
                    probability=p,
                )
                for class_id, p in ((111, 0.7), (112, 0.2), (113, 0.1))
            )
    User.objects.create_user("backup-check", "b@example.org", "a long enough passphrase")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_dump_drop_restore_round_trip(embedded_postgres, tmp_path):
    if embedded_postgres is None:
        pytest.skip("needs the embedded PostgreSQL (tests run against an external server)")
    _fill()
    server = Server(connection.settings_dict)
    database = f"backup_check_{os.getpid()}"
    server.sql("postgres", f'DROP DATABASE IF EXISTS "{database}"')

    # A scratch copy of the test database that can be dropped (pg_dump | pg_restore).
    seed = tmp_path / "seed.dump"
    server.run("pg_dump", "--format=custom", f"--file={seed}", f"--dbname={connection.settings_dict['NAME']}")
    server.sql("postgres", f'CREATE DATABASE "{database}"')
    server.run("pg_restore", "--exit-on-error", f"--dbname={database}", str(seed))
    before = server.snapshot(database)
    counts = before[0]
    assert counts["elasticc_diasource"] == 200 and counts["elasticc_brokerclassification"] == 180
    assert counts["elasticc_brokermessage"] == 60
    # The rows really sit in partitions: no HASH partition holds them all, each classifier has its own.
    diasource_parts = [child for parent, child in before[1] if parent == "elasticc_diasource"]
    assert len(diasource_parts) == 16
    assert 0 < max(counts[name] for name in diasource_parts) < 200
    assert sum(counts[name] for name in diasource_parts) == 200

    # 1. the nightly backup, by the CronJob's own script (an old dump is past retention)
    backups = tmp_path / "backups"
    backups.mkdir()
    old = backups / "tom_desc-20000101T000000Z.dump"
    old.write_bytes(b"old")
    os.utime(old, (time.time() - 30 * 86400,) * 2)
    password_file = tmp_path / "db_password"
    password_file.write_text("unused-with-trust-auth")
    server.run(
        "/bin/sh",
        "-c",
        _backup_script(),
        BACKUP_DIR=str(backups),
        PGDATABASE=database,
        DB_PASS_FILE=str(password_file),
        BACKUP_KEEP_DAYS="14",
    )
    dumps = sorted(backups.glob("tom_desc-*.dump"))
    assert len(dumps) == 1 and dumps[0] != old, "the new dump is kept, the 30-day-old one removed"
    assert not list(backups.glob(".tom_desc-*"))  # no partial file left behind
    roles = next(backups.glob("roles-*.sql")).read_text()
    assert "CREATE ROLE postgres" in roles

    # 2. disaster: the database is gone
    server.sql("postgres", f'DROP DATABASE "{database}" WITH (FORCE)')
    assert not server.sql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{database}'")

    # 3. restore as docs/deploy.md says: an empty database, then pg_restore
    server.sql("postgres", f'CREATE DATABASE "{database}"')
    server.run("pg_restore", "--exit-on-error", "--jobs=2", f"--dbname={database}", str(dumps[0]))
    after = server.snapshot(database)
    assert after == before

    # The trigger that gives a new classifier its partitions came back too. The id is one no
    # partition has yet: partitions of earlier tests' classifiers outlive their rows (a flush
    # truncates tables, it drops none), so the sequence's next value may already have them.
    fresh = 1 + max(
        [int(child.rsplit("_c", 1)[1]) for parent, child in after[1] if parent == "elasticc_brokermessage"] or [0]
    )
    server.sql(
        database,
        f"""INSERT INTO elasticc_brokerclassifier
        ("classifierId", "brokerName", "brokerVersion", "classifierName", "classifierParams", modified)
        VALUES ({fresh}, 'Restored', '1', 'new', '', now())""",
    )
    new_partitions = set(server.snapshot(database)[1]) - set(after[1])
    assert {
        ("elasticc_brokermessage", f"elasticc_brokermessage_c{fresh}"),
        ("elasticc_brokerclassification", f"elasticc_brokerclassification_c{fresh}"),
    } <= new_partitions
    assert all(f"_c{fresh}" in child for _parent, child in new_partitions), new_partitions  # and their indexes
    server.sql("postgres", f'DROP DATABASE "{database}" WITH (FORCE)')
