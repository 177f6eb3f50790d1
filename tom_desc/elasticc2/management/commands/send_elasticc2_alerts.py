"""Advance ELAsTiCC2's simulated time: send the unsent ppdb alerts up to a day to Kafka as Avro.

    python manage.py send_elasticc2_alerts --through-day 60578 --do
    python manage.py send_elasticc2_alerts -a 1 --do                      # one more night
    python manage.py send_elasticc2_alerts -d 60578 -k kafka:9092 --wfd-topic alerts-wfd \\
        --ddf-full-topic alerts-ddf-full --ddf-limited-topic alerts-ddf-limited --do   # the original's flags

The engine is ELAsTiCC's (elasticc.stream.sender) with ELAsTiCC2's campaign
(elasticc2/alertstream.py): non-DDF objects' alerts to the WFD topic, DDF objects' alerts to
the ddf-full topic and, with 30 days of history, the ddf-limited topic; each delivered alert
marked sent and what it carried recorded in the TOM-known tables. The flags common to both
sending commands are in elasticc.management.sending.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from elasticc.management import original_flags, sending
from elasticc.stream.avro import ALERT_SCHEMA


class Command(BaseCommand):
    help = (
        "Send the unsent ELAsTiCC2 alerts (elasticc2_ppdbalert) up to a simulated day to Kafka (schemaless "
        f"Avro {ALERT_SCHEMA}): non-DDF objects' to the WFD topic with 365 days of history, DDF objects' to "
        "the ddf-full topic (365 days) and the ddf-limited topic (30 days). An alert is marked sent, and what "
        "it carried (its object, source, prvDiaSources and prvDiaForcedSources) recorded in elasticc2_diaobject, "
        "_diasource and _diaforcedsource, once Kafka confirmed every copy. A dry run unless --do is given."
    )

    def add_arguments(self, parser):
        # The original's -f/--flush-every: alerts between flushes and marks, which a batch is here.
        sending.add_common_arguments(parser, batch_size_flags=("--batch-size", "-f", "--flush-every"))
        parser.add_argument(
            "--start-day",
            type=float,
            metavar="MJD",
            help="send no alert earlier than this MJD, and with --added-days count from it when it is later "
            "than the alert sent last (or when nothing was sent yet), as the original did",
        )
        parser.add_argument(
            "-r",
            "--runningfile",
            type=Path,
            metavar="FILE",
            help="the original's guard for cron jobs: refuse to start while FILE exists; write it for the "
            "run and remove it at the end (two runs are also kept apart by a PostgreSQL advisory lock)",
        )
        for flag, setting, name in (
            ("--wfd-topic", "ELASTICC2_ALERT_TOPIC", "non-DDF objects' alerts"),
            ("--ddf-full-topic", "ELASTICC2_DDF_FULL_TOPIC", "DDF objects' alerts, 365 days of history"),
            ("--ddf-limited-topic", "ELASTICC2_DDF_LIMITED_TOPIC", "DDF objects' alerts, 30 days of history"),
        ):
            parser.add_argument(
                flag,
                default=getattr(settings, setting),
                help=f"topic for {name} (default: settings.{setting}, %(default)s)",
            )
        # The original's: one log line every N alerts (the progress bar and the summary here), and
        # N reconstruction processes (alerts are built set-based in one process here).
        original_flags.accept(parser, "-l", "--log-every", takes_value=True)
        original_flags.accept(parser, "-n", "--num-reconstruct-processes", takes_value=True)

    def handle(self, *args, **options):
        topics = {
            "wfd": options["wfd_topic"],
            "ddf-full": options["ddf_full_topic"],
            "ddf-limited": options["ddf_limited_topic"],
        }
        running = options["runningfile"]
        if running is None or not options["do"]:
            sending.run(self, options, "elasticc2", topics, start_day=options["start_day"])
            return
        try:
            with open(running, "x") as marker:  # x: fails if it exists
                marker.write(f"{datetime.now(UTC).isoformat()} on host {socket.gethostname()}\n")
        except FileExistsError:
            raise CommandError(
                f"{running} exists: another send_elasticc2_alerts may be running; not starting"
            ) from None
        except OSError as exc:
            raise CommandError(f"--runningfile {running}: {exc.strerror}") from None
        try:
            sending.run(self, options, "elasticc2", topics, start_day=options["start_day"])
        finally:
            running.unlink(missing_ok=True)
