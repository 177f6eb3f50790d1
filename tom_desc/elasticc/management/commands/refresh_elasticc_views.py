"""python manage.py refresh_elasticc_views: recompute the original's materialized analysis views."""

from django.core.management.base import BaseCommand, CommandError

from elasticc import sqlviews


class Command(BaseCommand):
    help = (
        "Recompute the materialized views of the original DESC TOM that analysts' SQL reads "
        "(elasticc_view_dedupedclassifications, _classifications_probmetrics, _maxprobdiff_hist, ...; "
        "docs/sqlviews.md), in dependency order. Views already filled are refreshed CONCURRENTLY, so "
        "queries keep reading the previous contents meanwhile. Run it after loading data or "
        "periodically (e.g. daily) while brokers send classifications."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--view",
            action="append",
            choices=sqlviews.MATERIALIZED_VIEWS,
            metavar="NAME",
            help="refresh only this view (repeatable; the views it reads are not refreshed); default: all",
        )

    def handle(self, *args, **options):
        def report(item: sqlviews.Refreshed) -> None:
            how = "concurrently" if item.concurrently else "filled"
            self.stdout.write(f"{item.name}: {item.rows:,} rows, {how}, {item.seconds:.1f} s")

        try:
            done = sqlviews.refresh_views(options["view"], progress=report)
        except sqlviews.RefreshError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"refresh_elasticc_views: {len(done)} views refreshed")
