"""Alert construction: the history rule, the Avro shape, set-based queries."""

import math
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devstack.pytest_plugin import SHARED_DIR
from elasticc.models import DiaAlert, DiaForcedSource, DiaObject, DiaSource
from elasticc.stream import alertforms, alerts, avro
from elasticc.tests.alert_helpers import decode_with_reference, make_object

pytestmark = pytest.mark.django_db

SAMPLE = SHARED_DIR / "data" / "elasticc2_snana_sample.tar.bz2"

OBJ = 1001
OBJ_TIMES = [60000.0, 60000.3, 60000.5, 60010.0, 60200.0, 60365.0, 60400.0]
DAILY = [float(d) for d in range(59950, 60451)]


@pytest.fixture
def history_objects():
    make_object(OBJ, OBJ_TIMES, DAILY)
    # No diaObject row; its own first source is 60005.
    make_object(2002, [60005.0, 60006.0], [59974.0, 59975.0, 60004.0, 60006.0, 60007.0], with_object_row=False)
    # Same times as OBJ: nothing of it may leak into OBJ's alerts.
    make_object(3003, OBJ_TIMES, DAILY, ra=200.0, decl=10.0)


def alert_id(obj: int, index: int) -> int:
    return obj * 100000 + index


def times(items) -> list[float] | None:
    return None if items is None else [x["midPointTai"] for x in items]


def daily(lo: int, hi: int) -> list[float]:
    return [float(d) for d in range(lo, hi + 1)]


def oracle(alert_pk: int, history_days: float | None = None) -> dict:
    """The history rule written the slow, obvious way: ORM queries for one alert.

    The original's elasticc alerts (DiaAlert.reconstruct): every earlier source; forced points
    strictly before the source from 30 days before the first source, an empty list within
    half a day of it. With history_days, ELAsTiCC2's look-back limit on both lists.
    """
    a = DiaAlert.objects.get(alertId=alert_pk)
    s = DiaSource.objects.get(diaObjectId=a.diaObjectId, diaSourceId=a.diaSourceId)
    srcs = DiaSource.objects.filter(diaObjectId=a.diaObjectId)
    first = srcs.order_by("midPointTai").first().midPointTai
    back = -math.inf if history_days is None else s.midPointTai - history_days
    prv = srcs.filter(midPointTai__lt=s.midPointTai, midPointTai__gte=back)
    forced = []
    if s.midPointTai - first > 0.5:
        forced = DiaForcedSource.objects.filter(
            diaObjectId=a.diaObjectId, midPointTai__gte=max(first - 30, back), midPointTai__lt=s.midPointTai
        )
    obj = DiaObject.objects.filter(diaObjectId=a.diaObjectId).first()
    return {
        "alertId": a.alertId,
        "diaSourceId": s.diaSourceId,
        "prv": sorted((x.midPointTai, x.diaSourceId) for x in prv),
        "forced": sorted((x.midPointTai, x.diaForcedSourceId) for x in forced),
        "diaObjectId": obj.diaObjectId if obj else None,
    }


