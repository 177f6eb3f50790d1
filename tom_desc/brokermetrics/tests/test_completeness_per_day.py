"""The broker page's completeness-per-day chart (queries.completeness_per_day, broker.js): one
point per UTC send-day with stored metrics, the same figures as each day's window, and drawn in
Chromium."""

from __future__ import annotations

import json
import re

import pytest

from brokermetrics.models import ClassifierWindow
from elasticc.pages.tests.browser import MARKS, logged_in
from elasticc.pages.tests.support import page


def chart_data(html: str) -> list[dict]:
    return json.loads(
        re.search(r'<script id="completeness-data" type="application/json">(.*?)</script>', html).group(1)
    )


@pytest.mark.django_db
def test_one_point_per_send_day_with_the_day_windows_figures(astronomer, case):
    a, _ = case
    days = chart_data(page(astronomer, f"/elasticc/brokers/{a}/"))
    stored = ClassifierWindow.objects.filter(classifierId=a, day__isnull=False).order_by("day")
    assert [d["day"] for d in days] == [w.day.isoformat() for w in stored] and len(days) >= 2
    assert [(d["sent"], d["classified"]) for d in days] == [(w.alertsSent, w.alertsClassified) for w in stored]
    assert days[0] == {
        "day": "2026-03-01",
        "sent": days[0]["sent"],
        "classified": days[0]["classified"],
        "percent": 75.0,
    }
    # the same chart whatever window is chosen: it is the classifier's whole history
    assert chart_data(page(astronomer, f"/elasticc/brokers/{a}/?window=2026-03-01")) == days


@pytest.mark.django_db
def test_no_chart_before_any_refresh(astronomer):
    from elasticc.pages.tests import handbuilt

    a, _ = handbuilt.build()
    html = page(astronomer, f"/elasticc/brokers/{a.classifierId}/")
    assert 'id="completeness-per-day"' not in html


@MARKS[0]
@MARKS[1]
def test_chart_drawn_in_a_browser(browser, site):
    url, a, _ = site
    with logged_in(browser, url, "astro") as s:
        page_ = s.open(f"/elasticc/brokers/{a}/")
        page_.wait_for_selector("#completeness-per-day .main-svg")
        points = page_.locator("#completeness-per-day .scatterlayer path.point").count()
        assert points == ClassifierWindow.objects.filter(classifierId=a, day__isnull=False).count()
        assert page_.text_content("#completeness-per-day .g-ytitle") == "completeness [%]"
        s.shot("broker-completeness-per-day")
