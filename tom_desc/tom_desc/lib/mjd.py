"""Modified Julian Dates and wall-clock times (UTC).

The simulation's clock is the MJD of its photometry; follow-up requests, plans and reports
carry wall-clock times. The original DESC TOM converted between them with astropy; a day
count from the MJD epoch (1858-11-17 00:00 UTC) is the same number without leap seconds,
which neither side of the conversion models, and costs no import.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)
SECONDS_PER_DAY = 86400.0


def mjd_of(when: datetime) -> float:
    """The MJD of an aware datetime (a naive one is taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - MJD_EPOCH).total_seconds() / SECONDS_PER_DAY


def datetime_of(mjd: float) -> datetime:
    """The aware UTC datetime of an MJD (to the microsecond)."""
    return MJD_EPOCH + timedelta(days=mjd)


def mjd_now() -> float:
    return mjd_of(datetime.now(UTC))
