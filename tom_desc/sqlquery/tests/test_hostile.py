"""Hostile SQL through /db/runsqlquery/: each attempt is refused (or bounded) and changes nothing.

The user's transaction is read-write (temporary tables must work, as on the original site),
so privileges are the fence: every write other than to the call's own temporary objects is
refused, and nothing outlives the call. "Nothing changed" is checked from the superuser
side: tables and their privileges, roles and memberships, extensions, functions, large
objects, prepared transactions, temporary relations left behind, server configuration files
(ALTER SYSTEM), row counts, sequences, and a file a successful COPY ... TO PROGRAM would
create.
"""

import os
import time
import uuid

import pytest
from django.db import connection

from elasticc.stream.sender import SEND_LOCK_KEY
from sqlquery.tests.conftest import login, run_sql

SENTINEL = f"/tmp/sqlquery-hostile-{uuid.uuid4().hex}"


def fingerprint() -> dict:
    queries = {
        "relations": "SELECT relname, relkind, coalesce(relacl::text, '') FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace ORDER BY 1",
        "roles": "SELECT a.rolname, a.rolsuper, a.rolinherit, a.rolcreaterole, a.rolcreatedb, a.rolcanlogin, "
        "a.rolbypassrls, coalesce(r.rolconfig::text, ''), coalesce(a.rolpassword, '') "
        "FROM pg_authid a JOIN pg_roles r ON r.oid = a.oid ORDER BY 1",
        "members": "SELECT roleid::regrole::text, member::regrole::text FROM pg_auth_members ORDER BY 1, 2",
        "extensions": "SELECT extname FROM pg_extension ORDER BY 1",
        "functions": "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1",
        "large_objects": "SELECT count(*) FROM pg_largeobject_metadata",
        "prepared": "SELECT count(*) FROM pg_prepared_xacts",
        "temporary relations": "SELECT count(*) FROM pg_class WHERE relpersistence = 't'",
        "sequences": "SELECT last_value FROM elasticc_brokermessage_id_seq",
        "function acl": "SELECT proname, coalesce(proacl::text, '') FROM pg_proc "
        "WHERE pronamespace = 'pg_catalog'::regnamespace AND proacl IS NOT NULL ORDER BY 1, 2",
        "file_settings": "SELECT sourcefile, name, setting FROM pg_file_settings ORDER BY 1, 2",
        "db_settings": "SELECT setdatabase, setrole, setconfig::text FROM pg_db_role_setting ORDER BY 1, 2",
        "users": "SELECT id, username, is_superuser, password FROM auth_user ORDER BY id",
        "classifiers": "SELECT count(*) FROM elasticc_brokerclassifier",
        "taxonomy": 'SELECT count(*), sum("classId") FROM elasticc_gentypeofclassid',
    }
    with connection.cursor() as cur:
        state = {}
        for name, sql in queries.items():
            cur.execute(sql)
            state[name] = cur.fetchall()
    state["sentinel"] = os.path.exists(SENTINEL)
    return state


