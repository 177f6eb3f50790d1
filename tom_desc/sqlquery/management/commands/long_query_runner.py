"""Execute queued long queries (POST /db/submitsqlquery/) until stopped."""

import logging

from django.core.management.base import BaseCommand

from sqlquery.longqueries import Runner
from tom_desc.lib.stopping import StopFlag

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run queued long queries one at a time, writing CSV/Parquet/JSON-lines files to "
        "SQLQUERY_RESULTS_DIR. Start as many runners as you like (on any hosts): they claim work with "
        "FOR UPDATE SKIP LOCKED and re-queue the queries of runners that died. SIGTERM/SIGINT: stop "
        "claiming, interrupt the query in hand (it goes back to the queue) and exit."
    )

    # The system checks import every app's URLs and views (matplotlib, pandas, ...): 130 MB
    # of memory a runner has no use for.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=2.0,
            help="seconds to sleep when the queue is empty (default %(default)s)",
        )
        parser.add_argument("--exit-when-idle", action="store_true", help="exit once the queue is empty")
        parser.add_argument("--max-queries", type=int, default=None, help="exit after running this many")

    def handle(self, *args, poll_interval: float, exit_when_idle: bool, max_queries, **options):
        runner = Runner(poll_interval=poll_interval)

        def stop(signal_name: str) -> None:
            log.info("long_query_runner %s: %s received, stopping", runner.ident, signal_name)
            runner.request_shutdown()

        stop_flag = StopFlag(on_signal=stop).install()
        log.info("long_query_runner %s started", runner.ident)
        try:
            runner.loop(exit_when_idle=exit_when_idle, max_queries=max_queries)
        finally:
            stop_flag.restore()
        self.stdout.write(
            f"long_query_runner {runner.ident}: {runner.done} finished, {runner.failed} failed; "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), which unlike getrusage() does not
    include the parent's memory from before exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
