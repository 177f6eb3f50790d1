"""send_elasticc_alerts' options beside the defaults: the original DESC TOM's flags and
ELAsTiCC2's look-back (--history-days), against the real embedded Kafka broker and PostgreSQL."""

import pytest
from django.core.management import CommandError, call_command

from elasticc.stream.tests.test_send_alerts import alerts_through, send, sent_marks
from elasticc.tests.alert_helpers import decode_with_reference, make_many, read_topic

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.kafka]


@pytest.fixture
def survey():
    """30 objects x 8 sources, one a day from 60000 + k/100 (as test_send_alerts' survey)."""
    return make_many(30, 8, 20)


def test_the_original_commands_flags(kafka_broker, unique_name, survey, tmp_path):
    """`send_elasticc_alerts -d DAY -k SERVER -t TOPIC -s SCHEMA --do`, as the original's deployments ran it,
    with the published schema file (the reference copy); a foreign schema and --daily-delay are refused."""
    from io import StringIO

    from elasticc.tests.alert_helpers import REFERENCE_SCHEMA_DIR

    expected = alerts_through(60002.5)
    schema = str(REFERENCE_SCHEMA_DIR / "elasticc.v0_9_1.alert.avsc")
    out = StringIO()
    call_command(
        "send_elasticc_alerts", "-d", "60002.5", "-k", kafka_broker.bootstrap_servers, "-t", unique_name, "-s", schema,
        "--do", "--no-progress", stdout=out,
    )  # fmt: skip
    assert f"{len(expected)} alerts sent and marked" in out.getvalue()
    assert set(sent_marks()) == expected
    assert len(read_topic(kafka_broker.bootstrap_servers, unique_name, len(expected))) == len(expected)

    other = tmp_path / "elasticc.v0_9.alert.avsc"
    other.write_text(
        '{"type": "record", "name": "alert", "namespace": "elasticc.v0_9", "fields": [{"name": "alertId", "type": "long"}]}'
    )
    with pytest.raises(CommandError, match="is not the schema this site streams"):
        call_command("send_elasticc_alerts", "-d", "60009", "-s", str(other), "--do", stdout=StringIO())
    with pytest.raises(CommandError, match=r"--daily-delay .* not supported here: alerts are paced with --max-rate"):
        call_command("send_elasticc_alerts", "-d", "60009", "--daily-delay", "3", stdout=StringIO())
    assert set(sent_marks()) == expected


def test_history_days_limits_what_is_streamed(kafka_broker, unique_name):
    """--history-days: ELAsTiCC2's look-back on both lists; by default the first campaign's (none)."""
    make_many(1, 6, 30, spacing=5.0)  # sources 5 days apart, forced points from 40 days before
    out = send(kafka_broker, unique_name, "--through-day", "1e9", "--do", "--history-days", "12")
    assert "6 alerts sent and marked" in out
    alerts = {
        a["alertId"]: a
        for a in (decode_with_reference(m.value()) for m in read_topic(kafka_broker.bootstrap_servers, unique_name, 6))
    }
    last = alerts[max(alerts)]
    t = last["diaSource"]["midPointTai"]
    assert [p["midPointTai"] for p in last["prvDiaSources"]] == [t - 10, t - 5]
    assert last["prvDiaForcedSources"] and all(t - 12 <= f["midPointTai"] < t for f in last["prvDiaForcedSources"])
    first = alerts[min(alerts)]
    assert first["prvDiaSources"] == [] and first["prvDiaForcedSources"] == []
