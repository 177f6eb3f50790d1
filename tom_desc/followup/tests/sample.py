"""The ELAsTiCC2 sample (../shared/data/elasticc2_snana_sample.tar.bz2, the data set of the
original's own tests) loaded into the ppdb, with what the TOM knew in the original's spectrum-cycle
test: alerts sent through MJD 60675.5 (its ``send_elasticc2_alerts -d 60578`` then ``-a 100``),
and the TOM-known tables as its ``update_elasticc2_sources`` left them -- every object with a sent
alert, with its sources and forced sources up to its latest sent alert. (This site's sender fills
those tables with what each alert carried, a slightly smaller set; the rule here is the
original's, so its test's numbers hold.)"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management import call_command
from django.db import connection

from devstack.pytest_plugin import SHARED_DIR, require
from elasticc2.models import DiaForcedSource, DiaObject, DiaSource

SAMPLE = SHARED_DIR / "data" / "elasticc2_snana_sample.tar.bz2"
SENT_THROUGH = 60675.5
SENT_AT = datetime(2024, 3, 1, 12, tzinfo=UTC)


def _columns(model) -> str:
    return ", ".join(f.column for f in model._meta.concrete_fields)


KNOWN_SQL = [
    "UPDATE elasticc2_ppdbalert SET alertsenttimestamp = %(sent_at)s WHERE midpointtai <= %(through)s",
    """CREATE TEMP TABLE horizon ON COMMIT DROP AS
       SELECT diaobject_id, max(midpointtai) AS t FROM elasticc2_ppdbalert
       WHERE alertsenttimestamp IS NOT NULL GROUP BY diaobject_id""",
    f"""INSERT INTO elasticc2_diaobject ({_columns(DiaObject)})
        SELECT {_columns(DiaObject)} FROM elasticc2_ppdbdiaobject WHERE diaobject_id IN (SELECT diaobject_id FROM horizon)""",
    f"""INSERT INTO elasticc2_diasource ({_columns(DiaSource)})
        SELECT {", ".join("s." + c for c in _columns(DiaSource).split(", "))}
        FROM elasticc2_ppdbdiasource s JOIN horizon h ON h.diaobject_id = s.diaobject_id WHERE s.midpointtai <= h.t""",
    f"""INSERT INTO elasticc2_diaforcedsource ({_columns(DiaForcedSource)})
        SELECT {", ".join("f." + c for c in _columns(DiaForcedSource).split(", "))}
        FROM elasticc2_ppdbdiaforcedsource f JOIN horizon h ON h.diaobject_id = f.diaobject_id WHERE f.midpointtai <= h.t""",
]


def load_as_the_original_knew_it() -> None:
    require(SAMPLE, "the tests read ../shared/ beside the project (the ELAsTiCC2 sample)")
    call_command("load_snana_fits", str(SAMPLE), "--campaign", "elasticc2", "--no-progress", stdout=None)
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for sql in KNOWN_SQL:
            cursor.execute(sql, {"sent_at": SENT_AT, "through": SENT_THROUGH})
