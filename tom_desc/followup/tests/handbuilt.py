"""Hand-built ELAsTiCC2 objects for the follow-up tests, every number chosen here.

TOM-known (elasticc2_diaobject, _diasource, _diaforcedsource; also in the ppdb tables with
their alerts sent, as the sender leaves them):

  1001  ra 10.5, dec -20.25; host: hostgal_zphot 0.3, hostgal_mag_r 21.5, hostgal2_snsep 2.0;
        truth gentype 42 (TDE)
        detections: 60010.0 r 1000±50, 60020.0 g 2000±40
        forced:     60000.0 g -5±10 | 60010.0 r 1000±50 | 60020.0 g 2000±40 | 60030.0 i 500±100 |
                    60030.0 r 30±20   (two points at 60030: ordered by id, i first)
  1002  ra 11.0, dec -21.0; truth gentype 60 (AGN)
        detections: 60050.0 i 800±40
        forced:     60040.0 i 10±10 | 60050.0 i 800±40 | 60060.0 z 300±30
  1003  ra 12.0, dec -22.0; no truth; detection 60015.0 r 400±40; no forced point (left out of
        every light curve, as in the original)
  1004  ra 13.0, dec -23.0; truth gentype 10 (Ia)
        detections: 60100.0 g 5000±50
        forced:     60090.0 g 20±10 | 60100.0 g 5000±50

Only in the ppdb (no alert sent, unknown to the TOM): 1005, detection 60055.0.

Forced ids are object * 1000 + k (k = 0, 1, ... in the order above), source ids object * 100 + k.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection

SENT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OBJECTS = {  # id: (ra, dec, extra columns)
    1001: (10.5, -20.25, {"hostgal_zphot": 0.3, "hostgal_mag_r": 21.5, "hostgal2_snsep": 2.0}),
    1002: (11.0, -21.0, {}),
    1003: (12.0, -22.0, {}),
    1004: (13.0, -23.0, {}),
    1005: (14.0, -24.0, {}),
}
DETECTIONS = {  # object: [(mjd, band, flux, err)]
    1001: [(60010.0, "r", 1000.0, 50.0), (60020.0, "g", 2000.0, 40.0)],
    1002: [(60050.0, "i", 800.0, 40.0)],
    1003: [(60015.0, "r", 400.0, 40.0)],
    1004: [(60100.0, "g", 5000.0, 50.0)],
    1005: [(60055.0, "r", 900.0, 30.0)],
}
FORCED = {
    1001: [
        (60000.0, "g", -5.0, 10.0),
        (60010.0, "r", 1000.0, 50.0),
        (60020.0, "g", 2000.0, 40.0),
        (60030.0, "i", 500.0, 100.0),
        (60030.0, "r", 30.0, 20.0),
    ],
    1002: [(60040.0, "i", 10.0, 10.0), (60050.0, "i", 800.0, 40.0), (60060.0, "z", 300.0, 30.0)],
    1004: [(60090.0, "g", 20.0, 10.0), (60100.0, "g", 5000.0, 50.0)],
    1005: [(60050.0, "r", 10.0, 10.0), (60055.0, "r", 900.0, 30.0)],
}
TRUTH = {1001: 42, 1002: 60, 1004: 10, 1005: 10}
KNOWN = (1001, 1002, 1003, 1004)
UNSENT = 1005


def forced_id(object_id: int, k: int) -> int:
    return object_id * 1000 + k


def source_id(object_id: int, k: int) -> int:
    return object_id * 100 + k


def _object(cur, table: str, object_id: int) -> None:
    ra, dec, extra = OBJECTS[object_id]
    columns = ["diaobject_id", "ra", "decl", *extra]
    cur.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
        [object_id, ra, dec, *extra.values()],
    )


def _photometry(cur, prefix: str, object_id: int) -> None:
    ra, dec, _ = OBJECTS[object_id]
    for k, (mjd, band, flux, err) in enumerate(DETECTIONS.get(object_id, [])):
        cur.execute(
            f"INSERT INTO elasticc2_{prefix}diasource (diasource_id, diaobject_id, midpointtai, filtername, ra, decl, "
            "psflux, psfluxerr, snr) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [source_id(object_id, k), object_id, mjd, band, ra, dec, flux, err, flux / err],
        )
    for k, (mjd, band, flux, err) in enumerate(FORCED.get(object_id, [])):
        cur.execute(
            f"INSERT INTO elasticc2_{prefix}diaforcedsource (diaforcedsource_id, diaobject_id, midpointtai, "
            "filtername, psflux, psfluxerr) VALUES (%s, %s, %s, %s, %s, %s)",
            [forced_id(object_id, k), object_id, mjd, band, flux, err],
        )


def truth_row(cur, object_id: int, gentype: int) -> None:
    cur.execute(
        """
        INSERT INTO elasticc2_diaobjecttruth (diaobject_id, libid, sim_searcheff_mask, gentype,
            sim_template_index, zcmb, zhelio, zcmb_smear, ra, dec, mwebv, rv, av, mu, lensdmu, peakmjd,
            mjd_detect_first, mjd_detect_last, dtseason_peak, peakmag_u, peakmag_g, peakmag_r, peakmag_i,
            peakmag_z, peakmag_y, snrmax, snrmax2, snrmax3, nobs, nobs_saturate)
        VALUES (%s, 1, 3, %s, 7, 0.4321, 0.4321, 0.4321, 1, 2, 0.01, 3.1, 0.1, 38, 0, 60033.25, 60001, 60003, 5,
                22, 21, 20.5, 20.4, 20.6, 20.9, 30, 20, 10, 12, 0)
        """,
        [object_id, gentype],
    )


def build() -> None:
    with connection.cursor() as cur:
        for object_id in OBJECTS:
            _object(cur, "elasticc2_ppdbdiaobject", object_id)
            _photometry(cur, "ppdb", object_id)
            sent = SENT if object_id in KNOWN else None
            for k, (mjd, *_) in enumerate(DETECTIONS[object_id]):
                cur.execute(
                    "INSERT INTO elasticc2_ppdbalert (alert_id, diasource_id, diaobject_id, midpointtai, "
                    "alertsenttimestamp) VALUES (%s, %s, %s, %s, %s)",
                    [source_id(object_id, k), source_id(object_id, k), object_id, mjd, sent],
                )
            if object_id in KNOWN:
                _object(cur, "elasticc2_diaobject", object_id)
                _photometry(cur, "", object_id)
        for object_id, gentype in TRUTH.items():
            truth_row(cur, object_id, gentype)


def expected_curve(object_id: int, mjd_now: float = float("inf")) -> dict:
    """The light curve an answer must carry, written from the tables above (not from SQL)."""
    points = [(mjd, band, flux, err) for mjd, band, flux, err in FORCED.get(object_id, []) if mjd <= mjd_now]
    return {
        "mjd": [p[0] for p in points],
        "band": [p[1] for p in points],
        "flux": [p[2] for p in points],
        "fluxerr": [p[3] for p in points],
    }
