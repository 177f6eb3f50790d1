"""The two PostgreSQL roles user SQL runs as, what they may read, and how to connect as them.

PostgreSQL, not SQL parsing, decides what a query may touch. User SQL never runs on
the web application's own connection (a superuser with the embedded server, the
tables' owner in production): it runs on a separate connection that *logs in* as

- ``elasticc_ro``: SELECT on the elasticc_broker* tables and the taxonomy tables;
- ``elasticc_admin_ro``: SELECT on every elasticc_* table (members of elasticc_admin).

Neither role is a superuser, a member of any role, nor owner of anything, so the
escapes that work against ``SET ROLE`` inside a privileged session (RESET ROLE,
SET ROLE postgres, SET SESSION AUTHORIZATION, ROLLBACK and start over) only ever
get back to the same limited role. Their passwords come from secrets
(DB_RO_PASS / DB_ADMIN_RO_PASS, or *_FILE); nothing here or in a migration sets one
unless an operator runs ``manage.py grant_readonly --set-passwords``.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import logging
import os

import psycopg
from django.conf import settings
from psycopg import sql

from tom_desc.lib.groups import is_admin

log = logging.getLogger(__name__)

RO_ROLE = "elasticc_ro"
ADMIN_RO_ROLE = "elasticc_admin_ro"
ROLES = (RO_ROLE, ADMIN_RO_ROLE)

# The original's views that read only broker tables (elasticc/sqlviews.py): readable as those are.
ELASTICC_BROKER_VIEWS = ["elasticc_view_classifications_totprobpersource", "elasticc_view_classifiersourcetotprob"]

# Which tables each role reads (shell patterns on the table name, schema public).
# Partitions are not granted: queries go through the partitioned parent, whose
# privileges PostgreSQL checks, so new classifier partitions need no grant.
# ELAsTiCC2 follows the same rule as ELAsTiCC: everyone reads what brokers sent and the
# taxonomy; the simulation (ppdb, TOM-known copies, truth) is for elasticc_admin.
ELASTICC2_PUBLIC = [
    "elasticc2_brokerclassifier",
    "elasticc2_brokermessage",
    "elasticc2_gentypeofclassid",
    "elasticc2_classidofgentype",
]
TABLE_RULES = {
    RO_ROLE: [
        "elasticc_broker*",
        "elasticc_gentypeofclassid",
        "elasticc_classidofgentype",
        *ELASTICC_BROKER_VIEWS,
        *ELASTICC2_PUBLIC,
    ],
    ADMIN_RO_ROLE: ["elasticc_*", "elasticc2_*"],
}

# Idempotent and safe to run while other clusters' databases share the roles:
# roles are cluster-wide, so create them only when missing and tolerate a
# concurrent creator. The per-role settings are defaults for anyone logging in
# as the role (e.g. a DBA with psql); the site also sets them on every connection.
CREATE_ROLES_SQL = """
DO $$
DECLARE
    r text;
    may_manage boolean;
BEGIN
    SELECT rolsuper OR rolcreaterole INTO may_manage FROM pg_roles WHERE rolname = current_user;
    FOREACH r IN ARRAY ARRAY['elasticc_ro', 'elasticc_admin_ro'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            IF NOT may_manage THEN
                RAISE WARNING 'role % is missing and % may not create it; a DBA must (docs/sqlquery.md)',
                    r, current_user;
                CONTINUE;
            END IF;
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT '
                               'NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 64', r);
            EXCEPTION WHEN duplicate_object THEN
                NULL;  -- created meanwhile by a migration running against another database
            END;
        END IF;
        IF may_manage THEN
            EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', r);
            EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', r, '5min');
            EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', r, '1min');
        END IF;
    END LOOP;
