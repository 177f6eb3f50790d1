"""python manage.py import_users FILE: create or update accounts from an export_users file."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from ops.users import UserFileError, import_users


class Command(BaseCommand):
    help = (
        "Create or update user accounts from FILE (written by export_users; '-' reads standard input). "
        "Accounts are matched by username; each one's fields, groups and direct permissions are set to "
        "those in the file, missing groups are created, the anonymous user is skipped. Running it again "
        "with the same file changes nothing. Everything happens in one transaction: an invalid file "
        "changes nothing at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="input file, or '-' for standard input")
        parser.add_argument("--no-tokens", action="store_true", help="ignore API tokens in the file")

    def handle(self, *args, file, no_tokens, **options):
        try:
            if file == "-":
                data = json.load(sys.stdin)
            else:
                with open(file) as handle:
                    data = json.load(handle)
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"{file} is not JSON: {exc}") from None
        try:
            report = import_users(data, with_tokens=not no_tokens)
        except UserFileError as exc:
            raise CommandError(f"{file}: {exc}") from None
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(warning))
        for name in report.skipped:
            self.stdout.write(f"skipped {name!r} (each site keeps its own anonymous user)")
        self.stdout.write(f"import_users: {report.summary()}")
