"""What brokermetrics adds to elasticc's pages (brokermetrics/sections.py), registered when the app is ready."""

import pytest
from django.test import RequestFactory

from brokermetrics import sections as metrics_sections
from elasticc.pages import sections

pytestmark = pytest.mark.django_db


def test_registered_on_the_landing_page_and_the_summary():
    assert metrics_sections.LANDING in sections._sections[sections.INDEX]
    assert metrics_sections.ALERTS_PER_MJD in sections._sections[sections.SUMMARY]


def test_before_any_refresh_they_say_which_command_fills_them():
    request = RequestFactory().get("/")
    (landing,) = (s for s in sections.render(sections.INDEX, request) if "Judge the brokers" in s.html)
    assert 'href="/elasticc/brokers/"' in landing.html and 'id="metrics-never-refreshed"' in landing.html
    (summary,) = (s for s in sections.render(sections.SUMMARY, request) if "alerts-per-mjd" in s.html)
    assert 'id="no-alerts-per-mjd"' in summary.html and summary.script.strip() == ""
