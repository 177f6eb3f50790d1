"""Advance simulated time: send the unsent alerts up to a day to Kafka as Avro.

    python manage.py send_elasticc_alerts --through-day 60300 --do
    python manage.py send_elasticc_alerts --added-days 1 --do

Without --do it only says what it would send. With it, under the sender's advisory lock,
the engine (elasticc.stream.sender: the stream of unsent alerts, the producer, the marker
thread) sends and marks; this command parses the arguments, draws the progress bar, lets
SIGTERM/SIGINT finish the work in hand, and prints the one-line summary.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from elasticc.stream import sender
from elasticc.stream.avro import ALERT_SCHEMA
from tom_desc.lib.stopping import StopFlag


class Command(BaseCommand):
    help = (
        "Send the unsent ELAsTiCC alerts up to a simulated day to Kafka (schemaless Avro "
        f"{ALERT_SCHEMA}) and mark them sent once the broker confirms delivery. "
        "A dry run unless --do is given."
    )

    def add_arguments(self, parser):
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument(
            "--through-day",
            type=float,
            metavar="MJD",
            help="send every unsent alert whose source midPointTai is at or before MJD",
        )
        when.add_argument(
            "--added-days",
            type=float,
            metavar="N",
            help="send through N days after the midPointTai of the alert sent last (after "
            "the first unsent alert's when none has been sent); a window without any "
            "alert jumps to the next night that has one",
        )
        parser.add_argument(
            "--kafka-server",
            default=settings.KAFKA_BOOTSTRAP_SERVERS,
            help="Kafka bootstrap servers (default: settings.KAFKA_BOOTSTRAP_SERVERS, %(default)s)",
        )
        parser.add_argument(
            "--topic",
            default=settings.ELASTICC_ALERT_TOPIC,
            help="topic to produce to (default: settings.ELASTICC_ALERT_TOPIC, %(default)s)",
        )
        parser.add_argument("--do", action="store_true", help="really send; without it, only report what would be sent")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="alerts built, produced and marked per batch (default %(default)s)",
        )
        parser.add_argument(
            "--delivery-timeout",
            type=float,
            default=120.0,
            help="seconds the producer keeps retrying one alert before giving up (default %(default)s)",
        )
        parser.add_argument(
            "--producer-config",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="extra librdkafka producer setting, e.g. security.protocol=SASL_SSL (repeatable)",
        )
        parser.add_argument(
            "--history-rows",
            type=int,
            default=2_000_000,
            help="encoded history rows kept between batches, so each is fetched and encoded "
            "once per run (about 100 bytes each; default %(default)s)",
        )
        parser.add_argument(
            "--max-rate",
            type=float,
            default=None,
            metavar="ALERTS_PER_S",
            help="send at most this many alerts a second on average, e.g. to pace a stream "
            "for brokers with limited capacity (default: as fast as possible)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["max_rate"] is not None and options["max_rate"] <= 0:
            raise CommandError("--max-rate must be a positive number of alerts a second")
        try:
            if not options["do"]:
                self.stdout.write(
                    sender.describe_dry_run(
                        options["through_day"], options["added_days"], options["topic"], options["kafka_server"]
                    )
                )
                return
            with sender.send_lock():
                self.send(options)
        except sender.SendError as exc:
            raise CommandError(str(exc)) from exc

    def send(self, options) -> None:
        through = sender.through_day(options["through_day"], options["added_days"])
        if through is None:
            self.stdout.write("No unsent alerts; nothing sent.")
            return
        total = sender.unsent_summary(through).count
        if total == 0:
            self.stdout.write(f"No unsent alerts with midPointTai <= {through:.5f}; nothing sent.")
            return
        engine = sender.AlertSender(
            options["kafka_server"],
            options["topic"],
            options["delivery_timeout"],
            sender.producer_config(options["producer_config"]),
            history_rows=options["history_rows"],
            max_rate=options["max_rate"],
        )
        engine.check_reachable()
        started = time.monotonic()
        progress = tqdm(total=total, unit="alert", desc="sent", disable=options["no_progress"] or None, mininterval=0.5)
        stop = StopFlag().install()  # stop reading new alerts; what was produced is still delivered and marked
        try:
            engine.run(through, options["batch_size"], progress, stop)
        finally:
            progress.close()
            stop.restore()
        elapsed = time.monotonic() - started
        summary = (
            f"send_elasticc_alerts: {engine.marked} alerts sent and marked through day {through:.5f} "
            f"to {options['topic']} in {elapsed:.1f} s ({engine.marked / max(elapsed, 1e-9):.0f} alerts/s); "
            f"{engine.produced} produced, {len(engine.failed)} failed, {engine.skipped} skipped"
            + (f", stopped early by {stop.signal_name}" if stop.signal_name else "")
        )
        self.stdout.write(summary)
        if engine.failed:
            alert_id, reason = engine.failed[0]
            raise CommandError(
                f"{len(engine.failed)} alerts were not delivered and stay unsent (first: alert {alert_id}: {reason})"
            )
