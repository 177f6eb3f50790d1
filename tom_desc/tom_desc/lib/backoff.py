"""Waits between retries of a service that went away (the database, a Kafka broker).

Doubling from half a second to thirty: a blip costs half a second, an outage costs one
attempt every thirty seconds instead of a busy loop of failures and log lines.
"""

from __future__ import annotations

FIRST_WAIT = 0.5  # s
LONGEST_WAIT = 30.0  # s


class Backoff:
    """``next()`` is the wait before the next attempt, doubling each time; ``reset()`` after a success."""

    def __init__(self, first: float = FIRST_WAIT, longest: float = LONGEST_WAIT):
        self.first = first
        self.longest = longest
        self._wait = first

    def next(self) -> float:
        wait = self._wait
        self._wait = min(self._wait * 2, self.longest)
        return wait

    def reset(self) -> None:
        self._wait = self.first
