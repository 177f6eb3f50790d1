"""What brokermetrics shows on elasticc's own pages, added through elasticc's page sections
(elasticc/pages/sections.py) when the app is ready, so that elasticc never imports brokermetrics:
- the landing page: a link to the broker pages and how fresh the metrics are;
- the summary: alerts sent per simulated day (a plot), as of the last refresh."""

from __future__ import annotations

from django.http import HttpRequest

from brokermetrics import queries
from elasticc.pages import sections


def _landing(request: HttpRequest) -> dict:
    return {"last_refresh": queries.last_refresh()}


def _alerts_per_mjd(request: HttpRequest) -> dict:
    return {"alerts_per_mjd": queries.alerts_per_mjd(), "last_refresh": queries.last_refresh()}


LANDING = sections.Section("brokermetrics/_landing.html", _landing)
ALERTS_PER_MJD = sections.Section(
    "brokermetrics/_alerts_per_mjd.html", _alerts_per_mjd, script_template="brokermetrics/_alerts_per_mjd_script.html"
)


def register() -> None:
    sections.add(sections.INDEX, LANDING)
    sections.add(sections.SUMMARY, ALERTS_PER_MJD)
