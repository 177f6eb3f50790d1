"""The committed migrations match the models of every app (`makemigrations --check`)."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:  # --check exits 1 when a migration is missing
        pytest.fail(
            f"makemigrations --check found model changes without a migration:\n{out.getvalue()}"
            if exit_.code
            else out.getvalue()
        )
    assert "No changes detected" in out.getvalue()
