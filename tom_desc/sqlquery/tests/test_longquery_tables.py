"""Long-query results as astronomers' tables: ECSV and VOTable files read back by astropy equal
the synchronous JSON rows and carry the units of known columns; Parquet files carry the same
units in their metadata; a VOTable too big for the size limit fails whole."""

from __future__ import annotations

import io
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from astropy.table import Table

from elasticc.models import BrokerClassifier
from sqlquery.models import LongQuery
from sqlquery.tests.conftest import login, post_json, run_sql, runner_env, start_runner
from sqlquery.tests.test_longqueries import download, submit

# Known columns in both campaigns' spellings (psFlux, psflux), a computed one (score) that no
# table has, text with nulls, numeric (exact text), a timestamp, a nullable integer.
QUERY = """
SELECT g::bigint AS "diaObjectId", (g * 10.5)::real AS "psFlux", (g * 0.25)::real AS psflux,
       (60000 + g * 0.25)::double precision AS "midPointTai", (g * 1.5)::double precision AS ra,
       g * 2.0::double precision AS score, CASE WHEN g %% 5 = 0 THEN NULL ELSE 'row ' || g END AS label,
       g %% 2 = 0 AS even, timestamptz '2024-01-01' + g * interval '1.5 second' AS t,
       (g / 3.0)::numeric(10, 4) AS n, CASE WHEN g %% 7 = 0 THEN NULL ELSE g END AS maybe, c."brokerName"
FROM elasticc_brokerclassifier c CROSS JOIN generate_series(1, %(n)s) g
ORDER BY g
"""
ROWS = 1200


def cell(value):
    """A Table cell as JSON holds it: masked -> None, numpy scalars -> Python, NaN -> None."""
    if value is None or np.ma.is_masked(value):
        return None
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value


def json_rows(table: Table) -> list[dict]:
    return [{name: cell(row[name]) for name in table.colnames} for row in table]


def as_float32(value):
    """A JSON number of a real column, as the float32 the file holds."""
    return None if value is None else np.float32(value).item()


@pytest.fixture
def finished(plain_user, tmp_path, settings):
    """(client, synchronous rows, {format: query id}) after a runner has written every format."""
    settings.SQLQUERY_RESULTS_DIR = tmp_path
    BrokerClassifier.objects.create(brokerName="fink", brokerVersion="1", classifierName="c", classifierParams="p")
    client = login(plain_user)
    status, answer = run_sql(client, QUERY, {"n": ROWS})
    assert status == 200 and len(answer["rows"]) == ROWS
    ids = {fmt: submit(client, QUERY, {"n": ROWS}, fmt) for fmt in ("ecsv", "votable", "parquet")}
    runner = start_runner(runner_env(tmp_path), "--exit-when-idle")  # the lean runner: no elasticc app
    output, _ = runner.communicate(timeout=180)
    assert runner.returncode == 0 and "3 finished, 0 failed" in output, output
    return client, answer["rows"], ids


def assert_units(table: Table) -> None:
    assert str(table["psFlux"].unit) == "nJy" and str(table["psflux"].unit) == "nJy"
    assert str(table["midPointTai"].unit) == "d" and "TAI" in table["midPointTai"].description
    assert str(table["ra"].unit) == "deg" and table["ra"].meta.get("ucd", "").startswith("pos.eq.ra")
    for unknown in ("score", "label", "n", "maybe"):
        assert table[unknown].unit is None and not table[unknown].description, unknown


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["ecsv", "votable"])
def test_ecsv_and_votable_results_equal_the_json_rows_with_units(finished, fmt):
    client, expected, ids = finished
    response = client.get(f"/db/getsqlqueryresults/{ids[fmt]}/")
    extension = "ecsv" if fmt == "ecsv" else "vot"
    media = "text/x-ecsv" if fmt == "ecsv" else "application/x-votable+xml"
    assert response["Content-Type"] == f"{media}; charset=utf-8"
    assert f'filename="sqlquery-{ids[fmt]}.{extension}"' in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    if fmt == "ecsv":
        table = Table.read(content.decode(), format="ascii.ecsv")
    else:
        table = Table.read(io.BytesIO(content), format="votable")
    assert table.colnames == list(expected[0])
    for row in expected:
        row["psFlux"], row["psflux"] = as_float32(row["psFlux"]), as_float32(row["psflux"])
        if fmt == "votable" and row["label"] is None:
            row["label"] = ""  # an empty <TD/>: astropy never masks a VOTable text cell (TOPCAT reads null)
    assert json_rows(table) == expected
    assert str(table["psFlux"].dtype) == "float32" and str(table["diaObjectId"].dtype) == "int64"
    assert_units(table)
    info = client.get(f"/db/checksqlquery/{ids[fmt]}/").json()
    assert (info["format"], info["rows"], info["bytes"]) == (fmt, ROWS, len(content))


