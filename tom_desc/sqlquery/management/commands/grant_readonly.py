"""(Re)grant the read-only roles their SELECT privileges; optionally set their passwords."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from sqlquery import roles


class Command(BaseCommand):
    help = (
        "Make the SELECT grants of the PostgreSQL roles elasticc_ro (elasticc_broker* and taxonomy "
        "tables) and elasticc_admin_ro (every elasticc_* table) match the rules in sqlquery/roles.py. "
        "Runs by itself after every migrate. --create-roles creates missing roles (needs CREATEROLE); "
        "--set-passwords sets their passwords from DB_RO_PASS / DB_ADMIN_RO_PASS (or *_FILE) as "
        "SCRAM verifiers, so the clear text never reaches the server log."
    )

    def add_arguments(self, parser):
        parser.add_argument("--create-roles", action="store_true", help="create the roles if they are missing")
        parser.add_argument(
            "--set-passwords",
            action="store_true",
            help="ALTER ROLE ... PASSWORD from the DB_RO_PASS / DB_ADMIN_RO_PASS secrets",
        )

    def handle(self, *args, create_roles: bool, set_passwords: bool, **options):
        if create_roles:
            with connection.cursor() as cur:
                cur.execute(roles.CREATE_ROLES_SQL)
        with connection.cursor() as cur:
            missing = set(roles.ROLES) - roles.existing_roles(cur)
        if missing:
            raise CommandError(
                f"missing PostgreSQL roles: {', '.join(sorted(missing))} "
                "(run with --create-roles as a user with CREATEROLE, see docs/sqlquery.md)"
            )
        summary = roles.grant_readonly(connection)
        if set_passwords:
            done = roles.set_passwords(connection)
            self.stdout.write(f"passwords set for: {', '.join(done) or 'none (no secrets configured)'}")
        self.stdout.write("grants: " + ", ".join(f"{role} reads {n} tables" for role, n in summary.items()))
