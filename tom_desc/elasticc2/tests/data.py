"""A small, fully known ELAsTiCC2 data set for the table and REST tests.

Every object has the same light curve shape: sources at MJD 60002, 60004, ... and forced
points at 59998, 60001, 60004, ..., one alert per source. Object k (0-based) has its first
``k % 3`` alerts sent, so objects 0, 3, 6... have none, 1, 4, 7... reveal up to 60002 and
2, 5, 8... up to 60004. ``Seeded`` computes, in Python and from these rules alone, which
ppdb rows a user outside elasticc_admin may see: the tests' oracle, independent of the SQL
the views run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection

from elasticc2.models import BrokerClassifier

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
GENTYPES = [10, 11, 12, 20, 30, 40, 50, 60, 80, 82]


def source_time(i: int) -> float:
    return 60000.0 + 2 * i  # i = 1..n


def forced_time(j: int) -> float:
    return 59995.0 + 3 * j  # j = 1..n


@dataclass
class Seeded:
    first_object: int
    n_objects: int
    sources_per_object: int
    forced_per_object: int
    classifier_ids: list[int] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)

    @property
    def object_ids(self) -> list[int]:
        return list(range(self.first_object, self.first_object + self.n_objects))

    def n_sent(self, diaobject_id: int) -> int:
        return (diaobject_id - self.first_object) % 3

    def horizon(self, diaobject_id: int) -> float | None:
        n = self.n_sent(diaobject_id)
        return source_time(n) if n else None

    def source_ids(self, visible_only: bool = False) -> list[int]:
        return [
            o * 100000 + i
            for o in self.object_ids
            for i in range(1, self.sources_per_object + 1)
            if not visible_only or i <= self.n_sent(o)
        ]

    def forced_ids(self, visible_only: bool = False) -> list[int]:
        ids = []
        for o in self.object_ids:
            horizon = self.horizon(o)
            for j in range(1, self.forced_per_object + 1):
                if not visible_only or (horizon is not None and forced_time(j) <= horizon):
                    ids.append(o * 100000 + 50 + j)
        return ids

    def alert_ids(self, sent: bool | None = None) -> list[int]:
        return [
            o * 100000 + i
            for o in self.object_ids
            for i in range(1, self.sources_per_object + 1)
            if sent is None or (i <= self.n_sent(o)) == sent
        ]

    def visible_object_ids(self) -> list[int]:
        return [o for o in self.object_ids if self.n_sent(o)]


def seed(
    n_objects: int = 9, sources_per_object: int = 4, forced_per_object: int = 6, first_object: int = 2000
) -> Seeded:
    """ppdb objects, sources, forced sources, alerts and truth; the TOM-known copies of the
    visible rows; two classifiers with one message each per sent alert."""
    data = Seeded(first_object, n_objects, sources_per_object, forced_per_object)
    p = {"a": first_object, "b": first_object + n_objects - 1, "ns": sources_per_object, "nf": forced_per_object}
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO elasticc2_ppdbdiaobject (diaobject_id, isddf, simversion, ra, decl, mwebv, z_final,
                                                 hostgal_mag_y, hostgal2_snsep)
            SELECT o, o %% 2 = 0, 'test', (o %% 360)::float, ((o %% 180) - 90)::float, 0.01, 0.1, 21.5, 1.25
            FROM generate_series(%(a)s::bigint, %(b)s::bigint) o""",
            p,
        )
        cur.execute(
            """
            INSERT INTO elasticc2_ppdbdiasource (diasource_id, diaobject_id, midpointtai, filtername,
                                                 ra, decl, psflux, psfluxerr, snr)
            SELECT o * 100000 + i, o, 60000 + 2.0 * i, 'r', (o %% 360)::float, ((o %% 180) - 90)::float,
                   100 + i, 10, 10 + i / 10.0
            FROM generate_series(%(a)s::bigint, %(b)s::bigint) o, generate_series(1, %(ns)s) i""",
            p,
        )
        cur.execute(
            """
            INSERT INTO elasticc2_ppdbdiaforcedsource (diaforcedsource_id, diaobject_id, midpointtai, filtername,
                                                       psflux, psfluxerr)
            SELECT o * 100000 + 50 + j, o, 59995 + 3.0 * j, 'g', 50 + j, 5
            FROM generate_series(%(a)s::bigint, %(b)s::bigint) o, generate_series(1, %(nf)s) j""",
            p,
        )
        cur.execute(
            """
            INSERT INTO elasticc2_ppdbalert (alert_id, diasource_id, diaobject_id, midpointtai, alertsenttimestamp)
            SELECT s.diasource_id, s.diasource_id, s.diaobject_id, s.midpointtai,
                   CASE WHEN s.diasource_id %% 100000 <= (s.diaobject_id - %(a)s) %% 3
                        THEN %(t0)s::timestamptz + (s.midpointtai - 60000) * interval '1 day' END
            FROM elasticc2_ppdbdiasource s WHERE s.diaobject_id BETWEEN %(a)s AND %(b)s""",
            {**p, "t0": T0},
        )
        cur.execute(
            """
            INSERT INTO elasticc2_diaobjecttruth (diaobject_id, libid, sim_searcheff_mask, gentype,
                sim_template_index, zcmb, zhelio, zcmb_smear, ra, dec, mwebv, rv, av, mu, lensdmu, peakmjd,
                mjd_detect_first, mjd_detect_last, dtseason_peak, peakmag_u, peakmag_g, peakmag_r, peakmag_i,
                peakmag_z, peakmag_y, snrmax, snrmax2, snrmax3, nobs, nobs_saturate)
            SELECT o, 1, 3, (%(gentypes)s::int[])[1 + (o %% %(ng)s)], 7, 0.1, 0.1, 0.1, 1, 2, 0.01, 3.1, 0.1,
                   38, 0, 60010, 60002, 60008, 5, 22, 21, 20.5, 20.4, 20.6, 20.9, 30, 20, 10, 12, 0
            FROM generate_series(%(a)s::bigint, %(b)s::bigint) o""",
            {**p, "gentypes": GENTYPES, "ng": len(GENTYPES)},
        )
    copy_visible_rows_to_tom_tables(data)
    for name in ("NugentClassifier", "RandomSNType"):
        data.classifier_ids.append(
            BrokerClassifier.objects.create(
                brokername="FakeBroker", brokerversion="v1.0", classifiername=name, classifierparams="test"
            ).classifier_id
        )
    with connection.cursor() as cur:
        for classifier_id in data.classifier_ids:
            cur.execute(
                """
                INSERT INTO elasticc2_brokermessage (classifier_id, streammessage_id, topicname, kafkapartition,
                    alert_id, diasource_id, msghdrtimestamp, elasticcpublishtimestamp, brokeringesttimestamp,
                    classid, probability)
                SELECT %s, row_number() OVER (ORDER BY alert_id), 'classifications', 0, alert_id, diasource_id,
                       alertsenttimestamp + interval '2 s', alertsenttimestamp, alertsenttimestamp + interval '1 s',
                       '{2222,2223}', '{0.75,0.25}'
                FROM elasticc2_ppdbalert WHERE alertsenttimestamp IS NOT NULL AND diaobject_id BETWEEN %s AND %s
                RETURNING brokermessage_id""",
                [classifier_id, p["a"], p["b"]],
            )
            data.message_ids += [row[0] for row in cur.fetchall()]
    return data


def copy_visible_rows_to_tom_tables(data: Seeded) -> None:
    """What the sender will put in the TOM-known tables: the ids the oracle calls visible."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO elasticc2_diaobject SELECT * FROM elasticc2_ppdbdiaobject WHERE diaobject_id = ANY(%s)",
            [data.visible_object_ids()],
        )
        cur.execute(
            "INSERT INTO elasticc2_diasource SELECT * FROM elasticc2_ppdbdiasource WHERE diasource_id = ANY(%s)",
            [data.source_ids(visible_only=True)],
        )
        cur.execute(
            "INSERT INTO elasticc2_diaforcedsource SELECT * FROM elasticc2_ppdbdiaforcedsource "
            "WHERE diaforcedsource_id = ANY(%s)",
            [data.forced_ids(visible_only=True)],
        )
