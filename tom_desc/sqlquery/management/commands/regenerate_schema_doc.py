"""Rewrite the table/column comment block at the end of sql_query_tom_db.py from the database."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from sqlquery import schema_doc


class Command(BaseCommand):
    help = (
        "Regenerate the comment block documenting every elasticc_* table and column at the end of "
        "sql_query_tom_db.py from the migrated database (partitions left out). With --check, only "
        "report whether the committed block is current (exit status 1 if not)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--file",
            type=Path,
            default=Path(settings.REPO_DIR) / "sql_query_tom_db.py",
            help="the client script to update (default: %(default)s)",
        )
        parser.add_argument("--check", action="store_true", help="do not write; fail if the block is out of date")

    def handle(self, *args, file: Path, check: bool, **options):
        if not file.exists():
            raise CommandError(f"{file} does not exist")
        text = file.read_text()
        block = schema_doc.schema_block(connection)
        tables = block.count("\n# elasticc_") + block.count("\n# elasticc2_")
        if schema_doc.current_block(text) == block:
            self.stdout.write(f"{file.name}: schema block is current ({tables} tables)")
            return
        if check:
            raise CommandError(f"{file.name}: schema block is out of date; run manage.py regenerate_schema_doc")
        file.write_text(schema_doc.replace_block(text, block))
        self.stdout.write(f"{file.name}: schema block rewritten ({tables} tables)")
