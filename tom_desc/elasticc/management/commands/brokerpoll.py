"""Consume broker classification topics and store them, each message exactly once.

The engine is elasticc.stream.poller (Poller, PollLoop); this command turns its arguments
into broker configs, runs the loop until SIGTERM/SIGINT (or idleness, with --exit-when-idle)
and logs the summary. See docs/brokerpoll.md for the config file and the exactly-once design.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from elasticc.management import original_flags
from elasticc.stream import avro, brokertables
from elasticc.stream.brokerconfig import (
    DEFAULT_CAMPAIGN,
    BrokerConfig,
    ConfigError,
    load_broker_configs,
    parse_consumer_options,
    topic_with_campaign,
)
from elasticc.stream.consumer import LIBRDKAFKA_LOG
from elasticc.stream.offsets import DatabaseOffsets
from elasticc.stream.poller import Poller
from elasticc.stream.pollloop import PollLoop
from tom_desc.lib.stopping import StopFlag

log = logging.getLogger("elasticc.brokerpoll")


class Command(BaseCommand):
    help = (
        "Consume brokerClassification messages from one or more Kafka brokers and store them "
        "(broker messages and classifications, COPY in batches). Offsets are kept in the database "
        "in the same transaction as the messages, so a crash or kill at any moment followed by a "
        "restart stores every message exactly once. Undecodable or invalid messages go to the "
        "dead-letter table elasticc_brokerdeadletter. Stops cleanly on SIGTERM/SIGINT. "
        "Brokers come from --config (YAML or JSON, see tom_desc/elasticc/stream/brokers.example.yaml), "
        "from --kafka-server/--topic/--group, or from the settings (KAFKA_BOOTSTRAP_SERVERS, and the "
        "fake broker's topics of both campaigns, ELASTICC_FAKEBROKER_TOPIC and ELASTICC2_FAKEBROKER_TOPIC). "
        "Each topic names its campaign (elasticc or elasticc2): whose taxonomy its classIds must belong to "
        "and whose tables its messages go to; one process serves both campaigns' topics."
    )

    def add_arguments(self, parser):
        parser.add_argument("--config", help="YAML or JSON file listing brokers (see docs/brokerpoll.md)")
        parser.add_argument("--kafka-server", help="bootstrap servers of a single broker to poll")
        parser.add_argument(
            "--topic",
            action="append",
            help="topic to read (repeatable), CAMPAIGN:NAME to name its campaign (elasticc2:elasticc2-fakebroker), "
            "else --campaign's; a name starting with ^ is a regular expression",
        )
        parser.add_argument(
            "--campaign",
            default=DEFAULT_CAMPAIGN,
            choices=brokertables.names(),
            help="campaign of the --topic values that name none (default %(default)s)",
        )
        parser.add_argument("--group", help="consumer group id (also the key of the offsets kept in the database)")
        parser.add_argument(
            "-g",
            "--grouptag",
            help="the original's flag: append -TAG to every broker's consumer group id (a separate set of offsets)",
        )
        parser.add_argument(
            "-r",
            "--reset",
            action="store_true",
            help="forget the stored offsets of the consumer groups and read every topic from its beginning "
            "(what is stored already counts as duplicates); stop other pollers of the groups first",
        )
        for flag in ("--do-alerce", "--do-antares", "--do-fink", "--do-brahms", "--do-pitt", "--do-test"):
            original_flags.refuse(parser, flag, reason="list the brokers to poll in --config", takes_value=False)
        for flag in ("--alerce-topic-pattern", "--antares-topic", "--fink-topic", "--brahms-topic", "--pitt-topic"):
            original_flags.refuse(parser, flag, reason="give each broker's topics in --config or with --topic")
        original_flags.refuse(parser, "--pitt-project", "--test-topic", reason="use --config or --topic")
        parser.add_argument("--name", default="default", help="name of the broker given on the command line")
        parser.add_argument(
            "--schema",
            default=avro.BROKER_CLASSIFICATION_SCHEMA,
            help="Avro schema of the messages (default %(default)s)",
        )
        parser.add_argument(
            "--assign",
            action="store_true",
            help="read every partition without joining a consumer group (a single poller only)",
        )
        parser.add_argument(
            "--consumer-option",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="extra librdkafka consumer setting for every broker, e.g. session.timeout.ms=6000",
        )
        parser.add_argument("--batch-size", type=int, default=5000, help="messages per transaction (default 5000)")
        parser.add_argument(
            "--poll-timeout", type=float, default=1.0, help="seconds to wait for a batch to fill (default 1)"
        )
        parser.add_argument(
            "--heartbeat-every",
            type=float,
            default=5.0,
            help="seconds between heartbeat rows in elasticc_brokerpollstatus (default 5)",
        )
        parser.add_argument(
            "--log-every", type=float, default=30.0, help="seconds between throughput/lag log lines (default 30)"
        )
        parser.add_argument(
            "--exit-when-idle",
            type=float,
            default=None,
            metavar="SECONDS",
            help="exit 0 once no message arrived for this long and nothing is left to read "
            "(backfills, benchmarks); by default poll forever",
        )

    def brokers(self, options) -> list[BrokerConfig]:
        path = options["config"] or getattr(settings, "ELASTICC_BROKERPOLL_CONFIG", "")
        if path and (options["kafka_server"] or options["topic"]):
            raise CommandError("give either --config or --kafka-server/--topic, not both")
        if path:
            try:
                return load_broker_configs(path)
            except (OSError, ConfigError, ValueError) as exc:
                raise CommandError(f"broker config {path}: {exc}") from None
        if options["topic"]:
            campaigns = dict(topic_with_campaign(t, options["campaign"]) for t in options["topic"])
        else:  # the fake broker of both campaigns (make run)
            campaigns = {
                settings.ELASTICC_FAKEBROKER_TOPIC: "elasticc",
                settings.ELASTICC2_FAKEBROKER_TOPIC: "elasticc2",
            }
        return [
            BrokerConfig(
                name=options["name"],
                bootstrap_servers=options["kafka_server"] or settings.KAFKA_BOOTSTRAP_SERVERS,
                topics=list(campaigns),
                group_id=options["group"] or "tom_desc-brokerpoll",
                schema=options["schema"],
                assign=options["assign"],
                campaign=options["campaign"],
                campaigns=campaigns,
            )
        ]

    @staticmethod
    def tagged(brokers: list[BrokerConfig], tag: str | None) -> list[BrokerConfig]:
        """The original's --grouptag: each group id with -TAG appended."""
        if tag:
            for broker in brokers:
                broker.group_id = f"{broker.group_id}-{tag}"
        return brokers

    def handle(self, *args, **options):
        try:
            extra = parse_consumer_options(options["consumer_option"])
            brokers = self.tagged(self.brokers(options), options["grouptag"])
            for broker in brokers:
                broker.check_campaigns()
                broker.consumer_settings(extra)
                avro.load_schema(broker.schema)
        except (ConfigError, KeyError) as exc:
            raise CommandError(str(exc)) from None

        if options["reset"]:
            for group in sorted({b.group_id for b in brokers}):
                log.info(
                    "brokerpoll --reset: forgot %d stored offsets of group %s", DatabaseOffsets(group).forget(), group
                )
        if options["verbosity"] < 3:
            LIBRDKAFKA_LOG.setLevel(logging.CRITICAL)
        stop = StopFlag().install()
        try:
            pollers = [Poller(b, stop, extra, batch_size=options["batch_size"]) for b in brokers]
            loop = PollLoop(
                pollers,
                stop,
                poll_timeout=options["poll_timeout"],
                heartbeat_every=options["heartbeat_every"],
                log_every=options["log_every"],
                exit_when_idle=options["exit_when_idle"],
            )
            code = loop.run()
        finally:
            stop.restore()
        totals = loop.totals()
        log.info(
            "brokerpoll stopped%s: %d messages, %d classifications stored, %d duplicates, %d dead-lettered",
            f" on {stop.signal_name}" if stop.signal_name else "",
            totals["messages"],
            totals["classifications"],
            totals["duplicates"],
            totals["dead"],
        )
        if code:
            raise SystemExit(code)
