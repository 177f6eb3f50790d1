"""Secrets: templates only in git, one list of keys everywhere, a generator for compose and
Kubernetes, and the PostgreSQL init script that turns db_password into the app's role."""

import importlib.util
import os
import stat
import subprocess
import sys

import psycopg
import pytest
import yaml

from devstack.postgres import bin_dir
from ops.tests.deploytools import K8S_DIR, REPO_DIR, documents, run, validate

SECRETS_DIR = REPO_DIR / "secrets"
GENERATOR = SECRETS_DIR / "generate_secrets.py"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_secrets", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _template():
    (doc,) = documents((K8S_DIR / "base" / "secret.template.yaml").read_text())
    return doc


def test_one_list_of_secret_keys_everywhere():
    keys = set(_generator().SPEC)
    assert keys == set(_template()["stringData"])
    assert keys == {path.name.removesuffix(".template") for path in SECRETS_DIR.glob("*.template")}
    compose = yaml.safe_load((REPO_DIR / "docker-compose.yml").read_text())
    assert keys == set(compose["secrets"])
    # Every mounted secret file a setting names is a key of the Secret.
    config = (K8S_DIR / "base" / "config.env").read_text()
    named = {
        line.split("=", 1)[1].rsplit("/", 1)[1]
        for line in config.splitlines()
        if line.split("=", 1)[0].endswith("_FILE")
    }
    assert named and named <= keys
    assert {"db_ro_password", "db_admin_ro_password"} <= named


def test_secret_template_has_no_values_and_never_renders(tmp_path):
    template = _template()
    assert template["kind"] == "Secret" and template["metadata"]["name"] == "tom-desc-secrets"
    assert template["metadata"]["annotations"]["config.kubernetes.io/local-config"] == "true"
    assert "data" not in template
    assert all(value == "" for value in template["stringData"].values())
    result = validate([K8S_DIR / "base" / "secret.template.yaml"])
    assert result.returncode == 0, result.stdout
    for path in SECRETS_DIR.glob("*.template"):
        assert path.read_text().startswith("<REPLACE: "), path


def test_git_ignores_real_secrets_but_not_templates(tmp_path):
    # The repository's .gitignore, checked in a fresh repository so the test also runs on an
    # exported tree that is not a git checkout.
    (tmp_path / ".gitignore").write_text((REPO_DIR / ".gitignore").read_text())
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)

    def ignored(path: str) -> bool:
        result = subprocess.run(["git", "check-ignore", "--quiet", "--no-index", path], cwd=tmp_path)
        assert result.returncode in (0, 1)
        return result.returncode == 0

    for name in _generator().SPEC:
        assert ignored(f"secrets/{name}")
        assert not ignored(f"secrets/{name}.template")
    assert ignored("secrets/tom-desc-secret.yaml")
    assert not ignored("secrets/README.md") and not ignored("secrets/generate_secrets.py")


def test_compose_mode_writes_fresh_files_and_keeps_existing(tmp_path):
    target = tmp_path / "secrets"
    first = run([sys.executable, str(GENERATOR), "compose", "--dir", str(target)])
    assert first.returncode == 0, first.stderr
    assert "5 written, 0 kept" in first.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    values = {}
    for name in _generator().SPEC:
        path = target / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # readable through compose's bind mount
        values[name] = path.read_text()
        assert len(values[name]) >= 32 and "\n" not in values[name]
    assert len(set(values.values())) == len(values)

    again = run([sys.executable, str(GENERATOR), "compose", "--dir", str(target)])
    assert "0 written, 5 kept" in again.stderr
    assert {name: (target / name).read_text() for name in values} == values
    forced = run([sys.executable, str(GENERATOR), "compose", "--dir", str(target), "--force"])
    assert "5 written, 0 kept" in forced.stderr
    assert all((target / name).read_text() != value for name, value in values.items())


