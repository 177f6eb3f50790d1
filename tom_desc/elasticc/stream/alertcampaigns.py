"""The alert side of a campaign, as the alert engines take it: which tables alerts are built
from and marked in, which topics they go to with which history rule, which tables record
what was sent, and which classIds a fake broker answers with.

One engine serves every campaign: the assembler (alerts.py) builds alerts from
``AlertTables``, the sender (sender.py) streams them to the campaign's ``AlertStream``s and
fills its ``KnownTables`` with what was delivered, the fake broker (fakebroker.py) answers
with the campaign's leaf classIds. ELAsTiCC's campaign is registered here; ELAsTiCC2
registers its own from ``Elasticc2Config.ready`` (elasticc2/stream/alerts.py), so this
package never imports the elasticc2 app. Names on command lines: ``elasticc``, ``elasticc2``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

# The names a campaign's columns are given by (ELAsTiCC's, which are the Avro fields' too).
SOURCE_FIELDS = (
    "diaSourceId",
    "diaObjectId",
    "midPointTai",
    "filterName",
    "ra",
    "decl",
    "psFlux",
    "psFluxErr",
    "snr",
)
FORCED_FIELDS = ("diaForcedSourceId", "diaObjectId", "midPointTai", "filterName", "psFlux", "psFluxErr")


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class AlertTables:
    """The tables alerts are built from, and the campaign's name of each column the engine reads.

    Columns are named by ELAsTiCC's names (the Avro fields', plus ``alertId``,
    ``alertMidPointTai`` -- the alert row's copy of its source's time -- and
    ``alertSentTimestamp``); ``renamed`` and ``lower_case`` say what the campaign calls them.
    ``ddf`` is the object column flagging deep-drilling objects, if the campaign has one.
    Frozen and hashable, so the SQL made from it is formatted once (``names``).
    """

    alerts: str
    objects: str
    sources: str
    forced: str
    renamed: tuple[tuple[str, str], ...] = ()
    lower_case: bool = False
    ddf: str | None = None

    def column(self, name: str) -> str:
        return dict(self.renamed).get(name, name.lower() if self.lower_case else name)

    @cached_property
    def names(self) -> dict[str, str]:
        """Quoted identifiers for the SQL templates: tables, id and time columns."""
        return {
            "alerts": quoted(self.alerts),
            "objects": quoted(self.objects),
            "sources": quoted(self.sources),
            "forced": quoted(self.forced),
            "alert_id": quoted(self.column("alertId")),
            "object_id": quoted(self.column("diaObjectId")),
            "source_id": quoted(self.column("diaSourceId")),
            "forced_id": quoted(self.column("diaForcedSourceId")),
            "alert_time": quoted(self.column("alertMidPointTai")),
            "time": quoted(self.column("midPointTai")),
            "sent": quoted(self.column("alertSentTimestamp")),
        }

    def select_list(self, alias: str, fields: tuple[str, ...]) -> str:
        """``alias."column", ...`` for the fields, in the fields' order (the forms read rows by position)."""
        return ", ".join(f"{alias}.{quoted(self.column(f))}" for f in fields)


@dataclass(frozen=True)
class AlertStream:
    """One topic of a campaign: the alerts of which objects go there, with which history.

    ``objects`` is ``all``, ``wfd`` (objects not flagged DDF) or ``ddf``; ``history_days``
    the look-back of both history lists (None: no limit).
    """

    name: str
    history_days: float | None
    objects: str = "all"

    def takes(self, ddf: bool) -> bool:
        return self.objects == "all" or (self.objects == "ddf") == ddf


@dataclass(frozen=True)
class KnownTables:
    """Where the sender records what it delivered (the TOM-known tables): the object, source and
    forced-source tables with the same columns as their ppdb twins (``*_columns``, all of them)."""

    objects: str
    sources: str
    forced: str
    object_columns: tuple[str, ...]
    source_columns: tuple[str, ...]
    forced_columns: tuple[str, ...]


@dataclass(frozen=True)
class AlertCampaign:
    """Everything the alert engines need of one campaign.

    ``streams``: the first is the one the REST API builds alerts by (and whose delivery time
    is an alert's mark). ``nights_end_at_noon``: ``--added-days N`` means N more nights that
    end at MJD x.5, as ELAsTiCC2's sender counted them; otherwise N days after the last sent
    alert. ``lock_key``: the sender's advisory lock (one sender per campaign at a time).
    """

    name: str
    command: str
    tables: AlertTables
    streams: tuple[AlertStream, ...]
    leaf_classids: Callable[[], list[int]]
    lock_key: int
    known: KnownTables | None = None
    nights_end_at_noon: bool = False

    def stream(self, name: str) -> AlertStream:
        return next(s for s in self.streams if s.name == name)


def _elasticc_leaves() -> list[int]:
    from elasticc import taxonomy

    return taxonomy.leaf_classids()


ELASTICC = AlertCampaign(
    name="elasticc",
    command="send_elasticc_alerts",
    tables=AlertTables(
        alerts="elasticc_diaalert",
        objects="elasticc_diaobject",
        sources="elasticc_diasource",
        forced="elasticc_diaforcedsource",
    ),
    # The original's elasticc alerts: no look-back limit (the sender's --history-days sets one).
    streams=(AlertStream("alerts", None),),
    leaf_classids=_elasticc_leaves,
    lock_key=int.from_bytes(b"elasSend", "big"),
)

_CAMPAIGNS: dict[str, AlertCampaign] = {}


class UnknownCampaign(KeyError):
    def __str__(self) -> str:
        return f"unknown campaign {self.args[0]!r} (known: {', '.join(names())})"


def register(campaign: AlertCampaign) -> None:
    """Make a campaign's alerts buildable and sendable by its name; registering again replaces it."""
    _CAMPAIGNS[campaign.name] = campaign


def names() -> list[str]:
    return sorted(_CAMPAIGNS)


def get(name: str | AlertCampaign) -> AlertCampaign:
    """The registered campaign `name` (a campaign passes through)."""
    if isinstance(name, AlertCampaign):
        return name
    try:
        return _CAMPAIGNS[name]
    except KeyError:
        raise UnknownCampaign(name) from None


register(ELASTICC)
