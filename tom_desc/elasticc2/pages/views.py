"""ELAsTiCC2's pages (HTML): its landing page /elasticc2/, the lookup of an object by id, and
its object pages /elasticc2/objects/<id>/ (ELAsTiCC's object page view and template, on the
ppdb tables: elasticc2/pages/tables.py). The landing page of /elasticc/ shows ELAsTiCC2 too,
through a section (landing_section below, added in apps.py). docs/pages.md."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import HttpRequest
from django.shortcuts import redirect
from django.views.generic import TemplateView

from elasticc.pages.forms import Param, QueryForm
from elasticc.pages.views import ObjectDetailView
from elasticc2.models import PpdbAlert
from tom_desc.lib import rowcounts
from tom_desc.lib.groups import is_admin
from tom_desc.lib.numbers import is_int64

LATEST = 25  # sent alerts listed on the landing page

# The latest sent alerts, newest first: a backward scan of elasticc2_ppdbalert_sent in each hash
# partition, merged (a few rows per partition whatever the table's size).
LATEST_SENT_SQL = """
    SELECT alert_id, diaobject_id, diasource_id, midpointtai, alertsenttimestamp
    FROM elasticc2_ppdbalert WHERE alertsenttimestamp IS NOT NULL
    ORDER BY alertsenttimestamp DESC, alert_id DESC LIMIT %s
"""

# Shown to everyone: what the stream made public; the ppdb (the whole simulation) to elasticc_admin.
PUBLIC_TABLES = [
    ("elasticc2_diaobject", "Objects known to the TOM"),
    ("elasticc2_diasource", "Sources known to the TOM"),
    ("elasticc2_diaforcedsource", "Forced sources known to the TOM"),
    ("elasticc2_brokerclassifier", "Broker classifiers"),
    ("elasticc2_brokermessage", "Broker messages"),
]
ADMIN_TABLES = [
    ("elasticc2_ppdbdiaobject", "ppdb objects"),
    ("elasticc2_ppdbdiasource", "ppdb sources"),
    ("elasticc2_ppdbdiaforcedsource", "ppdb forced sources"),
    ("elasticc2_diaobjecttruth", "Object truth"),
]


def latest_sent_alerts(n: int = LATEST) -> list[dict]:
    with connection.cursor() as cur:
        cur.execute(LATEST_SENT_SQL, [n])
        columns = [c.name for c in cur.description]
        return [dict(zip(columns, row)) for row in cur.fetchall()]


def alert_counts(request: HttpRequest) -> dict:
    counts = rowcounts.alert_counts("elasticc2_ppdbalert", "alertsenttimestamp")
    if not is_admin(getattr(request, "user", None)):
        counts["unsent"] = None  # how much of the simulation is still to come is elasticc_admin's
    return counts


def landing_section(request: HttpRequest) -> dict:
    """The context of ELAsTiCC2's section on /elasticc/ (template elasticc2/_landing.html)."""
    return {
        "e2_alerts": alert_counts(request),
        "e2_messages": rowcounts.count_table("elasticc2_brokermessage", "Broker messages"),
    }


class IndexView(LoginRequiredMixin, TemplateView):
    """/elasticc2/: what ELAsTiCC2 holds, the latest sent alerts, and where to go."""

    template_name = "elasticc2/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        admin = is_admin(self.request.user)
        tables = PUBLIC_TABLES + (ADMIN_TABLES if admin else [])
        context.update(
            tables=[rowcounts.count_table(t, label) for t, label in tables],
            alerts=alert_counts(self.request),
            latest=latest_sent_alerts(),
            is_admin=admin,
        )
        return context


def _int64(value: str) -> int:
    number = int(value)
    if not is_int64(number):
        raise ValueError("not a 64-bit integer")
    return number


class IdForm(QueryForm):
    id = Param(_int64)


class ObjectLookupView(IndexView):
    """/elasticc2/objects/?id=N: to the object's page when the user may see it (an elasticc_admin
    any ppdb object, others one with a sent alert); otherwise the landing page says it is not there."""

    def get(self, request, *args, **kwargs):
        object_id = IdForm(request.GET).value("id")
        if object_id is not None:
            exists = (
                PpdbAlert.objects.filter(diaobject_id=object_id).exists()
                if is_admin(request.user)
                else PpdbAlert.sent_of(object_id).exists()
            )
            if exists:
                return redirect("elasticc2:object", object_id=object_id)
        self.not_found = request.GET.get("id", "")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["not_found"] = self.not_found
        return context


class Elasticc2ObjectView(ObjectDetailView):
    """/elasticc2/objects/<id>/: ELAsTiCC's object page on ELAsTiCC2's tables."""

    campaign = "elasticc2"