ESCAPES = {
    # DDL
    "create table": "CREATE TABLE elasticc_evil (x int)",
    "drop table": "DROP TABLE elasticc_brokerclassifier",
    "alter table": "ALTER TABLE elasticc_brokerclassifier ADD COLUMN evil int",
    "truncate": "TRUNCATE elasticc_gentypeofclassid",
    "create unlogged table": "CREATE UNLOGGED TABLE evil (x int)",
    "create function": "CREATE FUNCTION pg_temp.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "create plpgsql function": "CREATE FUNCTION pg_temp.evil() RETURNS int LANGUAGE plpgsql AS 'BEGIN RETURN 1; END'",
    "do block": "DO $$ BEGIN EXECUTE $q$ALTER ROLE elasticc_ro PASSWORD 'evil'$q$; END $$",
    "select into a table": "SELECT 1 AS x INTO elasticc_evil",
    "create view": "CREATE VIEW elasticc_evil AS SELECT 1",
    "create schema": "CREATE SCHEMA evil",
    "create sequence": "CREATE SEQUENCE evil",
    "create index": 'CREATE INDEX evil ON elasticc_brokerclassifier ("brokerName")',
    # DML
    "insert": (
        'INSERT INTO elasticc_brokerclassifier ("brokerName", "brokerVersion", "classifierName", '
        "\"classifierParams\", modified) VALUES ('x', 'x', 'x', 'x', now())"
    ),
    "update auth_user": "UPDATE auth_user SET is_superuser = true",
    "delete": "DELETE FROM elasticc_gentypeofclassid",
    "merge": (
        "MERGE INTO elasticc_gentypeofclassid t USING (SELECT 1 AS x) s ON false "
        "WHEN NOT MATCHED THEN INSERT (\"classId\", gentype, description) VALUES (1, 1, 'x')"
    ),
    "nextval": "SELECT nextval('elasticc_brokermessage_id_seq')",
    "setval": "SELECT setval('elasticc_brokermessage_id_seq', 1)",
    "temp table then a real write": [
        "CREATE TEMP TABLE t AS SELECT 1 AS x",
        "INSERT INTO elasticc_gentypeofclassid SELECT * FROM elasticc_gentypeofclassid LIMIT 1",
    ],
    "select for update": "SELECT * FROM elasticc_gentypeofclassid FOR UPDATE",
    "select for share": "SELECT * FROM elasticc_gentypeofclassid FOR SHARE",
    "select for key share": "SELECT * FROM elasticc_gentypeofclassid FOR KEY SHARE",
    "lock": "LOCK TABLE elasticc_brokerclassifier IN ACCESS EXCLUSIVE MODE",
    # the server's files and programs
    "copy to program": f"COPY (SELECT 1) TO PROGRAM 'touch {SENTINEL}'",
    "copy to file": f"COPY elasticc_gentypeofclassid TO '{SENTINEL}'",
    "copy from file": "COPY elasticc_gentypeofclassid FROM '/etc/passwd'",
    "pg_read_file": "SELECT pg_read_file('/etc/passwd')",
    "pg_read_file config": "SELECT pg_read_file('postgresql.conf')",
    "pg_read_binary_file": "SELECT pg_read_binary_file('/etc/passwd')",
    "pg_ls_dir": "SELECT * FROM pg_ls_dir('.')",
    "pg_stat_file": "SELECT * FROM pg_stat_file('postgresql.conf')",
    "lo_import": "SELECT lo_import('/etc/passwd')",
    "lo_export": f"SELECT lo_export(1, '{SENTINEL}')",
    "lo_create": "SELECT lo_create(0)",
    "lo_creat": "SELECT lo_creat(-1)",
    "lo_from_bytea": "SELECT lo_from_bytea(0, 'evil'::bytea)",
    "lo_put": "SELECT lo_put(1, 0, 'evil'::bytea)",
    "lo_unlink": "SELECT lo_unlink(1)",
    "WAL message": "SELECT pg_logical_emit_message(false, 'evil', 'x')",
    # escaping the role
    "set role": ["SET ROLE postgres", "SELECT * FROM auth_user"],
    "set role via set_config": ["SELECT set_config('role', 'postgres', false)", "SELECT * FROM auth_user"],
    "reset role": ["RESET ROLE", "SELECT * FROM auth_user"],
    "set session authorization": ["SET SESSION AUTHORIZATION postgres", "SELECT * FROM auth_user"],
    "reset session authorization": ["RESET SESSION AUTHORIZATION", "SELECT * FROM auth_user"],
    "rollback then set role": ["ROLLBACK", "SET ROLE postgres", "SELECT * FROM auth_user"],
    "commit then write": ["COMMIT", "SET default_transaction_read_only = off", "CREATE TEMP TABLE evil (x int)"],
    "temp table then commit": ["CREATE TEMP TABLE evil (x int)", "COMMIT"],
    "commit behind a comment": [
        "CREATE TEMP TABLE evil (x int)",
        "/* a /* nested */ comment */ -- and a line\n commit",
    ],
    "end": ["CREATE TEMP TABLE evil (x int)", "END"],
    "abort": ["CREATE TEMP TABLE evil (x int)", "ABORT"],
    "prepare transaction alone": "PREPARE TRANSACTION 'tom_desc_evil'",
    "commit and chain": ["COMMIT AND CHAIN", "SET TRANSACTION READ WRITE", "CREATE TEMP TABLE evil (x int)"],
    "rollback and chain": ["ROLLBACK AND CHAIN", "SET TRANSACTION READ WRITE", "CREATE TEMP TABLE evil (x int)"],
    "prepare transaction": ["SELECT 1", "PREPARE TRANSACTION 'tom_desc_evil'"],
    "temp buffers raised": ["SET temp_buffers = '100GB'", "CREATE TEMP TABLE evil AS SELECT 1 AS x"],
    "temp buffers via set_config": ["SELECT set_config('temp_buffers', '100GB', false)", "SELECT 1"],
    "temp tablespace changed": ["SET temp_tablespaces = 'pg_global'", "SELECT 1"],
    # the site's own locks (its workers would wait for them)
    "advisory lock": "SELECT pg_advisory_lock(1)",
    "the sender's lock": f"SELECT pg_try_advisory_lock({SEND_LOCK_KEY})",
    "advisory lock, two keys": "SELECT pg_try_advisory_lock(1, 2)",
    "advisory xact lock": "SELECT pg_advisory_xact_lock(1)",
    "advisory shared lock": "SELECT pg_try_advisory_lock_shared(1)",
    "terminate superuser": "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'postgres'",
    "other sessions' queries": "SELECT query FROM pg_stat_activity",
    "other sessions' queries, by function": "SELECT * FROM pg_stat_get_activity(NULL)",
    "cancel a session": "SELECT pg_cancel_backend(pg_backend_pid())",
    # the server itself
    "alter system": "ALTER SYSTEM SET log_statement = 'none'",
    "alter role": "ALTER ROLE elasticc_ro SUPERUSER",
    "alter own settings": "ALTER ROLE elasticc_ro SET statement_timeout = 0",
    "own password": "ALTER ROLE elasticc_ro PASSWORD 'evil'",
    "own password, as a user": "ALTER USER elasticc_ro PASSWORD 'evil'",
    "own password, committed": ["ALTER ROLE elasticc_ro PASSWORD 'evil'", "COMMIT"],
    "drop owned": "DROP OWNED BY elasticc_ro",
    "reassign owned": "REASSIGN OWNED BY elasticc_ro TO elasticc_ro",
    "default privileges": "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",
    "grant own role": "GRANT elasticc_ro TO elasticc_admin_ro",
    "grant": "GRANT SELECT ON auth_user TO elasticc_ro",
    "create role": "CREATE ROLE evil LOGIN SUPERUSER",
    "create extension": "CREATE EXTENSION dblink",
    "dblink": "SELECT * FROM dblink('host=127.0.0.1 user=postgres', 'SELECT 1') AS t(x int)",
    "load library": "LOAD 'dblink'",
    "checkpoint": "CHECKPOINT",
    "vacuum": "VACUUM elasticc_gentypeofclassid",
    "pg_reload_conf": "SELECT pg_reload_conf()",
    # more than one statement in one string
    "second statement": "SELECT 1; DROP TABLE elasticc_brokerclassifier",
    "second statement auth": "SELECT 1; SELECT * FROM auth_user",
    "rollback inside string": "ROLLBACK; SET ROLE postgres; SELECT * FROM auth_user",
    # tables that are not the roles' to read
    "auth_user": "SELECT * FROM auth_user",
    "auth_user password": "SELECT password FROM auth_user",
    "api tokens": "SELECT * FROM authtoken_token",
    "sessions": "SELECT * FROM django_session",
    "pg_authid": "SELECT rolpassword FROM pg_authid",
    "long queries of others": "SELECT * FROM sqlquery_longquery",
    "truth for non-admin": "SELECT * FROM elasticc_diaobjecttruth",
    "objects for non-admin": "SELECT * FROM elasticc_diaobject",
    "a partition directly": "SELECT * FROM elasticc_diatruth_p00",
}
# The tables above exist: these must fail on privileges, not on a name.
READS = [
    "auth_user",
    "auth_user password",
    "api tokens",
    "sessions",
    "pg_authid",
    "long queries of others",
    "truth for non-admin",
    "objects for non-admin",
    "a partition directly",
    "set role",
    "reset role",
    "advisory lock",
    "the sender's lock",
    "advisory lock, two keys",
    "advisory xact lock",
    "advisory shared lock",
    "lo_create",
    "lo_creat",
    "lo_from_bytea",
    "other sessions' queries",
    "other sessions' queries, by function",
    "cancel a session",
    "nextval",
    "setval",
    "create function",
    "create plpgsql function",
    "do block",
    "WAL message",
    "select for share",
    "select for key share",
    "temp table then a real write",
    "create view",
    "select into a table",
]


