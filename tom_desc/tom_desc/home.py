"""The site's root: the DESC TOM's own landing page in place of the TOM Toolkit's placeholder
("Congratulations! Welcome to your new TOM").

Why a page of its own: a newcomer lands here first and must see what the site holds (two
campaigns of simulated LSST alerts and the brokers' classifications of them) and where each thing
is: objects, hot transients, wanted spectra, broker pages, SQL and the REST API, and how to get
them into Python. Like every page of the site it is for logged-in users (the toolkit's LOCKED
auth strategy sends others to the login page). Counts are read cheaply (tom_desc/lib/rowcounts.py:
exact for small tables, the planner's statistics for big ones).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from tom_desc.lib import rowcounts


@dataclass(frozen=True)
class CampaignLinks:
    """One campaign on the home page: its name, its pages (URL names) and its object table."""

    name: str
    blurb: str
    index_url: str
    objects_url: str
    brokers_url: str
    objects_table: str
    sources_table: str


CAMPAIGNS = (
    CampaignLinks(
        "ELAsTiCC2",
        "The second challenge (2023-2024): its alerts, the brokers' classifications, and spectroscopic follow-up.",
        "elasticc2:index",
        "elasticc2:objects",
        "brokermetrics2:brokers",
        "elasticc2_ppdbdiaobject",
        "elasticc2_ppdbdiasource",
    ),
    CampaignLinks(
        "ELAsTiCC",
        "The first challenge (2022-2023): objects, alerts and classifications, as the original DESC TOM kept them.",
        "elasticc:index",
        "elasticc:objects",
        "brokermetrics:brokers",
        "elasticc_diaobject",
        "elasticc_diasource",
    ),
)


class HomeView(LoginRequiredMixin, TemplateView):
    """/: what the DESC TOM is and where to go (see the module docstring)."""

    template_name = "tom_desc/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["campaigns"] = [
            {
                "campaign": campaign,
                "counts": [
                    rowcounts.count_table(campaign.objects_table, "objects"),
                    rowcounts.count_table(campaign.sources_table, "detections"),
                ],
            }
            for campaign in CAMPAIGNS
        ]
        context["site_url"] = self.request.build_absolute_uri("/").rstrip("/")
        return context
