"""The brokerpoll processes' heartbeats (elasticc_brokerpollstatus): written and read here.

Each poller upserts its row every few seconds with ``record_heartbeat`` (state, counts, lag);
the summary page reads the rows, and the dead-letter counts, with ``brokerpoll_status``.
A row that stops being updated is how a killed poller, or a lost host, shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

# A poller that has not written a heartbeat for this long (seconds) is shown as not alive.
DEFAULT_STALE_AFTER = 300
# Heartbeat rows of pollers gone for longer than this are not shown.
FORGET_AFTER = timedelta(days=7)


def record_heartbeat(
    *,
    poller_id: str,
    name: str,
    host: str,
    pid: int,
    group_id: str,
    topics: Iterable[str],
    state: str,
    started: datetime,
    totals: Mapping[str, int],
    lag: int | None,
) -> None:
    """Create or update one poller's row (``poller_id`` is ``<name>@<host>:<pid>``), with
    ``lastPoll`` set to now. ``totals`` are the counts since the poller started (messages,
    classifications, duplicates, dead). Database errors are the caller's to handle."""
    with connection.cursor() as cur:
        cur.execute(
            'INSERT INTO elasticc_brokerpollstatus ("pollerId", "pollerName", host, pid, "groupId", topics, '
            'state, started, "lastPoll", "messagesStored", "classificationsStored", duplicates, '
            '"deadLettered", lag) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now(), %s, %s, %s, %s, %s) '
            'ON CONFLICT ("pollerId") DO UPDATE SET state = EXCLUDED.state, "lastPoll" = now(), '
            '"messagesStored" = EXCLUDED."messagesStored", '
            '"classificationsStored" = EXCLUDED."classificationsStored", '
            'duplicates = EXCLUDED.duplicates, "deadLettered" = EXCLUDED."deadLettered", lag = EXCLUDED.lag',
            [
                poller_id,
                name,
                host,
                pid,
                group_id,
                ",".join(topics),
                state,
                started,
                totals["messages"],
                totals["classifications"],
                totals["duplicates"],
                totals["dead"],
                lag,
            ],
        )


def brokerpoll_status(now=None) -> dict:
    """The brokerpoll consumers that reported recently, newest first, and dead-letter counts.

    Returns {"pollers": [{pollerId, pollerName, host, pid, groupId, topics, state, started,
    lastPoll, messagesStored, classificationsStored, duplicates, deadLettered, lag, alive}],
    "deadLetters": total, "deadLetters24h": in the last day}. ``alive`` is false for a poller
    that stopped or has been silent for settings.BROKERPOLL_STALE_AFTER seconds (killed, or its
    host is gone).
    """
    now = now or timezone.now()
    with connection.cursor() as cur:
        cur.execute(
            'SELECT "pollerId", "pollerName", host, pid, "groupId", topics, state, started, "lastPoll", '
            '"messagesStored", "classificationsStored", duplicates, "deadLettered", lag '
            'FROM elasticc_brokerpollstatus WHERE "lastPoll" >= %s ORDER BY "lastPoll" DESC LIMIT 200',
            [now - FORGET_AFTER],
        )
        columns = [c.name for c in cur.description]
        pollers = [dict(zip(columns, row)) for row in cur.fetchall()]
        # elasticc_deadletter_created keeps the 24 h count an index range scan.
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE created >= %s) FROM elasticc_brokerdeadletter",
            [now - timedelta(days=1)],
        )
        total, recent = cur.fetchone()
    stale_after = timedelta(seconds=getattr(settings, "BROKERPOLL_STALE_AFTER", DEFAULT_STALE_AFTER))
    for poller in pollers:
        poller["alive"] = poller["state"] != "stopped" and now - poller["lastPoll"] <= stale_after
    return {"pollers": pollers, "deadLetters": total, "deadLetters24h": recent}