@pytest.fixture
def before():
    return fingerprint()


@pytest.mark.django_db
@pytest.mark.parametrize("query", ESCAPES.values(), ids=ESCAPES.keys())
def test_refused_and_nothing_changed(plain_user, before, query):
    status, body = run_sql(login(plain_user), query)
    assert status == 200, body  # the original's contract: a refused query is {"status": "error"}
    assert body["status"] == "error" and body["error"]
    if query in [ESCAPES[name] for name in READS]:
        assert "permission denied" in body["error"], body
    assert fingerprint() == before


@pytest.mark.django_db
def test_admin_cannot_escape_either(admin_user, before):
    for query in (
        ESCAPES["auth_user"],
        ESCAPES["reset role"],
        ESCAPES["insert"],
        ESCAPES["copy to program"],
        ESCAPES["set session authorization"],
        "SELECT * FROM authtoken_token",
    ):
        status, body = run_sql(login(admin_user), query)
        assert (status, body["status"]) == (200, "error"), (query, body)
    assert fingerprint() == before


@pytest.mark.django_db
def test_reset_role_stays_the_limited_role(plain_user, admin_user):
    for user, role in ((plain_user, "elasticc_ro"), (admin_user, "elasticc_admin_ro")):
        status, body = run_sql(
            login(user),
            ["RESET ROLE", "SELECT current_user, session_user"],
        )
        assert status == 200, body
        assert body["rows"] == [{"current_user": role, "session_user": role}]


