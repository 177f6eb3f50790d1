"""Export and import user accounts as JSON, so a site can move its users to a new database.

The original site copied ``auth_user`` with pg_dump, which also needed the group tables, the
join tables and matching sequence values. This keeps only what identifies an account: the
password hash (never a password), names, email, the active/staff/superuser flags, dates,
group memberships, direct permissions and, when asked, the REST API token.

Import is idempotent: accounts are matched by username, an account already equal to its
record is left untouched, and running the same file twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apitokens import tokens

FORMAT = "tom_desc.users"
VERSION = 1
# Plain fields copied as they are, in the order they appear in a record.
USER_FIELDS = ("password", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser")
DATE_FIELDS = ("date_joined", "last_login")


class UserFileError(ValueError):
    """The file is not a user export this code understands."""


def anonymous_username() -> str:
    # django-guardian keeps a real row for the anonymous user; it belongs to each site.
    return getattr(settings, "ANONYMOUS_USER_NAME", "AnonymousUser") or "AnonymousUser"


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _permission_name(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def export_users(with_tokens: bool = False) -> dict[str, Any]:
    """Every account except the anonymous user, sorted by username."""
    users = (
        User.objects.exclude(username=anonymous_username())
        .order_by("username")
        .prefetch_related("groups", "user_permissions__content_type")
    )
    user_tokens = tokens.all_by_user() if with_tokens else {}
    records = []
    for user in users:
        record: dict[str, Any] = {"username": user.username}
        record.update({name: getattr(user, name) for name in USER_FIELDS})
        record.update({name: _iso(getattr(user, name)) for name in DATE_FIELDS})
        record["groups"] = sorted(group.name for group in user.groups.all())
        record["permissions"] = sorted(_permission_name(p) for p in user.user_permissions.all())
        token = user_tokens.get(user.pk)
        if token is not None:
            record["token"] = {"key": token.key, "created": _iso(token.created)}
        records.append(record)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "groups": sorted(Group.objects.values_list("name", flat=True)),
        "users": records,
    }


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    groups_created: int = 0
    tokens_set: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        total = self.created + self.updated + self.unchanged
        text = (
            f"{total} users ({self.created} created, {self.updated} updated, {self.unchanged} unchanged), "
            f"{len(self.skipped)} skipped, {self.groups_created} groups created, {self.tokens_set} tokens set"
        )
        if self.warnings:
            text += f", {len(self.warnings)} warnings"
        return text


def _parse_date(record: dict, name: str) -> dt.datetime | None:
    raw = record.get(name)
    if raw in (None, ""):
        return None
    value = parse_datetime(raw) if isinstance(raw, str) else None
    if value is None:
        raise UserFileError(f"user {record.get('username')!r}: {name}={raw!r} is not an ISO date-time")
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


def _check_file(data: Any) -> list[dict]:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserFileError(f"not a user export: expected an object with format={FORMAT!r}")
    if data.get("version") != VERSION:
        raise UserFileError(f"unsupported user export version {data.get('version')!r} (this code reads {VERSION})")
    users = data.get("users")
    if not isinstance(users, list):
        raise UserFileError("'users' must be a list")
    for index, record in enumerate(users):
        if not isinstance(record, dict) or not isinstance(record.get("username"), str) or not record["username"]:
            raise UserFileError(f"users[{index}] has no username")
        if not isinstance(record.get("password", ""), str):
            raise UserFileError(f"users[{index}].password must be a string (a password hash)")
        for flag in ("is_active", "is_staff", "is_superuser"):
            if not isinstance(record.get(flag, False), bool):
                raise UserFileError(f"users[{index}].{flag} must be true or false")
    return users


def import_users(data: Any, with_tokens: bool = True) -> ImportReport:
    """Create or update the accounts in ``data`` (an export) in one transaction.

    1. check the file's format and every record's types before writing anything;
    2. create the groups it names that do not exist;
    3. per record: create or update the user, then set its groups and direct permissions to
       exactly those in the record, then its API token when the record has one;
    4. count what changed.
    """
    records = _check_file(data)
    report = ImportReport()
    anonymous = anonymous_username()
    with transaction.atomic():
        wanted_groups = set(data.get("groups") or [])
        for record in records:
            wanted_groups.update(record.get("groups") or [])
        existing = set(Group.objects.filter(name__in=wanted_groups).values_list("name", flat=True))
        for name in sorted(wanted_groups - existing):
            Group.objects.create(name=name)
            report.groups_created += 1
        groups = {group.name: group for group in Group.objects.filter(name__in=wanted_groups)}
        permissions = {_permission_name(p): p for p in Permission.objects.select_related("content_type")}

        for record in records:
            username = record["username"]
            if username == anonymous:
                report.skipped.append(username)
                continue
            values: dict[str, Any] = {name: record[name] for name in USER_FIELDS if name in record}
            values.update({name: _parse_date(record, name) for name in DATE_FIELDS if name in record})
            if values.get("date_joined") is None:
                values.pop("date_joined", None)
            user = User.objects.filter(username=username).first()
            changed = False
            if user is None:
                user = User(username=username)
                changed = True
            for name, value in values.items():
                if getattr(user, name) != value:
                    setattr(user, name, value)
                    changed = True
            created = user.pk is None
            if changed:
                user.save()

            target_groups = {groups[name] for name in record.get("groups") or []}
            if set(user.groups.all()) != target_groups:
                user.groups.set(target_groups)
                changed = True
            target_perms = set()
            for name in record.get("permissions") or []:
                if name in permissions:
                    target_perms.add(permissions[name])
                else:
                    report.warnings.append(f"{username}: permission {name!r} does not exist here; skipped")
            if set(user.user_permissions.all()) != target_perms:
                user.user_permissions.set(target_perms)
                changed = True

            token = record.get("token")
            if with_tokens and isinstance(token, dict) and token.get("key"):
                changed |= _set_token(user, token, report)

            if created:
                report.created += 1
            elif changed:
                report.updated += 1
            else:
                report.unchanged += 1
    return report


def _set_token(user: User, token: dict, report: ImportReport) -> bool:
    key = str(token["key"])
    holder = tokens.holder_of(key)
    if holder is not None and holder != user.pk:
        report.warnings.append(f"{user.username}: token already belongs to another account; not set")
        return False
    if holder is not None:
        return False
    if tokens.is_placeholder(user):
        report.warnings.append(f"{user.username}: the anonymous placeholder holds no token; not set")
        return False
    tokens.install(user, key, _parse_date(token, "created") or timezone.now())
    report.tokens_set += 1
    return True


def count_by_flag(records: list[dict]) -> Counter:
    """How many records are active, staff, superusers (for the export summary)."""
    counts: Counter = Counter()
    for record in records:
        for flag in ("is_active", "is_staff", "is_superuser"):
            counts[flag] += bool(record.get(flag))
    return counts
