"""The pollers of one brokerpoll process taking turns on one thread (``PollLoop``), with the
heartbeat, throughput log and idle-exit timers, until the stop flag is set. Each poller is an
``elasticc.stream.poller.Poller`` (one configured broker, any campaigns' topics)."""

from __future__ import annotations

import time

from elasticc.stream.poller import EXIT_DATABASE_UNAVAILABLE, DatabaseUnavailable, Poller, log
from tom_desc.lib.stopping import StopFlag


class PollLoop:
    """The pollers of one process, taking turns on one thread until the stop flag is set.

    ``run``:
    1. logs each poller and writes its "starting" heartbeat;
    2. until stopped, polls each poller once (the poll timeout is shared among them, so a
       quiet broker does not hold up a busy one) and, between rounds, looks for recreated
       topics every second, writes heartbeats every ``heartbeat_every`` seconds and
       throughput lines every ``log_every`` seconds; with ``exit_when_idle``, it returns once
       no message came for that long and no poller has anything left to read;
    3. writes the "stopped" heartbeats, closes the consumers and logs the last throughput.
    It returns the process's exit code: 0, or EXIT_DATABASE_UNAVAILABLE when stopped while
    the database was away.
    """

    CHECK_TRUNCATED_EVERY = 1.0  # seconds

    def __init__(
        self,
        pollers: list[Poller],
        stop: StopFlag,
        *,
        poll_timeout: float = 1.0,
        heartbeat_every: float = 5.0,
        log_every: float = 30.0,
        exit_when_idle: float | None = None,
    ):
        self.pollers = pollers
        self.stop = stop
        self.timeout = max(poll_timeout / len(pollers), 0.05)
        self.heartbeat_every = heartbeat_every
        self.log_every = log_every
        self.exit_when_idle = exit_when_idle

    def run(self) -> int:
        self.start()
        code = self.loop()
        self.finish()
        return code

    def start(self) -> None:
        for poller in self.pollers:
            log.info(
                "brokerpoll %s: %s topics %s, group %s",
                poller.poller_id,
                poller.config.bootstrap_servers,
                ",".join(poller.config.topics),
                poller.config.group_id,
            )
            poller.heartbeat("starting")

    def loop(self) -> int:
        next_heartbeat = time.monotonic() + self.heartbeat_every
        next_log = time.monotonic() + self.log_every
        last_message = time.monotonic()
        next_check = time.monotonic() + self.CHECK_TRUNCATED_EVERY
        try:
            while not self.stop:
                got = 0
                for poller in self.pollers:
                    if self.stop:
                        break
                    got += poller.poll_once(self.timeout)
                now = time.monotonic()
                if got:
                    last_message = now
                if now >= next_check:
                    for poller in self.pollers:
                        poller.check_truncated()
                    next_check = now + self.CHECK_TRUNCATED_EVERY
                if now >= next_heartbeat:
                    for poller in self.pollers:
                        poller.heartbeat()
                    next_heartbeat = now + self.heartbeat_every
                if now >= next_log:
                    for poller in self.pollers:
                        poller.log_throughput()
                    next_log = now + self.log_every
                if self.exit_when_idle is not None and now - last_message >= self.exit_when_idle:
                    if self.nothing_left_to_read():
                        log.info("brokerpoll: idle for %.0f s with nothing left to read; exiting", self.exit_when_idle)
                        return 0
                    last_message = now
        except DatabaseUnavailable:
            return EXIT_DATABASE_UNAVAILABLE
        return 0

    def nothing_left_to_read(self) -> bool:
        """Every poller is assigned its partitions and has read them to their end; a consumer
        still joining its group reports no lag (None), which is not idleness."""
        lags = [p.consumer.lag(p.positions) for p in self.pollers]
        return all(lag == 0 for lag in lags)

    def finish(self) -> None:
        for poller in self.pollers:
            poller.heartbeat("stopped")
            poller.consumer.close()
            poller.log_throughput()

    def totals(self) -> dict[str, int]:
        """The counts of all pollers added up (messages, classifications, duplicates, dead, stale)."""
        return {k: sum(p.totals[k] for p in self.pollers) for k in self.pollers[0].totals}
