"""The follow-up pages for observers (docs/followup.md): hot transients, spectra wanted, and the
forms they and the object page post (ask, plan, drop a plan, report, make a Target). A posted
form writes through spectra.py or targets.py and goes back to the page it came from with a
message; a form that does not validate writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from followup import forms, hotlist, spectra, targets
from followup.jsonapi import UnknownObjects
from followup.models import PlannedSpectra, SpectrumInfo
from followup.sparklines import sparkline
from tom_desc.lib.mjd import datetime_of

DEFAULT_HOT_DAYS = 30.0
DEFAULT_WANTED = {"requested_days": 14.0, "not_claimed_in_last_days": 7.0, "no_spectra_in_last_days": 7.0}
DEFAULT_DETECTED_DAYS = 14.0
RECENT = 50  # plans and reports listed below the wanted spectra


def _query(request, **changes) -> str:
    query = request.GET.copy()
    for key, value in changes.items():
        query[key] = value
    return "?" + query.urlencode()


class HotTransientsPage(LoginRequiredMixin, TemplateView):
    """/elasticc2/followup/hot/: objects detected in the last `days` simulated days."""

    template_name = "followup/hot.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = forms.HotForm(self.request.GET)
        now = form.value("mjd_now")
        if now is None:
            now = hotlist.simulated_now()
        days = form.value("days") or DEFAULT_HOT_DAYS
        sort = form.value("sort") or hotlist.DEFAULT_SORT
        context.update(form=form, problem=form.problem or _field_problem(form), days=days, sort=sort, now=now)
        if now is None:
            return context  # nothing detected yet
        page = hotlist.hot_page(now - days, now, sort, form.value("page") or 1)
        for row in page.rows:
            row.spark = sparkline(row.points, now - hotlist.SPARK_DAYS, now, f"diaObject {row.diaobject_id}")
        context.update(
            page=page,
            spark_days=hotlist.SPARK_DAYS,
            sort_links={key: _query(self.request, sort=_toggled(sort, key), page=1) for key in _COLUMNS},
            previous_url=_query(self.request, page=page.page - 1) if page.page > 1 else None,
            next_url=_query(self.request, page=page.page + 1) if page.page < page.pages else None,
        )
        return context


_COLUMNS = ("objectid", "detections", "latest", "brightest")


def _toggled(current: str, column: str) -> str:
    """Clicking a column sorts by it; clicking it again reverses the order."""
    return f"-{column}" if current == column else column


def _field_problem(form) -> str | None:
    form.is_valid()
    for field, errors in form.errors.items():
        if field != "__all__":
            return f"{field}: {errors[0]} (ignored)"
    return None


class SpectraWantedPage(LoginRequiredMixin, TemplateView):
    """/elasticc2/followup/spectra/: what is wanted (highest priority first) with plan and report
    forms, then the plans and the latest reports."""

    template_name = "followup/spectra.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = forms.WantedForm(self.request.GET)
        simulated = hotlist.simulated_now()
        detected = form.value("detected_since_mjd")
        if detected is None:
            detected = (simulated - DEFAULT_DETECTED_DAYS) if simulated is not None else 0.0
        since_day = form.value("requested_since")
        requested_since = (
            datetime(since_day.year, since_day.month, since_day.day, tzinfo=UTC)
            if since_day
            else spectra.days_ago(DEFAULT_WANTED["requested_days"])
        )
        claimed_days = _or(form.value("not_claimed_in_last_days"), DEFAULT_WANTED["not_claimed_in_last_days"])
        no_spectra_days = _or(form.value("no_spectra_in_last_days"), DEFAULT_WANTED["no_spectra_in_last_days"])
        lim_mag, band = form.value("lim_mag"), form.value("lim_mag_band")
        query = spectra.WantedQuery(
            requested_since=requested_since,
            claimed_since=spectra.days_ago(claimed_days),
            # The simulation's clock for spectra too: a report's MJD is a simulated one.
            no_spectra_since=(simulated if simulated is not None else 0.0) - no_spectra_days,
            detected_after=detected,
            lim_mag_ab=lim_mag if band else None,
            lim_mag_band=band if lim_mag is not None else None,
        )
        rows = spectra.wanted(query)
        here = self.request.get_full_path()
        for row in rows:
            row.cells = [row.latest.get(band) for band in spectra.BANDS]  # (mjd, mag AB) or None
        context.update(
            problem=form.problem or _field_problem(form),
            rows=rows,
            bands=spectra.BANDS,
            filters={
                "requested_since": requested_since.date().isoformat(),
                "not_claimed_in_last_days": claimed_days,
                "no_spectra_in_last_days": no_spectra_days,
                "detected_since_mjd": detected,
                "lim_mag": lim_mag,
                "lim_mag_band": band,
            },
            simulated_now=simulated,
            plans=PlannedSpectra.objects.order_by("-created_at", "-reqspec_id")[:RECENT],
            reports=SpectrumInfo.objects.order_by("-inserted_at", "-specinfo_id")[:RECENT],
            here=here,
            class_choices=forms.class_choices(),
        )
        return context


def _or(value, default):
    return default if value is None else value


class FormPost(LoginRequiredMixin, View):
    """A posted form: validated, done through the engine, then back where it came from."""

    form_class: type = None  # the Django form to validate
    done = ""  # the success message, formatted with the cleaned data

    def post(self, request, *args, **kwargs):
        form = self.form_class(request.POST)
        back = self.back(request, form)
        if not form.is_valid():
            problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
            messages.error(request, f"Nothing was saved: {problems}")
            return redirect(back)
        try:
            result = self.act(request, form.cleaned_data)
        except UnknownObjects as exc:
            messages.error(request, f"Nothing was saved: {exc.message} (not known to the TOM).")
            return redirect(back)
        except targets.NameTaken as exc:
            messages.error(request, str(exc))
            return redirect(back)
        if isinstance(result, str) and result.startswith("/"):
            return redirect(result)
        messages.success(request, self.done.format(**form.cleaned_data, result=result))
        return redirect(back)

    def back(self, request, form) -> str:
        candidate = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(candidate, {request.get_host()}, require_https=request.is_secure()):
            return candidate
        return reverse("followup:spectra")

    def act(self, request, data: dict):
        raise NotImplementedError


class AskPost(FormPost):
    form_class = forms.AskForm
    done = "Spectrum of {objectid} asked for as {requester!r} with priority {priority}."

    def act(self, request, data):
        return spectra.ask(request.user.id, data["requester"], {data["objectid"]: data["priority"]})


class PlanPost(FormPost):
    form_class = forms.PlanForm
    done = "Planned: a spectrum of {objectid} at {facility}."

    def act(self, request, data):
        plantime = datetime_of(data["plan_mjd"]) if data["plan_mjd"] is not None else None
        return spectra.plan(data["objectid"], data["facility"], plantime, data["comment"] or "")


class RemovePlanPost(FormPost):
    form_class = forms.RemovePlanForm
    done = "The plan of {facility} for {objectid} was dropped ({result} removed)."

    def act(self, request, data):
        return spectra.remove_plan(data["objectid"], data["facility"])


class ReportPost(FormPost):
    form_class = forms.ReportForm
    done = "Spectrum of {objectid} at {facility} reported; its requests and this facility's plan are settled."

    def act(self, request, data):
        return spectra.report(data["objectid"], data["facility"], data["mjd"], data["z"], data["classid"])


class MakeTargetPost(FormPost):
    """The object page's "make a Target": to the Target's page (made the first time)."""

    form_class = forms.TargetForm

    def act(self, request, data):
        try:
            made = targets.target_for_object(data["objectid"])
        except targets.NotKnown:
            raise UnknownObjects([data["objectid"]]) from None
        verb = "made" if made.created else "brought up to date"
        messages.success(request, f"Target {made.target.name} {verb} ({made.points_added} photometry points added).")
        return reverse("targets:detail", kwargs={"pk": made.target.pk})
