"""ELAsTiCC2's part of the pages engine (elasticc/pages/object_page.py), registered by
apps.Elasticc2Config.ready: the object page reads the ppdb tables (the whole simulation),
showing users outside elasticc_admin only what the stream revealed (an object once an alert
of it was sent, its photometry up to its latest sent alert, its sent alerts), as the REST API's
ppdb routes do."""

from __future__ import annotations

from elasticc.pages.object_page import ObjectTables

_PHOTOMETRY = {
    "object": "diaobject_id",
    "time": "midpointtai",
    "band": "filtername",
    "flux": "psflux",
    "fluxerr": "psfluxerr",
}

OBJECT_TABLES = ObjectTables(
    campaign="elasticc2",
    label="ELAsTiCC2",
    objects="elasticc2_ppdbdiaobject",
    object_columns={"id": "diaobject_id"},
    sources="elasticc2_ppdbdiasource",
    source_columns={**_PHOTOMETRY, "id": "diasource_id", "snr": "snr"},
    forced="elasticc2_ppdbdiaforcedsource",
    forced_columns=_PHOTOMETRY,
    alerts="elasticc2_ppdbalert",
    alert_columns={
        "id": "alert_id",
        "source": "diasource_id",
        "object": "diaobject_id",
        "time": "midpointtai",
        "sent": "alertsenttimestamp",
    },
    truth="elasticc2_diaobjecttruth",
    truth_columns={"object": "diaobject_id", "classid": "classid"},
    coge="elasticc2_classidofgentype",
    hide_unsent_photometry=True,
    index_url="elasticc2:index",
    objects_url=None,
    broker_page_url="brokermetrics2:broker",
    lightcurve_url="elasticc2:ppdb-lightcurve",
)
