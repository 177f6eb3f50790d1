"""python manage.py export_users FILE: write every account (with password hashes) as JSON."""

import json
import os
import sys

from django.core.management.base import BaseCommand

from ops.users import count_by_flag, export_users


class Command(BaseCommand):
    help = (
        "Write the site's user accounts to FILE as JSON (or '-' for standard output): usernames, "
        "password hashes, names, emails, active/staff/superuser flags, dates, group memberships and "
        "direct permissions; API tokens too with --with-tokens. The anonymous user is left out. "
        "The file holds credentials: it is created readable by its owner only. "
        "Read it back with import_users."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="output file, or '-' for standard output")
        parser.add_argument(
            "--with-tokens", action="store_true", help="include each user's REST API token (a bearer credential)"
        )

    def handle(self, *args, file, with_tokens, **options):
        data = export_users(with_tokens=with_tokens)
        text = json.dumps(data, indent=2, sort_keys=False) + "\n"
        if file == "-":
            sys.stdout.write(text)
        else:
            # A new file is 0600 from its first byte; an existing one is narrowed to 0600 too.
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            os.chmod(file, 0o600)
        flags = count_by_flag(data["users"])
        tokens = sum(1 for record in data["users"] if "token" in record)
        # The summary goes to stderr so that `export_users -` output stays pure JSON.
        self.stderr.write(
            f"export_users: {len(data['users'])} users ({flags['is_active']} active, {flags['is_staff']} staff, "
            f"{flags['is_superuser']} superusers), {len(data['groups'])} groups, {tokens} tokens"
            + ("" if file == "-" else f" -> {file}")
        )
