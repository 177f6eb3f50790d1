"""ELAsTiCC2 alerts from the ppdb tables: ELAsTiCC's one assembler over ELAsTiCC2's tables with its
rule, checked against the original's own test values and an independent oracle on the real
sample (alert_oracle.py: astropy and the rule written point by point), the published Avro
schema, and the original's getalert route."""

import math
import random

import pytest
from django.core.management import call_command
from django.db import connection

from devstack.pytest_plugin import SHARED_DIR, require
from elasticc.loading.tests.snana_sample import extract
from elasticc.stream import alerts, avro
from elasticc.stream.alertforms import AvroForm, DictForm
from elasticc.tests.alert_helpers import decode_with_reference
from elasticc2.models import PpdbAlert
from elasticc2.tests.alert_oracle import SampleOracle, as_expected, summarize

SAMPLE = SHARED_DIR / "data" / "elasticc2_snana_sample.tar.bz2"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def oracle(tmp_path_factory) -> SampleOracle:
    require(SAMPLE, "the tests read ../shared/ beside the project (the ELAsTiCC2 sample)")
    return SampleOracle(extract(SAMPLE, tmp_path_factory.mktemp("elasticc2-sample")))


@pytest.fixture
def ppdb():
    call_command("load_snana_fits", str(SAMPLE), "--campaign", "elasticc2", "--no-progress", stdout=None)


def same_within_float32(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_within_float32(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_within_float32(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6)
    return a == b and type(a) is type(b)


def assemble(ids: list[int], days: float | None, form=None) -> list:
    """The alerts `ids` built by a fresh assembler over the ELAsTiCC2 tables with look-back `days`."""
    from elasticc.stream.alertcampaigns import get

    with connection.cursor() as cursor:
        rows = alerts.fetch_alert_rows(ids, cursor, "elasticc2")
        rows.sort(key=lambda r: ids.index(r.alertId))
        assembler = alerts.AlertAssembler(form or DictForm(), history_days=days, tables=get("elasticc2").tables)
        return [alert for _, alert in assembler.assemble(rows, cursor)]


@pytest.mark.parametrize(
    "alert_id, days, n_prv, n_forced",
    [
        (155218500005, 365, 5, 0),
        (155218500031, 365, 22, 31),
        (155218500013, 365, 13, 13),
        (172671000100, 365, 49, 100),
        (172671000100, 30, 2, 31),  # the ddf-limited topic's rule
    ],
)
def test_the_originals_own_test_values(ppdb, oracle, alert_id, days, n_prv, n_forced):
    """tests/test_elasticc2_api.py::test_reconstruct_alert of the original, on the same sample."""
    [alert] = assemble([alert_id], days)
    assert (len(alert["prvDiaSources"]), len(alert["prvDiaForcedSources"])) == (n_prv, n_forced)
    assert summarize(alert) == as_expected(oracle.expected(alert_id, days))


def test_every_alert_of_the_sample_obeys_the_rule_and_the_rest_api_builds_the_same(ppdb, oracle):
    ids = oracle.alert_ids()
    assert len(ids) == 1862 == PpdbAlert.objects.count()
    built = alerts.build_alerts(ids, campaign="elasticc2")  # what getalert and the WFD topic carry
    assert [a["alertId"] for a in built] == ids
    first_night = 0
    for alert in built:
        assert summarize(alert) == as_expected(oracle.expected(alert["alertId"]))
        assert all(s["diaObjectId"] == alert["diaObject"]["diaObjectId"] for s in alert["prvDiaSources"])
        first_night += alert["prvDiaForcedSources"] == []
    assert 0 < first_night < len(built)  # an empty list, not null, on the first night
    limited = assemble(random.Random(4).sample(ids, 200), 30)
    assert all(summarize(a) == as_expected(oracle.expected(a["alertId"], 30)) for a in limited)


def test_sent_bytes_decode_with_the_published_schema_and_equal_the_dict(ppdb):
    ids = random.Random(2).sample(list(PpdbAlert.objects.values_list("alert_id", flat=True)), 150)
    dicts = assemble(ids, 365)
    encoded = assemble(ids, 365, AvroForm())
    assert len(dicts) == len(encoded) == 150
    for alert, data in zip(dicts, encoded, strict=True):
        assert data == avro.encode_alert(alert)  # the sender's piecewise bytes are fastavro's
        decoded = decode_with_reference(data)
        # Real columns arrive as the shortest decimal of the 4-byte value; Avro carries the value itself.
        assert same_within_float32(decoded, alert)
        assert set(decoded["diaObject"]) >= {"hostgal_mag_Y", "hostgal2_magerr_Y", "simVersion"}
        assert decoded["diaObject"]["simVersion"] == "2023-04-01"


def test_the_alert_of_a_source():
    with connection.cursor() as cursor:
        assert alerts.alert_row_of_source(155218500031, cursor, "elasticc2") is None
    call_command("load_snana_fits", str(SAMPLE), "--campaign", "elasticc2", "--no-progress", stdout=None)
    with connection.cursor() as cursor:
        row = alerts.alert_row_of_source(155218500031, cursor, "elasticc2")
    assert (row.alertId, row.diaObjectId, row.diaSourceId) == (155218500031, 1552185, 155218500031)
