"""Advance simulated time: send the unsent ELAsTiCC alerts up to a day to Kafka as Avro.

    python manage.py send_elasticc_alerts --through-day 60300 --do
    python manage.py send_elasticc_alerts --added-days 1 --do
    python manage.py send_elasticc_alerts -d 60300 -k kafka:9092 -t alerts -s alert.avsc --do   # the original's flags

Without --do it only says what it would send. With it, under the sender's advisory lock,
the engine (elasticc.stream.sender: the stream of unsent alerts, the producer, the marker
thread) sends and marks; this command parses its flags (the common ones in
elasticc.management.sending, shared with send_elasticc2_alerts), and the run draws the
progress bar, lets SIGTERM/SIGINT finish the work in hand, and prints the one-line summary.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from elasticc.management import original_flags, sending
from elasticc.stream.avro import ALERT_SCHEMA


class Command(BaseCommand):
    help = (
        "Send the unsent ELAsTiCC alerts up to a simulated day to Kafka (schemaless Avro "
        f"{ALERT_SCHEMA}) and mark them sent once the broker confirms delivery. "
        "A dry run unless --do is given. (ELAsTiCC2's alerts: send_elasticc2_alerts.)"
    )

    def add_arguments(self, parser):
        sending.add_common_arguments(parser)
        parser.add_argument(
            "-t",
            "--topic",
            "--kafka-topic",
            dest="topic",
            default=settings.ELASTICC_ALERT_TOPIC,
            help="topic to produce to (default: settings.ELASTICC_ALERT_TOPIC, %(default)s)",
        )
        parser.add_argument(
            "--history-days",
            type=float,
            default=None,
            metavar="DAYS",
            help="put only the last DAYS days of history in each alert (ELAsTiCC2's rule, 365 there); "
            "by default every earlier source, as the original's elasticc alerts (docs/alerts.md)",
        )
        original_flags.refuse(
            parser,
            "--daily-delay",
            reason="alerts are paced with --max-rate (alerts a second), not a sleep between nights",
        )

    def handle(self, *args, **options):
        if options["history_days"] is not None and options["history_days"] <= 0:
            raise CommandError("--history-days must be a positive number of days")
        sending.run(self, options, "elasticc", options["topic"], history_days=options["history_days"])