@pytest.mark.django_db(transaction=True)
def test_parquet_results_carry_units_in_their_metadata(finished, tmp_path):
    client, expected, ids = finished
    path = tmp_path / "units.parquet"
    path.write_bytes(download(client, ids["parquet"]))
    arrow = pq.read_table(path)  # pyarrow and pandas read it as before: types from Parquet's own
    assert str(arrow.schema.field("t").type) == "timestamp[us, tz=UTC]"
    assert str(arrow.schema.field("psFlux").type) == "float"
    assert arrow.to_pandas()["label"].isna().sum() == ROWS // 5
    header = arrow.schema.metadata[b"table_meta_yaml"].decode()
    assert 'name: "psFlux", datatype: float32, unit: "nJy"' in header
    assert arrow.schema.metadata[b"table::len::label"] == str(len(f"row {ROWS - 1}")).encode()
    table = Table.read(path, format="parquet")
    assert_units(table)
    # astropy's Parquet reader masks no text: a null reads as the text "None" (pyarrow's is null, above)
    assert [cell(v) for v in table["label"]] == [str(r["label"]) for r in expected]
    assert [cell(v) for v in table["midPointTai"]] == [r["midPointTai"] for r in expected]


@pytest.mark.django_db(transaction=True)
def test_tables_that_cannot_be_written_fail_whole_with_the_reason(plain_user, tmp_path, settings):
    """Streamed does not mean unbounded: a VOTable stops at SQLQUERY_LONG_RESULT_MB with the
    site's message; repeated column names (which astropy and TOPCAT refuse) are named at once.
    No partial file is left behind."""
    settings.SQLQUERY_RESULTS_DIR = tmp_path
    client = login(plain_user)
    big = submit(client, "SELECT g AS i, repeat('x', 100) AS pad FROM generate_series(1, 20000) g", fmt="votable")
    twice = submit(client, "SELECT 1 AS a, 2 AS b, 3 AS a", fmt="ecsv")
    runner = start_runner(runner_env(tmp_path, SQLQUERY_LONG_RESULT_MB=1), "--exit-when-idle")
    output, _ = runner.communicate(timeout=120)
    assert runner.returncode == 0 and "2 failed" in output, output
    query = LongQuery.objects.get(id=big)
    assert query.status == "error" and "passed 1 MB" in query.error, query.error
    query = LongQuery.objects.get(id=twice)
    assert query.status == "error" and "distinct column names, and these repeat: a (rename" in query.error, query.error
    assert not list(tmp_path.iterdir())


@pytest.mark.django_db
def test_an_unknown_format_is_refused_naming_the_formats(plain_user):
    """The original's contract for a body that cannot be run: HTTP 200 with status error (its
    clients read the message), naming every format; nothing is queued."""
    response = post_json(login(plain_user), "/db/submitsqlquery/", {"query": "SELECT 1", "format": "fits"})
    assert response.status_code == 200
    message = response.json()["error"]
    assert message.startswith("Unknown format 'fits'")
    for fmt in ("csv", "ecsv", "json", "pandas", "parquet", "votable"):
        assert fmt in message
    assert LongQuery.objects.count() == 0