@pytest.mark.django_db
def test_sleep_past_the_timeout_is_cancelled(plain_user, settings, before):
    settings.SQLQUERY_STATEMENT_TIMEOUT = 1
    status, body = run_sql(login(plain_user), "SELECT pg_sleep(20)")
    assert (status, body["status"]) == (200, "error") and "time limit" in body["error"], body
    assert fingerprint() == before


@pytest.mark.django_db
def test_switching_the_timeout_off_does_not_help(plain_user, settings, before):
    """SET statement_timeout = 0 defeats the server setting; the watchdog still cancels."""
    settings.SQLQUERY_STATEMENT_TIMEOUT = 1
    status, body = run_sql(login(plain_user), ["SET statement_timeout = 0", "SELECT pg_sleep(20)"])
    assert (status, body["status"]) == (200, "error") and "time limit" in body["error"], body
    assert fingerprint() == before


@pytest.mark.django_db
def test_cartesian_product_hits_the_row_cap(plain_user, settings, before):
    settings.SQLQUERY_ROW_LIMIT = 1000
    status, body = run_sql(
        login(plain_user), "SELECT a.g, b.g FROM generate_series(1, 100000) a(g), generate_series(1, 100000) b(g)"
    )
    assert status == 200 and "more than 1,000 rows" in body["error"] and "/db/submitsqlquery/" in body["error"]
    assert fingerprint() == before
    assert no_query_left_running()


@pytest.mark.django_db
def test_cartesian_aggregate_hits_the_timeout(plain_user, settings, before):
    settings.SQLQUERY_STATEMENT_TIMEOUT = 1
    status, body = run_sql(
        login(plain_user), "SELECT count(*) FROM generate_series(1, 100000) a(g), generate_series(1, 100000) b(g)"
    )
    assert (status, body["status"]) == (200, "error") and "time limit" in body["error"], body
    assert fingerprint() == before
    assert no_query_left_running()


