"""ELAsTiCC pages."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from elasticc import summary


class SummaryView(LoginRequiredMixin, TemplateView):
    """Row counts of every ELAsTiCC table, cheap at any table size."""

    template_name = "elasticc/summary.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tables"] = summary.table_counts()
        context["alerts"] = summary.alert_counts()
        return context
