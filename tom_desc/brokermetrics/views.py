"""The broker pages (HTML) of both campaigns: /elasticc/brokers/ (ELAsTiCC) and /elasticc2/brokers/
(ELAsTiCC2), one set of thin views over brokermetrics/queries.py, which reads only the small
tables refresh_metrics fills. Each route names its campaign (``as_view(campaign=...)``,
urls.py). docs/pages.md describes them."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from brokermetrics import campaigns
from brokermetrics import queries as metrics
from brokermetrics.forms import BrokerWindowForm
from elasticc.pages.classifiers import classifier_choices


class CampaignPage(LoginRequiredMixin, TemplateView):
    campaign = "elasticc"  # set per route

    @property
    def metrics_campaign(self) -> campaigns.MetricsCampaign:
        return campaigns.get(self.campaign)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        c = self.metrics_campaign
        context.update(
            campaign=c,
            brokers_url=f"{c.namespace}:brokers",
            broker_url=f"{c.namespace}:broker",
            last_refresh=metrics.last_refresh(),
        )
        return context


class BrokerListView(CampaignPage):
    """/elasticc/brokers/, /elasticc2/brokers/: every classifier of the campaign with its message
    count and all-time metrics."""

    template_name = "brokermetrics/brokers.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["classifiers"] = metrics.classifiers(self.metrics_campaign)
        return context


class BrokerDetailView(CampaignPage):
    """/elasticc/brokers/<classifierId>/?window=all|YYYY-MM-DD or ?from=YYYY-MM-DD&to=YYYY-MM-DD:
    completeness, delays, confusion (and the same under /elasticc2/brokers/)."""

    template_name = "brokermetrics/broker.html"

    def get(self, request, *args, **kwargs):
        self.form = BrokerWindowForm(request.GET)
        chosen = self.form.value("classifier")
        if chosen is not None and chosen != kwargs["classifier_id"]:
            url = reverse(f"{self.metrics_campaign.namespace}:broker", kwargs={"classifier_id": chosen})
            query = request.GET.copy()
            del query["classifier"]
            return redirect(f"{url}?{query.urlencode()}" if query else url)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        c = self.metrics_campaign
        classifier_id = kwargs["classifier_id"]
        classifier = metrics.classifier(classifier_id, c)
        if classifier is None:
            raise Http404(f"No {c.label} classifier {classifier_id}")
        days = metrics.days(classifier_id, c)
        chosen = self.form.days
        day = chosen if isinstance(chosen, date) else None
        span = chosen if isinstance(chosen, tuple) else None
        show_confusion = metrics.confusion_visible_to(self.request.user)
        context.update(
            classifier=classifier,
            classifiers=classifier_choices(c.broker),
            days=days,
            day=day,
            span=span,
            range_error=self.form.problem,
            range_from=span[0] if span else (day or (days[-1] if days else None)),
            range_to=span[1] if span else (day or (days[0] if days else None)),
            window=metrics.window(classifier_id, chosen, c),
            delays=metrics.delay_histogram(classifier_id, chosen, c),
            per_day=metrics.completeness_per_day(classifier_id, c),
            show_confusion=show_confusion,
            matrices=[metrics.confusion(classifier_id, level, chosen, c) for level in c.level_names]
            if show_confusion
            else [],
        )
        return context
