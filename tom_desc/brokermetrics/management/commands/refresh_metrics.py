"""python manage.py refresh_metrics: recompute the broker metrics tables the pages read."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from brokermetrics import campaigns, refresh


class Command(BaseCommand):
    help = (
        "Recompute the broker metrics the broker pages (/elasticc/brokers/, /elasticc2/brokers/) and the "
        "summary show, for each campaign (or those given with --campaign): sent alerts per day and per "
        "simulated day, and for each classifier (or only those given with --classifier) completeness, delay "
        "histograms and quantiles, and a confusion matrix per taxonomy level (ELAsTiCC: exact, category; "
        "ELAsTiCC2: exact, category, general, broad), per UTC day of sending and all time. Each classifier is "
        "replaced in one transaction, so pages never see half a refresh. Run it periodically (e.g. hourly "
        "from cron or a Kubernetes CronJob)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--campaign",
            action="append",
            choices=[c.campaign for c in campaigns.registered()],
            help="refresh only this campaign (repeatable); default: all",
        )
        parser.add_argument(
            "--classifier",
            type=int,
            action="append",
            metavar="ID",
            help="refresh only this classifier id of the campaigns refreshed (repeatable); default: all",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        def progress(ids):
            return tqdm(
                ids, desc="classifiers", unit="classifier", disable=options["no_progress"], file=self.stderr._out
            )

        result = refresh.refresh_all(only=options["classifier"], progress=progress, only_campaigns=options["campaign"])
        self.stdout.write(
            f"refresh_metrics: {result.classifiers} classifiers, {result.messages:,} classified sent alerts, "
            f"alerts sent on {result.days} days, {result.seconds:.1f} s"
        )
