"""The stop flag of every long-running loop (brokerpoll, the fake broker, the alert sender,
the long-query runner).

SIGTERM (Kubernetes, docker stop) and SIGINT (Ctrl-C) do not interrupt the work in hand:
they set the flag, the loop finishes its unit (a batch, a query) and returns, so nothing
is left half-stored. ``wait`` doubles as the loop's idle sleep and wakes at once on a stop.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopFlag:
    """Set by SIGTERM/SIGINT once ``install``\\ ed, or by ``set``; true once set.

    ``on_signal(name)`` runs in the signal handler, for a loop that must also interrupt
    what it is doing (the long-query runner cancels its query).
    """

    def __init__(self, on_signal: Callable[[str], None] | None = None):
        self._event = threading.Event()
        self._previous: dict[int, object] = {}
        self.on_signal = on_signal
        self.signal_name: str | None = None

    def install(self) -> StopFlag:
        """Handle SIGTERM/SIGINT until ``restore``; outside the main thread (a test calling an
        engine from a thread) signals cannot be handled there and the flag is set by code only."""
        for sig in STOP_SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:
                pass
        return self

    def restore(self) -> None:
        """Put back the handlers that were there before ``install``."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        self.signal_name = signal.Signals(signum).name
        self._event.set()
        if self.on_signal is not None:
            self.on_signal(self.signal_name)

    def set(self) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on stop; True when stopping."""
        return self._event.wait(seconds)
