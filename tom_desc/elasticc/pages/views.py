"""ELAsTiCC pages (HTML). Views stay thin: the queries live in elasticc/pages/summary.py,
elasticc/pages/search.py, elasticc/pages/object_page.py, elasticc/stream/pollstatus.py (brokerpoll's heartbeats)
and brokermetrics/queries.py.
docs/pages.md describes every page."""
from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from brokermetrics import queries as metrics
from elasticc import taxonomy
from elasticc.pages import object_page, search, summary
from elasticc.stream import pollstatus
from tom_desc.lib.groups import is_admin


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


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
    """Row counts of every ELAsTiCC table, cheap at any table size; poller heartbeats and
    alerts sent per simulated day."""

    template_name = "elasticc/summary.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tables"] = summary.table_counts()
        context["alerts"] = summary.alert_counts()
        context["brokerpoll"] = pollstatus.brokerpoll_status()
        context["alerts_per_mjd"] = metrics.alerts_per_mjd()
        context["last_refresh"] = metrics.last_refresh()
        context["stale_after"] = getattr(settings, "BROKERPOLL_STALE_AFTER", pollstatus.DEFAULT_STALE_AFTER)
        return context


class IndexView(LoginRequiredMixin, TemplateView):
    """The landing page: what is in the database, and where to go."""

    template_name = "elasticc/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        wanted = {"elasticc_diaobject", "elasticc_diasource", "elasticc_diaforcedsource", "elasticc_diaalert",
                  "elasticc_brokerclassifier", "elasticc_brokermessage"}
        context["tables"] = [summary.count_table(t, label) for t, label in summary.TABLES if t in wanted]
        context["alerts"] = summary.alert_counts()
        context["last_refresh"] = metrics.last_refresh()
        context["is_admin"] = is_admin(self.request.user)
        return context


class ObjectSearchView(LoginRequiredMixin, TemplateView):
    """/elasticc/objects/: browse objects, or search them by id, by position or by classification."""

    template_name = "elasticc/objects.html"

    def get(self, request, *args, **kwargs):
        object_id = _int(request.GET.get("id"))
        if object_id is not None and search.object_exists(object_id):
            return redirect("elasticc:object", object_id=object_id)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        get = self.request.GET
        after = _int(get.get("after"))
        mode = get.get("mode") or ("id" if get.get("id") else "browse")
        context.update(mode=mode, params=get, error=None, page=None, cone_rows=None, hits=None,
                       classifiers=metrics.classifier_choices(), classes=sorted(taxonomy.classes().values(),
                                                                          key=lambda c: c.classId),
                       first_url=_first_url(self.request))
        if mode == "id":
            if get.get("id"):
                context["error"] = (f"No object with diaObjectId {get['id']}." if _int(get["id"]) is not None
                                    else "A diaObjectId is a whole number.")
        elif mode == "cone":
            ra, dec, radius = _float(get.get("ra")), _float(get.get("dec")), _float(get.get("radius"))
            if not get.get("ra") and not get.get("dec"):
                pass  # the empty form
            elif None in (ra, dec, radius):
                context["error"] = "A cone search needs RA, Dec (degrees) and a radius (arcsec)."
            else:
                try:
                    context["cone_rows"] = search.cone(ra, dec, radius)
                    context["cone_limit"] = search.CONE_LIMIT
                except search.SearchError as exc:
                    context["error"] = str(exc)
        elif mode == "classification":
            classifier_id, class_id = _int(get.get("classifier")), _int(get.get("classid"))
            min_p = _float(get.get("minprob")) or 0.0
            if classifier_id is None or class_id is None:
                if get.get("classifier") or get.get("classid"):
                    context["error"] = "Choose a classifier and a class."
            else:
                page = search.by_classification(classifier_id, class_id, min_p, after)
                context["hits"] = page.rows
                context["next_url"] = _next_url(self.request, page.next_after)
        else:
            page = search.browse(after)
            context["page"] = page.rows
            context["next_url"] = _next_url(self.request, page.next_after)
        return context


class ObjectDetailView(LoginRequiredMixin, TemplateView):
    """/elasticc/objects/<id>/: properties, light curve, alerts, classifications (and truth for admins)."""

    template_name = "elasticc/object.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        object_id = kwargs["object_id"]
        obj = object_page.get_object(object_id)
        if obj is None:
            raise Http404(f"No diaObject {object_id}")
        alerts = object_page.alerts(object_id)
        histories = object_page.classifications(alerts)  # also counts messages per alert
        admin = is_admin(self.request.user)
        context.update(
            object_id=object_id, obj=obj, groups=object_page.property_groups(obj),
            lightcurve=object_page.light_curve(object_id), alerts=alerts, histories=histories,
            class_plot=object_page.classification_plot_data(histories),
            is_admin=admin, truth=object_page.truth(object_id) if admin else None,
        )
        return context


class BrokerListView(LoginRequiredMixin, TemplateView):
    """/elasticc/brokers/: every classifier with its message count and all-time metrics."""

    template_name = "elasticc/brokers.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["classifiers"] = metrics.classifiers()
        context["last_refresh"] = metrics.last_refresh()
        return context


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


class BrokerDetailView(LoginRequiredMixin, TemplateView):
    """/elasticc/brokers/<classifierId>/?window=all|YYYY-MM-DD or ?from=YYYY-MM-DD&to=YYYY-MM-DD:
    completeness, delays, confusion."""

    template_name = "elasticc/broker.html"

    def get(self, request, *args, **kwargs):
        chosen = _int(request.GET.get("classifier"))
        if chosen is not None and chosen != kwargs["classifier_id"]:
            url = reverse("elasticc:broker", kwargs={"classifier_id": chosen})
            query = request.GET.copy()
            del query["classifier"]
            return redirect(f"{url}?{query.urlencode()}" if query else url)
        return super().get(request, *args, **kwargs)

    def _window(self) -> tuple[date | tuple[date, date] | None, str | None]:
        """(window, error): ?window=all|YYYY-MM-DD when given, else ?from&to (a range of send-days)."""
        get = self.request.GET
        if not get.get("window") and (get.get("from") or get.get("to")):
            first, last = _date(get.get("from")), _date(get.get("to"))
            if first is None or last is None:
                return None, "A range needs a first and a last day (YYYY-MM-DD); showing all time."
            if first > last:
                return None, f"The range ends ({last}) before it starts ({first}); showing all time."
            return (first if first == last else (first, last)), None
        return _date(get.get("window")), None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        classifier_id = kwargs["classifier_id"]
        classifier = metrics.classifier(classifier_id)
        if classifier is None:
            raise Http404(f"No classifier {classifier_id}")
        days = metrics.days(classifier_id)
        chosen, range_error = self._window()
        day = chosen if isinstance(chosen, date) else None
        span = chosen if isinstance(chosen, tuple) else None
        show_confusion = metrics.confusion_visible_to(self.request.user)
        context.update(
            classifier=classifier, classifiers=metrics.classifier_choices(), days=days, day=day, span=span,
            range_error=range_error, range_from=span[0] if span else (day or (days[-1] if days else None)),
            range_to=span[1] if span else (day or (days[0] if days else None)),
            window=metrics.window(classifier_id, chosen), delays=metrics.delay_histogram(classifier_id, chosen),
            show_confusion=show_confusion,
            matrices=[metrics.confusion(classifier_id, level, chosen) for level in metrics.LEVELS]
            if show_confusion else [],
            last_refresh=metrics.last_refresh(),
        )
        return context
