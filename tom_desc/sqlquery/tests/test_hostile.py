"""Hostile SQL through /db/runsqlquery/: each attempt is refused (or bounded) and changes nothing.

"Nothing changed" is checked from the superuser side: tables and their privileges,
roles and memberships, extensions, functions, large objects, server configuration
files (ALTER SYSTEM), row counts, and a file a successful COPY ... TO PROGRAM would
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
    "create function": "CREATE FUNCTION pg_temp.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "create temp table": "CREATE TEMP TABLE evil (x int)",
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
    "select for update": "SELECT * FROM elasticc_gentypeofclassid FOR UPDATE",
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
    # escaping the role
    "set role": ["SET ROLE postgres", "SELECT * FROM auth_user"],
    "set role via set_config": ["SELECT set_config('role', 'postgres', false)", "SELECT * FROM auth_user"],
    "reset role": ["RESET ROLE", "SELECT * FROM auth_user"],
    "set session authorization": ["SET SESSION AUTHORIZATION postgres", "SELECT * FROM auth_user"],
    "reset session authorization": ["RESET SESSION AUTHORIZATION", "SELECT * FROM auth_user"],
    "rollback then set role": ["ROLLBACK", "SET ROLE postgres", "SELECT * FROM auth_user"],
    "commit then write": ["COMMIT", "SET default_transaction_read_only = off", "CREATE TEMP TABLE evil (x int)"],
    "commit and chain": ["COMMIT AND CHAIN", "SET TRANSACTION READ WRITE", "CREATE TEMP TABLE evil (x int)"],
    "rollback and chain": ["ROLLBACK AND CHAIN", "SET TRANSACTION READ WRITE", "CREATE TEMP TABLE evil (x int)"],
    "read write": ["SET TRANSACTION READ WRITE", "CREATE TEMP TABLE evil (x int)"],
    "savepoint read write": ["SAVEPOINT s", "SET TRANSACTION READ WRITE"],
    # the site's own locks (its workers would wait for them)
    "advisory lock": "SELECT pg_advisory_lock(1)",
    "the sender's lock": f"SELECT pg_try_advisory_lock({SEND_LOCK_KEY})",
    "advisory lock, two keys": "SELECT pg_try_advisory_lock(1, 2)",
    "advisory xact lock": "SELECT pg_advisory_xact_lock(1)",
    "advisory shared lock": "SELECT pg_try_advisory_lock_shared(1)",
    "terminate superuser": "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'postgres'",
    # the server itself
    "alter system": "ALTER SYSTEM SET log_statement = 'none'",
    "alter role": "ALTER ROLE elasticc_ro SUPERUSER",
    "alter own settings": "ALTER ROLE elasticc_ro SET statement_timeout = 0",
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
]


@pytest.fixture
def before():
    return fingerprint()


@pytest.mark.django_db
@pytest.mark.parametrize("query", ESCAPES.values(), ids=ESCAPES.keys())
def test_refused_and_nothing_changed(plain_user, before, query):
    status, body = run_sql(login(plain_user), query)
    assert status == 400, body
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
        assert status == 400, (query, body)
    assert fingerprint() == before


@pytest.mark.django_db
def test_reset_role_stays_the_limited_role(plain_user, admin_user):
    for user, role in ((plain_user, "elasticc_ro"), (admin_user, "elasticc_admin_ro")):
        status, body = run_sql(
            login(user),
            ["RESET ROLE", "SELECT current_user, session_user, current_setting('transaction_read_only') AS ro"],
        )
        assert status == 200, body
        assert body["rows"] == [{"current_user": role, "session_user": role, "ro": "on"}]


@pytest.mark.django_db
def test_sleep_past_the_timeout_is_cancelled(plain_user, settings, before):
    settings.SQLQUERY_STATEMENT_TIMEOUT = 1
    started = time.monotonic()
    status, body = run_sql(login(plain_user), "SELECT pg_sleep(20)")
    assert status == 400 and "time limit" in body["error"], body
    assert time.monotonic() - started < 10
    assert fingerprint() == before


@pytest.mark.django_db
def test_switching_the_timeout_off_does_not_help(plain_user, settings, before):
    """SET statement_timeout = 0 defeats the server setting; the watchdog still cancels."""
    settings.SQLQUERY_STATEMENT_TIMEOUT = 1
    started = time.monotonic()
    status, body = run_sql(login(plain_user), ["SET statement_timeout = 0", "SELECT pg_sleep(20)"])
    assert status == 400 and "time limit" in body["error"], body
    assert time.monotonic() - started < 10
    assert fingerprint() == before


@pytest.mark.django_db
def test_cartesian_product_hits_the_row_cap(plain_user, settings, before):
    settings.SQLQUERY_ROW_LIMIT = 1000
    started = time.monotonic()
    status, body = run_sql(
        login(plain_user), "SELECT a.g, b.g FROM generate_series(1, 100000) a(g), generate_series(1, 100000) b(g)"
    )
    assert status == 400 and "more than 1,000 rows" in body["error"] and "/db/submitsqlquery/" in body["error"]
    assert time.monotonic() - started < 20
    assert fingerprint() == before
    assert no_query_left_running()


@pytest.mark.django_db
def test_cartesian_aggregate_hits_the_timeout(plain_user, settings, before):
    settings.SQLQUERY_STATEMENT_TIMEOUT = 1
    started = time.monotonic()
    status, body = run_sql(
        login(plain_user), "SELECT count(*) FROM generate_series(1, 100000) a(g), generate_series(1, 100000) b(g)"
    )
    assert status == 400 and "time limit" in body["error"], body
    assert time.monotonic() - started < 10
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
                assert status == 400, (query, body)
                assert "password" in body["error"] or "permission denied" in body["error"], body
        assert fingerprint() == before
    finally:
        with connection.cursor() as cur:
            cur.execute("DROP EXTENSION IF EXISTS dblink")
