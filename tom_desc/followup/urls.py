"""Follow-up routes, mounted under /elasticc2/ by tom_desc/urls.py before elasticc2's own.

The original DESC TOM's JSON routes keep its paths exactly, with no trailing slash
(``elasticc2/ltcv``, ``elasticc2/spectrawanted``...; a trailing slash is a 404, as it was);
``maketarget`` is new and named the same way. The pages live under ``followup/``; the forms
they post to as well (the object page's "make a Target" among them)."""

from __future__ import annotations

from django.urls import path

from followup import pages, views

app_name = "followup"

urlpatterns = [
    path("ltcv", views.LtcvView.as_view(), name="ltcv"),
    path("gethottransients", views.HotTransientsView.as_view(), name="gethottransients"),
    path("askforspectrum", views.AskForSpectrumView.as_view(), name="askforspectrum"),
    path("spectrawanted", views.WhatSpectraAreWantedView.as_view(), name="spectrawanted"),
    path("planspectrum", views.PlanSpectrumView.as_view(), name="planspectrum"),
    path("removespectrumplan", views.RemoveSpectrumPlanView.as_view(), name="removespectrumplan"),
    path("reportspectruminfo", views.ReportSpectrumInfoView.as_view(), name="reportspectruminfo"),
    path("getknownspectruminfo", views.GetKnownSpectrumInfoView.as_view(), name="getknownspectruminfo"),
    path("maketarget", views.MakeTargetView.as_view(), name="maketarget"),
    path("followup/hot/", pages.HotTransientsPage.as_view(), name="hot"),
    path("followup/spectra/", pages.SpectraWantedPage.as_view(), name="spectra"),
    path("followup/ask", pages.AskPost.as_view(), name="ask"),
    path("followup/plan", pages.PlanPost.as_view(), name="plan"),
    path("followup/removeplan", pages.RemovePlanPost.as_view(), name="removeplan"),
    path("followup/report", pages.ReportPost.as_view(), name="report"),
    path("followup/target", pages.MakeTargetPost.as_view(), name="target"),
]
