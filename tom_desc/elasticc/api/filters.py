"""Query-string filters of the REST API lists (django-filter).

Every filter is on an indexed column, so a filtered page stays an index scan:
diaObjectId uses the (diaObjectId, midPointTai) indexes and lets PostgreSQL
prune to the one hash partition holding the object; midPointTai ranges use
elasticc_diasource_time / the partial unsent-alert index; broker messages by
alertId / diaSourceId use their indexes, and by classifierId or brokerName
prune to that classifier's list partitions.

Values are checked before they reach SQL (a 64-bit range for ids, finite
numbers for times), so a bad value is a 400 naming the parameter, never a
database error.
"""

from __future__ import annotations

import django_filters
from django import forms

from elasticc.models import (
    BrokerClassifier,
    BrokerMessage,
    DiaAlert,
    DiaForcedSource,
    DiaObject,
    DiaObjectTruth,
    DiaSource,
    DiaTruth,
)
from tom_desc.lib.numbers import INT64_MAX, INT64_MIN


class _PresentMeansValue:
    """A parameter given with an empty value is a 400, not silently ignored."""

    empty_values = [None]


class BigIntField(_PresentMeansValue, forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", INT64_MIN)
        kwargs.setdefault("max_value", INT64_MAX)
        super().__init__(*args, **kwargs)


class BigIntFilter(django_filters.Filter):
    """An integer that fits a PostgreSQL bigint."""

    field_class = BigIntField


class Int32Field(_PresentMeansValue, forms.IntegerField):
    pass


class Int32Filter(django_filters.Filter):
    field_class = Int32Field

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -(2**31))
        kwargs.setdefault("max_value", 2**31 - 1)
        super().__init__(*args, **kwargs)


class FiniteFloatField(_PresentMeansValue, forms.FloatField):
    """A finite float (Django's FloatField rejects NaN and infinities)."""


class FiniteFloatFilter(django_filters.Filter):
    field_class = FiniteFloatField


class StrictChoiceField(_PresentMeansValue, django_filters.fields.ChoiceField):
    def to_python(self, value):
        return None if value is None else str(value)

    def validate(self, value):
        if value == "":
            raise forms.ValidationError("Give one of the choices.", code="invalid_choice")
        super().validate(value)


class StrictChoiceFilter(django_filters.ChoiceFilter):
    field_class = StrictChoiceField


def _after(column: str) -> FiniteFloatFilter:
    return FiniteFloatFilter(field_name=column, lookup_expr="gte", help_text=f"Only rows with {column} >= this MJD.")


def _before(column: str) -> FiniteFloatFilter:
    return FiniteFloatFilter(field_name=column, lookup_expr="lte", help_text=f"Only rows with {column} <= this MJD.")


class DiaObjectFilter(django_filters.FilterSet):
    class Meta:
        model = DiaObject
        fields: list[str] = []


class DiaSourceFilter(django_filters.FilterSet):
    diaObjectId = BigIntFilter(field_name="diaObjectId", help_text="Only this object's sources.")
    midPointTai__gte = _after("midPointTai")
    midPointTai__lte = _before("midPointTai")

    class Meta:
        model = DiaSource
        fields: list[str] = []


class DiaForcedSourceFilter(django_filters.FilterSet):
    diaObjectId = BigIntFilter(field_name="diaObjectId", help_text="Only this object's forced sources.")
    midPointTai__gte = _after("midPointTai")
    midPointTai__lte = _before("midPointTai")

    class Meta:
        model = DiaForcedSource
        fields: list[str] = []


class DiaTruthFilter(django_filters.FilterSet):
    diaObjectId = BigIntFilter(field_name="diaObjectId", help_text="Only this object's source truth.")
    mjd__gte = _after("mjd")
    mjd__lte = _before("mjd")

    class Meta:
        model = DiaTruth
        fields: list[str] = []


class DiaObjectTruthFilter(django_filters.FilterSet):
    gentype = Int32Filter(field_name="gentype", help_text="Only objects simulated with this SNANA gentype.")

    class Meta:
        model = DiaObjectTruth
        fields: list[str] = []


class DiaAlertFilter(django_filters.FilterSet):
    diaObjectId = BigIntFilter(field_name="diaObjectId", help_text="Only this object's alerts.")
    diaSourceId = BigIntFilter(field_name="diaSourceId", help_text="Only the alert of this source.")
    sent = StrictChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_sent",
        empty_label=None,
        help_text="true: only alerts already streamed; false: only unsent alerts (elasticc_admin only).",
    )
    midPointTai__gte = _after("midPointTai")
    midPointTai__lte = _before("midPointTai")

    class Meta:
        model = DiaAlert
        fields: list[str] = []

    def filter_sent(self, queryset, name, value):
        return queryset.filter(alertSentTimestamp__isnull=(value == "false"))


class BrokerClassifierFilter(django_filters.FilterSet):
    brokerName = django_filters.CharFilter(field_name="brokerName", help_text="Only this broker's classifiers.")
    classifierName = django_filters.CharFilter(field_name="classifierName")

    class Meta:
        model = BrokerClassifier
        fields: list[str] = []


class BrokerMessageFilter(django_filters.FilterSet):
    alertId = BigIntFilter(field_name="alertId", help_text="Only messages about this alert.")
    diaSourceId = BigIntFilter(field_name="diaSourceId", help_text="Only messages about this source's alert.")
    classifierId = BigIntFilter(field_name="classifierId", help_text="Only this classifier's messages.")
    brokerName = django_filters.CharFilter(
        method="filter_broker_name", help_text="Only messages of this broker's classifiers."
    )

    class Meta:
        model = BrokerMessage
        fields: list[str] = []

    def filter_broker_name(self, queryset, name, value):
        # Resolved to classifierIds first (a small table) so the planner prunes to
        # those classifiers' partitions at plan time.
        ids = list(BrokerClassifier.objects.filter(brokerName=value).values_list("classifierId", flat=True))
        return queryset.filter(classifierId__in=ids)