def test_k8s_mode_prints_a_valid_complete_secret(tmp_path):
    reuse = tmp_path / "compose"
    reuse.mkdir()
    (reuse / "db_password").write_text("kept-from-compose\n")
    result = run([sys.executable, str(GENERATOR), "k8s", "--namespace", "tom-desc", "--from-dir", str(reuse)])
    assert result.returncode == 0, result.stderr
    assert "1 reused, 4 generated" in result.stderr
    manifest = tmp_path / "secret.yaml"
    manifest.write_text(result.stdout)
    check = validate([manifest])
    assert check.returncode == 0, check.stdout
    (secret,) = documents(result.stdout)
    assert secret["metadata"] == {
        "name": "tom-desc-secrets",
        "namespace": "tom-desc",
        "labels": {"app.kubernetes.io/part-of": "tom-desc"},
    }
    assert set(secret["stringData"]) == set(_template()["stringData"])
    assert secret["stringData"]["db_password"] == "kept-from-compose"
    assert all(len(value) >= 16 for value in secret["stringData"].values())
    other = documents(run([sys.executable, str(GENERATOR), "k8s"]).stdout)[0]
    assert other["stringData"]["django_secret_key"] != secret["stringData"]["django_secret_key"]


def test_postgres_init_script_creates_the_app_role(embedded_postgres, tmp_path):
    """k8s/base/postgres-initdb.sh as the postgres image runs it: psql on the superuser
    connection, the password read from the mounted secret file."""
    if embedded_postgres is None:
        pytest.skip("needs the embedded PostgreSQL")
    suffix = os.getpid()
    role, database = f"tom desc {suffix}", f"tom_desc_init_{suffix}"
    password = tmp_path / "db_password"
    # With a trailing newline, as `echo ... > file` writes it; Django strips it when reading.
    password.write_text('it\'s a "quoted" secret\n')
    env = dict(
        os.environ,
        PATH=f"{bin_dir()}:{os.environ['PATH']}",
        PGHOST="127.0.0.1",
        PGPORT=str(embedded_postgres.port),
        POSTGRES_USER="postgres",
        POSTGRES_DB="postgres",
        TOM_DESC_DB_USER=role,
        TOM_DESC_DB_NAME=database,
        TOM_DESC_DB_PASS_FILE=str(password),
    )
    result = subprocess.run(
        ["sh", str(REPO_DIR / "k8s" / "base" / "postgres-initdb.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    with psycopg.connect(
        host="127.0.0.1", port=embedded_postgres.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        try:
            row = conn.execute(
                "SELECT rolcanlogin, rolcreaterole, rolsuper, rolpassword FROM pg_authid WHERE rolname = %s", [role]
            ).fetchone()
            assert row[:3] == (True, True, False)
            assert row[3].startswith("SCRAM-SHA-256$")  # a password was set, stored hashed
            owner = conn.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
            assert owner == (role,)
            # The password that was set is the file's: SCRAM verifier derived from it matches.
            assert _scram_matches(row[3], password.read_text().strip())
            # In the new database only the app's role may take advisory locks.
            with psycopg.connect(host="127.0.0.1", port=embedded_postgres.port, user="postgres", dbname=database) as db:
                grants = dict(
                    db.execute(
                        "SELECT p.oid::regprocedure::text, array_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
                        "ELSE pg_get_userbyid(a.grantee) END) "
                        "FROM pg_proc p LEFT JOIN LATERAL aclexplode(p.proacl) a ON true "
                        "WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname LIKE 'pg\\_%advisory%' "
                        "GROUP BY 1"
                    ).fetchall()
                )
            assert "pg_advisory_lock(bigint)" in grants and len(grants) >= 16, grants
            assert all(sorted(grantees) == sorted(["postgres", role]) for grantees in grants.values()), grants
        finally:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')

    missing = subprocess.run(
        ["sh", str(REPO_DIR / "k8s" / "base" / "postgres-initdb.sh")],
        env=dict(env, TOM_DESC_DB_PASS_FILE=str(tmp_path / "absent")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and "missing or empty" in missing.stderr


def _scram_matches(verifier: str, password: str) -> bool:
    """Check a PostgreSQL SCRAM-SHA-256 verifier against a password (RFC 5802/7677)."""
    import base64
    import hashlib
    import hmac

    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$", 1)
    iterations, salt = iterations_salt.split(":")
    stored_key, _server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return method == "SCRAM-SHA-256" and hashlib.sha256(client_key).digest() == base64.b64decode(stored_key)
