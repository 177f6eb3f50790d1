"""export_users / import_users: a round trip restores every account exactly, and import is idempotent."""

import json
import os
import stat

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from ops.users import anonymous_username


def _make_accounts():
    admins = Group.objects.get(name="elasticc_admin")
    brokers = Group.objects.get(name="elasticc_broker")
    extra = Group.objects.create(name="ops-test-observers")
    alice = User.objects.create_user(
        "alice", "alice@example.org", "correct horse battery", first_name="Alice", last_name="Liddell"
    )
    alice.groups.add(admins, extra)
    alice.user_permissions.add(Permission.objects.get(content_type__app_label="auth", codename="view_group"))
    bob = User.objects.create_user("bob", "bob@example.org", "another long passphrase", is_staff=True)
    bob.groups.add(brokers)
    carol = User.objects.create_user("carol", "", None, is_active=False)  # unusable password
    root = User.objects.create_superuser("root", "root@example.org", "yet another passphrase")
    # The TOM Toolkit gives every new account an API token (a post_save signal).
    return alice, bob, carol, root


def _comparable(data: dict) -> dict:
    data = dict(data)
    data.pop("exported_at")
    return data


@pytest.mark.django_db
def test_round_trip_after_deleting_users(tmp_path, capsys):
    _make_accounts()
    if not User.objects.filter(username=anonymous_username()).exists():
        User.objects.create(username=anonymous_username())
    path = tmp_path / "users.json"
    call_command("export_users", str(path), "--with-tokens")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # password hashes and tokens inside
    exported = json.loads(path.read_text())
    assert "export_users: 4 users (3 active, 2 staff, 1 superusers)" in capsys.readouterr().err
    names = [record["username"] for record in exported["users"]]
    assert names == ["alice", "bob", "carol", "root"]  # sorted, anonymous user left out
    tokens = dict(Token.objects.exclude(user__username=anonymous_username()).values_list("user__username", "key"))
    assert {record["username"]: record["token"]["key"] for record in exported["users"]} == tokens
    assert all(record["password"] and "passphrase" not in record["password"] for record in exported["users"])

    # Lose every account (as on a fresh database) and one of the groups.
    User.objects.exclude(username=anonymous_username()).delete()
    Group.objects.filter(name="ops-test-observers").delete()
    assert not Token.objects.exclude(user__username=anonymous_username()).exists()

    call_command("import_users", str(path))
    out = capsys.readouterr().out
    assert "import_users: 4 users (4 created, 0 updated, 0 unchanged), 0 skipped, 1 groups created, 4 tokens set" in out

    alice = User.objects.get(username="alice")
    assert alice.check_password("correct horse battery")
    assert (alice.email, alice.first_name, alice.last_name) == ("alice@example.org", "Alice", "Liddell")
    assert sorted(alice.groups.values_list("name", flat=True)) == ["elasticc_admin", "ops-test-observers"]
    assert alice.has_perm("auth.view_group")
    bob = User.objects.get(username="bob")
    assert bob.is_staff and not bob.is_superuser and bob.check_password("another long passphrase")
    assert (
        dict(Token.objects.exclude(user__username=anonymous_username()).values_list("user__username", "key")) == tokens
    )
    carol = User.objects.get(username="carol")
    assert not carol.is_active and not carol.has_usable_password()
    assert User.objects.get(username="root").is_superuser

    # What comes back out is what went in (dates included).
    again = tmp_path / "again.json"
    call_command("export_users", str(again), "--with-tokens")
    assert _comparable(json.loads(again.read_text())) == _comparable(exported)


@pytest.mark.django_db
def test_import_is_idempotent_and_updates_changed_accounts(tmp_path, capsys):
    _make_accounts()
    path = tmp_path / "users.json"
    call_command("export_users", str(path))
    capsys.readouterr()

    call_command("import_users", str(path))
    assert "4 users (0 created, 0 updated, 4 unchanged)" in capsys.readouterr().out

    # Drift on this site: a changed email, a removed group, a changed password.
    alice = User.objects.get(username="alice")
    alice.email = "changed@example.org"
    alice.set_password("something else entirely")
    alice.save()
    alice.groups.remove(Group.objects.get(name="elasticc_admin"))
    call_command("import_users", str(path))
    assert "4 users (0 created, 1 updated, 3 unchanged)" in capsys.readouterr().out
    alice.refresh_from_db()
    assert alice.email == "alice@example.org" and alice.check_password("correct horse battery")
    assert alice.groups.filter(name="elasticc_admin").exists()

    call_command("import_users", str(path))
    assert "4 users (0 created, 0 updated, 4 unchanged)" in capsys.readouterr().out


@pytest.mark.django_db
def test_anonymous_user_in_a_file_is_skipped(tmp_path, capsys):
    data = {
        "format": "tom_desc.users",
        "version": 1,
        "groups": [],
        "users": [
            {"username": anonymous_username(), "password": "!", "is_active": True},
            {"username": "dave", "password": "!", "email": "dave@example.org"},
        ],
    }
    path = tmp_path / "users.json"
    path.write_text(json.dumps(data))
    before = User.objects.filter(username=anonymous_username()).values().first()
    call_command("import_users", str(path))
    out = capsys.readouterr().out
    assert "1 users (1 created, 0 updated, 0 unchanged), 1 skipped" in out
    assert User.objects.filter(username=anonymous_username()).values().first() == before
    assert User.objects.get(username="dave").email == "dave@example.org"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "is not JSON"),
        ('{"format": "something else", "users": []}', "not a user export"),
        ('{"format": "tom_desc.users", "version": 99, "users": []}', "unsupported user export version 99"),
        (
            '{"format": "tom_desc.users", "version": 1, "users": [{"username": "x", "is_staff": "yes"}]}',
            "users[0].is_staff must be true or false",
        ),
    ],
)
def test_invalid_files_change_nothing(tmp_path, content, message):
    User.objects.create_user("erin", "erin@example.org", "a passphrase of sorts")
    before = sorted(User.objects.values_list("username", "email", "password"))
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message.replace("[", r"\[").replace("]", r"\]")):
        call_command("import_users", str(path))
    assert sorted(User.objects.values_list("username", "email", "password")) == before


@pytest.mark.django_db
def test_tokens_only_when_asked(tmp_path):
    _make_accounts()
    path = tmp_path / "users.json"
    call_command("export_users", str(path))
    assert not any("token" in record for record in json.loads(path.read_text())["users"])
