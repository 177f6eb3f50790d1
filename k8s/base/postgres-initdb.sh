#!/bin/sh
# Runs once, when the official postgres image initialises an empty data directory
# (/docker-entrypoint-initdb.d). Creates the application's own role and database, so the
# site never connects as the superuser. The role may create roles (the read-only roles
# elasticc_ro and elasticc_admin_ro are made by migrations) but is not a superuser.
#
# One file for both deployments: the Kubernetes ConfigMap is generated from it (kustomize
# reads files only from inside its directory) and docker-compose.yml mounts it from here.
set -eu

app_user="${TOM_DESC_DB_USER:-tom_desc}"
app_db="${TOM_DESC_DB_NAME:-tom_desc}"
pass_file="${TOM_DESC_DB_PASS_FILE:-/run/secrets/db_password}"

if [ ! -s "$pass_file" ]; then
    echo "postgres-initdb: $pass_file is missing or empty; cannot create role $app_user" >&2
    exit 1
fi

# psql variables (:"name" quotes an identifier, :'name' a literal) make quoting safe; the
# password is read inside psql from the file, so it never appears on a command line.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    --set=app_user="$app_user" --set=app_db="$app_db" --set=pass_file="$pass_file" <<'SQL'
\set app_password `cat :'pass_file'`
CREATE ROLE :"app_user" LOGIN CREATEROLE PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_user" ENCODING 'UTF8' TEMPLATE template0;
\connect :"app_db"
-- PostgreSQL 15+ no longer lets every role create objects in public; the owner needs it.
ALTER SCHEMA public OWNER TO :"app_user";
-- Advisory locks serialise the site's workers; the read-only roles that run analysts' SQL
-- must not be able to take them (sqlquery.roles.restrict_functions), so only the
-- application's role may call the functions in this database.
SELECT format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC; GRANT EXECUTE ON FUNCTION %s TO %I;',
              p.oid::regprocedure, p.oid::regprocedure, :'app_user')
FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname LIKE 'pg\_%advisory%'
\gexec
-- Analysts' SQL runs as elasticc_ro / elasticc_admin_ro in a read-write transaction that is
-- always rolled back (docs/sqlquery.md, "The transaction"). What only a superuser can arrange,
-- as grant_readonly does when it runs as one (sqlquery/roles.py): the roles, made by the
-- application's role so that its migrations manage them, get a temp_file_limit (keep it equal to
-- SQLQUERY_TEMP_FILE_MB); large-object and WAL-message writes, other sessions' queries and their
-- cancelling, and the languages of DO blocks and functions are the application's role's alone.
SET ROLE :"app_user";
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS '
              'CONNECTION LIMIT 64', r)
FROM unnest(ARRAY['elasticc_ro', 'elasticc_admin_ro']) AS r WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r)
\gexec
RESET ROLE;
ALTER ROLE elasticc_ro SET temp_file_limit = '1024MB';
ALTER ROLE elasticc_admin_ro SET temp_file_limit = '1024MB';
SELECT format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC; GRANT EXECUTE ON FUNCTION %s TO %I;',
              p.oid::regprocedure, p.oid::regprocedure, :'app_user')
FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace
  AND p.proname IN ('lo_creat', 'lo_create', 'lo_from_bytea', 'lo_import', 'lo_export', 'lo_put', 'lowrite',
                    'lo_truncate', 'lo_truncate64', 'lo_unlink', 'pg_logical_emit_message', 'pg_stat_get_activity',
                    'pg_stat_get_backend_activity', 'pg_cancel_backend', 'pg_terminate_backend')
\gexec
SELECT format('GRANT EXECUTE ON FUNCTION %s TO %s;', p.oid::regprocedure,
              CASE WHEN p.proname LIKE 'pg\_stat%' THEN 'pg_read_all_stats' ELSE 'pg_signal_backend' END)
FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace
  AND p.proname IN ('pg_stat_get_activity', 'pg_stat_get_backend_activity', 'pg_cancel_backend', 'pg_terminate_backend')
\gexec
REVOKE USAGE ON LANGUAGE plpgsql, sql FROM PUBLIC;
GRANT USAGE ON LANGUAGE plpgsql, sql TO :"app_user";
SQL
echo "postgres-initdb: created role $app_user and database $app_db"
