"""The pages' query strings, read by small forms (as healthchecks' FlipsFiltersForm does).

A page never answers 400 to its query string: a value that does not parse counts as absent
(None), and the form says what is wrong with the request as a whole in the page's own words
(`problem`, a non-field error), which the page shows above its results.

A Param parses exactly as Python does (int(), float(), date.fromisoformat()), which is what
the pages have always accepted: Django's IntegerField would also take "5.0", its FloatField
refuses "inf" and "nan" (which the cone search reports as out of range), and its DateField
takes other formats than ISO 8601's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError


class Param(forms.Field):
    """One optional query-string value: None when empty, `parse(value)` otherwise, invalid
    when parse raises ValueError."""

    def __init__(self, parse: Callable[[str], Any], **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.parse = parse

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return self.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from exc


class QueryForm(forms.Form):
    """A query string read leniently: see the module docstring."""

    def value(self, name: str) -> Any:
        """The parsed value of `name` (a field, or a key clean() adds); None when absent or unparseable."""
        self.is_valid()  # cleans once; a field that does not parse is left out of cleaned_data
        return self.cleaned_data.get(name)

    def given(self, name: str) -> bool:
        """Whether the query string has a non-empty `name`, parseable or not."""
        return bool(self.data.get(name))

    @property
    def problem(self) -> str | None:
        """What is wrong with the request, for the page to show; None when nothing is."""
        errors = self.non_field_errors()
        return errors[0] if errors else None


class ObjectSearchForm(QueryForm):
    """/elasticc/objects/: ?mode=id&id=, ?mode=cone&ra=&dec=&radius=, ?mode=classification&
    classifier=&classid=&minprob=, or browsing; ?after= is the last key of the previous page."""

    id = Param(int)
    after = Param(int)
    ra = Param(float)  # degrees
    dec = Param(float)  # degrees
    radius = Param(float)  # arcsec
    classifier = Param(int)
    classid = Param(int)
    minprob = Param(float)

    @property
    def mode(self) -> str:
        """id, cone, classification or browse (the default); a bare ?id= searches by id."""
        return self.data.get("mode") or ("id" if self.data.get("id") else "browse")

    def clean(self):
        data = super().clean()
        mode = self.mode
        if mode == "id" and self.given("id") and data.get("id") is None:
            self.add_error(None, "A diaObjectId is a whole number.")
        elif (
            mode == "cone"
            and (self.given("ra") or self.given("dec"))
            and None in (data.get("ra"), data.get("dec"), data.get("radius"))
        ):
            self.add_error(None, "A cone search needs RA, Dec (degrees) and a radius (arcsec).")
        elif (
            mode == "classification"
            and (self.given("classifier") or self.given("classid"))
            and None in (data.get("classifier"), data.get("classid"))
        ):
            self.add_error(None, "Choose a classifier and a class.")
        return data
