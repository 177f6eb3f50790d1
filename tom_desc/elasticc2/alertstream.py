"""ELAsTiCC2's part of the alert engines (elasticc/stream/): what ``send_elasticc2_alerts``, the
fake broker and ``getalert`` take from this campaign. Registered by ``Elasticc2Config.ready``.

- The tables: the ppdb tables, lower-case and snake case; ``isddf`` flags deep-drilling objects.
- The streams, as the original's sender sent them: a non-DDF object's alerts to the WFD topic
  with 365 days of history; a DDF object's alerts to the ddf-full topic (365 days) and again
  to the ddf-limited topic (30 days). Both lists obey the rule: prvDiaSources strictly before
  the source and within the look-back; prvDiaForcedSources an empty list within 0.5 day of
  the object's first source, otherwise strictly before the source, within the look-back and
  no earlier than 30 days before the first source.
- The TOM-known tables, filled by the sender with what each delivered alert carried.
- ``--added-days`` counts nights ending at MJD x.5, as the original's sender did.
- The fake broker answers with the taxonomy's exact four-digit classIds.
"""

from __future__ import annotations

from elasticc.stream.alertcampaigns import AlertCampaign, AlertStream, AlertTables, KnownTables, register
from elasticc2 import taxonomy
from elasticc2.models import DiaForcedSource, DiaObject, DiaSource

HISTORY_DAYS = 365.0
DDF_LIMITED_DAYS = 30.0


def _columns(model) -> tuple[str, ...]:
    return tuple(f.column for f in model._meta.concrete_fields if f.column)


def leaf_classids() -> list[int]:
    """The exact classIds (those SNANA gentypes map to): what a fake classifier spreads over."""
    return sorted(set(taxonomy.exact_classid_of_gentype().values()))


def campaign() -> AlertCampaign:
    return AlertCampaign(
        name="elasticc2",
        command="send_elasticc2_alerts",
        tables=AlertTables(
            alerts="elasticc2_ppdbalert",
            objects="elasticc2_ppdbdiaobject",
            sources="elasticc2_ppdbdiasource",
            forced="elasticc2_ppdbdiaforcedsource",
            renamed=(
                ("alertId", "alert_id"),
                ("diaObjectId", "diaobject_id"),
                ("diaSourceId", "diasource_id"),
                ("diaForcedSourceId", "diaforcedsource_id"),
                ("alertMidPointTai", "midpointtai"),  # the alert's copy of its source's time
            ),
            lower_case=True,  # midPointTai -> midpointtai, hostgal_mag_Y -> hostgal_mag_y, ...
            ddf="isddf",
        ),
        streams=(
            AlertStream("wfd", HISTORY_DAYS, objects="wfd"),
            AlertStream("ddf-full", HISTORY_DAYS, objects="ddf"),
            AlertStream("ddf-limited", DDF_LIMITED_DAYS, objects="ddf"),
        ),
        leaf_classids=leaf_classids,
        lock_key=int.from_bytes(b"ela2Send", "big"),
        known=KnownTables(
            objects="elasticc2_diaobject",
            sources="elasticc2_diasource",
            forced="elasticc2_diaforcedsource",
            object_columns=_columns(DiaObject),
            source_columns=_columns(DiaSource),
            forced_columns=_columns(DiaForcedSource),
        ),
        nights_end_at_noon=True,
    )


def register_alert_campaign() -> None:
    register(campaign())
