"""The project's own Avro schemas are the published ELAsTiCC v0.9.1 schemas on the wire."""

import io
import math
from datetime import UTC, datetime

import fastavro
import fastavro.schema
import pytest

from devstack.pytest_plugin import SHARED_DIR, require
from elasticc.stream import avro

REFERENCE_DIR = SHARED_DIR / "reference" / "schema"
NAMES = ["alert", "diaSource", "diaForcedSource", "diaObject", "brokerClassification"]


@pytest.fixture(autouse=True, scope="module")
def _reference_present():
    require(REFERENCE_DIR, "the tests read ../shared/ beside the project (the ELAsTiCC sample and schemas)")


def reference_schema(name: str) -> dict:
    return fastavro.schema.load_schema(str(REFERENCE_DIR / f"{avro.NAMESPACE}.{name}.avsc"))


def write(schema: dict, record: dict) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


def read(schema: dict, data: bytes) -> dict:
    return fastavro.schemaless_reader(io.BytesIO(data), schema, None)


def sample_alert() -> dict:
    obj = {"diaObjectId": 1234567, "simVersion": "test", "ra": 150.25, "decl": -30.5}
    for field in avro.load_schema(f"{avro.NAMESPACE}.diaObject")["fields"][4:]:
        obj[field["name"]] = None
    obj.update(mwebv=0.0625, z_final=0.5, hostgal_mag_Y=21.25, hostgal2_magerr_u=0.125)

    def source(i: int, t: float) -> dict:
        return {
            "diaSourceId": 123456700000 + i,
            "diaObjectId": 1234567,
            "midPointTai": t,
            "filterName": "ugrizY"[i % 6],
            "ra": 150.25,
            "decl": -30.5,
            "psFlux": 1000.5 + i,
            "psFluxErr": 12.25,
            "snr": 81.5,
        }

    return {
        "alertId": 123456700003,
        "diaSource": source(3, 60003.125),
        "prvDiaSources": [source(1, 60001.0), source(2, 60002.0)],
        "prvDiaForcedSources": [
            {
                "diaForcedSourceId": 123456700000 + i,
                "diaObjectId": 1234567,
                "midPointTai": 60000.0 + i,
                "filterName": "r",
                "psFlux": -3.5 + i,
                "psFluxErr": 10.0,
            }
            for i in range(4)
        ],
        "diaObject": obj,
    }


def sample_classification() -> dict:
    return {
        "alertId": 42,
        "diaSourceId": 42,
        "elasticcPublishTimestamp": datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC),
        "brokerIngestTimestamp": datetime(2024, 5, 1, 12, 0, 1, 456000, tzinfo=UTC),
        "brokerName": "B",
        "brokerVersion": "1",
        "classifierName": "C",
        "classifierParams": "p",
        "classifications": [{"classId": 111, "probability": 0.75}, {"classId": 121, "probability": 0.25}],
    }


@pytest.mark.parametrize("name", NAMES)
def test_same_parsing_canonical_form_as_reference(name):
    ours = avro.canonical_form(f"{avro.NAMESPACE}.{name}")
    theirs = fastavro.schema.to_parsing_canonical_form(reference_schema(name))
    assert ours == theirs


@pytest.mark.parametrize("name", NAMES)
def test_same_fingerprint_as_reference(name):
    ours = fastavro.schema.fingerprint(avro.canonical_form(f"{avro.NAMESPACE}.{name}"), "CRC-64-AVRO")
    theirs = fastavro.schema.fingerprint(
        fastavro.schema.to_parsing_canonical_form(reference_schema(name)), "CRC-64-AVRO"
    )
    assert ours == theirs


def test_every_named_type_is_resolved():
    """The alert schema loads its parts from their own files: no dangling names."""
    alert = avro.load_schema(avro.ALERT_SCHEMA)
    names = set(alert["__named_schemas"])
    assert {f"{avro.NAMESPACE}.{n}" for n in ("alert", "diaSource", "diaForcedSource", "diaObject")} <= names


def test_alert_written_with_ours_reads_with_reference_and_back():
    alert = sample_alert()
    ours, theirs = avro.load_schema(avro.ALERT_SCHEMA), reference_schema("alert")

    ours_bytes = avro.encode_alert(alert)
    assert ours_bytes == write(theirs, alert)
    assert read(theirs, ours_bytes) == alert
    assert avro.decode_alert(write(theirs, alert)) == alert
    assert read(ours, write(theirs, alert)) == alert


def test_alert_with_null_history_and_object():
    alert = dict(sample_alert(), prvDiaSources=None, prvDiaForcedSources=None, diaObject=None)
    assert read(reference_schema("alert"), avro.encode_alert(alert)) == alert


def test_float_fields_are_single_precision_on_the_wire():
    alert = sample_alert()
    alert["diaSource"]["psFlux"] = 0.1
    decoded = read(reference_schema("alert"), avro.encode_alert(alert))
    assert decoded["diaSource"]["psFlux"] != 0.1
    assert math.isclose(decoded["diaSource"]["psFlux"], 0.1, rel_tol=1e-7)
    assert decoded["diaSource"]["midPointTai"] == alert["diaSource"]["midPointTai"]


def test_classification_round_trips_both_ways():
    message = sample_classification()
    theirs = reference_schema("brokerClassification")
    assert read(theirs, avro.encode_classification(message)) == message
    assert avro.decode_classification(write(theirs, message)) == message
    assert avro.encode_classification(message) == write(theirs, message)


def test_encoder_matches_encode():
    encoder = avro.Encoder(avro.ALERT_SCHEMA)
    first, second = sample_alert(), dict(sample_alert(), alertId=7, prvDiaForcedSources=None)
    assert encoder(first) == avro.encode_alert(first)
    assert encoder(second) == avro.encode_alert(second)
    assert encoder(first) == avro.encode_alert(first)


def test_unknown_schema_name_is_a_clear_error():
    with pytest.raises(KeyError, match="no Avro schema"):
        avro.load_schema("elasticc.v0_9_1.nosuch")