def same_within_float32(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_within_float32(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_within_float32(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6)
    return a == b


def summarize(alert: dict) -> dict:
    return {
        "alertId": alert["alertId"],
        "diaSourceId": alert["diaSource"]["diaSourceId"],
        "prv": [(x["midPointTai"], x["diaSourceId"]) for x in alert["prvDiaSources"]],
        "forced": [(x["midPointTai"], x["diaForcedSourceId"]) for x in alert["prvDiaForcedSources"]],
        "diaObjectId": alert["diaObject"]["diaObjectId"] if alert["diaObject"] else None,
    }


@pytest.mark.parametrize(
    "index, prv, forced",
    [
        (0, [], []),  # the first source: no history, empty lists (not null)
        (1, [60000.0], []),  # 0.3 d after the first: no forced points
        (2, [60000.0, 60000.3], []),  # exactly 0.5 d: still none ("more than")
        # first - 30 d is in; the forced point at the source's own time (60010) is not
        (3, [60000.0, 60000.3, 60000.5], daily(59970, 60009)),
        (4, [60000.0, 60000.3, 60000.5, 60010.0], daily(59970, 60199)),
        (5, [60000.0, 60000.3, 60000.5, 60010.0, 60200.0], daily(59970, 60364)),
        (6, [60000.0, 60000.3, 60000.5, 60010.0, 60200.0, 60365.0], daily(59970, 60399)),  # no look-back limit
    ],
)
def test_history_rule_on_hand_built_object(history_objects, index, prv, forced):
    """The original's rule for its elasticc alerts (compat notes 5.1, DiaAlert.reconstruct)."""
    [alert] = alerts.build_alerts([alert_id(OBJ, index)])
    assert alert["alertId"] == alert_id(OBJ, index)
    assert alert["diaSource"]["diaSourceId"] == alert_id(OBJ, index)
    assert alert["diaSource"]["midPointTai"] == OBJ_TIMES[index]
    assert times(alert["prvDiaSources"]) == prv
    assert times(alert["prvDiaForcedSources"]) == forced
    assert all(x["diaObjectId"] == OBJ for x in alert["prvDiaSources"] + alert["prvDiaForcedSources"])
    assert alert["diaObject"]["diaObjectId"] == OBJ
    assert alert["diaObject"]["mwebv"] == 0.125 and alert["diaObject"]["hostgal_mag_Y"] == 22.5


@pytest.mark.parametrize(
    "index, prv, forced",
    [
        # exactly 365 d back: in; forced points from there on, not from first - 30 d
        (5, [60000.0, 60000.3, 60000.5, 60010.0, 60200.0], daily(60000, 60364)),
        (6, [60200.0, 60365.0], daily(60035, 60399)),  # older than 365 d: out, forced points too
    ],
)
def test_history_days_applies_elasticc2_look_back(history_objects, index, prv, forced):
    """history_days (the sender's --history-days) keeps the last N days of both lists."""
    row = alerts.AlertRow(
        *DiaAlert.objects.values_list("alertId", "diaObjectId", "diaSourceId", "midPointTai").get(
            alertId=alert_id(OBJ, index)
        )
    )
    with connection.cursor() as cursor:
        [(_, alert)] = alerts.AlertAssembler(alertforms.DictForm(), history_days=365).assemble([row], cursor)
    assert times(alert["prvDiaSources"]) == prv
    assert times(alert["prvDiaForcedSources"]) == forced
    assert summarize(alert) == oracle(alert_id(OBJ, index), history_days=365)


def test_object_without_row_and_its_own_first_source(history_objects):
    first, second = alerts.build_alerts([alert_id(2002, 0), alert_id(2002, 1)])
    assert first["diaObject"] is None and second["diaObject"] is None
    assert times(first["prvDiaSources"]) == [] and first["prvDiaForcedSources"] == []
    assert times(second["prvDiaSources"]) == [60005.0]
    assert times(second["prvDiaForcedSources"]) == [59975.0, 60004.0]  # not 60006.0: the source's own time


def test_batch_equals_oracle_and_single_builds(history_objects):
    ids = [a.alertId for a in DiaAlert.objects.all()]
    random.Random(5).shuffle(ids)
    batch = alerts.build_alerts(ids)
    assert [a["alertId"] for a in batch] == ids  # the order asked for
    for alert in batch:
        assert summarize(alert) == oracle(alert["alertId"])
        assert alert == alerts.build_alerts([alert["alertId"]])[0]


def test_a_batch_takes_a_fixed_number_of_queries(history_objects):
    ids = [a.alertId for a in DiaAlert.objects.all()]
    with CaptureQueriesContext(connection) as one:
        alerts.build_alerts([alert_id(OBJ, 6)])  # one alert that needs every query
    with CaptureQueriesContext(connection) as many:
        assert len(alerts.build_alerts(ids)) == len(ids) == 16
    assert len(many.captured_queries) == len(one.captured_queries) <= 4


def test_unknown_ids_are_left_out(history_objects):
    assert alerts.build_alerts([]) == []
    assert alerts.build_alerts([424242]) == []
    assert [a["alertId"] for a in alerts.build_alerts([424242, alert_id(OBJ, 2)])] == [alert_id(OBJ, 2)]
    assert alerts.build_alert(424242) is None


def test_alerts_encode_and_decode_with_the_reference_schema(history_objects):
    built = alerts.build_alerts([a.alertId for a in DiaAlert.objects.all()])
    for alert in built:
        decoded = decode_with_reference(avro.encode_alert(alert))
        # Fluxes are stored as 4-byte reals, so the float Avro fields round-trip exactly.
        assert decoded == alert


def test_alert_whose_time_disagrees_with_its_source_still_builds(history_objects):
    """The sender selects by the alert's midPointTai copy; the source's own time is authoritative."""
    DiaAlert.objects.filter(alertId=alert_id(OBJ, 4)).update(midPointTai=60100.0)
    [alert] = alerts.build_alerts([alert_id(OBJ, 4)])
    assert alert["diaSource"]["midPointTai"] == 60200.0
    assert summarize(alert) == oracle(alert_id(OBJ, 4))


@pytest.mark.parametrize(
    "index, copy",
    [
        (5, 60100.0),  # the copy is earlier than the source (60365): the window must still reach 60200
        (3, 60400.0),  # the copy is later than the source (60010): the source and its history lie below it
    ],
)
def test_history_follows_the_source_time_alone_in_a_batch_and_streamed(history_objects, index, copy):
    """One engine for all outputs: the source's time decides the history however the alert is built."""
    DiaAlert.objects.filter(alertId=alert_id(OBJ, index)).update(midPointTai=copy)
    [alone] = alerts.build_alerts([alert_id(OBJ, index)])
    assert alone["diaSource"]["midPointTai"] == OBJ_TIMES[index]
    assert summarize(alone) == oracle(alert_id(OBJ, index))
    ids = [a.alertId for a in DiaAlert.objects.all()]
    assert alone in alerts.build_alerts(ids)
    rows = [
        alerts.AlertRow(*r)
        for r in DiaAlert.objects.order_by("midPointTai", "alertId").values_list(
            "alertId", "diaObjectId", "diaSourceId", "midPointTai"
        )
    ]
    assert stream_encode(rows, 2)[alert_id(OBJ, index)] == avro.encode_alert(alone)


@pytest.mark.slow
def test_real_sample_alerts_match_the_oracle():
    from django.core.management import call_command

    from devstack.pytest_plugin import require

    call_command(
        "load_snana_fits",
        str(require(SAMPLE, "the tests read ../shared/ beside the project (the ELAsTiCC sample and schemas)")),
        "--no-progress",
    )
    ids = list(DiaAlert.objects.values_list("alertId", flat=True))
    assert len(ids) > 100
    chosen = random.Random(1).sample(ids, 150)
    built = alerts.build_alerts(chosen)
    assert len(built) == len(chosen)
    with_forced = 0
    for alert in built:
        assert summarize(alert) == oracle(alert["alertId"])
        # Real columns arrive as the shortest decimal of the 4-byte value; Avro floats
        # carry the 4-byte value itself.
        assert same_within_float32(decode_with_reference(avro.encode_alert(alert)), alert)
        with_forced += bool(alert["prvDiaForcedSources"])
    assert with_forced > 0


def encoded_by_id(ids) -> dict[int, bytes]:
    rows = list(
        DiaAlert.objects.filter(alertId__in=ids)
        .order_by("midPointTai")
        .values_list("alertId", "diaObjectId", "diaSourceId", "midPointTai")
    )
    with connection.cursor() as cursor:
        return {
            row.alertId: data
            for row, data in alerts.encode_alerts_for_rows([alerts.AlertRow(*r) for r in rows], cursor)
        }


def test_sender_bytes_are_exactly_fastavro_of_the_alert_dict(history_objects):
    """The sender's piecewise encoding (each row encoded once) equals fastavro on the whole alert."""
    ids = [a.alertId for a in DiaAlert.objects.all()]
    encoded = encoded_by_id(ids)
    assert set(encoded) == set(ids)
    for alert in alerts.build_alerts(ids):
        assert encoded[alert["alertId"]] == avro.encode_alert(alert)
        assert decode_with_reference(encoded[alert["alertId"]]) == alert


def test_sender_bytes_with_big_ids_and_long_histories():
    """Multi-byte varints (large ids, counts over 63) and the no-object branch."""
    big = 9_000_000_000_000  # object ids like this make 17-digit source ids
    make_object(big, [60000.0 + i * 0.75 for i in range(80)], [59990.0 + i * 0.5 for i in range(300)])
    make_object(7, [60001.0, 60003.0], [60000.0], with_object_row=False)
    ids = [a.alertId for a in DiaAlert.objects.all()]
    encoded = encoded_by_id(ids)
    built = alerts.build_alerts(ids)
    assert max(len(a["prvDiaSources"]) for a in built) == 79
    assert max(len(a["prvDiaForcedSources"]) for a in built) > 100
    for alert in built:
        assert encoded[alert["alertId"]] == avro.encode_alert(alert)


def test_avro_long_matches_fastavro():
    import io

    import fastavro

    for n in [0, 1, -1, 63, 64, -64, -65, 2**31, -(2**31), 2**63 - 1, -(2**63), 123456789012345]:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, "long", n)
        assert alertforms._long(n) == buf.getvalue(), n


def stream_encode(rows, batch_size: int, max_rows: int = 2_000_000) -> dict[int, bytes]:
    encoder = alerts.AlertAssembler(alerts.AvroForm(), history_rows=max_rows)
    out = {}
    with connection.cursor() as cursor:
        for i in range(0, len(rows), batch_size):
            for row, data in encoder.assemble(rows[i : i + batch_size], cursor):
                assert row.alertId not in out
                out[row.alertId] = data
    return out


@pytest.mark.parametrize(
    "batch_size, max_rows, shuffled",
    [
        (1, 2_000_000, False),
        (3, 2_000_000, False),
        (7, 50, False),
        (5, 2_000_000, True),
        (4, 30, True),
    ],
)
def test_stream_encoder_equals_the_stateless_encoding(history_objects, batch_size, max_rows, shuffled):
    """Kept history across batches (in order, out of order, with eviction) changes no byte."""
    from elasticc.tests.alert_helpers import make_many

    make_many(12, 9, 25, first_object=40, spacing=40.0)  # long gaps: windows slide past old rows
    DiaAlert.objects.filter(alertId=alert_id(OBJ, 4)).update(midPointTai=60100.0)  # an irregular alert
    rows = [
        alerts.AlertRow(*r)
        for r in DiaAlert.objects.order_by("midPointTai", "alertId").values_list(
            "alertId", "diaObjectId", "diaSourceId", "midPointTai"
        )
    ]
    if shuffled:
        random.Random(batch_size).shuffle(rows)
    streamed = stream_encode(rows, batch_size, max_rows)
    assert len(streamed) == len(rows)
    for alert in alerts.build_alerts([r.alertId for r in rows]):
        assert streamed[alert["alertId"]] == avro.encode_alert(alert), alert["alertId"]


def test_stream_encoder_fetches_each_row_once_in_time_order():
    from elasticc.tests.alert_helpers import make_many

    make_many(10, 12, 30, spacing=2.0)
    rows = [
        alerts.AlertRow(*r)
        for r in DiaAlert.objects.order_by("midPointTai", "alertId").values_list(
            "alertId", "diaObjectId", "diaSourceId", "midPointTai"
        )
    ]
    encoder = alerts.AlertAssembler(alerts.AvroForm(), history_rows=2_000_000)
    with connection.cursor() as cursor:
        for i in range(0, len(rows), 4):
            encoder.assemble(rows[i : i + 4], cursor)
    needed_forced = 0  # the forced points inside some alert's window: first - 30 d .. last source
    for oid in DiaSource.objects.values_list("diaObjectId", flat=True).distinct():
        times = sorted(DiaSource.objects.filter(diaObjectId=oid).values_list("midPointTai", flat=True))
        needed_forced += DiaForcedSource.objects.filter(
            diaObjectId=oid, midPointTai__gte=times[0] - 30, midPointTai__lte=times[-1]
        ).count()
    assert 0 < needed_forced < DiaForcedSource.objects.count()
    assert encoder.rows_fetched == DiaSource.objects.count() + needed_forced
