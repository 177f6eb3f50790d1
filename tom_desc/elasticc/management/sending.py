"""What the two alert-sending commands share: their common flags and their run.

``send_elasticc_alerts`` (ELAsTiCC, one topic) and ``send_elasticc2_alerts`` (ELAsTiCC2, a WFD
topic and two DDF topics; elasticc2/management/commands/) differ only in their topic flags
and a few of the original's flags; the engine is elasticc.stream.sender for both. This
module parses the common flags, checks them, runs the dry run or the send under the
campaign's lock with a progress bar and the stop flag, and prints the one-line summary.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from django.conf import settings
from django.core.management.base import CommandError
from tqdm import tqdm

from elasticc.management import original_flags
from elasticc.stream import avro, sender
from elasticc.stream.avro import ALERT_SCHEMA
from tom_desc.lib.stopping import StopFlag


def add_common_arguments(parser, batch_size_flags: tuple[str, ...] = ("--batch-size",)) -> None:
    """The flags both commands take (the original's -d, -a, -k, -s among them)."""
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument(
        "-d",
        "--through-day",
        type=float,
        metavar="MJD",
        help="send every unsent alert whose source midPointTai is at or before MJD",
    )
    when.add_argument(
        "-a",
        "--added-days",
        type=float,
        metavar="N",
        help="send through N more days after the alert sent last (docs/alerts.md says how each campaign counts "
        "them); a window without any alert jumps to the next night that has one",
    )
    parser.add_argument(
        "-k",
        "--kafka-server",
        default=settings.KAFKA_BOOTSTRAP_SERVERS,
        help="Kafka bootstrap servers (default: settings.KAFKA_BOOTSTRAP_SERVERS, %(default)s)",
    )
    parser.add_argument("--do", action="store_true", help="really send; without it, only report what would be sent")
    parser.add_argument(
        *batch_size_flags,
        dest="batch_size",
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
    parser.add_argument(
        "-s",
        "--alert-schema",
        metavar="FILE",
        help="the original's schema flag: accepted when FILE is the schema this command streams "
        f"({ALERT_SCHEMA}, compared in Parsing Canonical Form), refused otherwise",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def check(options) -> None:
    if options["batch_size"] < 1:
        raise CommandError("--batch-size must be at least 1")
    if options["max_rate"] is not None and options["max_rate"] <= 0:
        raise CommandError("--max-rate must be a positive number of alerts a second")
    if options["alert_schema"]:
        problem = original_flags.same_schema(options["alert_schema"], avro.canonical_form(ALERT_SCHEMA))
        if problem:
            raise CommandError(f"--alert-schema: {problem}; this command streams {ALERT_SCHEMA} only")


def run(
    command,
    options,
    campaign: str,
    topics: str | Mapping[str, str],
    history_days: float | None = None,
    start_day: float | None = None,
) -> None:
    """The dry run, or the send under the campaign's lock; the summary goes to command.stdout."""
    check(options)
    words = topics if isinstance(topics, str) else ", ".join(f"{t} ({name})" for name, t in topics.items())
    try:
        if not options["do"]:
            command.stdout.write(
                sender.describe_dry_run(
                    options["through_day"], options["added_days"], words, options["kafka_server"], campaign, start_day
                )
            )
            return
        with sender.send_lock(campaign):
            _send(command, options, campaign, topics, words, history_days, start_day)
    except sender.SendError as exc:
        raise CommandError(str(exc)) from exc


def _send(command, options, campaign, topics, words, history_days, start_day) -> None:
    through = sender.through_day(options["through_day"], options["added_days"], campaign, start_day)
    if through is None:
        command.stdout.write("No unsent alerts; nothing sent.")
        return
    total = sender.unsent_summary(through, campaign, start_day).count
    if total == 0:
        command.stdout.write(f"No unsent alerts with midPointTai <= {through:.5f}; nothing sent.")
        return
    engine = sender.AlertSender(
        options["kafka_server"],
        topics,
        options["delivery_timeout"],
        sender.producer_config(options["producer_config"]),
        history_rows=options["history_rows"],
        max_rate=options["max_rate"],
        history_days=history_days,
        campaign=campaign,
    )
    engine.check_reachable()
    started = time.monotonic()
    progress = tqdm(total=total, unit="alert", desc="sent", disable=options["no_progress"] or None, mininterval=0.5)
    stop = StopFlag().install()  # stop reading new alerts; what was produced is still delivered and marked
    try:
        engine.run(through, options["batch_size"], progress, stop, since=start_day)
    finally:
        progress.close()
        stop.restore()
    elapsed = time.monotonic() - started
    produced = f"{engine.produced} produced"
    if engine.messages != engine.produced:
        produced += f" ({engine.messages} messages)"
    summary = (
        f"{engine.campaign.command}: {engine.marked} alerts sent and marked through day {through:.5f} "
        f"to {words} in {elapsed:.1f} s ({engine.marked / max(elapsed, 1e-9):.0f} alerts/s); "
        f"{produced}, {len(engine.failed)} failed, {engine.skipped} skipped"
    )
    known = engine.known_added
    if known is not None:
        summary += (
            f"; newly known to the TOM: {known['objects']} objects, {known['sources']} sources, "
            f"{known['forced_sources']} forced sources"
        )
    if stop.signal_name:
        summary += f", stopped early by {stop.signal_name}"
    command.stdout.write(summary)
    if engine.failed:
        alert_id, reason = engine.failed[0]
        raise CommandError(
            f"{len(engine.failed)} alerts were not delivered and stay unsent (first: alert {alert_id}: {reason})"
        )
