"""The follow-up pages' forms: query strings of the two lists (read leniently, as every page's:
elasticc/pages/forms.py) and the posted forms that ask, plan, report and make Targets (checked
strictly: a bad field is an error message and nothing is written).

Times on the pages are simulated MJDs, as on the object page and in the photometry."""

from __future__ import annotations

from datetime import date

from django import forms

from elasticc.pages.forms import Param, QueryForm
from elasticc2 import taxonomy
from followup import hotlist, spectra
from tom_desc.lib.numbers import INT64_MAX, INT64_MIN

MJD_MIN, MJD_MAX = 0.0, 200_000.0  # a sanity range for typed MJDs (MJD 200000 is the year 2406)


def _positive_days(value: str) -> float:
    days = float(value)
    if not 0 < days <= 36_500:
        raise ValueError("a number of days between 0 and 36500")
    return days


def _page_number(value: str) -> int:
    page = int(value)
    if page < 1:
        raise ValueError("pages start at 1")
    return page


def _mjd(value: str) -> float:
    mjd = float(value)
    if not MJD_MIN <= mjd <= MJD_MAX:
        raise ValueError(f"an MJD between {MJD_MIN:g} and {MJD_MAX:g}")
    return mjd


def _sort(value: str) -> str:
    if value not in hotlist.SORTS:
        raise ValueError(f"sort by one of {', '.join(hotlist.SORTS)}")
    return value


class HotForm(QueryForm):
    """/elasticc2/followup/hot/?mjd_now=&days=&sort=&page="""

    mjd_now = Param(_mjd)  # default: the latest detection the TOM knows
    days = Param(_positive_days)  # default 30
    sort = Param(_sort)
    page = Param(_page_number)


def _band(value: str) -> str:
    band = "Y" if value == "y" else value
    if band not in spectra.BANDS:
        raise ValueError(f"one of {', '.join(spectra.BANDS)}")
    return band


def _nonnegative_days(value: str) -> float:
    days = float(value)
    if not 0 <= days <= 36_500:
        raise ValueError("a number of days between 0 and 36500")
    return days


class WantedForm(QueryForm):
    """/elasticc2/followup/spectra/: spectrawanted's filters (the magnitude limit in AB)."""

    requested_since = Param(date.fromisoformat)
    not_claimed_in_last_days = Param(_nonnegative_days)
    no_spectra_in_last_days = Param(_nonnegative_days)
    detected_since_mjd = Param(_mjd)
    lim_mag = Param(float)
    lim_mag_band = Param(_band)

    def clean(self):
        data = super().clean()
        if (data.get("lim_mag") is None) != (data.get("lim_mag_band") is None) and (
            self.given("lim_mag") or self.given("lim_mag_band")
        ):
            self.add_error(None, "A magnitude limit needs both the magnitude and the band.")
        return data


class ObjectField(forms.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=INT64_MIN, max_value=INT64_MAX, widget=forms.HiddenInput, **kwargs)


class AskForm(forms.Form):
    objectid = ObjectField()
    requester = forms.CharField(max_length=200, strip=True, help_text="the name the request is made under")
    priority = forms.IntegerField(min_value=spectra.MIN_PRIORITY, max_value=spectra.MAX_PRIORITY, initial=3)


class PlanForm(forms.Form):
    objectid = ObjectField()
    facility = forms.CharField(max_length=200, strip=True)
    plan_mjd = forms.FloatField(required=False, min_value=MJD_MIN, max_value=MJD_MAX, label="Planned for (MJD)")
    comment = forms.CharField(max_length=2000, required=False, strip=True)


class RemovePlanForm(forms.Form):
    objectid = ObjectField()
    facility = forms.CharField(max_length=200, strip=False, widget=forms.HiddenInput)


def class_choices() -> list[tuple[str, str]]:
    return [("", "unknown")] + [(str(c.classId), f"{c.classId} {c.description}") for c in taxonomy.classes().values()]


class ReportForm(forms.Form):
    objectid = ObjectField()
    facility = forms.CharField(max_length=200, strip=True)
    mjd = forms.FloatField(min_value=MJD_MIN, max_value=MJD_MAX, label="Taken at (MJD)")
    z = forms.FloatField(required=False, min_value=-1.0, max_value=100.0, label="Redshift z")
    classid = forms.TypedChoiceField(choices=class_choices, coerce=int, empty_value=None, required=False)


class TargetForm(forms.Form):
    objectid = ObjectField()
