"""The settings refuse to start without their required configuration, and say what is missing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


def django_setup(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL", "DJANGO_SECRET_KEY"))}
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "tom_desc.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_secret_key_is_named():
    result = django_setup({"DATABASE_URL": "postgres://u@localhost/db"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "Set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE" in result.stderr


def test_missing_database_is_named():
    result = django_setup({"DJANGO_SECRET_KEY": "x", "DB_HOST": "db"})
    assert result.returncode != 0
    assert "No database configured" in result.stderr
    assert "Missing: DB_NAME, DB_USER" in result.stderr


def test_unreadable_secret_file_is_named(tmp_path):
    result = django_setup(
        {"DATABASE_URL": "postgres://u@localhost/db", "DJANGO_SECRET_KEY_FILE": str(tmp_path / "absent")}
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY_FILE=" in result.stderr and "cannot be read" in result.stderr


def test_bad_boolean_is_named():
    result = django_setup({"DATABASE_URL": "postgres://u@localhost/db", "DJANGO_SECRET_KEY": "x", "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_unknown_cache_backend_is_named():
    base = {"DATABASE_URL": "postgres://u@localhost/db", "DJANGO_SECRET_KEY": "x"}
    result = django_setup({**base, "CACHE_BACKEND": "redis"})
    assert result.returncode != 0
    assert "CACHE_BACKEND='redis' is not one of file, database" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": "postgres://u:p@dbhost:5433/tom", "DJANGO_SECRET_KEY": "x"},
        {
            "DB_HOST": "dbhost",
            "DB_PORT": "5433",
            "DB_NAME": "tom",
            "DB_USER": "u",
            "DB_PASS": "p",
            "DJANGO_SECRET_KEY": "x",
        },
    ],
)
def test_complete_configuration_starts(env, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    env = dict(env, DJANGO_SECRET_KEY_FILE=str(secret))
    env.pop("DJANGO_SECRET_KEY")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; d = s.DATABASES['default'];"
            "print(d['HOST'], d['PORT'], d['NAME'], d['USER'], d['PASSWORD'], s.SECRET_KEY, s.DEBUG)",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL", "DJANGO_SECRET"))},
            **env,
            "DJANGO_SETTINGS_MODULE": "tom_desc.settings",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["dbhost", "5433", "tom", "u", "p", "from-a-file", "False"]
