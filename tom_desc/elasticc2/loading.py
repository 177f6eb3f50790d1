"""ELAsTiCC2's part of the SNANA loader: where ``load_snana_fits --campaign elasticc2`` (or the
original's ``--ppdb``) writes.

The engine is ELAsTiCC's (elasticc/loading/): it reads the files and builds the rows under
ELAsTiCC's column names; this target sends them to the ppdb tables and the object truth,
lower-case and snake case as the original named them. ELAsTiCC2 keeps no per-source truth
and no hostgal*_zphot_p50, non1a_index or galnmatch columns, so those are not stored.
``isddf`` is the original's rule (more than 1000 photometry rows); ``simversion`` is
``2023-04-01`` unless the command says otherwise, as the original's loader wrote it.
Registered by ``Elasticc2Config.ready``.
"""

from __future__ import annotations

from elasticc.loading.campaigns import LoadTarget, register

PPDB = LoadTarget(
    campaign="elasticc2",
    description="the ELAsTiCC2 ppdb tables",
    tables={
        "objects": "elasticc2_ppdbdiaobject",
        "forced_sources": "elasticc2_ppdbdiaforcedsource",
        "sources": "elasticc2_ppdbdiasource",
        "alerts": "elasticc2_ppdbalert",
        "object_truth": "elasticc2_diaobjecttruth",
    },
    renamed={
        "diaObjectId": "diaobject_id",
        "diaSourceId": "diasource_id",
        "diaForcedSourceId": "diaforcedsource_id",
        "alertId": "alert_id",
        "alertMidPointTai": "midpointtai",  # the alert's copy of its source's time
    },
    lower_case=True,  # midPointTai -> midpointtai, hostgal_mag_Y -> hostgal_mag_y, peakmag_Y -> peakmag_y
    dropped=frozenset({"hostgal_zphot_p50", "hostgal2_zphot_p50", "non1a_index", "galnmatch"}),
    kinds={"peakmjd": "float4"},  # a 4-byte real in the original's elasticc2_diaobjecttruth
    default_sim_version="2023-04-01",
)


def register_load_target() -> None:
    register(PPDB)
