"""The loading engines driven without their commands: FITS reader, input pairing, COPY encoder, loader.

The files come from demo_sky.generate (called directly); expected values are read with
astropy.io.fits, the independent reference.
"""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits as astropy_fits
from django.db import connection

from elasticc.loading import copy, demo_sky, fits, inputs, loader, simulation
from elasticc.loading.errors import SnanaError

N_OBJECTS = 40
SEED = 3


@pytest.fixture(scope="module")
def sky(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("engine-sky")
    demo_sky.generate(out, N_OBJECTS, SEED, per_file=4)
    return out


def test_fits_reader_agrees_with_astropy(sky):
    for path in sorted(sky.rglob("*.FITS.gz"))[:6]:
        table = fits.read_table(path.read_bytes(), str(path))
        reference = astropy_fits.getdata(path, 1)
        assert table.dtype.names == reference.dtype.names
        for name in table.dtype.names:
            ours = table[name]
            if ours.dtype.kind == "S":  # astropy hands text columns back decoded
                ours = np.char.decode(ours, "ascii")
            assert np.array_equal(ours, np.asarray(reference[name])), (path, name)
        assert fits.column(table, "NO_SUCH_COLUMN", np.float64, default="absent") == "absent"


def test_fits_reader_refuses_a_table_cut_short_naming_the_file(sky, tmp_path):
    path = next(sky.rglob("*_PHOT.FITS.gz"))
    raw = gzip.decompress(path.read_bytes())
    name = str(tmp_path / "cut_PHOT.FITS")
    with pytest.raises(SnanaError, match=f"^{name}: truncated FITS table"):
        fits.read_table(raw[: len(raw) - 2880], name)
    with pytest.raises(SnanaError, match="corrupt or truncated gzip"):
        fits.read_table(path.read_bytes()[:100], str(path))


def test_inputs_pair_every_head_with_its_phot_and_dump(sky):
    pairs = list(inputs.iter_inputs([sky]))
    assert inputs.count_pairs([sky]) == len(pairs) == len(list(sky.rglob("*_HEAD.FITS.gz")))
    for pair in pairs:
        assert pair.error is None and pair.phot_name == pair.head_name.replace("_HEAD.", "_PHOT.")
        assert Path(pair.dump.name).parent == Path(pair.head_name).parent
    assert sum(len(pair.read().object_id) for pair in pairs) == N_OBJECTS


def test_inputs_name_a_missing_dump_and_a_missing_argument(sky, tmp_path):
    model_dir = tmp_path / "DEMO_KN"
    model_dir.mkdir()
    for path in (sky / "DEMO_KN").glob("*.FITS.gz"):
        (model_dir / path.name).write_bytes(path.read_bytes())
    pairs = list(inputs.iter_inputs([tmp_path]))
    assert pairs and all(str(p.error).startswith(f"{model_dir}/*.DUMP: missing") for p in pairs)
    with pytest.raises(SnanaError, match=f"^{tmp_path / 'nope'}: no such file or directory$"):
        inputs.existing_paths([tmp_path, tmp_path / "nope"])


def test_binary_copy_body_layout():
    body = copy.binary_copy_body(
        [
            copy.Column("id", "int8", np.array([7], np.int64)),
            copy.Column("band", "text", np.array([b"r"])),
            copy.Column("flux", "float4", np.array([np.nan], np.float32)),
        ]
    )
    assert body == struct.pack(">hiqi1si", 3, 8, 7, 1, b"r", -1)
    assert copy.binary_copy_body([copy.Column("id", "int8", np.zeros(0, np.int64))]) == b""


@pytest.mark.django_db
def test_loader_engine_reports_rows_and_progress_and_is_idempotent(sky):
    seen = []
    report = loader.load([str(sky)], progress=lambda pair, report: seen.append(report.progress_text()))
    n_heads = len(list(sky.rglob("*_HEAD.FITS.gz")))
    assert report.pairs_loaded == len(seen) == n_heads and not report.failures
    assert report.counts["objects"].added == N_OBJECTS
    assert seen[-1].startswith(f"{report.rows_added:,} rows, ")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM elasticc_diaobjecttruth")
        assert cur.fetchone()[0] == N_OBJECTS
    again = loader.load([sky])
    assert again.rows_added == 0 and again.counts["objects"].skipped == N_OBJECTS


def test_counts_text_leaves_out_empty_models():
    assert simulation.model_counts(7) == [2, 2, 1, 1, 0, 0, 1]
    assert simulation.counts_text(7) == "2 SNIa, 2 SNII, 1 KN, 1 MDWARF_FLARE, 1 AGN"


def test_load_report_failure_text_names_the_first_and_counts_the_rest():
    report = loader.LoadReport(failures=[SnanaError("a_PHOT.FITS.gz", "truncated"), SnanaError("b.DUMP", "missing")])
    assert report.failure_text() == "a_PHOT.FITS.gz: truncated (and 1 more file pairs failed)"
    assert loader.LoadReport(failures=report.failures[:1]).failure_text() == "a_PHOT.FITS.gz: truncated"
