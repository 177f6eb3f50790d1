"""Execute queued long queries (POST /db/submitsqlquery/) until stopped."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management.base import BaseCommand

from sqlquery import longqueries
from sqlquery.longrunner import Runner
from tom_desc.lib.stopping import StopFlag

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run queued long queries, several at once (--concurrency), writing CSV/Parquet/JSON-lines/pandas "
        "files to SQLQUERY_RESULTS_DIR. Queries are claimed fairly between users (the fewest running first, "
        "at most SQLQUERY_LONG_RUNNING_PER_USER each). Start as many runners as you like (on any hosts): they "
        "re-queue the queries of runners that died. SIGTERM/SIGINT: stop claiming, interrupt the queries in "
        "hand (they go back to the queue) and exit."
    )

    # The system checks import every app's URLs and views (matplotlib, pandas, ...): 130 MB
    # of memory a runner has no use for.
    requires_system_checks = []

    def add_arguments(self, parser):
        # The original DESC TOM's flags (-o, -l, -s, -n, -p) are accepted with its meaning, so its
        # deployments' command lines run unchanged (docs/sqlquery.md, "The long-query runner").
        parser.add_argument(
            "--poll-interval",
            "-s",
            "--sleep-time",
            type=float,
            default=2.0,
            help="seconds to sleep when the queue is empty (default %(default)s)",
        )
        parser.add_argument(
            "--concurrency",
            "-n",
            "--num-runners",
            type=int,
            default=settings.SQLQUERY_RUNNER_CONCURRENCY,
            help="queries run at once by this process (default SQLQUERY_RUNNER_CONCURRENCY, %(default)s)",
        )
        parser.add_argument("--exit-when-idle", action="store_true", help="exit once the queue is empty")
        parser.add_argument("--max-queries", type=int, default=None, help="exit after running this many")
        parser.add_argument("-o", "--once", action="store_true", help="run at most one queued query, then exit")
        parser.add_argument("-l", "--loop", action="store_true", help="run until stopped (what happens anyway)")
        parser.add_argument(
            "-p",
            "--prune",
            type=float,
            default=None,
            metavar="DAYS",
            help="first delete queries and result files older than DAYS, as prune_queries does; "
            "without --once or --loop, only that",
        )

    def handle(self, *args, poll_interval: float, concurrency: int, exit_when_idle: bool, max_queries, **options):
        if options["prune"] is not None:
            queries, files = longqueries.prune(options["prune"])
            self.stdout.write(f"long_query_runner: pruned {queries} queries and {files} files")
            if not (options["once"] or options["loop"]):
                return  # the original's `-p DAYS` alone: prune, run nothing
        if options["once"]:
            exit_when_idle, max_queries = True, 1
        runner = Runner(poll_interval=poll_interval, concurrency=concurrency)

        def stop(signal_name: str) -> None:
            log.info("long_query_runner %s: %s received, stopping", runner.ident, signal_name)
            runner.request_shutdown()

        stop_flag = StopFlag(on_signal=stop).install()
        log.info("long_query_runner %s started (%s at once)", runner.ident, runner.concurrency)
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
