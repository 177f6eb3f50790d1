import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_generated_password_printed_once(capsys, monkeypatch):
    monkeypatch.delenv("TOM_ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("TOM_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    password = out.split("with password '")[1].split("'")[0]
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert admin.groups.filter(name="elasticc_admin").exists()

    call_command("ensure_admin")
    assert "already exists" in capsys.readouterr().out
    assert User.objects.get(username="admin").check_password(password)


def test_name_and_password_from_environment(capsys, monkeypatch):
    monkeypatch.setenv("TOM_ADMIN_USERNAME", "rob")
    monkeypatch.setenv("TOM_ADMIN_PASSWORD", "a-chosen-password")
    call_command("ensure_admin")
    assert "a-chosen-password" not in capsys.readouterr().out
    assert User.objects.get(username="rob").check_password("a-chosen-password")