def no_query_left_running(timeout: float = 5) -> bool:
    """No backend of the read-only roles is left working after the answer (cancelled, not abandoned)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = ANY(%s) AND state <> 'idle'",
                [["elasticc_ro", "elasticc_admin_ro"]],
            )
            if cur.fetchone()[0] == 0:
                return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_dblink_installed_is_still_no_way_out(plain_user, admin_user):
    """With dblink installed (its functions are PUBLIC), a connection back to the server as the
    superuser would escape the read-only role; dblink refuses it to non-superusers because the
    server asks no password, and dblink_connect_u is not theirs to call."""
    conf = connection.settings_dict
    target = f"host={conf['HOST']} port={conf['PORT']} dbname={conf['NAME']} user=postgres"
    with connection.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS dblink")
    try:
        before = fingerprint()
        attempts = [
            f"SELECT * FROM dblink('{target}', 'SELECT rolpassword::text FROM pg_authid') AS t(x text)",
            f"SELECT dblink_exec('{target}', 'CREATE TABLE elasticc_evil (x int)')",
            f"SELECT dblink_connect_u('{target}')",
            ["SELECT dblink_connect('evil', '" + target + "')", "SELECT * FROM dblink('evil', 'SELECT 1') AS t(x int)"],
        ]
        for user in (plain_user, admin_user):
            for query in attempts:
                status, body = run_sql(login(user), query)
                assert (status, body["status"]) == (200, "error"), (query, body)
                assert "password" in body["error"] or "permission denied" in body["error"], body
        assert fingerprint() == before
    finally:
        with connection.cursor() as cur:
            cur.execute("DROP EXTENSION IF EXISTS dblink")


@pytest.mark.django_db
def test_statements_refused_before_they_reach_the_server(plain_user, before):
    """What PostgreSQL lets any role do to itself or its own transaction is refused by its first words."""
    client = login(plain_user)
    for query, message in [
        (["CREATE TEMP TABLE t AS SELECT 1 AS x", "COMMIT"], "transaction control (COMMIT)"),
        ("ROLLBACK", "transaction control (ROLLBACK)"),
        ("PREPARE TRANSACTION 'x'", "transaction control (PREPARE TRANSACTION)"),
        ("ALTER ROLE elasticc_ro PASSWORD 'evil'", "ALTER ROLE is not allowed"),
        ("DROP OWNED BY elasticc_ro", "DROP OWNED is not allowed"),
        ("REVOKE SELECT ON elasticc_brokerclassifier FROM elasticc_ro", "REVOKE is not allowed"),
    ]:
        status, body = run_sql(client, query)
        assert (status, body["status"]) == (200, "error") and message in body["error"], (query, body)
    assert fingerprint() == before
    # ... while a savepoint, and statements that merely begin with those words, are fine.
    status, body = run_sql(
        client,
        ["SAVEPOINT s", "CREATE TEMP TABLE t (x int)", "ROLLBACK TO SAVEPOINT s", 'SELECT 1 AS "commit", 2 AS "grant"'],
    )
    assert status == 200 and body["rows"] == [{"commit": 1, "grant": 2}], body


@pytest.mark.django_db(transaction=True)
def test_temporary_tables_live_for_one_call(plain_user, before):
    """SELECT ... INTO TEMP TABLE, then a second statement reads it (the original's notebook);
    the next call finds nothing, and no temporary relation is left anywhere."""
    client = login(plain_user)
    status, body = run_sql(
        client,
        [
            'SELECT "classId", gentype INTO TEMP TABLE mine FROM elasticc_gentypeofclassid WHERE "classId" = 113',
            "CREATE INDEX ON mine (gentype)",
            "INSERT INTO mine VALUES (0, 0)",
            "ANALYZE mine",
            "SELECT count(*) AS n, min(gentype) AS low FROM pg_temp.mine",
        ],
    )
    assert status == 200 and body["rows"] == [{"n": 7, "low": 0}], body
    status, body = run_sql(client, "SELECT count(*) FROM pg_temp.mine")
    assert body["status"] == "error" and 'relation "pg_temp.mine" does not exist' in body["error"], body
    assert fingerprint() == before  # no temporary relation of any session survives


@pytest.mark.django_db(transaction=True)
def test_big_temporary_tables_and_temp_files_are_refused(plain_user, settings, before):
    """temp_file_limit (on the role: a user cannot raise it) bounds sorts and hashes; temporary
    tables, which it does not count, are bounded after every statement by SQLQUERY_TEMP_TABLE_MB."""
    from sqlquery import roles

    settings.SQLQUERY_TEMP_TABLE_MB = 1
    configured, settings.SQLQUERY_TEMP_FILE_MB = settings.SQLQUERY_TEMP_FILE_MB, 10
    assert roles.limit_temp_files(connection)  # what grant_readonly does after every migrate
    try:
        check_disk_limits(login(plain_user))
    finally:
        settings.SQLQUERY_TEMP_FILE_MB = configured
        roles.limit_temp_files(connection)
    assert fingerprint() == before


def check_disk_limits(client):
    status, body = run_sql(
        client,
        [
            "CREATE TEMP TABLE big AS SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 20000) g",
            "SELECT count(*) FROM big",
        ],
    )
    assert (status, body["status"]) == (200, "error"), body
    assert "temporary tables of this call hold" in body["error"] and "more than the 1 MB allowed" in body["error"]
    status, body = run_sql(client, "SELECT current_setting('temp_file_limit') AS limit")
    assert body["rows"] == [{"limit": "10MB"}], body
    status, body = run_sql(client, ["SET temp_file_limit = -1", "SELECT 1"])
    assert "permission denied to set parameter" in body["error"], body
    status, body = run_sql(client, "SELECT g FROM generate_series(1, 5000000) g ORDER BY random() LIMIT 1")
    assert body["status"] == "error" and "more temporary disk space" in body["error"], body
    assert "temp_file_limit" in body["error"]


@pytest.mark.django_db
def test_a_prepared_transaction_never_outlives_the_call(plain_user, before, monkeypatch):
    """Behind the statement check: should PREPARE TRANSACTION reach a server that allows it
    (max_prepared_transactions > 0), the call rolls the prepared transaction back, so its locks
    do not outlive the call. (On a server that does not allow them, it is refused there.)"""
    from sqlquery import runner

    monkeypatch.setattr(runner, "refusal", lambda sql: None)
    status, body = run_sql(
        login(plain_user), ["SELECT count(*) FROM elasticc_brokerclassifier", "PREPARE TRANSACTION 'tom_desc_evil'"]
    )
    assert (status, body["status"]) == (200, "error"), body
    assert "transaction control" in body["error"] or "prepared transactions are disabled" in body["error"], body
    assert fingerprint() == before
