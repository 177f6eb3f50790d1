"""The broker pages through Django's test client, on the hand-built case of
elasticc/pages/tests/handbuilt.py (known truth, known classifications, so known metrics)."""

import re

import pytest

from elasticc.pages.tests import handbuilt
from elasticc.pages.tests.support import assert_login_required, assert_no_truth, page

pytestmark = pytest.mark.django_db


def all_urls(a, b):
    return [
        "/elasticc/brokers/",
        f"/elasticc/brokers/{a}/",
        f"/elasticc/brokers/{a}/?window=2026-03-01",
        f"/elasticc/brokers/{b}/",
    ]


def test_pages_need_login(client, case):
    a, b = case
    assert_login_required(client, all_urls(a, b))


def test_empty_database_says_so(astronomer):
    assert 'id="no-classifiers"' in page(astronomer, "/elasticc/brokers/")
    assert 'id="metrics-never-refreshed"' in page(astronomer, "/elasticc/brokers/")


def test_non_admins_never_see_truth(astronomer, case):
    a, b = case
    assert_no_truth(astronomer, all_urls(a, b))
    assert 'id="confusion-hidden"' in page(astronomer, f"/elasticc/brokers/{a}/")


def test_broker_list(astronomer, case):
    a, b = case
    html = page(astronomer, "/elasticc/brokers/")
    assert f'data-classifier="{a}"' in html and f'data-classifier="{b}"' in html
    assert 'data-messages="8"' in html and 'data-messages="1"' in html
    assert "88 %" in html and "12 %" in html  # 7/8 and 1/8 of the sent alerts


def rendered_cells(html: str, level: str) -> dict:
    """{(true classId or None, predicted classId): count} of the non-empty cells of a rendered matrix."""
    table = re.search(rf'<table[^>]*id="confusion-{level}".*?</table>', html, re.S).group(0)
    out = {}
    for row in table.split('<tr data-true="')[1:]:
        true_id = row[: row.index('"')]
        for pred, count in re.findall(r'data-pred="(\d+)" data-count="(\d+)"', row):
            if int(count):
                out[(None if true_id == "none" else int(true_id), int(pred))] = int(count)
    return out


def test_broker_page_for_admins(admin_client, case):
    a, b = case
    html = page(admin_client, f"/elasticc/brokers/{a}/")
    assert 'id="completeness-value">88 %<' in html
    assert 'id="delay-data"' in html
    for level, expected in (("exact", handbuilt.EXPECTED_EXACT_ALL), ("category", handbuilt.EXPECTED_CATEGORY_ALL)):
        assert rendered_cells(html, level) == expected
    day = page(admin_client, f"/elasticc/brokers/{a}/?window=2026-03-01")
    assert 'id="completeness-value">75 %<' in day
    response = admin_client.get(f"/elasticc/brokers/{a}/?classifier={b}&window=all")
    assert response.status_code == 302 and response.url == f"/elasticc/brokers/{b}/?window=all"

    # A range of send-days: the counts of both days, quantiles marked as read off the histogram.
    both = page(admin_client, f"/elasticc/brokers/{a}/?from=2026-03-01&to=2026-03-02")
    assert 'id="completeness-value">88 %<' in both and 'id="quantiles-from-bins"' in both
    assert "≤ 30 s" in both
    assert rendered_cells(both, "exact") == handbuilt.EXPECTED_EXACT_ALL
    assert '<option value="" selected>2026-03-01 to 2026-03-02</option>' in both
    one = page(admin_client, f"/elasticc/brokers/{a}/?from=2026-03-01&to=2026-03-01")
    assert 'id="completeness-value">75 %<' in one and 'id="quantiles-from-bins"' not in one
    backwards = page(admin_client, f"/elasticc/brokers/{a}/?from=2026-03-02&to=2026-03-01")
    assert 'id="range-error"' in backwards and 'id="completeness-value">88 %<' in backwards
    assert 'id="range-error"' in page(admin_client, f"/elasticc/brokers/{a}/?from=2026-03-02&to=soon")
    # The explicit window wins over a range left in the URL; switching classifier keeps the range.
    assert 'id="completeness-value">75 %<' in page(
        admin_client, f"/elasticc/brokers/{a}/?window=2026-03-01&from=2026-03-01&to=2026-03-02"
    )
    response = admin_client.get(f"/elasticc/brokers/{a}/?classifier={b}&window=&from=2026-03-01&to=2026-03-02")
    assert response.status_code == 302
    assert response.url == f"/elasticc/brokers/{b}/?window=&from=2026-03-01&to=2026-03-02"
    assert admin_client.get("/elasticc/brokers/999999/").status_code == 404


def test_broker_page_before_any_refresh(astronomer):
    a, _ = handbuilt.build()
    assert 'id="no-metrics"' in page(astronomer, f"/elasticc/brokers/{a.classifierId}/")
    # the list counts messages live while the table is small
    assert 'data-messages="8"' in page(astronomer, "/elasticc/brokers/")
