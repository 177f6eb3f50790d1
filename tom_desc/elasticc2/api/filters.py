"""Query-string filters of the ELAsTiCC2 REST lists, named after the columns they filter.

Each is on an indexed column, so a filtered page stays an index scan: ``diaobject_id``
prunes to the object's hash partition and uses its (diaobject_id, midpointtai) index;
``midpointtai`` ranges use the time indexes; broker messages by ``alert_id`` or
``diasource_id`` use their indexes, and by ``classifier_id`` or ``brokername`` prune to
those classifiers' partitions. The value checks are ELAsTiCC's (elasticc/api/filters.py):
a bad value is a 400 naming the parameter, never a database error.
"""

from __future__ import annotations

import django_filters

from elasticc.api.filters import BigIntFilter, FiniteFloatFilter, Int32Filter, StrictChoiceFilter
from elasticc2.models import (
    BrokerClassifier,
    BrokerMessage,
    DiaForcedSource,
    DiaObjectTruth,
    DiaSource,
    PpdbAlert,
    PpdbDiaForcedSource,
    PpdbDiaSource,
)


def _object(what: str) -> BigIntFilter:
    return BigIntFilter(field_name="diaobject_id", help_text=f"Only this object's {what}.")


def _time_range() -> dict[str, FiniteFloatFilter]:
    return {
        "midpointtai__gte": FiniteFloatFilter(
            field_name="midpointtai", lookup_expr="gte", help_text="Only rows with midpointtai >= this MJD."
        ),
        "midpointtai__lte": FiniteFloatFilter(
            field_name="midpointtai", lookup_expr="lte", help_text="Only rows with midpointtai <= this MJD."
        ),
    }


def _per_object_filterset(model, what: str) -> type[django_filters.FilterSet]:
    """diaobject_id and a midpointtai range: the filters of every source-like table."""
    meta = type("Meta", (), {"model": model, "fields": []})
    attrs = {"diaobject_id": _object(what), **_time_range(), "Meta": meta}
    return type(f"{model.__name__}Filter", (django_filters.FilterSet,), attrs)


PpdbDiaSourceFilter = _per_object_filterset(PpdbDiaSource, "sources")
PpdbDiaForcedSourceFilter = _per_object_filterset(PpdbDiaForcedSource, "forced sources")
DiaSourceFilter = _per_object_filterset(DiaSource, "sources")
DiaForcedSourceFilter = _per_object_filterset(DiaForcedSource, "forced sources")


class PpdbAlertFilter(django_filters.FilterSet):
    diaobject_id = _object("alerts")
    diasource_id = BigIntFilter(field_name="diasource_id", help_text="Only the alert of this source.")
    sent = StrictChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_sent",
        empty_label=None,
        help_text="true: only alerts already streamed; false: only unsent alerts (elasticc_admin only).",
    )
    midpointtai__gte, midpointtai__lte = _time_range().values()

    class Meta:
        model = PpdbAlert
        fields: list[str] = []

    def filter_sent(self, queryset, name, value):
        return queryset.filter(alertsenttimestamp__isnull=(value == "false"))


class DiaObjectTruthFilter(django_filters.FilterSet):
    gentype = Int32Filter(field_name="gentype", help_text="Only objects simulated with this SNANA gentype.")

    class Meta:
        model = DiaObjectTruth
        fields: list[str] = []


class BrokerClassifierFilter(django_filters.FilterSet):
    brokername = django_filters.CharFilter(field_name="brokername", help_text="Only this broker's classifiers.")
    classifiername = django_filters.CharFilter(field_name="classifiername")

    class Meta:
        model = BrokerClassifier
        fields: list[str] = []


class BrokerMessageFilter(django_filters.FilterSet):
    alert_id = BigIntFilter(field_name="alert_id", help_text="Only messages about this alert.")
    diasource_id = BigIntFilter(field_name="diasource_id", help_text="Only messages about this source's alert.")
    classifier_id = BigIntFilter(field_name="classifier_id", help_text="Only this classifier's messages.")
    brokername = django_filters.CharFilter(
        method="filter_broker_name", help_text="Only messages of this broker's classifiers."
    )

    class Meta:
        model = BrokerMessage
        fields: list[str] = []

    def filter_broker_name(self, queryset, name, value):
        # Resolved to classifier ids first (a small table), so the planner prunes to those
        # classifiers' partitions when it plans the query.
        ids = list(BrokerClassifier.objects.filter(brokername=value).values_list("classifier_id", flat=True))
        return queryset.filter(classifier_id__in=ids)
