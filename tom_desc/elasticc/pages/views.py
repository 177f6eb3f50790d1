"""ELAsTiCC pages (HTML). Views stay thin: query strings are read by elasticc/pages/forms.py, the
queries live in elasticc/pages/summary.py (with tom_desc/lib/rowcounts.py), search.py,
object_page.py, classifiers.py and elasticc/stream/pollstatus.py (brokerpoll's heartbeats); other
apps add sections to the landing page and the summary through elasticc/pages/sections.py.
docs/pages.md describes every page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from elasticc import taxonomy
from elasticc.pages import classifiers, object_page, search, sections, summary
from elasticc.pages.forms import ObjectSearchForm
from elasticc.stream import pollstatus
from tom_desc.lib import rowcounts
from tom_desc.lib.groups import is_admin


def _next_url(request, after) -> str | None:
    """This page's URL with `after` set to the next page's key (keyset pagination)."""
    if after is None:
        return None
    query = request.GET.copy()
    query["after"] = str(after)
    return f"{request.path}?{query.urlencode()}"


def _first_url(request) -> str | None:
    if "after" not in request.GET:
        return None
    query = request.GET.copy()
    del query["after"]
    return f"{request.path}?{query.urlencode()}" if query else request.path


class SummaryView(LoginRequiredMixin, TemplateView):
    """Row counts of every ELAsTiCC table, cheap at any table size; poller heartbeats; the
    sections other apps add (see sections.py)."""

    template_name = "elasticc/summary.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tables"] = summary.table_counts()
        context["alerts"] = rowcounts.alert_counts()
        context["brokerpoll"] = pollstatus.brokerpoll_status()
        context["stale_after"] = getattr(settings, "BROKERPOLL_STALE_AFTER", pollstatus.DEFAULT_STALE_AFTER)
        context["sections"] = sections.render(sections.SUMMARY, self.request)
        return context


class IndexView(LoginRequiredMixin, TemplateView):
    """The landing page: what is in the database, and where to go (plus the sections other
    apps add, see sections.py)."""

    template_name = "elasticc/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        wanted = {
            "elasticc_diaobject",
            "elasticc_diasource",
            "elasticc_diaforcedsource",
            "elasticc_diaalert",
            "elasticc_brokerclassifier",
            "elasticc_brokermessage",
        }
        context["tables"] = [rowcounts.count_table(t, label) for t, label in summary.TABLES if t in wanted]
        context["alerts"] = rowcounts.alert_counts()
        context["is_admin"] = is_admin(self.request.user)
        context["sections"] = sections.render(sections.INDEX, self.request)
        return context


class ObjectSearchView(LoginRequiredMixin, TemplateView):
    """/elasticc/objects/: browse objects, or search them by id, by position or by classification."""

    template_name = "elasticc/objects.html"

    def get(self, request, *args, **kwargs):
        self.form = ObjectSearchForm(request.GET)
        object_id = self.form.value("id")
        if object_id is not None and search.object_exists(object_id):
            return redirect("elasticc:object", object_id=object_id)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.form
        context.update(
            mode=form.mode,
            params=self.request.GET,
            error=form.problem,
            page=None,
            cone_rows=None,
            hits=None,
            classifiers=classifiers.classifier_choices(),
            classes=sorted(taxonomy.classes().values(), key=lambda c: c.classId),
            first_url=_first_url(self.request),
        )
        if form.mode == "id":
            if form.value("id") is not None:  # get() found no such object
                context["error"] = f"No object with diaObjectId {self.request.GET['id']}."
        elif form.mode == "cone":
            ra, dec, radius = form.value("ra"), form.value("dec"), form.value("radius")
            if None not in (ra, dec, radius):
                try:
                    context["cone_rows"] = search.cone(ra, dec, radius)
                    context["cone_limit"] = search.CONE_LIMIT
                except search.SearchError as exc:
                    context["error"] = str(exc)
        elif form.mode == "classification":
            classifier_id, class_id = form.value("classifier"), form.value("classid")
            if None not in (classifier_id, class_id):
                page = search.by_classification(
                    classifier_id, class_id, form.value("minprob") or 0.0, form.value("after")
                )
                context["hits"] = page.rows
                context["next_url"] = _next_url(self.request, page.next_after)
        else:
            page = search.browse(form.value("after"))
            context["page"] = page.rows
            context["next_url"] = _next_url(self.request, page.next_after)
        return context


class ObjectDetailView(LoginRequiredMixin, TemplateView):
    """/elasticc/objects/<id>/: properties, light curve, alerts, classifications (and truth for
    admins). The same view serves ELAsTiCC2's object page (/elasticc2/objects/<id>/) with
    ``campaign="elasticc2"``: the campaign's ObjectTables (object_page.py) say which tables."""

    template_name = "elasticc/object.html"
    campaign = "elasticc"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tables = object_page.get(self.campaign)
        object_id = kwargs["object_id"]
        obj = object_page.get_object(object_id, tables)
        if obj is None:
            raise Http404(f"No {tables.label} diaObject {object_id}")
        admin = is_admin(self.request.user)
        through = None
        if tables.hide_unsent_photometry and not admin:
            # What the stream has revealed (as the REST API's ppdb routes): nothing before the
            # object's first sent alert, its photometry up to its latest.
            through = object_page.sent_horizon(object_id, tables)
            if through is None:
                raise Http404(f"No {tables.label} diaObject {object_id}")
        alerts = object_page.alerts(object_id, tables)
        if not admin:
            # As the REST API: an alert not sent yet is the simulation's future (its id, MJD,
            # flux, S/N), shown to elasticc_admin only; so are broker messages about it.
            alerts = [alert for alert in alerts if alert.sent is not None]
        histories = object_page.classifications(alerts, tables)  # also counts messages per alert
        context.update(
            object_id=object_id,
            obj=obj,
            pages=tables,
            groups=object_page.property_groups(obj, tables),
            lightcurve=object_page.light_curve(object_id, tables, through),
            alerts=alerts,
            histories=histories,
            class_plot=object_page.classification_plot_data(histories, tables),
            is_admin=admin,
            truth=object_page.truth(object_id, tables) if admin else None,
            sections=sections.render(sections.OBJECT, self.request),
        )
        return context
