"""The read-only roles: their attributes, their grants, and how grants follow schema changes."""

import pytest
from django.core.management import call_command
from django.db import connection

from sqlquery import roles

pytestmark = pytest.mark.django_db


def one(sql, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def readable(role: str) -> set[str]:
    return {
        name
        for (name,) in one(
            """
        SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm') AND has_table_privilege(%s, c.oid, 'SELECT')
    """,
            [role],
        )
    }


def test_roles_are_plain_logins():
    rows = one(
        """SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin,
                         rolconfig FROM pg_roles WHERE rolname = ANY(%s) ORDER BY 1""",
        [list(roles.ROLES)],
    )
    assert [r[0] for r in rows] == ["elasticc_admin_ro", "elasticc_ro"]
    for _name, superuser, createrole, createdb, replication, bypassrls, login, config in rows:
        assert (superuser, createrole, createdb, replication, bypassrls, login) == (False,) * 5 + (True,)
        assert "default_transaction_read_only=on" in config
    # members of nothing, so SET ROLE leads nowhere
    assert one("SELECT count(*) FROM pg_auth_members WHERE member::regrole::text = ANY(%s)", [list(roles.ROLES)]) == [
        (0,)
    ]
    for role in roles.ROLES:
        assert one(
            "SELECT has_schema_privilege(%s, 'public', 'CREATE'), "
            "has_database_privilege(%s, current_database(), 'CREATE')",
            [role, role],
        ) == [(False, False)]
        # the server's file and program functions are not theirs to call
        for function in ("pg_read_file(text)", "pg_ls_dir(text)", "lo_import(text)", "pg_read_binary_file(text)"):
            assert one("SELECT has_function_privilege(%s, %s, 'EXECUTE')", [role, function]) == [(False,)]


def relations(pattern: str = "%%") -> set[str]:
    """Tables, views and partitioned parents of schema public (partitions left out)."""
    return {
        name
        for (name,) in one(
            """
        SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname LIKE %s
          AND relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT relispartition""",
            [pattern],
        )
    }


TAXONOMY = {"elasticc_gentypeofclassid", "elasticc_classidofgentype"}


def test_grants_follow_the_rules():
    """From the catalog: elasticc_ro reads exactly elasticc_broker* + taxonomy, elasticc_admin_ro
    exactly elasticc_*, and neither any other relation (auth, sessions, tokens, long queries,
    brokermetrics, ...), nor anything but SELECT."""
    ro, admin = readable("elasticc_ro"), readable("elasticc_admin_ro")
    elasticc = relations(r"elasticc\_%%") | relations(r"elasticc2\_%%")
    assert ro == relations(r"elasticc\_broker%%") | TAXONOMY | set(roles.ELASTICC_BROKER_VIEWS) | set(
        roles.ELASTICC2_PUBLIC
    )
    assert admin == elasticc
    others = relations() - elasticc
    assert {"auth_user", "authtoken_token", "django_session", "sqlquery_longquery", "tom_desc_cache"} <= others
    assert not (ro | admin) & others
    assert {"elasticc_diaobjecttruth", "elasticc_diatruth", "elasticc_diaobject"} <= admin - ro
    # only SELECT, nothing else
    assert one(
        """SELECT DISTINCT privilege_type FROM information_schema.role_table_grants
                  WHERE grantee = ANY(%s)""",
        [list(roles.ROLES)],
    ) == [("SELECT",)]


def test_tables_of_kafka_ingest_and_metrics():
    """Decisions for the tables added beside the original ones (docs/sqlquery.md):
    broker dead letters and poll status are broker tables (everyone); Kafka offsets are
    plumbing (admin); brokermetrics_* are not elasticc tables (nobody: the confusion cells
    come from the truth, and every figure can be recomputed from elasticc_broker*)."""
    ro, admin = readable("elasticc_ro"), readable("elasticc_admin_ro")
    assert {"elasticc_brokerdeadletter", "elasticc_brokerpollstatus"} <= ro
    assert "elasticc_kafkaoffset" in admin - ro
    metrics = relations(r"brokermetrics\_%%")
    assert "brokermetrics_confusioncell" in metrics and not metrics & (ro | admin)


def test_migrate_grants_tables_a_later_migration_adds():
    """The post_migrate step: any migrate (here one with nothing to apply) grants new tables."""
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE elasticc_brokerlater (x int)")
        cur.execute("CREATE TABLE elasticc_laterthing (x int)")
        cur.execute("CREATE TABLE laterthing (x int)")
    assert "elasticc_brokerlater" not in readable("elasticc_ro")
    call_command("migrate", verbosity=0)
    assert "elasticc_brokerlater" in readable("elasticc_ro")
    assert "elasticc_laterthing" in readable("elasticc_admin_ro") - readable("elasticc_ro")
    assert "laterthing" not in readable("elasticc_ro") | readable("elasticc_admin_ro")


def test_new_tables_and_stray_grants_are_put_right_by_grant_readonly():
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE elasticc_brokerextra (x int)")
        cur.execute("CREATE TABLE elasticc_secretextra (x int)")
        cur.execute("GRANT SELECT, INSERT ON auth_user TO elasticc_ro")
        cur.execute("GRANT UPDATE ON elasticc_brokerclassifier TO elasticc_admin_ro")
    call_command("grant_readonly", verbosity=0)
    assert "elasticc_brokerextra" in readable("elasticc_ro")
    assert "elasticc_secretextra" not in readable("elasticc_ro")
    assert {"elasticc_brokerextra", "elasticc_secretextra"} <= readable("elasticc_admin_ro")
    assert one("SELECT has_table_privilege('elasticc_ro', 'auth_user', 'SELECT')") == [(False,)]
    assert one("SELECT has_table_privilege('elasticc_admin_ro', 'elasticc_brokerclassifier', 'UPDATE')") == [(False,)]


@pytest.mark.django_db(transaction=True)
def test_new_classifier_partitions_are_readable_through_the_parent(plain_user):
    from elasticc.models import BrokerClassifier
    from sqlquery.tests.conftest import login, run_sql

    classifier = BrokerClassifier.objects.create(
        brokerName="n", brokerVersion="1", classifierName="c", classifierParams="p"
    )
    status, body = run_sql(login(plain_user), "SELECT count(*) AS n FROM elasticc_brokermessage")
    assert (status, body["rows"]) == (200, [{"n": 0}])
    partitions = {
        name
        for (name,) in one(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'elasticc_brokermessage'::regclass"
        )
    }
    partition = f"elasticc_brokermessage_c{classifier.classifierId}"
    assert partition in partitions and partition not in readable("elasticc_ro")  # reached via the parent only


def test_set_passwords_stores_our_scram_verifier(settings):
    """PostgreSQL keeps a well-formed SCRAM verifier as given (anything else it would hash as a
    clear-text password, with a salt of its own): recomputing ours from the stored salt must match."""
    import base64

    settings.SQLQUERY_RO_PASSWORD = "correct horse battery staple"
    settings.SQLQUERY_ADMIN_RO_PASSWORD = ""
    try:
        assert roles.set_passwords(connection) == ["elasticc_ro"]
        stored = one("SELECT rolpassword FROM pg_authid WHERE rolname = 'elasticc_ro'")[0][0]
        assert stored.startswith("SCRAM-SHA-256$4096:") and "horse" not in stored
        salt = base64.b64decode(stored.split("$")[1].split(":")[1])
        assert roles.scram_sha_256("correct horse battery staple", 4096, salt) == stored
    finally:
        one("ALTER ROLE elasticc_ro PASSWORD NULL")


def test_migrate_sets_the_passwords_when_the_secrets_are_configured(settings):
    """A deployment runs only `migrate`: with DB_RO_PASS / DB_ADMIN_RO_PASS set, the roles can log in after it."""
    from django.core.management import call_command

    settings.SQLQUERY_RO_PASSWORD = "ro-secret-from-a-file"
    settings.SQLQUERY_ADMIN_RO_PASSWORD = "admin-ro-secret"
    try:
        call_command("migrate", "--no-input", verbosity=0)
        stored = dict(
            one("SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('elasticc_ro', 'elasticc_admin_ro')")
        )
        assert set(stored) == {"elasticc_ro", "elasticc_admin_ro"}
        assert all(value and value.startswith("SCRAM-SHA-256$") for value in stored.values())
    finally:
        one("ALTER ROLE elasticc_ro PASSWORD NULL")
        one("ALTER ROLE elasticc_admin_ro PASSWORD NULL")


def test_functions_and_languages_are_the_sites_alone(caplog):
    """grant_readonly, as a superuser, takes from PUBLIC: advisory locks, large-object and WAL-message
    writes, other sessions' queries and their cancelling, and the languages of DO blocks and
    functions; the site's role keeps them. Run by a role that cannot, it says so instead of pretending."""
    site = one("SELECT current_user")[0][0]
    refused = [  # by name: every overload (their arguments differ between PostgreSQL majors)
        "pg_advisory_lock",
        "lo_create",
        "lo_from_bytea",
        "pg_logical_emit_message",
        "pg_stat_get_activity",
        "pg_cancel_backend",
        "pg_terminate_backend",
    ]

    def may_call(role, name):
        return one(
            "SELECT bool_or(has_function_privilege(%s, p.oid, 'EXECUTE')) FROM pg_proc p "
            "WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = %s",
            [role, name],
        )[0][0]

    for role in roles.ROLES:
        for function in refused:
            assert may_call(role, function) is False, function
        for language in roles.LANGUAGES:
            assert one("SELECT has_language_privilege(%s, %s, 'USAGE')", [role, language]) == [(False,)], language
    for function in refused:
        assert may_call(site, function) is True, function
    assert one("SELECT has_function_privilege('pg_signal_backend', 'pg_cancel_backend(integer)', 'EXECUTE')") == [
        (True,)
    ]
    assert one("SELECT has_function_privilege('pg_read_all_stats', 'pg_stat_get_activity(integer)', 'EXECUTE')") == [
        (True,)
    ]

    # Back to PostgreSQL's defaults, then checked by a role that may not revoke.
    one("GRANT EXECUTE ON FUNCTION pg_advisory_lock(bigint) TO PUBLIC")
    one("GRANT EXECUTE ON FUNCTION lo_create(oid) TO PUBLIC")
    one("GRANT USAGE ON LANGUAGE plpgsql TO PUBLIC")
    one("CREATE ROLE tom_desc_not_super NOSUPERUSER")
    one("SET ROLE tom_desc_not_super")
    try:
        with caplog.at_level("WARNING", logger="sqlquery.roles"):
            assert roles.restrict_functions(connection) is False
            assert roles.restrict_languages(connection) is False
    finally:
        one("RESET ROLE")
    assert "elasticc_ro may take advisory locks" in caplog.text
    assert "elasticc_admin_ro may write large objects" in caplog.text
    assert "elasticc_ro may write functions and DO blocks in plpgsql" in caplog.text
    assert one("SELECT has_function_privilege('elasticc_ro', 'pg_advisory_lock(bigint)', 'EXECUTE')") == [(True,)]

    assert roles.restrict_functions(connection) is True  # as the superuser again
    assert roles.restrict_languages(connection) is True
    assert one("SELECT has_function_privilege('elasticc_ro', 'lo_create(oid)', 'EXECUTE')") == [(False,)]


def test_temp_file_limit_is_set_on_the_roles(settings, caplog):
    """temp_file_limit is a superuser setting: set on the roles, no query can raise it."""
    for role in roles.ROLES:
        config = one("SELECT rolconfig FROM pg_roles WHERE rolname = %s", [role])[0][0]
        assert f"temp_file_limit={settings.SQLQUERY_TEMP_FILE_MB}MB" in config, config
    one("ALTER ROLE elasticc_ro RESET temp_file_limit")
    one("CREATE ROLE tom_desc_not_super NOSUPERUSER")
    one("SET ROLE tom_desc_not_super")
    try:
        with caplog.at_level("WARNING", logger="sqlquery.roles"):
            assert roles.limit_temp_files(connection) is False
    finally:
        one("RESET ROLE")
    assert "elasticc_ro lack temp_file_limit" in caplog.text
    assert roles.limit_temp_files(connection) is True