END
$$;
"""


def wanted_tables(role: str, tables: list[str]) -> set[str]:
    return {t for t in tables if any(fnmatch.fnmatchcase(t, p) for p in TABLE_RULES[role])}


def role_for(user) -> str:
    """elasticc_admin_ro for superusers and members of elasticc_admin, elasticc_ro otherwise."""
    if is_admin(user):
        return ADMIN_RO_ROLE
    return RO_ROLE


def existing_roles(cursor) -> set[str]:
    cursor.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(ROLES)])
    return {row[0] for row in cursor.fetchall()}


def grant_readonly(connection, quiet: bool = False) -> dict[str, int]:
    """Make each role's SELECT grants in this database exactly those of TABLE_RULES.

    1. list the tables, views and partitioned parents of schema public (not partitions);
    2. for each role: revoke everything from tables it should not read, and any
       privilege other than SELECT from those it should;
    3. grant SELECT on the wanted tables that lack it;
    4. warn when the role could create objects (CREATE on the schema or database).
    Returns {role: number of tables readable}. Roles that do not exist are skipped
    with a warning (the migration creates them when it is allowed to).
    """
    summary: dict[str, int] = {}
    with connection.cursor() as cur:
        present = existing_roles(cur)
        cur.execute("""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
            ORDER BY 1
        """)
        tables = [row[0] for row in cur.fetchall()]
        for role in ROLES:
            if role not in present:
                log.warning(
                    "PostgreSQL role %s does not exist: SQL queries needing it will fail (see docs/sqlquery.md)", role
                )
                continue
            wanted = wanted_tables(role, tables)
            # Anything the role holds beyond SELECT on the wanted tables goes.
            cur.execute(
                """
                SELECT c.relname, a.privilege_type
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                     LATERAL aclexplode(c.relacl) a
                WHERE n.nspname = 'public' AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = %s)
            """,
                [role],
            )
            held: dict[str, set[str]] = {}
            for name, privilege in cur.fetchall():
                held.setdefault(name, set()).add(privilege)
            for name, privileges in held.items():
                extra = privileges - ({"SELECT"} if name in wanted else set())
                if extra:
                    cur.execute(
                        sql.SQL("REVOKE ALL ON {} FROM {}")
                        .format(sql.Identifier(name), sql.Identifier(role))
                        .as_string(None)
                    )
                    held[name] = set()
            for name in sorted(wanted):
                if "SELECT" not in held.get(name, set()):
                    cur.execute(
                        sql.SQL("GRANT SELECT ON {} TO {}")
                        .format(sql.Identifier(name), sql.Identifier(role))
                        .as_string(None)
                    )
            cur.execute(
                "SELECT has_schema_privilege(%s, 'public', 'CREATE'), "
                "has_database_privilege(%s, current_database(), 'CREATE')",
                [role, role],
            )
            schema_create, database_create = cur.fetchone()
            if schema_create or database_create:
                log.warning(
                    "role %s may CREATE in schema public or this database; run "
                    "REVOKE CREATE ON SCHEMA public FROM PUBLIC (docs/sqlquery.md)",
                    role,
                )
            cur.execute("SELECT has_database_privilege(%s, current_database(), 'TEMPORARY')", [role])
            if not cur.fetchone()[0]:
                log.warning(
                    "role %s may not create temporary tables, which analysts' SQL uses; run "
                    "GRANT TEMPORARY ON DATABASE <this database> TO %s (docs/sqlquery.md)",
                    role,
                    role,
                )
            summary[role] = len(wanted)
    restrict_functions(connection)
    restrict_languages(connection)
    limit_temp_files(connection)
    if not quiet:
        log.info("read-only grants: %s", summary)
    return summary


# Functions PostgreSQL grants to PUBLIC that the read-only roles must not call. Revoking
# EXECUTE from PUBLIC needs a superuser (the functions belong to the bootstrap superuser);
# the site's own role, and the predefined roles made for the purpose, get it back.
#
# - advisory locks: the site serialises its workers with them (the alert sender, the loader,
#   metric refreshes, long-query claims, the SQL endpoint's slots); a query holding the
#   sender's lock again and again would stop alerts going out;
# - large-object writes: the user transaction is read-write (so that temporary tables can be
#   made), and large objects are the one thing a role without privileges can still create
#   there (PostgreSQL 18 refuses them in read-only transactions, older majors do not); and
#   pg_logical_emit_message, whose non-transactional messages reach the WAL even when the
#   transaction rolls back (in read-only transactions too);
# - other sessions' queries: every analyst runs as the same role, and PostgreSQL shows a
#   role its own sessions' SQL (pg_stat_activity) and lets it cancel or end them.
FUNCTION_GROUPS = [
    ("take advisory locks (and so block the site's workers)", "p.proname LIKE 'pg\\_%advisory%'", []),
    (
        "write large objects or WAL messages",
        "p.proname IN ('lo_creat', 'lo_create', 'lo_from_bytea', 'lo_import', 'lo_export', 'lo_put', 'lowrite', "
        "'lo_truncate', 'lo_truncate64', 'lo_unlink', 'pg_logical_emit_message')",
        [],
    ),
    (
        "read other sessions' queries",
        "p.proname IN ('pg_stat_get_activity', 'pg_stat_get_backend_activity')",
        ["pg_read_all_stats"],
    ),
    (
        "cancel or end other sessions",
        "p.proname IN ('pg_cancel_backend', 'pg_terminate_backend')",
        ["pg_signal_backend"],
    ),
]


def _warn_each(problems: list[str], remedy: str) -> bool:
    """Log each problem with its remedy; True when there is none."""
    for problem in problems:
        log.warning("%s; %s (docs/sqlquery.md, Production set-up)", problem, remedy)
    return not problems


def restricted_functions(cur, condition: str) -> list[str]:
    cur.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        f"WHERE p.pronamespace = 'pg_catalog'::regnamespace AND {condition} ORDER BY 1"
    )
    return [row[0] for row in cur.fetchall()]


def restrict_functions(connection) -> bool:
    """Take FUNCTION_GROUPS away from the read-only roles; True when they can call none of them.

    As a superuser: revoke EXECUTE from PUBLIC and grant it to the site's role (and each
    group's predefined roles). Otherwise only check, and warn naming what the roles can still
    do (the database's init script does it for new deployments; docs/sqlquery.md has the
    statements for existing ones).
    """
    still: list[str] = []
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper, current_user FROM pg_roles WHERE rolname = current_user")
        superuser, site_role = cur.fetchone()
        present = existing_roles(cur)
        for what, condition, grantees in FUNCTION_GROUPS:
            functions = restricted_functions(cur, condition)
            if superuser:
                cur.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [grantees])
                targets = [site_role] + [row[0] for row in cur.fetchall()]
                for function in functions:
                    cur.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
                    for target in targets:
                        cur.execute(
                            sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}")
                            .format(sql.SQL(function), sql.Identifier(target))
                            .as_string(None)
                        )
            for role in sorted(present):
                cur.execute(
                    "SELECT bool_or(has_function_privilege(%s, f, 'EXECUTE')) FROM unnest(%s::text[]) AS f",
                    [role, functions],
                )
                if cur.fetchone()[0]:
                    still.append(f"{role} may {what}")
    return _warn_each(still, "as a superuser, revoke EXECUTE on those functions from PUBLIC")


# DO blocks and functions run statements where the site cannot see them (the statement check
# of request.refusal sees only top-level statements): no role but the site's may use the
# languages they are written in. (Calling existing functions needs no USAGE.)
LANGUAGES = ("plpgsql", "sql")


def restrict_languages(connection) -> bool:
    """Take USAGE on LANGUAGES from PUBLIC (as a superuser; the site's role keeps it), else
    check and warn. True when the read-only roles can use none of them."""
    still = []
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper, current_user FROM pg_roles WHERE rolname = current_user")
        superuser, site_role = cur.fetchone()
        cur.execute("SELECT lanname FROM pg_language WHERE lanname = ANY(%s)", [list(LANGUAGES)])
        languages = [row[0] for row in cur.fetchall()]
        for language in languages:
            if superuser:
                cur.execute(
                    sql.SQL("REVOKE USAGE ON LANGUAGE {} FROM PUBLIC").format(sql.Identifier(language)).as_string(None)
                )
                cur.execute(
                    sql.SQL("GRANT USAGE ON LANGUAGE {} TO {}")
                    .format(sql.Identifier(language), sql.Identifier(site_role))
                    .as_string(None)
                )
            for role in sorted(existing_roles(cur)):
                cur.execute("SELECT has_language_privilege(%s, %s, 'USAGE')", [role, language])
                if cur.fetchone()[0]:
                    still.append(f"{role} may write functions and DO blocks in {language}")
    return _warn_each(still, f"as a superuser, REVOKE USAGE ON LANGUAGE {', '.join(LANGUAGES)} FROM PUBLIC")


def limit_temp_files(connection) -> bool:
    """Set temp_file_limit = SQLQUERY_TEMP_FILE_MB on both roles (a user cannot raise it: only a
    superuser may set it), as a superuser; otherwise check and warn. True when it is in force."""
    wanted = f"temp_file_limit={settings.SQLQUERY_TEMP_FILE_MB}MB"
    missing = []
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = cur.fetchone()[0]
        for role in sorted(existing_roles(cur)):
            if superuser:
                cur.execute(
                    sql.SQL("ALTER ROLE {} SET temp_file_limit = {}")
                    .format(sql.Identifier(role), sql.Literal(f"{settings.SQLQUERY_TEMP_FILE_MB}MB"))
                    .as_string(None)
                )
            cur.execute(
                "SELECT %s = ANY(s.setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
                "WHERE r.rolname = %s AND s.setdatabase = 0",
                [wanted, role],
            )
            row = cur.fetchone()
            if not (row and row[0]):
                missing.append(role)
    if missing:
        log.warning(
            "roles %s lack %s: their queries may fill the database's disk with temporary files; as a superuser run "
            "ALTER ROLE <role> SET temp_file_limit = '%sMB' (docs/sqlquery.md)",
            ", ".join(missing),
            wanted,
            settings.SQLQUERY_TEMP_FILE_MB,
        )
    return not missing


def revoke_readonly(connection) -> None:
    """Take every privilege of both roles away in this database (the migration's reverse)."""
    with connection.cursor() as cur:
        for role in existing_roles(cur):
            cur.execute(
                sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}")
                .format(sql.Identifier(role))
                .as_string(None)
            )


# --- connecting as a role --------------------------------------------------------------------

# libpq keywords of the default database's OPTIONS worth carrying over (TLS, timeouts).
_PASSED_OPTIONS = {
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "connect_timeout",
    "target_session_attrs",
    "gssencmode",
    "channel_binding",
}


def password_for(role: str) -> str:
    return settings.SQLQUERY_ADMIN_RO_PASSWORD if role == ADMIN_RO_ROLE else settings.SQLQUERY_RO_PASSWORD


def connect(role: str, statement_timeout_s: float, application_name: str = "tom_desc-sqlquery") -> psycopg.Connection:
    """A new connection logged in as `role` to the site's database, read-only by default.

    Host, port and database come from the default Django connection (so tests reach
    the test database); user and password are the role's. Session settings travel in
    the startup packet so they are in force before the first statement.
    client_connection_check_interval makes the server stop a query whose client is gone (a
    web worker or runner killed mid-query) within seconds, instead of at its statement_timeout.
    """
    from django.db import connections

    conf = connections["default"].settings_dict
    timeout_ms = max(1, int(statement_timeout_s * 1000))
    options = (
        f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms} "
        f"-c lock_timeout={timeout_ms} -c idle_in_transaction_session_timeout=60000 -c TimeZone=UTC "
        "-c client_connection_check_interval=2000"
    )
    params = {
        "host": conf["HOST"] or None,
        "port": conf["PORT"] or None,
        "dbname": conf["NAME"],
        "user": role,
        "options": options,
        "application_name": application_name,
    }
    password = password_for(role)
    if password:
        params["password"] = password
    for key, value in (conf.get("OPTIONS") or {}).items():
        if key in _PASSED_OPTIONS:
            params[key] = value
    params = {k: v for k, v in params.items() if v is not None}
    return psycopg.connect(**params)


# --- passwords ------------------------------------------------------------------------------


def scram_sha_256(password: str, iterations: int = 4096, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677).

    ALTER ROLE ... PASSWORD with a verifier keeps the clear password out of the
    server's statement log.
    """
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def set_passwords(connection) -> list[str]:
    """Set each role's password from its secret (DB_RO_PASS / DB_ADMIN_RO_PASS); return the roles set."""
    done = []
    with connection.cursor() as cur:
        for role in ROLES:
            password = password_for(role)
            if not password:
                continue
            cur.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}")
                .format(sql.Identifier(role), sql.Literal(scram_sha_256(password)))
                .as_string(None)
            )
            done.append(role)
    return done
