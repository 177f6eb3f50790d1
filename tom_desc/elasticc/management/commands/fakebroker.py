"""A stand-in alert broker: reads alerts, publishes made-up classifications.

    python manage.py fakebroker                       # ELAsTiCC: two classifiers, settings' topics
    python manage.py fakebroker --campaign elasticc --campaign elasticc2   # both campaigns, one process
    python manage.py fakebroker --classifier Alpha --classifier Beta --group demo

The engine is elasticc.stream.fakebroker (FakeBroker, classify: what is published and when
offsets are committed). SIGTERM/SIGINT finish the batch in hand, commit and exit 0.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from elasticc.stream import alertcampaigns
from elasticc.stream.fakebroker import DEFAULT_CLASSIFIERS, DeliveryFailed, FakeBroker, FakeRoute
from tom_desc.lib.stopping import StopFlag


class Command(BaseCommand):
    help = (
        "Consume alerts and publish fake brokerClassification messages for one or more named classifiers "
        "(probabilities over the campaign's exact classIds summing to 1: three-digit for ELAsTiCC, "
        "four-digit for ELAsTiCC2). One process serves every --campaign given. For demos and tests."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--kafka-server",
            default=settings.KAFKA_BOOTSTRAP_SERVERS,
            help="Kafka bootstrap servers (default %(default)s)",
        )
        parser.add_argument(
            "--campaign",
            action="append",
            dest="campaigns",
            choices=alertcampaigns.names(),
            help="a campaign whose alerts to classify (repeatable; default elasticc)",
        )
        parser.add_argument(
            "--alert-topic",
            default=settings.ELASTICC_ALERT_TOPIC,
            help="topic to read ELAsTiCC alerts from (default %(default)s)",
        )
        parser.add_argument(
            "--topic",
            default=settings.ELASTICC_FAKEBROKER_TOPIC,
            help="topic to publish ELAsTiCC classifications to (default %(default)s)",
        )
        parser.add_argument(
            "--elasticc2-alert-topic",
            action="append",
            dest="elasticc2_alert_topics",
            metavar="TOPIC",
            help="topic to read ELAsTiCC2 alerts from (repeatable; default the WFD and ddf-full topics, "
            f"{settings.ELASTICC2_ALERT_TOPIC} and {settings.ELASTICC2_DDF_FULL_TOPIC}, as the original's "
            "fake broker read them)",
        )
        parser.add_argument(
            "--elasticc2-topic",
            default=settings.ELASTICC2_FAKEBROKER_TOPIC,
            help="topic to publish ELAsTiCC2 classifications to (default %(default)s)",
        )
        parser.add_argument("--group", default="fakebroker", help="consumer group id (default %(default)s)")
        parser.add_argument(
            "--classifier",
            action="append",
            dest="classifiers",
            metavar="NAME",
            help=f"a classifier to publish for (repeatable; default {' and '.join(DEFAULT_CLASSIFIERS)})",
        )
        parser.add_argument("--broker-name", default="FakeBroker", help="brokerName (default %(default)s)")
        parser.add_argument("--broker-version", default="1.0", help="brokerVersion (default %(default)s)")
        parser.add_argument("--batch-size", type=int, default=500, help="alerts per poll (default %(default)s)")
        parser.add_argument("--max-alerts", type=int, default=None, help="exit after this many alerts")
        parser.add_argument(
            "--exit-when-idle",
            type=float,
            default=None,
            metavar="SECONDS",
            help="exit once no alert arrived for this long and the assigned partitions are read to "
            "their end (for tests and one-off runs)",
        )
        parser.add_argument(
            "--session-timeout-ms",
            type=int,
            default=6000,
            help="consumer group session timeout; joining takes about half of it (default %(default)s)",
        )
        parser.add_argument("--log-every", type=float, default=10.0, help="seconds between count log lines")

    def handle(self, *args, **options):
        classifiers = options["classifiers"] or DEFAULT_CLASSIFIERS
        if len(set(classifiers)) != len(classifiers):
            raise CommandError("--classifier names must be distinct")
        campaigns = list(dict.fromkeys(options["campaigns"] or ["elasticc"]))
        if options["elasticc2_alert_topics"] and "elasticc2" not in campaigns:
            raise CommandError("--elasticc2-alert-topic given, but not --campaign elasticc2")
        routes = []
        if "elasticc2" in campaigns:
            alert_topics = options["elasticc2_alert_topics"] or [
                settings.ELASTICC2_ALERT_TOPIC,
                settings.ELASTICC2_DDF_FULL_TOPIC,
            ]
            routes.append(FakeRoute("elasticc2", tuple(alert_topics), options["elasticc2_topic"]))
        with_elasticc = "elasticc" in campaigns
        stop = StopFlag().install()
        try:
            broker = FakeBroker(
                options["kafka_server"],
                options["alert_topic"] if with_elasticc else None,
                options["topic"] if with_elasticc else None,
                stop,
                routes=routes,
                group=options["group"],
                classifiers=classifiers,
                broker_name=options["broker_name"],
                broker_version=options["broker_version"],
                session_timeout_ms=options["session_timeout_ms"],
                log_every=options["log_every"],
            )
            broker.run(
                options["batch_size"], max_alerts=options["max_alerts"], exit_when_idle=options["exit_when_idle"]
            )
        except DeliveryFailed as exc:
            raise CommandError(str(exc)) from None
        finally:
            stop.restore()
        self.stdout.write(
            f"fakebroker: {broker.alerts} alerts read, {broker.published} classifications published to "
            f"{broker.topic} for {len(classifiers)} classifiers in {broker.elapsed:.1f} s"
            + (f", {broker.bad} undecodable" if broker.bad else "")
            + (f"; stopped by {stop.signal_name}" if stop.signal_name else "")
        )
