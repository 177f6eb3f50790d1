"""The table/column comment block at the end of sql_query_tom_db.py matches the migrated schema."""

import pytest
from django.db import connection

from sqlquery import schema_doc
from sqlquery.tests.conftest import PROJECT_DIR

CLIENT = PROJECT_DIR.parent / "sql_query_tom_db.py"


@pytest.mark.django_db
def test_committed_block_is_current():
    """The block must be what the migrations give: the test database was just migrated, and the
    block leaves out partitions (created at run time by triggers and pgpartition)."""
    import difflib

    committed = schema_doc.current_block(CLIENT.read_text())
    assert committed is not None, "sql_query_tom_db.py has no schema block"
    generated = schema_doc.schema_block(connection)
    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(True), generated.splitlines(True), "sql_query_tom_db.py", "migrated schema", n=1
        )
    )
    assert committed == generated, (
        "the elasticc schema changed: run `python manage.py regenerate_schema_doc` (from tom_desc/, "
        "DATABASE_URL set, after migrate) and commit sql_query_tom_db.py\n" + diff
    )


@pytest.mark.django_db
def test_block_lists_parents_with_types_and_who_reads_them():
    block = schema_doc.schema_block(connection)
    assert '# elasticc_brokermessage (everyone; partitioned by LIST ("classifierId"))' in block
    assert "# elasticc_diaobjecttruth (elasticc_admin)" in block
    assert "elasticc_diasource_p0" not in block and "elasticc_brokermessage_c" not in block
    assert "diaObjectId* bigint," in block  # a key column, with its type, not null
    assert "z_final? float4," in block  # a nullable column
    assert all(len(line) <= schema_doc.WIDTH for line in block.splitlines() if not line.startswith("# ----"))
    assert "# elasticc2_diaobjecttruth (elasticc_admin)" in block and "elasticc2_brokermessage_c" not in block
    # the ppdb tables repeat the TOM-known tables' columns: named, not listed again
    assert "# elasticc2_ppdbdiaobject (elasticc_admin)\n#   the columns of elasticc2_diaobject\n" in block
    assert "hostgal_mag_{u,g,r,i,z,Y}? float4," in block  # six columns of one type, one item


def test_columns_differing_after_the_last_underscore_are_grouped():
    columns = [("mag_u", "? float4"), ("mag_g", "? float4"), ("mag_r", " float4"), ("snr", " float4")]
    columns += [("mjd_first", " float8"), ("mjd_last", " float8"), ("z_final", "? float4"), ("z_final_err", "? float4")]
    assert schema_doc._grouped(columns) == [
        "mag_{u,g}? float4",  # mag_r may not be null: another type, another item
        "mag_r float4",
        "snr float4",
        "mjd_{first,last} float8",
        "z_final? float4",  # prefixes z and z_final differ
        "z_final_err? float4",
    ]


def test_replace_block_keeps_the_rest_of_the_file():
    block = f"{schema_doc.BEGIN}\n# t\n{schema_doc.END}\n"
    text = "print('hi')\n"
    once = schema_doc.replace_block(text, block)
    assert once.startswith(text) and once.endswith(block)
    again = schema_doc.replace_block(once, block.replace("# t", "# u"))
    assert again.count(schema_doc.BEGIN) == 1 and "# u" in again and "# t\n" not in again
