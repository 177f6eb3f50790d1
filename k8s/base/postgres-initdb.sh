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
-- must not be able to take them (sqlquery.roles.restrict_advisory_locks), so only the
-- application's role may call the functions in this database.
SELECT format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC; GRANT EXECUTE ON FUNCTION %s TO %I;',
              p.oid::regprocedure, p.oid::regprocedure, :'app_user')
FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname LIKE 'pg\_%advisory%'
\gexec
SQL
echo "postgres-initdb: created role $app_user and database $app_db"
