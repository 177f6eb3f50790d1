"""Delete old long queries and their result files."""

from django.core.management.base import BaseCommand

from sqlquery import longqueries


class Command(BaseCommand):
    help = (
        "Delete long queries submitted more than --days days ago (except running ones), their result "
        "files, and stray files that old in SQLQUERY_RESULTS_DIR."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=7.0, help="age in days (default %(default)s)")

    def handle(self, *args, days: float, **options):
        queries, files = longqueries.prune(days)
        self.stdout.write(f"prune_queries: removed {queries} queries and {files} files older than {days:g} days")
